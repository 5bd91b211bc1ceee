// The identity an attestation read, confirmed by the next one instead of re-read (tpm/attestation-session.ts
// `cached`), and Quote then one PCR_Read checked against the quote's pcrDigest, on swtpm (no resource
// manager): TPM command counts per attestation, each way the cache is refused, and nothing left loaded
// (TPM2_GetCapability of the transient and session handles) after every path.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useSwtpmClient } from '../helpers/swtpm';
import { flushAll, tpm2 } from './tpm2-tools';
import * as C from '../../tpm/marshal/constants';
import { pcrSelection, type TpmsPcrSelection } from '../../tpm/types/pcr';
import { makeCredential } from '../../tpm/crypto/make-credential';
import { pcrCompositeDigest } from '../../tpm/crypto/pcr-digest';
import { execute, passwordAuth, type TpmSender } from '../../tpm/commands/execute';
import { TPM2_PCR_Extend } from '../../tpm/commands/definitions';
import {
  openAttestationSession,
  PcrsChangingError,
  type AttestationSessionOptions,
  type SessionIdentity,
} from '../../tpm/attestation-session';
import type { TpmInfo } from '../../tpm/client';
import type { EkChoice } from '../../tpm/ek/ek';
import { createIdentityCache, identityKey } from '../../plugin-agent/identity-cache';
import { identityFilePath } from '../../plugin-agent/identity-file';

jest.setTimeout(300000);
const env = useSwtpmClient({ workPrefix: 'identity-cache-' });
const sel = [pcrSelection(C.TPM_ALG_SHA256, [0, 1, 2, 3, 4, 5, 6, 7])];
const AK_HANDLE = 0x81000100;
const EK_HANDLE = 0x81010001; // swtpm_setup's persistent RSA-2048 EK

const tool = (name: string, ...args: string[]) => tpm2(env.swtpm, name, args, env.work);
// A persistent AK (child of the persistent RSA EK) at `handle`, as an operator provisions ak_handle.
function provisionAk(handle: number) {
  tool('createak', '-C', `0x${EK_HANDLE.toString(16)}`, '-c', 'ak.ctx', '-G', 'rsa', '-g', 'sha256', '-s', 'rsassa');
  tool('evictcontrol', '-C', 'o', '-c', 'ak.ctx', `0x${handle.toString(16)}`);
  flushAll(env.swtpm, env.work);
}

beforeAll(() => provisionAk(AK_HANDLE));

interface Attested {
  fromCache: boolean;
  cacheMiss?: string;
  identity: SessionIdentity<TpmInfo>;
  commands: number;
  createPrimary: number;
}

// One attestation's TPM side as the agent runs it: open (with `cached`), activate, quote + read, close.
async function attest(
  ekChoice: EkChoice,
  ak: AttestationSessionOptions['ak'],
  cached?: SessionIdentity<TpmInfo>,
): Promise<Attested> {
  const opened = await env.tpm.beginAttestation({ ekChoice, ak, cached, maxIntermediates: 8 });
  const { session } = opened;
  try {
    const credential = randomBytes(32);
    const made = makeCredential({ ekPublic: session.ek.public.value, objectName: session.ak.name, credential });
    expect(timingSafeEqual(await session.activateCredential(made.idObject, made.encryptedSecret), credential)).toBe(
      true,
    );
    const nonce = randomBytes(32);
    const { quote, attempts } = await session.quoteAndRead(nonce, sel, 3);
    expect(Buffer.from(quote.attest.value.extraData).equals(nonce)).toBe(true);
    expect(attempts).toBe(1);
  } finally {
    await session.close();
    expect(await env.tpm.loadedCounts()).toEqual({ transient: 0, sessions: 0 });
  }
  // Counted after close(): its FlushContext commands included.
  const c = session.counts();
  return { ...opened, commands: c.total, createPrimary: c.createPrimary };
}

test('persistent EK + ak_handle: the repeat attestation, confirmed by ReadPublic, sends at most 8 commands and no CreatePrimary', async () => {
  const first = await attest('rsa', { handle: AK_HANDLE });
  expect([first.fromCache, first.createPrimary]).toEqual([false, 0]);
  const again = await attest('rsa', { handle: AK_HANDLE }, first.identity);
  expect([again.fromCache, again.cacheMiss, again.createPrimary]).toEqual([true, undefined, 0]);
  expect(again.commands).toBeLessThanOrEqual(8);
  expect(again.commands).toBeLessThan(first.commands);
  // The identity confirmed is the one read: same EK public, certificate and AK.
  expect(Buffer.from(again.identity.ek.public.bytes).equals(Buffer.from(first.identity.ek.public.bytes))).toBe(true);
  expect(again.identity.ek.certificate).toEqual(first.identity.ek.certificate);
  expect(again.identity.ak?.handle).toBe(AK_HANDLE);
  console.log(`persistent EK + ak_handle: first ${first.commands} commands, repeat ${again.commands}`);
});

