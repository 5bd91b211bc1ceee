import {
  marshal,
  none,
  select,
  struct,
  taggedStruct,
  u16,
  u32,
  unmarshal,
  TpmMarshalError,
  type Codec,
} from '../../../../tpm/marshal/codec';
import * as C from '../../../../tpm/marshal/constants';
import * as T from '../../../../tpm/types';
import { fixture, fixtureText } from '../fixtures';

function roundTrip<V>(codec: Codec<V>, bytes: Uint8Array): V {
  const v = unmarshal(codec, bytes);
  expect(Buffer.from(marshal(codec, v)).toString('hex')).toBe(Buffer.from(bytes).toString('hex'));
  return v;
}

// The golden vectors of test/fixtures/tpm (its remake.sh captures them from swtpm with tpm2-tools).
describe('captured swtpm vectors round-trip byte for byte', () => {
  test('RSA-2048 EK public (TPM2B_PUBLIC)', () => {
    const p = roundTrip(T.Tpm2bPublic, fixture('ek-rsa.pub'));
    expect(p.type).toBe(C.TPM_ALG_RSA);
    if (p.type !== C.TPM_ALG_RSA) throw new Error('not RSA');
    expect(p.nameAlg).toBe(C.TPM_ALG_SHA256);
    expect(p.parameters.keyBits).toBe(2048);
    expect(p.parameters.symmetric).toEqual({ algorithm: C.TPM_ALG_AES, keyBits: 128, mode: C.TPM_ALG_CFB });
    expect(p.parameters.scheme).toEqual({ scheme: C.TPM_ALG_NULL, details: undefined });
    expect(p.unique.length).toBe(256);
    expect(p.objectAttributes & C.TPMA_OBJECT_restricted).toBeTruthy();
    expect(p.objectAttributes & C.TPMA_OBJECT_decrypt).toBeTruthy();
  });

  test('ECC P-384 EK public', () => {
    const p = roundTrip(T.Tpm2bPublic, fixture('ek-ecc.pub'));
    if (p.type !== C.TPM_ALG_ECC) throw new Error('not ECC');
    expect(p.nameAlg).toBe(C.TPM_ALG_SHA384);
    expect(p.parameters.curveID).toBe(C.TPM_ECC_NIST_P384);
    expect(p.parameters.symmetric).toEqual({ algorithm: C.TPM_ALG_AES, keyBits: 256, mode: C.TPM_ALG_CFB });
    expect(p.unique.x.length).toBe(48);
    expect(p.unique.y.length).toBe(48);
  });

  test('RSA and ECC AK publics (restricted signing)', () => {
    const rsa = roundTrip(T.Tpm2bPublic, fixture('ak-rsa.pub'));
    if (rsa.type !== C.TPM_ALG_RSA) throw new Error('not RSA');
    expect(rsa.parameters.scheme).toEqual({ scheme: C.TPM_ALG_RSASSA, details: { hashAlg: C.TPM_ALG_SHA256 } });
    expect(rsa.objectAttributes & C.TPMA_OBJECT_sign).toBeTruthy();
    const ecc = roundTrip(T.Tpm2bPublic, fixture('ak-ecc.pub'));
    if (ecc.type !== C.TPM_ALG_ECC) throw new Error('not ECC');
    expect(ecc.parameters.scheme).toEqual({ scheme: C.TPM_ALG_ECDSA, details: { hashAlg: C.TPM_ALG_SHA256 } });
    expect(ecc.parameters.curveID).toBe(C.TPM_ECC_NIST_P256);
    expect(ecc.parameters.kdf).toEqual({ scheme: C.TPM_ALG_NULL, details: undefined });
  });

  test('RSA quote over two banks: TPMS_ATTEST + RSASSA TPMT_SIGNATURE', () => {
    const a = roundTrip(T.TpmsAttest, fixture('quote-rsa.attest'));
    expect(a.magic).toBe(C.TPM_GENERATED_VALUE);
    if (a.type !== C.TPM_ST_ATTEST_QUOTE) throw new Error('not a quote');
    expect(Buffer.from(a.extraData).toString('hex')).toBe(fixtureText('nonce.hex'));
    // quote-rsa.pcrlist: sha256:0,1,2,3,16+sha1:16
    expect(a.attested.pcrSelect.map((s) => [s.hash, T.selectedPcrs(s)])).toEqual([
      [C.TPM_ALG_SHA256, [0, 1, 2, 3, 16]],
      [C.TPM_ALG_SHA1, [16]],
    ]);
    expect(a.attested.pcrDigest.length).toBe(32);
    const s = roundTrip(T.TpmtSignature, fixture('quote-rsa.sig'));
    if (s.sigAlg !== C.TPM_ALG_RSASSA) throw new Error('not RSASSA');
    expect(s.signature.hash).toBe(C.TPM_ALG_SHA256);
    expect(s.signature.sig.length).toBe(256);
  });

  test('ECC quote + ECDSA signature', () => {
    const a = roundTrip(T.TpmsAttest, fixture('quote-ecc.attest'));
    if (a.type !== C.TPM_ST_ATTEST_QUOTE) throw new Error('not a quote');
    // quote-ecc.pcrlist: sha256:0,1,2,3,4,5,6,7,8,9,16
    expect(a.attested.pcrSelect.map((s) => [s.hash, T.selectedPcrs(s)])).toEqual([
      [C.TPM_ALG_SHA256, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 16]],
    ]);
    const s = roundTrip(T.TpmtSignature, fixture('quote-ecc.sig'));
    if (s.sigAlg !== C.TPM_ALG_ECDSA) throw new Error('not ECDSA');
    expect(s.signature.signatureR.length).toBe(32);
    expect(s.signature.signatureS.length).toBe(32);
  });

  test('Tpm2bPublicWithBytes and Tpm2bAttestWithBytes keep the exact bytes', () => {
    const raw = fixture('ak-ecc.pub');
    const p = unmarshal(T.Tpm2bPublicWithBytes, raw);
    expect(Buffer.from(p.bytes).equals(Buffer.from(raw.subarray(2)))).toBe(true);
    expect(p.value.type).toBe(C.TPM_ALG_ECC);
    const att = fixture('quote-rsa.attest');
    const sized = new Uint8Array([att.length >> 8, att.length & 0xff, ...att]);
    const a = unmarshal(T.Tpm2bAttestWithBytes, sized);
    expect(Buffer.from(a.bytes).equals(Buffer.from(att))).toBe(true);
  });
});

