// 200 full agent cycles against swtpm with no resource manager: every transient object and session the
// client creates must be flushed, on success and on failure paths.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useSwtpmClient } from '../helpers/swtpm';
import * as C from '../../tpm/marshal/constants';
import { pcrSelection } from '../../tpm/types/pcr';
import { TpmError } from '../../tpm/errors';
import type { EkKind } from '../../tpm/ek/templates';
import type { AkAlg } from '../../tpm/ak/ak';
import {
  execute,
  keyCreateParams,
  policySessionParams,
  TPM2_CreatePrimary,
  TPM2_FlushContext,
  TPM2_StartAuthSession,
  UNBOUND_SESSION,
} from '../../tpm/commands';
import { srkTemplate } from '../../tpm/ek/templates';
import { makeCredential } from '../../tpm/crypto/make-credential';

jest.setTimeout(300000);
const env = useSwtpmClient();

const CYCLES = 200;
const KINDS: [EkKind, AkAlg][] = [
  ['rsa2048', 'rsa'],
  ['ecc-p384', 'ecc'],
  ['ecc-p256', 'ecc'],
  ['rsa2048', 'ecc'],
];

test(`after ${CYCLES} agent cycles (EK, AK load, activation, quote; some failing) the TPM holds 0 transient objects and 0 sessions`, async () => {
  // The counter itself sees what is left loaded (so 0 at the end means something).
  const t = env.tpm.transport;
  const srk = await execute(t, TPM2_CreatePrimary, {
    handles: { primaryHandle: C.TPM_RH_OWNER },
    params: keyCreateParams(srkTemplate('ecc')),
  });
  const session = await execute(t, TPM2_StartAuthSession, { handles: UNBOUND_SESSION, params: policySessionParams() });
  expect(await env.tpm.loadedCounts()).toEqual({ transient: 1, sessions: 1 });
  await execute(t, TPM2_FlushContext, { params: { flushHandle: srk.handle } });
  await execute(t, TPM2_FlushContext, { params: { flushHandle: session.handle } });
  expect(await env.tpm.loadedCounts()).toEqual({ transient: 0, sessions: 0 });

  const dirs = KINDS.map(() => mkdtempSync(join(tmpdir(), 'leak-ak-'))); // EK- and SRK-child AKs live side by side
  const times: number[] = [];
  let failures = 0;
  for (let i = 0; i < CYCLES; i++) {
    const started = performance.now();
    const [ekKind, akAlg] = KINDS[i % KINDS.length];
    const ek = await env.tpm.readEk(ekKind);
    const ak = await env.tpm.loadOrCreateAk(dirs[i % KINDS.length], akAlg, { ek, parent: i % 8 < 4 ? 'ek' : 'srk' });
    const credential = randomBytes(16);
    const made = makeCredential({ ekPublic: ek.public.value, objectName: ak.name, credential });
    const idObject = made.idObject;
    const encSecret = made.encryptedSecret;
    if (i % 10 === 9) {
      // A tampered blob fails inside ActivateCredential with the AK, the SRK and the EK session loaded.
      const bad = new Uint8Array(idObject);
      bad[bad.length - 1] ^= 0xff;
      await expect(env.tpm.activateCredential(ak, ek, bad, encSecret)).rejects.toBeInstanceOf(TpmError);
      failures++;
    } else {
      const got = await env.tpm.activateCredential(ak, ek, idObject, encSecret);
      expect(timingSafeEqual(got, credential)).toBe(true);
    }
    const nonce = randomBytes(32);
    const q = await env.tpm.quote(ak, nonce, [pcrSelection(C.TPM_ALG_SHA256, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])]);
    expect(Buffer.from(q.attest.value.extraData).equals(nonce)).toBe(true);
    times.push(performance.now() - started);
  }
  expect(failures).toBe(CYCLES / 10);
  expect(await env.tpm.loadedCounts()).toEqual({ transient: 0, sessions: 0 });
  times.sort((a, b) => a - b);
  const med = times[Math.floor(times.length / 2)];
  process.stderr.write(
    `no-leak: ${CYCLES} cycles, median ${med.toFixed(1)} ms, p95 ${times[Math.floor(times.length * 0.95)].toFixed(1)} ms per cycle\n`,
  );
});
