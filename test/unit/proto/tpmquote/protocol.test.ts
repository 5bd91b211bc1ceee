// The tpm_quote protocol module both plugins use: each message decoded, bounded and checked, every refusal
// a ProtocolError naming the field.
import { create, toBinary, type MessageInitShape } from '@bufbuild/protobuf';
import {
  AttestationChallengeSchema,
  AttestationPayloadSchema,
  ChallengeResponseSchema,
} from '../../../../proto/gen/tpmquote/v1/attestation_pb';
import {
  checkResponsePcrValues,
  encodeChallenge,
  encodeChallengeResponse,
  encodePayload,
  MAX_CHALLENGE_BYTES,
  MAX_EK_CERTIFICATE_BYTES,
  MAX_EK_INTERMEDIATES,
  MAX_EVENT_LOG_BYTES,
  MAX_PAYLOAD_BYTES,
  MAX_RESPONSE_BYTES,
  parseChallenge,
  parseChallengeResponse,
  parsePayload,
  ProtocolError,
  PROTOCOL_VERSION,
} from '../../../../proto/tpmquote/protocol';
import { rng } from '../../../helpers/rng';

const tpm2b = (n: number) => new Uint8Array([n >> 8, n & 0xff, ...new Array(n).fill(7)]);
const good = {
  version: PROTOCOL_VERSION as number,
  nonce: new Uint8Array(32),
  credentialBlob: tpm2b(20),
  encryptedSecret: tpm2b(10),
  pcrSelection: [{ bank: 'sha256', pcrs: [0, 1, 7] }],
};
const challenge = (over: Partial<typeof good> = {}) =>
  toBinary(AttestationChallengeSchema, create(AttestationChallengeSchema, { ...good, ...over }));
const response = (pcrValues: MessageInitShape<typeof ChallengeResponseSchema>['pcrValues']) =>
  parseChallengeResponse(
    toBinary(ChallengeResponseSchema, create(ChallengeResponseSchema, { version: PROTOCOL_VERSION, pcrValues })),
  );

function refusal(fn: () => unknown): ProtocolError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ProtocolError) return err;
    throw err;
  }
  throw new Error('accepted');
}

