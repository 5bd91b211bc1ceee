import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { useSwtpmClient } from '../helpers/swtpm';
import { Reader } from '../../tpm/marshal/codec';
import * as C from '../../tpm/marshal/constants';
import {
  Tpm2bEncryptedSecret,
  Tpm2bIdObject,
  pcrSelection,
  selectedPcrs,
  type PcrValues,
  type TpmsPcrSelection,
} from '../../tpm/types';
import type { EkKind } from '../../tpm/ek/templates';
import type { AkAlg } from '../../tpm/ak/ak';
import { encodePcrBlob, pcrBlobFromValues } from '../../tpm/keylime/pcr-blob';
import { tpm2 } from './tpm2-tools';

jest.setTimeout(120000);
const env = useSwtpmClient({ workPrefix: 'actq-test-' });

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const tpm2b = (b: Uint8Array) => Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), Buffer.from(b)]);

/**
 * Splits tpm2_makecredential's output file: magic 0xBADCC0DE, version 1, TPM2B_ID_OBJECT,
 * TPM2B_ENCRYPTED_SECRET; returns the two TPM2Bs with their size prefixes.
 */
function parseCredFile(bytes: Uint8Array) {
  const r = new Reader(bytes);
  expect(r.u32()).toBe(0xbadcc0de);
  expect(r.u32()).toBe(1);
  const a = r.offset;
  Tpm2bIdObject.decode(r);
  const b = r.offset;
  Tpm2bEncryptedSecret.decode(r);
  expect(r.remaining).toBe(0);
  return { credentialBlob: bytes.slice(a, b), secret: bytes.slice(b) };
}

describe.each([
  ['rsa2048', 'rsa'],
  ['rsa2048', 'ecc'],
  ['ecc-p384', 'ecc'],
  ['ecc-p384', 'rsa'],
  ['ecc-p256', 'ecc'],
  ['ecc-p256', 'rsa'],
] as [EkKind, AkAlg][])('EK %s, AK %s', (ekKind, akAlg) => {
  test('a tpm2_makecredential blob is activated by our ActivateCredential; a wrong AK Name is refused', async () => {
    const dir = mkdtempSync(join(env.work, `${ekKind}-${akAlg}-`));
    const ek = await env.tpm.readEk(ekKind);
    const ak = await env.tpm.loadOrCreateAk(dir, akAlg, { ek });
    expect(ak.parent).toEqual({ type: 'ek', ek });
    writeFileSync(join(dir, 'ek.pub'), tpm2b(ek.public.bytes));
    const secret = randomBytes(32);
    writeFileSync(join(dir, 'secret.bin'), secret);
    tpm2(
      env.swtpm,
      'makecredential',
      ['-T', 'none', '-u', 'ek.pub', '-s', 'secret.bin', '-n', hex(ak.name), '-o', 'cred.bin'],
      dir,
    );
    const { credentialBlob, secret: encSecret } = parseCredFile(new Uint8Array(readFileSync(join(dir, 'cred.bin'))));
    const got = await env.tpm.activateCredential(ak, ek, credentialBlob, encSecret);
    expect(hex(got)).toBe(hex(secret));

    const other = await env.tpm.loadOrCreateAk(mkdtempSync(join(env.work, 'other-')), akAlg, { ek });
    await expect(env.tpm.activateCredential(other, ek, credentialBlob, encSecret)).rejects.toMatchObject({
      name: 'TpmError',
      command: 'TPM2_ActivateCredential',
    });
    // Malformed input is refused before it reaches the TPM.
    await expect(env.tpm.activateCredential(ak, ek, credentialBlob.subarray(0, 10), encSecret)).rejects.toThrow(
      /TpmMarshalError|needs \d+ bytes/,
    );
    expect(await env.tpm.loadedCounts()).toEqual({ transient: 0, sessions: 0 });
  });
});

/**
 * tpm2-tools' serialized PCR file (what `tpm2_quote -o` writes and `tpm2_checkquote -f` reads; its
 * values-only form with -l fails for more than 8 PCRs in tpm2-tools 5.4) for our PCR reads: our pcrblob
 * encoder, which test/swtpm/verify-crosscheck.test.ts shows byte-identical to tpm2_quote's file.
 */
function serializedPcrs(values: PcrValues): Buffer {
  return Buffer.from(encodePcrBlob(pcrBlobFromValues(values)));
}

