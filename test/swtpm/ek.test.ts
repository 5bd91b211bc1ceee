import { execFileSync } from 'node:child_process';
import { X509Certificate, createPublicKey } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { useSwtpmClient } from '../helpers/swtpm';
import * as C from '../../tpm/marshal/constants';
import { EK_PROFILES } from '../../tpm/ek/templates';
import { EkCertificateMismatchError } from '../../tpm/ek/ek';
import { execute, keyCreateParams, nvReadAll, TPM2_CreatePrimary, TPM2_FlushContext } from '../../tpm/commands';
import { flushAll, tpm2, yamlName } from './tpm2-tools';

jest.setTimeout(120000);
const env = useSwtpmClient({ workPrefix: 'ek-test-' });

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe.each([
  ['rsa2048', 0x81010001, C.TPM_ALG_RSA],
  ['ecc-p384', 0x81010016, C.TPM_ALG_ECC],
] as const)('provisioned %s EK', (kind, handle, type) => {
  test('public area and Name equal tpm2_readpublic, certificate matches and chains to the local CA', async () => {
    const ek = await env.tpm.readEk(kind);
    expect(ek.kind).toBe(kind);
    expect(ek.persistentHandle).toBe(handle);
    expect(ek.public.value.type).toBe(type);
    const out = tpm2(env.swtpm, 'readpublic', ['-c', `0x${handle.toString(16)}`, '-o', `${kind}.pub`], env.work);
    const theirs = readFileSync(join(env.work, `${kind}.pub`));
    expect(hex(ek.public.bytes)).toBe(hex(theirs.subarray(2)));
    expect(hex(ek.name)).toBe(hex(yamlName(out)));
    expect(ek.certificate).toBeDefined();
    const cert = new X509Certificate(Buffer.from(ek.certificate!));
    expect(cert.raw.length).toBe(ek.certificate!.length);
    const issuer = new X509Certificate(readFileSync(env.swtpm.caIssuer));
    expect(cert.verify(issuer.publicKey)).toBe(true);
    const root = new X509Certificate(readFileSync(env.swtpm.caRoot));
    expect(issuer.verify(root.publicKey)).toBe(true);
  });

  test('the profile template re-creates exactly the provisioned EK', async () => {
    const created = await execute(env.tpm.transport, TPM2_CreatePrimary, {
      handles: { primaryHandle: C.TPM_RH_ENDORSEMENT },
      params: keyCreateParams(EK_PROFILES[kind].template!()),
    });
    try {
      const ek = await env.tpm.readEk(kind);
      expect(hex(created.params.outPublic.bytes)).toBe(hex(ek.public.bytes));
    } finally {
      await execute(env.tpm.transport, TPM2_FlushContext, { params: { flushHandle: created.handle } });
    }
  });
});

test('auto picks the RSA EK; ecc picks the P-384 EK (the one with a certificate)', async () => {
  expect((await env.tpm.readEk('auto')).kind).toBe('rsa2048');
  expect((await env.tpm.readEk('ecc')).kind).toBe('ecc-p384');
});

test('ECC P-256 EK (template L-2, no certificate here) equals tpm2_createek -G ecc', async () => {
  const ek = await env.tpm.readEk('ecc-p256');
  expect(ek.persistentHandle).toBeUndefined();
  expect(ek.certificate).toBeUndefined();
  if (ek.public.value.type !== C.TPM_ALG_ECC) throw new Error('not ECC');
  expect(ek.public.value.parameters.curveID).toBe(C.TPM_ECC_NIST_P256);
  tpm2(env.swtpm, 'createek', ['-c', 'p256.ctx', '-G', 'ecc', '-u', 'p256.pub'], env.work);
  flushAll(env.swtpm, env.work);
  const theirs = readFileSync(join(env.work, 'p256.pub'));
  expect(hex(ek.public.bytes)).toBe(hex(theirs.subarray(2)));
  expect(await env.tpm.loadedCounts()).toEqual({ transient: 0, sessions: 0 });
});

