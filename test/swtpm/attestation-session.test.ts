// One attestation session per stream (tpm/attestation-session.ts) against swtpm with no resource manager:
// the EK is derived at most once (0 times when persistent), the AK loaded once, and every transient object
// and session is flushed on success and on failure.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useSwtpmClient } from '../helpers/swtpm';
import * as C from '../../tpm/marshal/constants';
import { pcrSelection } from '../../tpm/types/pcr';
import { TpmError } from '../../tpm/errors';
import { makeCredential } from '../../tpm/crypto/make-credential';
import type { EkChoice } from '../../tpm/ek/ek';

jest.setTimeout(300000);
const env = useSwtpmClient();
const sel = [pcrSelection(C.TPM_ALG_SHA256, [0, 1, 2, 3, 4, 5, 6, 7])];

// swtpm_setup leaves the RSA EK at 0x81010001 and the ECC P-384 EK at 0x81010016; the ECC P-256 EK is
// provisioned nowhere, so the session derives it.
test.each<[EkChoice, number]>([
  ['rsa', 0],
  ['ecc-p384', 0],
  ['ecc-p256', 1],
])(
  'ek_algorithm %s: %i CreatePrimary per attestation, nothing left loaded after success or a failed activation',
  async (choice, createPrimary) => {
    const dir = mkdtempSync(join(tmpdir(), 'session-ak-'));
    for (const tamper of [false, true, false]) {
      const { session } = await env.tpm.beginAttestation({ ekChoice: choice, ak: { dataDir: dir, alg: 'rsa' } });
      try {
        const credential = randomBytes(32);
        const made = makeCredential({ ekPublic: session.ek.public.value, objectName: session.ak.name, credential });
        if (tamper) {
          const bad = new Uint8Array(made.idObject);
          bad[bad.length - 1] ^= 0xff;
          await expect(session.activateCredential(bad, made.encryptedSecret)).rejects.toBeInstanceOf(TpmError);
        } else {
          const got = await session.activateCredential(made.idObject, made.encryptedSecret);
          expect(timingSafeEqual(got, credential)).toBe(true);
          const nonce = randomBytes(32);
          const q = await session.quote(nonce, sel);
          expect(Buffer.from(q.attest.value.extraData).equals(nonce)).toBe(true);
        }
        expect(session.counts().createPrimary).toBe(createPrimary);
      } finally {
        await session.close();
      }
      expect(await env.tpm.loadedCounts()).toEqual({ transient: 0, sessions: 0 });
    }
  },
);

test('an ak_handle holding no key fails the opening and leaves nothing loaded (the derived EK is flushed)', async () => {
  await expect(env.tpm.beginAttestation({ ekChoice: 'ecc-p256', ak: { handle: 0x81000123 } })).rejects.toThrow(
    /0x81000123|TPM_RC_HANDLE/,
  );
  expect(await env.tpm.loadedCounts()).toEqual({ transient: 0, sessions: 0 });
});