describe.each([
  ['rsa', [pcrSelection(C.TPM_ALG_SHA256, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 16, 23])]],
  ['ecc', [pcrSelection(C.TPM_ALG_SHA1, [0, 7]), pcrSelection(C.TPM_ALG_SHA256, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 16])]],
] as [AkAlg, TpmsPcrSelection[]][])('quote with a %s AK', (akAlg, selection) => {
  test('passes tpm2_checkquote with our PCR values; a changed PCR value or nonce fails it', async () => {
    const dir = mkdtempSync(join(env.work, `quote-${akAlg}-`));
    tpm2(env.swtpm, 'pcrextend', [`16:sha1=${'ab'.repeat(20)},sha256=${'cd'.repeat(32)}`], dir);
    const ak = await env.tpm.loadOrCreateAk(dir, akAlg);
    const nonce = randomBytes(32);
    const q = await env.tpm.quote(ak, nonce, selection);
    const att = q.attest.value;
    expect(att.magic).toBe(C.TPM_GENERATED_VALUE);
    if (att.type !== C.TPM_ST_ATTEST_QUOTE) throw new Error('not a quote');
    expect(hex(att.extraData)).toBe(hex(nonce));
    const pcrsOf = (sel: TpmsPcrSelection[]) => sel.map((x) => ({ hash: x.hash, pcrs: selectedPcrs(x) }));
    expect(pcrsOf(att.attested.pcrSelect)).toEqual(pcrsOf(selection));
    const values = await env.tpm.readPcrs(selection);
    const pcrBytes = serializedPcrs(values);
    writeFileSync(join(dir, 'ak.pub'), tpm2b(ak.public.bytes));
    writeFileSync(join(dir, 'quote.msg'), q.attest.bytes);
    writeFileSync(join(dir, 'quote.sig'), q.signature.bytes);
    writeFileSync(join(dir, 'quote.pcrs'), pcrBytes);
    const check = (pcrFile: string, n: Buffer) =>
      tpm2(
        env.swtpm,
        'checkquote',
        ['-u', 'ak.pub', '-m', 'quote.msg', '-s', 'quote.sig', '-f', pcrFile, '-g', 'sha256', '-q', hex(n)],
        dir,
      );
    const out = check('quote.pcrs', nonce);
    for (const b of selection) expect(out).toContain(`${b.hash === C.TPM_ALG_SHA1 ? 'sha1' : 'sha256'}:`);
    expect(out).toContain(`16: 0x${hex(values.sha256![16]).toUpperCase()}`);

    const bad = Buffer.from(pcrBytes);
    bad[4 + 16 * 8 + 4 + 4 + 2] ^= 1; // first byte of the first value
    writeFileSync(join(dir, 'bad.pcrs'), bad);
    expect(() => check('bad.pcrs', nonce)).toThrow(/tpm2_checkquote/);
    expect(() => check('quote.pcrs', randomBytes(32))).toThrow(/tpm2_checkquote/);
    expect(await env.tpm.loadedCounts()).toEqual({ transient: 0, sessions: 0 });
  });
});

test.each(['ek', 'srk'] as const)(
  'the AK (parent %s) survives a TPM restart: the saved blob re-loads and quotes',
  async (parent) => {
    const dir = mkdtempSync(join(env.work, 'restart-'));
    const first = await env.tpm.loadOrCreateAk(dir, 'ecc', { parent });
    expect(first.created).toBe(true);
    env.swtpm.restart();
    const again = await env.tpm.loadOrCreateAk(dir, 'ecc', { parent });
    expect(again.created).toBe(false);
    expect(hex(again.name)).toBe(hex(first.name));
    const q = await env.tpm.quote(again, randomBytes(16), [pcrSelection(C.TPM_ALG_SHA256, [0])]);
    expect(q.signature.value.sigAlg).toBe(C.TPM_ALG_ECDSA);
  },
);

test('an EK-child AK quotes the real firmwareVersion and its qualifiedSigner chains to the EK; an SRK-child AK does not', async () => {
  const ek = await env.tpm.readEk('rsa2048');
  const info = await env.tpm.getInfo();
  const [a, b, c, d] = info.firmwareVersion.split('.').map(BigInt);
  const firmware = (((a << 16n) | b) << 32n) | (c << 16n) | d;
  const sel = [pcrSelection(C.TPM_ALG_SHA256, [0])];

  const akEk = await env.tpm.loadOrCreateAk(mkdtempSync(join(env.work, 'fw-ek-')), 'rsa', { ek });
  const q1 = (await env.tpm.quote(akEk, randomBytes(8), sel)).attest.value;
  expect(q1.firmwareVersion).toBe(firmware);
  // QN(EK) = nameAlg || H(handle(TPM_RH_ENDORSEMENT) || Name(EK)); QN(AK) = nameAlg || H(QN(EK) || Name(AK)).
  const qn = (alg: string, algId: number, parentQn: Uint8Array, name: Uint8Array) =>
    Buffer.concat([Buffer.from([algId >> 8, algId & 0xff]), createHash(alg).update(parentQn).update(name).digest()]);
  const endorsement = Buffer.from([0x40, 0x00, 0x00, 0x0b]);
  const qnEk = qn('sha256', C.TPM_ALG_SHA256, endorsement, ek.name);
  expect(hex(q1.qualifiedSigner)).toBe(hex(qn('sha256', C.TPM_ALG_SHA256, qnEk, akEk.name)));

  const akSrk = await env.tpm.loadOrCreateAk(mkdtempSync(join(env.work, 'fw-srk-')), 'rsa', { parent: 'srk' });
  const q2 = (await env.tpm.quote(akSrk, randomBytes(8), sel)).attest.value;
  expect(q2.firmwareVersion).not.toBe(firmware);
  expect(await env.tpm.loadedCounts()).toEqual({ transient: 0, sessions: 0 });
});