function defineAndWrite(index: string, file: string, size: number): void {
  tpm2(
    env.swtpm,
    'nvdefine',
    [index, '-C', 'o', '-s', String(size), '-a', 'ownerread|ownerwrite|authread|authwrite'],
    env.work,
  );
  tpm2(env.swtpm, 'nvwrite', [index, '-C', 'o', '-i', file], env.work);
}

test('ECC P-256 EK certificate in NV (zero-padded): discovery picks template L-2, key matches, chains to the CA', async () => {
  const ek = await env.tpm.readEk('ecc-p256');
  if (ek.public.value.type !== C.TPM_ALG_ECC) throw new Error('not ECC');
  const pem = createPublicKey({
    key: {
      kty: 'EC',
      crv: 'P-256',
      x: Buffer.from(ek.public.value.unique.x).toString('base64url'),
      y: Buffer.from(ek.public.value.unique.y).toString('base64url'),
    },
    format: 'jwk',
  }).export({ type: 'spki', format: 'pem' });
  writeFileSync(join(env.work, 'p256-ek.pem'), pem);
  // A certificate for the P-256 EK issued by this swtpm's local CA (openssl, as a manufacturer would).
  execFileSync(
    'openssl',
    [
      'x509',
      '-new',
      '-subj',
      '/CN=tpm_quote test P-256 EK',
      '-force_pubkey',
      'p256-ek.pem',
      '-CA',
      env.swtpm.caIssuer,
      '-CAkey',
      join(env.swtpm.dir, 'ca', 'signkey.pem'),
      '-days',
      '1',
      '-outform',
      'DER',
      '-out',
      'p256.der',
    ],
    { cwd: env.work, stdio: 'ignore' },
  );
  const der = readFileSync(join(env.work, 'p256.der'));
  writeFileSync(join(env.work, 'p256-padded.bin'), Buffer.concat([der, Buffer.alloc(1100 - der.length)]));
  defineAndWrite('0x01c0000a', 'p256-padded.bin', 1100);
  try {
    const found = await env.tpm.readEk('ecc'); // P-256 comes before P-384 when both have certificates
    expect(found.kind).toBe('ecc-p256');
    expect(found.persistentHandle).toBeUndefined();
    expect(hex(found.certificate!)).toBe(der.toString('hex'));
    expect(hex(found.public.bytes)).toBe(hex(ek.public.bytes));
    const cert = new X509Certificate(Buffer.from(found.certificate!));
    expect(cert.verify(new X509Certificate(readFileSync(env.swtpm.caIssuer)).publicKey)).toBe(true);
    expect(await env.tpm.loadedCounts()).toEqual({ transient: 0, sessions: 0 });
  } finally {
    tpm2(env.swtpm, 'nvundefine', ['0x01c0000a', '-C', 'o'], env.work);
  }
});

test('padded certificate read in chunks and trimmed; a certificate for another key fails closed', async () => {
  const ek = await env.tpm.readEk('rsa2048');
  const der = Buffer.from(ek.certificate!);
  const padded = Buffer.concat([der, Buffer.alloc(1500 - der.length, 0xff)]);
  writeFileSync(join(env.work, 'padded.bin'), padded);
  // The RSA EK's certificate put in the P-256 slot (0x01c0000a is free on swtpm).
  defineAndWrite('0x01c0000a', 'padded.bin', 1500);
  try {
    const raw = await nvReadAll(env.tpm.transport, 0x01c0000a, { chunkSize: 400 });
    expect(Buffer.from(raw).equals(padded)).toBe(true);
    await expect(env.tpm.readEk('ecc-p256')).rejects.toThrow(
      new EkCertificateMismatchError('ecc-p256', 0x01c0000a, 'L-2 (ECC NIST P-256)'),
    );
    await expect(env.tpm.readEk('ecc-p256')).rejects.toThrow(/NV 0x1c0000a does not certify the ecc-p256 EK/);
    expect(await env.tpm.loadedCounts()).toEqual({ transient: 0, sessions: 0 });
  } finally {
    tpm2(env.swtpm, 'nvundefine', ['0x01c0000a', '-C', 'o'], env.work);
  }
});
