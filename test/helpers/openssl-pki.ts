// Certificates made with the openssl CLI at test time (never checked in): CAs and leaves with the exact
// extensions, keys and signature hashes a test needs, under one temporary directory.
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Key kinds openssl genpkey makes here. */
export type KeyKind = 'rsa1024' | 'rsa2048' | 'rsa3072' | 'p256' | 'p384' | 'secp256k1';

export interface MadeCert {
  name: string;
  certPath: string;
  keyPath: string;
  pem: string;
  der: Uint8Array;
  x509: X509Certificate;
}

export interface CertSpec {
  subject: string;
  /** The signer; omitted: self-signed. */
  issuer?: MadeCert;
  /** A new key of this kind (default p256), or the key file of an earlier certificate (same key, new certificate). */
  key?: KeyKind | { keyPath: string };
  /** Extension lines in openssl's extfile syntax, e.g. "basicConstraints=critical,CA:TRUE". */
  ext?: string[];
  days?: number;
  /** Digest for the signature: sha256 (default), sha1, md5, sha384, ... */
  md?: string;
  /** openssl -sigopt values, e.g. ["rsa_padding_mode:pss"]. */
  sigopt?: string[];
}

export const CA_EXT = ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign'];
/** The TCG EK certificate profile's extensions for an RSA or an EC EK. */
export const EK_EXT_RSA = [
  'basicConstraints=critical,CA:FALSE',
  'keyUsage=critical,keyEncipherment',
  'extendedKeyUsage=2.23.133.8.1',
];
export const EK_EXT_EC = [
  'basicConstraints=critical,CA:FALSE',
  'keyUsage=critical,keyAgreement',
  'extendedKeyUsage=2.23.133.8.1',
];

export interface Pki {
  dir: string;
  make(name: string, spec: CertSpec): MadeCert;
  cleanup(): void;
}

const GENPKEY: Record<KeyKind, string[]> = {
  rsa1024: ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024'],
  rsa2048: ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'],
  rsa3072: ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:3072'],
  p256: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'],
  p384: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384'],
  secp256k1: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:secp256k1'],
};

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A scratch PKI in a fresh temporary directory; `cleanup()` removes it. */
export function createPki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), 'tpmq-pki-'));
  const make = (name: string, spec: CertSpec): MadeCert => {
    const key = spec.key ?? 'p256';
    const keyPath = typeof key === 'string' ? join(dir, `${name}.key`) : key.keyPath;
    if (typeof key === 'string') openssl(['genpkey', ...GENPKEY[key], '-out', keyPath], dir);
    const csr = join(dir, `${name}.csr`);
    openssl(['req', '-new', '-key', keyPath, '-subj', `/${spec.subject.replace(/, */g, '/')}`, '-out', csr], dir);
    const extfile = join(dir, `${name}.ext`);
    writeFileSync(extfile, (spec.ext ?? []).join('\n') + '\n');
    const certPath = join(dir, `${name}.pem`);
    const signer = spec.issuer
      ? [
          '-CA',
          spec.issuer.certPath,
          '-CAkey',
          spec.issuer.keyPath,
          '-set_serial',
          String(Math.floor(Math.random() * 2 ** 31)),
        ]
      : ['-signkey', keyPath];
    const sigopt = (spec.sigopt ?? []).flatMap((o) => ['-sigopt', o]);
    openssl(
      [
        'x509',
        '-req',
        '-in',
        csr,
        ...signer,
        `-${spec.md ?? 'sha256'}`,
        ...sigopt,
        '-days',
        String(spec.days ?? 3650),
        '-extfile',
        extfile,
        '-out',
        certPath,
      ],
      dir,
    );
    const pem = readFileSync(certPath, 'utf8');
    const x509 = new X509Certificate(pem);
    return { name, certPath, keyPath, pem, der: new Uint8Array(x509.raw), x509 };
  };
  return { dir, make, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