test('persistent EK + AK file, and a template EK: the cache skips facts and NV; a template EK costs exactly 1 CreatePrimary', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'identity-cache-ak-'));
  const file = await attest('rsa', { dataDir: dir, alg: 'rsa' });
  const fileAgain = await attest('rsa', { dataDir: dir, alg: 'rsa' }, file.identity);
  expect([fileAgain.fromCache, fileAgain.createPrimary]).toEqual([true, 0]);
  expect(fileAgain.commands).toBeLessThan(file.commands);
  // swtpm_setup provisions no persistent ECC P-256 EK: it is derived from its template.
  const derived = await attest('ecc-p256', { dataDir: dir, alg: 'rsa' });
  const derivedAgain = await attest('ecc-p256', { dataDir: dir, alg: 'rsa' }, derived.identity);
  expect([derived.createPrimary, derivedAgain.fromCache, derivedAgain.createPrimary]).toEqual([1, true, 1]);
  expect(derivedAgain.commands).toBeLessThan(derived.commands);
  console.log(
    `AK file: ${file.commands} -> ${fileAgain.commands} commands; template EK: ${derived.commands} -> ${derivedAgain.commands}`,
  );
});

test('a cached identity for another AK source is not used', async () => {
  const first = await attest('rsa', { handle: AK_HANDLE });
  const dir = mkdtempSync(join(tmpdir(), 'identity-cache-ak-'));
  const other = await attest('rsa', { dataDir: dir, alg: 'rsa' }, first.identity);
  expect([other.fromCache, other.cacheMiss]).toEqual([false, 'the AK source changed']);
});

test('another key at ak_handle after the cache was filled: full path, the new AK used', async () => {
  const first = await attest('rsa', { handle: AK_HANDLE });
  tool('evictcontrol', '-C', 'o', '-c', `0x${AK_HANDLE.toString(16)}`);
  provisionAk(AK_HANDLE);
  const after = await attest('rsa', { handle: AK_HANDLE }, first.identity);
  expect([after.fromCache, after.cacheMiss]).toEqual([false, 'ak_handle 0x81000100 holds another key']);
  expect(Buffer.from(after.identity.ak!.name).equals(Buffer.from(first.identity.ak!.name))).toBe(false);
});

describe('persisted in ak_data_dir (plugin-agent/identity-file.ts), read back by a new cache as after a restart', () => {
  const key = identityKey({ tpm: 'swtpm' });
  // Attests on the full path, persists the identity with that attestation's quote facts, as the agent does.
  async function persisted(file: string) {
    const first = await attest('rsa', { handle: AK_HANDLE });
    await createIdentityCache().fill(key, first.identity, { resetCount: 0, firmwareVersion: 0n }, file);
    return first;
  }
  const restartedLookup = async (file: string) => (await createIdentityCache().lookup(key, 60_000, file)).identity;

  test('restart with the persisted cache: persistent EK + ak_handle confirmed, at most 8 commands, 0 CreatePrimary', async () => {
    const file = identityFilePath(mkdtempSync(join(tmpdir(), 'identity-cache-file-')));
    const first = await persisted(file);
    const cached = await restartedLookup(file);
    expect(cached).toBeDefined();
    const after = await attest('rsa', { handle: AK_HANDLE }, cached);
    expect([after.fromCache, after.cacheMiss, after.createPrimary]).toEqual([true, undefined, 0]);
    expect(after.commands).toBeLessThanOrEqual(8);
    console.log(`persisted identity: first ${first.commands} commands, first after restart ${after.commands}`);
  });

  test('the EK changed after it was persisted: full path, nothing left loaded', async () => {
    const file = identityFilePath(mkdtempSync(join(tmpdir(), 'identity-cache-file-')));
    await persisted(file);
    const cached = await restartedLookup(file);
    tool('evictcontrol', '-C', 'o', '-c', `0x${EK_HANDLE.toString(16)}`);
    tool('createprimary', '-C', 'o', '-G', 'ecc', '-c', 'other.ctx');
    tool('evictcontrol', '-C', 'o', '-c', 'other.ctx', `0x${EK_HANDLE.toString(16)}`);
    flushAll(env.swtpm, env.work);
    try {
      const after = await attest('rsa', { handle: AK_HANDLE }, cached);
      expect([after.fromCache, after.cacheMiss]).toEqual([false, 'persistent EK 0x81010001 holds another key']);
    } finally {
      // The RSA EK back at its handle (same seed, same key) for the tests after this one.
      tool('evictcontrol', '-C', 'o', '-c', `0x${EK_HANDLE.toString(16)}`);
      tool('createek', '-c', `0x${EK_HANDLE.toString(16)}`, '-G', 'rsa');
      flushAll(env.swtpm, env.work);
    }
    expect(await env.tpm.loadedCounts()).toEqual({ transient: 0, sessions: 0 });
  });
});

