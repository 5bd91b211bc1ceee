// Golden evidence captured from swtpm (test/fixtures/tpm) as the server's checks receive it: the payload,
// the challenge response, the CA bundle and a configuration that trusts it. Shared by the server unit tests.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { create, toBinary } from '@bufbuild/protobuf';
import { AttestationPayloadSchema, ChallengeResponseSchema } from '../../../proto/gen/tpmquote/v1/attestation_pb';
import { parsePcrBlob, pcrBlobToValues } from '../../../tpm/keylime/pcr-blob';
import { configureServer, type ServerConfig } from '../../../plugin-server/config';
import { createInProcessVerifier } from '../../../verifier-client/in-process';

const FX = resolve(__dirname, '../../fixtures/tpm');
export const fx = (name: string) => new Uint8Array(readFileSync(join(FX, name)));
export const strip2b = (b: Uint8Array) => b.subarray(2);

export const NONCE = Buffer.from(readFileSync(join(FX, 'nonce.hex'), 'utf8').trim(), 'hex');
export const SECRET = new Uint8Array(32).fill(0x42);
export const SELECTION = 'sha256:0,1,2,3,16+sha1:16';

/** A temporary directory holding cas.pem (the golden EK's CAs) and other-cas.pem (unrelated CAs). */
export function goldenDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tpmq-unit-attest-'));
  writeFileSync(
    join(dir, 'cas.pem'),
    readFileSync(join(FX, 'ca-root.pem'), 'utf8') + readFileSync(join(FX, 'ca-issuer.pem'), 'utf8'),
  );
  writeFileSync(
    join(dir, 'other-cas.pem'),
    readFileSync(join(FX, 'other-ca-root.pem'), 'utf8') + readFileSync(join(FX, 'other-ca-issuer.pem'), 'utf8'),
  );
  return dir;
}

/** A server configuration trusting the golden EK's CAs and asking for the golden quote's PCRs, plus `extra` HCL. */
export function goldenConfig(dir: string, extra = ''): ServerConfig {
  const r = configureServer(
    { trustDomain: 'example.org' },
    `ek_ca_path = "${join(dir, 'cas.pem')}"\npcr_selection = "${SELECTION}"\n${extra}`,
  );
  if (!('config' in r)) throw new Error(r.notes.join('; '));
  return r.config;
}

export function payload(
  overrides: Partial<{
    ekCertificate: Uint8Array;
    ekPublic: Uint8Array;
    akPublic: Uint8Array;
    version: number;
    tpmInfo: { manufacturer: string; vendor: string; firmwareVersion: string; pcrBanks: string[] };
  }> = {},
): Uint8Array {
  return toBinary(
    AttestationPayloadSchema,
    create(AttestationPayloadSchema, {
      version: 1,
      ekCertificate: fx('ek-rsa-cert.der'),
      ekPublic: strip2b(fx('ek-rsa.pub')),
      akPublic: strip2b(fx('ak-rsa.pub')),
      ...overrides,
    }),
  );
}

/** The golden quote's PCR values as the response carries them. */
export function pcrValues() {
  const values = pcrBlobToValues(parsePcrBlob(fx('quote-rsa.pcrs')));
  return Object.entries(values).map(([bank, byIndex]) => ({
    bank,
    values: Object.entries(byIndex ?? {}).map(([i, d]) => ({ index: Number(i), digest: d })),
  }));
}

export function response(
  overrides: Partial<{
    activatedSecret: Uint8Array;
    quoteAttest: Uint8Array;
    quoteSignature: Uint8Array;
    pcrValues: ReturnType<typeof pcrValues>;
    version: number;
    eventLog: Uint8Array;
  }> = {},
) {
  return toBinary(
    ChallengeResponseSchema,
    create(ChallengeResponseSchema, {
      version: 1,
      activatedSecret: SECRET,
      quoteAttest: fx('quote-rsa.attest'),
      quoteSignature: fx('quote-rsa.sig'),
      pcrValues: pcrValues(),
      ...overrides,
    }),
  );
}

/** Injects the golden nonce, then the known secret, in the order the server draws them. */
export function deps(nonce: Uint8Array = NONCE) {
  const draws = [nonce, SECRET];
  return { verifier: createInProcessVerifier(), random: () => new Uint8Array(draws.shift()!), now: () => new Date() };
}