// Hand-written vectors for union members the captures above do not exercise (bytes from Part 2 layouts).
const hex = (s: string) => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const table: Array<[string, Codec<unknown>, string, unknown]> = [
  [
    'TPMT_SIGNATURE RSAPSS',
    T.TpmtSignature,
    '0016 000b 0003 aabbcc',
    { sigAlg: C.TPM_ALG_RSAPSS, signature: { hash: C.TPM_ALG_SHA256, sig: hex('aabbcc') } },
  ],
  ['TPMT_SIGNATURE NULL', T.TpmtSignature, '0010', { sigAlg: C.TPM_ALG_NULL, signature: undefined }],
  [
    'TPMT_SIGNATURE HMAC',
    T.TpmtSignature,
    '0005 0004' + '11'.repeat(20),
    { sigAlg: C.TPM_ALG_HMAC, signature: { hashAlg: C.TPM_ALG_SHA1, digest: hex('11'.repeat(20)) } },
  ],
  [
    'TPMS_ATTEST certify',
    T.TpmsAttest,
    'ff544347 8017 0002 abcd 0001 ee 0000000000000001 00000002 00000003 01 0000000000000004 0002 0102 0000',
    {
      magic: C.TPM_GENERATED_VALUE,
      type: C.TPM_ST_ATTEST_CERTIFY,
      qualifiedSigner: hex('abcd'),
      extraData: hex('ee'),
      clockInfo: { clock: 1n, resetCount: 2, restartCount: 3, safe: true },
      firmwareVersion: 4n,
      attested: { name: hex('0102'), qualifiedName: new Uint8Array() },
    },
  ],
  [
    'TPMS_ATTEST creation',
    T.TpmsAttest,
    'ff544347 801a 0000 0000 0000000000000000 00000000 00000000 00 0000000000000000 0001 09 0001 08',
    {
      magic: C.TPM_GENERATED_VALUE,
      type: C.TPM_ST_ATTEST_CREATION,
      qualifiedSigner: new Uint8Array(),
      extraData: new Uint8Array(),
      clockInfo: { clock: 0n, resetCount: 0, restartCount: 0, safe: false },
      firmwareVersion: 0n,
      attested: { objectName: hex('09'), creationHash: hex('08') },
    },
  ],
  [
    'TPMT_TK_CREATION',
    T.TpmtTkCreation,
    '8021 40000001 0002 abcd',
    { tag: C.TPM_ST_CREATION, hierarchy: C.TPM_RH_OWNER, digest: hex('abcd') },
  ],
  [
    'TPM2B_NV_PUBLIC',
    T.Tpm2bNvPublic,
    '000e 01c00002 000b 62072801 0000 0400',
    {
      nvIndex: 0x01c00002,
      nameAlg: C.TPM_ALG_SHA256,
      attributes: 0x62072801,
      authPolicy: new Uint8Array(),
      dataSize: 1024,
    },
  ],
  [
    'TPMS_CAPABILITY_DATA properties',
    T.TpmsCapabilityData,
    '00000006 00000001 0000012c 00000400',
    { capability: C.TPM_CAP_TPM_PROPERTIES, data: [{ property: C.TPM_PT_NV_BUFFER_MAX, value: 1024 }] },
  ],
  [
    'TPMS_CAPABILITY_DATA handles',
    T.TpmsCapabilityData,
    '00000001 00000002 80000000 80000001',
    { capability: C.TPM_CAP_HANDLES, data: [0x80000000, 0x80000001] },
  ],
  [
    'TPMS_CAPABILITY_DATA pcrs',
    T.TpmsCapabilityData,
    '00000005 00000001 000b 03 ffffff',
    { capability: C.TPM_CAP_PCRS, data: [{ hash: C.TPM_ALG_SHA256, pcrSelect: hex('ffffff') }] },
  ],
  [
    'TPMT_SYM_DEF XOR (session)',
    T.TpmtSymDef,
    '000a 000b',
    { algorithm: C.TPM_ALG_XOR, keyBits: C.TPM_ALG_SHA256, mode: undefined },
  ],
  [
    'TPMT_PUBLIC keyedhash sealed data',
    T.TpmtPublic,
    '0008 000b 00000012 0000 0010 0000',
    {
      type: C.TPM_ALG_KEYEDHASH,
      nameAlg: C.TPM_ALG_SHA256,
      objectAttributes: 0x12,
      authPolicy: new Uint8Array(),
      parameters: { scheme: { scheme: C.TPM_ALG_NULL, details: undefined } },
      unique: new Uint8Array(),
    },
  ],
  ['TPML_DIGEST', T.TpmlDigest, '00000002 0001 aa 0000', [hex('aa'), new Uint8Array()]],
  [
    'TPM2B_SENSITIVE_CREATE (empty)',
    T.Tpm2bSensitiveCreate,
    '0004 0000 0000',
    { userAuth: new Uint8Array(), data: new Uint8Array() },
  ],
];

