import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSwtpm, type Swtpm } from '../helpers/swtpm';
import { openTpm, type TpmClient } from '../../tpm/client';
import * as C from '../../tpm/marshal/constants';
import { EK_PROFILES } from '../../tpm/ek/templates';
import { createPrimary, flushContext, nvReadAll } from '../../tpm/commands/operations';
import { flushAll, tpm2, yamlName } from './tpm2-tools';

jest.setTimeout(120000);
let s: Swtpm;
let tpm: TpmClient;
let work: string;

beforeAll(() => {
  s = startSwtpm();
  tpm = openTpm(s.transportSpec);
  work = mkdtempSync(join(tmpdir(), 'ek-test-'));
});
afterAll(async () => {
  await tpm?.close();
  s?.stop();
});

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe.each([
  ['rsa2048', 0x81010001, C.TPM_ALG_RSA],
  ['ecc-p384', 0x81010016, C.TPM_ALG_ECC],
] as const)('provisioned %s EK', (kind, handle, type) => {
  test('public area and Name equal tpm2_readpublic, certificate matches and chains to the local CA', async () => {
    const ek = await tpm.readEk(kind);
    expect(ek.kind).toBe(kind);
    expect(ek.persistentHandle).toBe(handle);
    expect(ek.public.type).toBe(type);
    const out = tpm2(s, 'readpublic', ['-c', `0x${handle.toString(16)}`, '-o', `${kind}.pub`], work);
    const theirs = readFileSync(join(work, `${kind}.pub`));
    expect(hex(ek.publicBytes)).toBe(hex(theirs.subarray(2)));
    expect(hex(ek.name)).toBe(hex(yamlName(out)));
    expect(ek.certificate).toBeDefined();
    const cert = new X509Certificate(Buffer.from(ek.certificate!));
    expect(cert.raw.length).toBe(ek.certificate!.length);
    const issuer = new X509Certificate(readFileSync(s.caIssuer));
    expect(cert.verify(issuer.publicKey)).toBe(true);
    const root = new X509Certificate(readFileSync(s.caRoot));
    expect(issuer.verify(root.publicKey)).toBe(true);
  });

  test('the profile template re-creates exactly the provisioned EK', async () => {
    const created = await createPrimary(tpm.transport, C.TPM_RH_ENDORSEMENT, EK_PROFILES[kind].template());
    try {
      const ek = await tpm.readEk(kind);
      expect(hex(created.publicBytes)).toBe(hex(ek.publicBytes));
    } finally {
      await flushContext(tpm.transport, created.handle);
    }
  });
});

test('auto picks the RSA EK; ecc picks the P-384 EK (the one with a certificate)', async () => {
  expect((await tpm.readEk('auto')).kind).toBe('rsa2048');
  expect((await tpm.readEk('ecc')).kind).toBe('ecc-p384');
});

test('ECC P-256 EK (template L-2, no certificate here) equals tpm2_createek -G ecc', async () => {
  const ek = await tpm.readEk('ecc-p256');
  expect(ek.persistentHandle).toBeUndefined();
  expect(ek.certificate).toBeUndefined();
  if (ek.public.type !== C.TPM_ALG_ECC) throw new Error('not ECC');
  expect(ek.public.parameters.curveID).toBe(C.TPM_ECC_NIST_P256);
  tpm2(s, 'createek', ['-c', 'p256.ctx', '-G', 'ecc', '-u', 'p256.pub'], work);
  flushAll(s, work);
  const theirs = readFileSync(join(work, 'p256.pub'));
  expect(hex(ek.publicBytes)).toBe(hex(theirs.subarray(2)));
  expect(await tpm.loadedCounts()).toEqual({ transient: 0, sessions: 0 });
});

test('padded certificate in NV is read in NV_BUFFER_MAX chunks and trimmed to its DER length', async () => {
  const ek = await tpm.readEk('rsa2048');
  const der = Buffer.from(ek.certificate!);
  const padded = Buffer.concat([der, Buffer.alloc(1500 - der.length, 0xff)]);
  writeFileSync(join(work, 'padded.bin'), padded);
  // An owner-defined index in the EK-certificate range (0x01c0000a, the P-256 slot, is free on swtpm).
  tpm2(s, 'nvdefine', ['0x01c0000a', '-C', 'o', '-s', '1500', '-a', 'ownerread|ownerwrite|authread|authwrite'], work);
  tpm2(s, 'nvwrite', ['0x01c0000a', '-C', 'o', '-i', 'padded.bin'], work);
  const raw = await nvReadAll(tpm.transport, 0x01c0000a, { chunkSize: 400 });
  expect(Buffer.from(raw).equals(padded)).toBe(true);
  // Discovery now finds a "P-256 EK certificate" whose key is the RSA EK's: it must not be taken for a match.
  const p256 = await tpm.readEk('ecc-p256');
  expect(hex(p256.certificate!)).toBe(hex(der));
  expect(p256.public.type).toBe(C.TPM_ALG_ECC);
  tpm2(s, 'nvundefine', ['0x01c0000a', '-C', 'o'], work);
});