describe('tpm_quote protocol', () => {
  test('a well-formed challenge decodes with its selection', () => {
    const c = parseChallenge(
      challenge({
        pcrSelection: [
          { bank: 'sha256', pcrs: [0, 23] },
          { bank: 'sha1', pcrs: [16] },
        ],
      }),
    );
    expect(c.pcrSelection.map((s) => [s.bank, s.pcrs])).toEqual([
      ['sha256', [0, 23]],
      ['sha1', [16]],
    ]);
  });

  test('encodeChallenge writes the bytes protobuf-es toBinary writes for the same fields (random challenges)', () => {
    const next = rng(0xc4a11e);
    const int = (n: number) => Math.floor(next() * n);
    const bytes = (max: number) => Uint8Array.from({ length: int(max + 1) }, () => int(256));
    const index = () => [int(24), int(200), int(70000), int(2 ** 32)][int(4)];
    for (let i = 0; i < 500; i++) {
      const fields = {
        nonce: bytes(64),
        credentialBlob: bytes(300),
        encryptedSecret: bytes(600),
        pcrSelection: Array.from({ length: int(5) }, () => ({
          bank: ['sha1', 'sha256', '', 'é-bank'][int(4)],
          pcrs: Array.from({ length: int(30) }, index),
        })),
      };
      const expected = toBinary(
        AttestationChallengeSchema,
        create(AttestationChallengeSchema, { ...fields, version: PROTOCOL_VERSION }),
      );
      expect(Buffer.from(encodeChallenge(fields)).toString('hex')).toBe(Buffer.from(expected).toString('hex'));
    }
  });

  test('the encoders stamp the version, and what they write decodes to the same fields', () => {
    const c = parseChallenge(
      encodeChallenge({
        nonce: new Uint8Array(32).fill(1),
        credentialBlob: tpm2b(3),
        encryptedSecret: tpm2b(4),
        pcrSelection: [{ bank: 'sha384', pcrs: [2, 9] }],
      }),
    );
    expect([c.version, c.nonce, c.credentialBlob, c.pcrSelection[0].bank, c.pcrSelection[0].pcrs]).toEqual([
      PROTOCOL_VERSION,
      new Uint8Array(32).fill(1),
      tpm2b(3),
      'sha384',
      [2, 9],
    ]);
    const p = parsePayload(
      encodePayload({ ekPublic: new Uint8Array([1, 2]), tpmInfo: { manufacturer: 'IBM', pcrBanks: ['sha256'] } }),
    );
    expect([p.version, p.ekPublic, p.tpmInfo?.manufacturer, p.tpmInfo?.pcrBanks]).toEqual([
      PROTOCOL_VERSION,
      new Uint8Array([1, 2]),
      'IBM',
      ['sha256'],
    ]);
    const r = parseChallengeResponse(
      encodeChallengeResponse({
        activatedSecret: new Uint8Array([9]),
        pcrValues: [{ bank: 'sha1', values: [{ index: 4, digest: new Uint8Array(20) }] }],
      }),
    );
    expect([r.version, r.activatedSecret, r.pcrValues[0].values[0].index]).toEqual([
      PROTOCOL_VERSION,
      new Uint8Array([9]),
      4,
    ]);
  });

  test.each([
    ['empty', () => new Uint8Array(), 'challenge', 'empty'],
    [
      'oversized',
      () => new Uint8Array(MAX_CHALLENGE_BYTES + 1),
      'challenge',
      `${MAX_CHALLENGE_BYTES + 1} bytes exceeds the maximum ${MAX_CHALLENGE_BYTES}`,
    ],
    [
      'version 2',
      () => challenge({ version: 2 }),
      'challenge',
      'version 2 is not supported (this plugin speaks version 1)',
    ],
    ['a 65-byte nonce', () => challenge({ nonce: new Uint8Array(65) }), 'challenge.nonce', '65 bytes (1-64 expected)'],
    ['no selection', () => challenge({ pcrSelection: [] }), 'challenge.pcr_selection', 'empty'],
    [
      'an unknown bank',
      () => challenge({ pcrSelection: [{ bank: 'md5', pcrs: [0] }] }),
      'challenge.pcr_selection',
      'unknown bank "md5"',
    ],
    [
      'PCR 24',
      () => challenge({ pcrSelection: [{ bank: 'sha1', pcrs: [24] }] }),
      'challenge.pcr_selection',
      'sha1 needs PCR indices 0-23',
    ],
    [
      'a bank with no PCRs',
      () => challenge({ pcrSelection: [{ bank: 'sha1', pcrs: [] }] }),
      'challenge.pcr_selection',
      'sha1 needs PCR indices 0-23',
    ],
    [
      'a repeat',
      () => challenge({ pcrSelection: [{ bank: 'sha1', pcrs: [3, 3] }] }),
      'challenge.pcr_selection',
      'sha1 PCR indices 3,3 are not ascending without repeats',
    ],
    [
      'a short credential_blob',
      () => challenge({ credentialBlob: new Uint8Array([0]) }),
      'challenge.credential_blob',
      '1 bytes is not a TPM2B',
    ],
    [
      'a lying encrypted_secret size',
      () => challenge({ encryptedSecret: new Uint8Array([0, 5, 1]) }),
      'challenge.encrypted_secret',
      'TPM2B size 5 does not match its 1 bytes',
    ],
  ])('challenge refused: %s', (_name, bytes, field, detail) => {
    const e = refusal(() => parseChallenge(bytes()));
    expect([e.field, e.detail, e.message]).toEqual([field, detail, `${field}: ${detail}`]);
  });

  test.each([
    ['empty', () => new Uint8Array(), 'empty'],
    [
      'oversized',
      () => new Uint8Array(MAX_PAYLOAD_BYTES + 1),
      `${MAX_PAYLOAD_BYTES + 1} bytes exceeds the maximum ${MAX_PAYLOAD_BYTES}`,
    ],
    [
      'version 0',
      () =>
        toBinary(
          AttestationPayloadSchema,
          create(AttestationPayloadSchema, { version: 0, ekPublic: new Uint8Array(3) }),
        ),
      'version 0 is not supported (this plugin speaks version 1)',
    ],
  ])('payload refused: %s', (_name, bytes, detail) => {
    const e = refusal(() => parsePayload(bytes()));
    expect([e.field, e.detail]).toEqual(['payload', detail]);
  });

  test('the event log: 1 MiB, the response bound is 64 KiB more; a log of exactly the bound passes', () => {
    expect(MAX_EVENT_LOG_BYTES).toBe(1024 * 1024);
    expect(MAX_RESPONSE_BYTES).toBe(64 * 1024 + 1024 * 1024);
    const withLog = (n: number) =>
      encodeChallengeResponse({
        activatedSecret: new Uint8Array(32),
        quoteAttest: new Uint8Array(150),
        quoteSignature: new Uint8Array(262),
        pcrValues: [{ bank: 'sha256', values: [{ index: 0, digest: new Uint8Array(32) }] }],
        eventLog: new Uint8Array(n).fill(3),
      });
    expect(parseChallengeResponse(withLog(MAX_EVENT_LOG_BYTES)).eventLog).toHaveLength(MAX_EVENT_LOG_BYTES);
    const e = refusal(() => parseChallengeResponse(withLog(MAX_EVENT_LOG_BYTES + 1)));
    expect([e.field, e.detail]).toEqual([
      'challenge_response.event_log',
      `${MAX_EVENT_LOG_BYTES + 1} bytes exceeds the maximum ${MAX_EVENT_LOG_BYTES}`,
    ]);
    const whole = refusal(() => parseChallengeResponse(new Uint8Array(MAX_RESPONSE_BYTES + 1)));
    expect(whole.field).toBe('challenge_response');
  });

  test("not protobuf: the message type is named and the decoder's reason kept as cause", () => {
    const e = refusal(() => parseChallengeResponse(new Uint8Array([0xff, 0xff, 0xff])));
    expect(e.field).toBe('challenge_response');
    expect(e.detail).toMatch(/^not a tpmquote\.v1 ChallengeResponse: /);
    expect(e.cause).toBeInstanceOf(Error);
  });

  test.each([
    ['an unknown bank', [{ bank: 'sm3_256', values: [] }], 'unknown bank "sm3_256"'],
    [
      'a bank twice',
      [
        { bank: 'sha1', values: [] },
        { bank: 'sha1', values: [] },
      ],
      'bank sha1 appears twice',
    ],
    ['PCR 24', [{ bank: 'sha1', values: [{ index: 24, digest: new Uint8Array(20) }] }], 'PCR sha1:24 is beyond 23'],
    ['a PCR twice', [{ bank: 'sha256', values: [{ index: 1 }, { index: 1 }] }], 'PCR sha256:1 appears twice'],
  ])('response PCR values refused: %s', (_name, values, detail) => {
    const r = response(values);
    const e = refusal(() => checkResponsePcrValues(r));
    expect([e.field, e.detail]).toEqual(['challenge_response.pcr_values', detail]);
  });

  test('response PCR values of known banks, each once, pass', () => {
    expect(() =>
      checkResponsePcrValues(
        response([
          { bank: 'sha256', values: [{ index: 0 }, { index: 23 }] },
          { bank: 'sha1', values: [{ index: 0 }] },
        ]),
      ),
    ).not.toThrow();
  });

  test('fuzz: random and mutated bytes either decode or fail with a ProtocolError, never anything else', () => {
    const next = rng(0x7e57);
    const valid = challenge();
    for (let i = 0; i < 3000; i++) {
      let bytes: Uint8Array;
      if (i % 2 === 0) {
        bytes = Uint8Array.from({ length: Math.floor(next() * 80) }, () => Math.floor(next() * 256));
      } else {
        bytes = Uint8Array.from(valid);
        for (let k = 0; k < 1 + Math.floor(next() * 4); k++)
          bytes[Math.floor(next() * bytes.length)] = Math.floor(next() * 256);
      }
      for (const parse of [
        parseChallenge,
        parsePayload,
        (b: Uint8Array) => checkResponsePcrValues(parseChallengeResponse(b)),
      ]) {
        try {
          parse(bytes);
        } catch (err) {
          expect(err).toBeInstanceOf(ProtocolError);
        }
      }
    }
  });

  describe('payload ek_intermediates bounds', () => {
    const payload = (cas: Uint8Array[]) => encodePayload({ ekPublic: new Uint8Array([1, 2]), ekIntermediates: cas });
    const cert = (n: number) => new Uint8Array(n).fill(0x30);

    test(`${MAX_EK_INTERMEDIATES} certificates of ${MAX_EK_CERTIFICATE_BYTES} bytes each pass`, () => {
      const p = parsePayload(
        payload(Array.from({ length: MAX_EK_INTERMEDIATES }, () => cert(MAX_EK_CERTIFICATE_BYTES))),
      );
      expect(p.ekIntermediates.map((c) => c.length)).toEqual(
        Array(MAX_EK_INTERMEDIATES).fill(MAX_EK_CERTIFICATE_BYTES),
      );
    });

    test.each<[string, Uint8Array[], string]>([
      [
        'one certificate too many',
        Array.from({ length: MAX_EK_INTERMEDIATES + 1 }, () => cert(10)),
        `${MAX_EK_INTERMEDIATES + 1} certificates (at most ${MAX_EK_INTERMEDIATES})`,
      ],
      [
        'one byte over the size bound',
        [cert(10), cert(MAX_EK_CERTIFICATE_BYTES + 1)],
        `certificate 1 is ${MAX_EK_CERTIFICATE_BYTES + 1} bytes (1-${MAX_EK_CERTIFICATE_BYTES} expected)`,
      ],
      ['an empty certificate', [cert(0)], `certificate 0 is 0 bytes (1-${MAX_EK_CERTIFICATE_BYTES} expected)`],
    ])('refused naming payload.ek_intermediates: %s', (_name, cas, detail) => {
      const e = refusal(() => parsePayload(payload(cas)));
      expect([e.field, e.detail]).toEqual(['payload.ek_intermediates', detail]);
    });
  });
});
