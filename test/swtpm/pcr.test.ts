import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { useSwtpmClient } from '../helpers/swtpm';
import * as C from '../../tpm/marshal/constants';
import { execute, TPM2_PCR_Extend } from '../../tpm/commands';
import { pcrSelection } from '../../tpm/types/pcr';
import { tpm2 } from './tpm2-tools';

jest.setTimeout(120000);
const env = useSwtpmClient({ workPrefix: 'pcr-test-' });

const ALL = [...Array(24).keys()];
const BANKS = [
  { hash: C.TPM_ALG_SHA1, name: 'sha1' },
  { hash: C.TPM_ALG_SHA256, name: 'sha256' },
  { hash: C.TPM_ALG_SHA384, name: 'sha384' },
] as const;

test('getInfo reports manufacturer, vendor, firmware and the allocated banks', async () => {
  const info = await env.tpm.getInfo();
  expect(info.manufacturer).toBe('IBM');
  expect(info.family).toBe('2.0');
  expect(info.vendor).toMatch(/SW/);
  expect(info.firmwareVersion).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
  expect(info.pcrBanks.map((b) => b.hashName)).toEqual(['sha1', 'sha256', 'sha384']);
  expect(info.pcrBanks[1].pcrs).toEqual(ALL);
});

test('after tpm2_pcrextend, all 72 PCRs of three banks read by us equal tpm2_pcrread', async () => {
  for (const pcr of [0, 7, 8, 15, 16, 23]) {
    tpm2(
      env.swtpm,
      'pcrextend',
      [`${pcr}:sha1=${'1'.repeat(40)},sha256=${(pcr % 10).toString().repeat(64)},sha384=${'a'.repeat(96)}`],
      env.work,
    );
  }
  // Ours via TPM2_PCR_Extend too (the debug PCR 16 needs no platform auth).
  await execute(env.tpm.transport, TPM2_PCR_Extend, {
    handles: { pcrHandle: 16 },
    params: { digests: BANKS.map((b) => ({ hashAlg: b.hash, digest: createHash(b.name).update('ours').digest() })) },
  });
  const ours = await env.tpm.readPcrs(BANKS.map((b) => pcrSelection(b.hash, ALL)));
  tpm2(env.swtpm, 'pcrread', ['sha1:all+sha256:all+sha384:all', '-o', 'pcrs.bin'], env.work);
  const theirs = readFileSync(join(env.work, 'pcrs.bin'));
  const banks = Object.entries(ours);
  const flat = Buffer.concat(banks.flatMap(([, byIndex]) => Object.values(byIndex!).map((v) => Buffer.from(v))));
  expect(banks.map(([bank, byIndex]) => [bank, Object.keys(byIndex!).map(Number)])).toEqual(
    BANKS.map((b) => [b.name, ALL]),
  );
  expect(theirs.length).toBe(24 * (20 + 32 + 48));
  expect(flat.toString('hex')).toBe(theirs.toString('hex'));
  // The extended ones are no longer zero (so equality above is not trivial).
  expect(Buffer.from(ours.sha256![16]).equals(Buffer.alloc(32))).toBe(false);
});

test('reading a bank the TPM does not allocate fails with a message naming it', async () => {
  await expect(env.tpm.readPcrs([pcrSelection(C.TPM_ALG_SHA512, [0])])).rejects.toThrow(/TPM_ALG_SHA512:0/);
});