describe('hand-written vectors', () => {
  test.each(table)('%s decodes, and encodes back to the same bytes', (_name, codec, h, value) => {
    expect(unmarshal(codec, hex(h))).toEqual(value);
    expect(Buffer.from(marshal(codec, value)).toString('hex')).toBe(h.replace(/\s+/g, ''));
  });
});

describe('bounds', () => {
  test.each([
    ['TPM2B_DIGEST larger than 64', T.Tpm2bDigest, '0041' + '00'.repeat(65), /size 65 exceeds the maximum 64/],
    ['TPM2B_DIGEST truncated', T.Tpm2bDigest, '0004 aabb', /needs 4 bytes, only 2 left/],
    ['TPML_PCR_SELECTION count beyond HASH_COUNT', T.TpmlPcrSelection, '00000011', /count 17 exceeds the maximum 16/],
    ['TPMS_PCR_SELECTION sizeofSelect beyond 4', T.TpmsPcrSelection, '000b 05 ffffffffff', /pcrSelect: size 5 exceeds/],
    ['TPMT_PUBLIC unknown type', T.TpmtPublic, '0099 000b 00000000 0000', /type=0x99 selects no known parameters/],
    [
      'TPMS_ATTEST unknown type',
      T.TpmsAttest,
      'ff544347 8099 0000 0000 0000000000000000 00000000 00000000 00 0000000000000000',
      /selects no known attested/,
    ],
    [
      'TPMS_CLOCK_INFO safe not 0/1',
      T.TpmsClockInfo,
      '0000000000000000 00000000 00000000 02',
      /safe: TPMI_YES_NO must be 0 or 1/,
    ],
    [
      'TPM2B_PUBLIC trailing bytes inside',
      T.Tpm2bPublic,
      '000f 0008 000b 00000012 0000 0010 0000 00',
      /trailing bytes inside the sized structure/,
    ],
    ['TPMT_HA digest shorter than its algorithm', T.TpmtHa, '000b aabb', /digest: needs 32 bytes/],
  ])('%s fails with TpmMarshalError naming the field', (_n, codec, h, msg) => {
    let err: unknown;
    try {
      unmarshal(codec as Codec<unknown>, hex(h));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TpmMarshalError);
    expect((err as Error).message).toMatch(msg);
  });

  test('encoding an oversized buffer fails', () => {
    expect(() => marshal(T.Tpm2bDigest, new Uint8Array(65))).toThrow(TpmMarshalError);
  });

  test('pcrSelection and selectedPcrs are inverse, beyond 8 PCRs', () => {
    const s = T.pcrSelection(C.TPM_ALG_SHA256, [0, 7, 8, 15, 16, 23]);
    expect(Buffer.from(s.pcrSelect).toString('hex')).toBe('818181');
    expect(T.selectedPcrs(s)).toEqual([0, 7, 8, 15, 16, 23]);
  });

  test('formatPcrSelection writes tpm2-tools syntax in selection order, a bank without a hash name by its ID', () => {
    const sel = [
      T.pcrSelection(C.TPM_ALG_SHA256, [16, 0, 1]),
      T.pcrSelection(C.TPM_ALG_SHA1, []),
      T.pcrSelection(C.TPM_ALG_SM3_256, [2]),
    ];
    expect(T.formatPcrSelection(sel)).toBe('sha256:0,1,16+sha1:+0x0012:2');
  });
});

