// Our Keylime quote string and pcrblob, fed to Keylime 7.14.3's own quote checker (keylime.tpm.tpm_util
// .checkquote, what its verifier runs for /verify/evidence), on live tpm2_quote output from swtpm.
// Needs scripts/install-keylime.sh (.tools/keylime-venv).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { useSwtpmTools } from '../helpers/swtpm';
import { parseTpm2bPublic, publicToKeyObject } from '../../tpm/crypto/public-key';
import { parsePcrBlob, pcrBlobFromValues, pcrBlobToValues } from '../../tpm/keylime/pcr-blob';
import { encodeKeylimeQuote, parseKeylimeQuote } from '../../tpm/keylime/quote-string';
import { verifyQuote } from '../../tpm/verify/quote';

const PYTHON = join(__dirname, '..', '..', '.tools', 'keylime-venv', 'bin', 'python');
const CHECK = `
import sys, json
from keylime.tpm.tpm_main import Tpm
from keylime.tpm import tpm_util
d = json.load(sys.stdin)
q, s, p = Tpm._get_quote_parameters(d["quote"], False)
try:
    pcrs = tpm_util.checkquote(d["ak_pem"].encode(), bytes.fromhex(d["nonce"]), s, q, p, "sha256")
    print(json.dumps({"ok": True, "pcrs": {str(k): v for k, v in pcrs.items()}}))
except Exception as e:
    print(json.dumps({"ok": False, "error": repr(e)}))
`;

const { tool, read } = useSwtpmTools('keylime');
const flush = () => tool('tpm2_flushcontext', '-t');

function keylimeCheck(
  quote: string,
  akPub: Uint8Array,
  nonce: Buffer,
): { ok: boolean; pcrs?: Record<string, string>; error?: string } {
  const akPem = publicToKeyObject(parseTpm2bPublic(akPub).value).export({ type: 'spki', format: 'pem' });
  const out = execFileSync(PYTHON, ['-c', CHECK], {
    input: JSON.stringify({ quote, ak_pem: akPem, nonce: nonce.toString('hex') }),
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  return JSON.parse(out.trim().split('\n').pop()!);
}

describe('Keylime checkquote accepts our quote strings', () => {
  it.each([
    ['rsa', 'rsassa'],
    ['ecc', 'ecdsa'],
  ] as const)('%s %s AK, one sha256 bank (Keylime handles only the signature-hash bank)', (alg, scheme) => {
    tool('tpm2_createak', '-C', '0x81010001', '-c', 'ak.ctx', '-G', alg, '-g', 'sha256', '-s', scheme, '-u', 'ak.pub');
    flush();
    tool('tpm2_pcrextend', `16:sha256=${randomBytes(32).toString('hex')}`);
    const nonce = randomBytes(20);
    tool(
      'tpm2_quote',
      '-c',
      'ak.ctx',
      '-l',
      'sha256:0,1,2,3,4,5,6,7,8,16',
      '-q',
      nonce.toString('hex'),
      '-g',
      'sha256',
      '-m',
      'q.attest',
      '-s',
      'q.sig',
      '-o',
      'q.pcrs',
    );
    flush();
    const blob = parsePcrBlob(read('q.pcrs'));
    const values = pcrBlobToValues(blob);
    // built from by-bank values (as a server re-encoding evidence would), not copied from tpm2-tools
    const quote = encodeKeylimeQuote({
      attest: read('q.attest'),
      signature: read('q.sig'),
      pcrBlob: pcrBlobFromValues(values),
    });
    const ours = verifyQuote({ akPublic: read('ak.pub'), ...parseKeylimeQuote(quote), nonce, pcrs: values });
    expect(ours.safe).toBe(true);
    const verdict = keylimeCheck(quote, read('ak.pub'), nonce);
    expect(verdict).toEqual({
      ok: true,
      pcrs: Object.fromEntries(Object.entries(values.sha256!).map(([k, v]) => [k, Buffer.from(v).toString('hex')])),
    });
    // a changed PCR value in our blob is refused by Keylime too
    const bad = { ...values, sha256: { ...values.sha256, 16: randomBytes(32) } };
    const tampered = encodeKeylimeQuote({
      attest: read('q.attest'),
      signature: read('q.sig'),
      pcrBlob: pcrBlobFromValues(bad),
    });
    expect(keylimeCheck(tampered, read('ak.pub'), nonce).ok).toBe(false);
  });
});