test('a changed persistent EK public after the cache was filled: full path (the EK re-derived from its template)', async () => {
  const first = await attest('rsa', { handle: AK_HANDLE });
  expect(first.identity.ek.persistentHandle).toBe(EK_HANDLE);
  // Another key at the EK's handle (an ECC owner primary): the cached public no longer matches.
  tool('evictcontrol', '-C', 'o', '-c', `0x${EK_HANDLE.toString(16)}`);
  tool('createprimary', '-C', 'o', '-G', 'ecc', '-c', 'other.ctx');
  tool('evictcontrol', '-C', 'o', '-c', 'other.ctx', `0x${EK_HANDLE.toString(16)}`);
  flushAll(env.swtpm, env.work);
  const after = await attest('rsa', { handle: AK_HANDLE }, first.identity);
  expect([after.fromCache, after.cacheMiss]).toEqual([false, 'persistent EK 0x81010001 holds another key']);
  expect([after.identity.ek.persistentHandle, after.createPrimary]).toEqual([undefined, 1]);
  expect(Buffer.from(after.identity.ek.name).equals(Buffer.from(first.identity.ek.name))).toBe(true);
  // The ReadPublic of a handle that holds nothing fails: full path as well.
  tool('evictcontrol', '-C', 'o', '-c', `0x${EK_HANDLE.toString(16)}`);
  const gone = await attest('rsa', { handle: AK_HANDLE }, first.identity);
  expect(gone.fromCache).toBe(false);
  expect(gone.cacheMiss).toMatch(/^confirming it failed: .*TPM_RC_HANDLE/);
});

describe('quote, then one PCR read checked against the quote', () => {
  const pcr16: TpmsPcrSelection[] = [pcrSelection(C.TPM_ALG_SHA256, [16])];
  // A sender that extends PCR 16 right after each of the first `times` TPM2_Quote commands.
  const extendingAfterQuote = (inner: TpmSender, times: number): TpmSender => {
    let left = times;
    return {
      async send(command, o) {
        const r = await inner.send(command, o);
        if (left > 0 && Buffer.from(command).readUInt32BE(6) === C.TPM_CC_Quote) {
          left--;
          await execute(inner, TPM2_PCR_Extend, {
            handles: { pcrHandle: { handle: 16, auth: passwordAuth() } },
            params: { digests: [{ hashAlg: C.TPM_ALG_SHA256, digest: randomBytes(32) }] },
          });
        }
        return r;
      },
    };
  };
  const open = (sender: TpmSender) =>
    openAttestationSession(sender, { ekChoice: 'ecc-p256', ak: { dataDir: env.work, alg: 'rsa' } }, async () => 0);

  test('a PCR extended between quote and read: quoted again, the values returned are the quoted ones', async () => {
    const { session } = await open(extendingAfterQuote(env.tpm.transport, 1));
    try {
      const { quote, pcrs, attempts } = await session.quoteAndRead(randomBytes(16), pcr16, 3);
      expect(attempts).toBe(2);
      const info = quote.attest.value.attested as { pcrDigest: Uint8Array };
      expect(Buffer.from(pcrCompositeDigest('sha256', pcr16, pcrs)!).equals(Buffer.from(info.pcrDigest))).toBe(true);
    } finally {
      await session.close();
    }
    expect(await env.tpm.loadedCounts()).toEqual({ transient: 0, sessions: 0 });
  });

  test('a PCR extended after every quote: PcrsChangingError naming the selection after 3 attempts', async () => {
    const { session } = await open(extendingAfterQuote(env.tpm.transport, Infinity));
    try {
      const err = await session.quoteAndRead(randomBytes(16), pcr16, 3).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PcrsChangingError);
      expect((err as Error).message).toBe(
        'PCRs sha256:16 changed between the quote and the PCR read in each of 3 attempts',
      );
    } finally {
      await session.close();
    }
    expect(await env.tpm.loadedCounts()).toEqual({ transient: 0, sessions: 0 });
  });
});