describe('taggedStruct', () => {
  type Tagged = { tag: 1; member: number } | { tag: 2; member: undefined };
  const fields = { tag: u16, member: select<number | undefined>('tag', { 1: u32, 2: none }) };
  const Tagged: Codec<Tagged> = taggedStruct(fields);

  test('encodes and decodes as struct() of the same fields, and refuses an unknown tag', () => {
    const bytes = Uint8Array.from([0x00, 0x01, 0x00, 0x00, 0x01, 0x02]);
    expect(unmarshal(Tagged, bytes)).toEqual({ tag: 1, member: 0x102 });
    expect(
      Buffer.from(marshal(Tagged, { tag: 1, member: 0x102 })).equals(
        Buffer.from(marshal(struct(fields), { tag: 1, member: 0x102 })),
      ),
    ).toBe(true);
    expect(unmarshal(Tagged, Uint8Array.from([0x00, 0x02]))).toEqual({ tag: 2, member: undefined });
    expect(() => unmarshal(Tagged, Uint8Array.from([0x00, 0x03]))).toThrow(/member: tag=0x3 selects no known member/);
  });

  // Compile-time checks (`npx tsc` fails if either line compiles): variants must fit the declared fields.
  // @ts-expect-error a variant's member has a type no case of `fields` decodes to
  void (taggedStruct(fields) satisfies Codec<{ tag: 1; member: string }>);
  // @ts-expect-error a variant lacks a declared field
  void (taggedStruct(fields) satisfies Codec<{ tag: 1 }>);
});
