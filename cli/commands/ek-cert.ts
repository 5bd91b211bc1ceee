// tpm-quote ek-cert: the EK certificate from NV as PEM, optionally checked as the server checks ek_ca_path.
import { X509Certificate } from 'node:crypto';
import { parseEkCertificate, parsePemCertificates, TpmVerifyError, verifyEkCertificate } from '../../tpm';
import { TPM_OPTION_HELP, stringOption, type Command } from '../command';
import { badInput, CliError, EXIT } from '../exit-codes';
import { readInput, withTpm, writeOutput } from '../io';
import { EK_OPTION_HELP, readChosenEk } from './ek';

/** Largest CA bundle read (the server's bound for one trust file). */
const MAX_BUNDLE_BYTES = 4 * 1024 * 1024;

function loadBundle(path: string): X509Certificate[] {
  let certs: X509Certificate[];
  try {
    certs = parsePemCertificates(readInput('--ca-bundle', path, MAX_BUNDLE_BYTES).toString('utf8'), path);
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw badInput(`--ca-bundle ${path}: ${(err as Error).message}`, err);
  }
  if (certs.length === 0) throw badInput(`--ca-bundle ${path}: no PEM certificate found`);
  return certs;
}

export const ekCertCommand: Command = {
  name: 'ek-cert',
  summary: 'the EK certificate from NV as PEM; --ca-bundle checks it chains as the server does',
  help:
    'Usage: tpm-quote ek-cert [--tpm SPEC] [--ek KIND] [--ca-bundle FILE] [--out FILE]\n\n' +
    "Prints the EK certificate the agent would send (read from the TPM's NV) as PEM. With --ca-bundle, first\n" +
    "checks it with the server's EK certificate verification against that bundle (the server's ek_ca_path):\n" +
    'exit 5 naming the reason when it does not chain.\n\n' +
    `${TPM_OPTION_HELP}\n${EK_OPTION_HELP}\n` +
    '  --ca-bundle FILE PEM bundle of trusted EK CA certificates\n' +
    '  --out FILE       write the PEM there instead of stdout\n',
  options: {
    tpm: { type: 'string' },
    ek: { type: 'string' },
    'ca-bundle': { type: 'string' },
    out: { type: 'string' },
  },
  async run(values, io) {
    const bundlePath = stringOption(values, 'ca-bundle');
    const trusted = bundlePath === undefined ? undefined : loadBundle(bundlePath);
    const ek = await withTpm(stringOption(values, 'tpm'), (tpm) => readChosenEk(tpm, values));
    const where = `${ek.certIndex === undefined ? 'no NV index' : `NV 0x${ek.certIndex.toString(16)}`} (${ek.kind} EK)`;
    if (!ek.certificate) throw badInput(`the TPM holds no EK certificate at ${where}`);
    let pem: string;
    try {
      const cert = parseEkCertificate(ek.certificate);
      pem = cert.certificate.toString();
      if (trusted) {
        const v = verifyEkCertificate({ certificate: cert, trusted });
        io.stderr(
          `EK certificate at ${where} chains to ${bundlePath}: ${v.chain.map((c) => c.subject).join(' <- ')}\n`,
        );
      }
    } catch (err) {
      if (!(err instanceof TpmVerifyError)) throw err;
      const code = err.kind === 'malformed' ? EXIT.BAD_INPUT : EXIT.VERIFICATION_FAILED;
      throw new CliError(code, `EK certificate at ${where}: ${err.message} (${err.code})`, { cause: err });
    }
    writeOutput(io, stringOption(values, 'out'), pem);
  },
};
