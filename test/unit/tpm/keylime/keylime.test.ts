import {
  encodePcrBlob,
  parsePcrBlob,
  pcrBlobFromValues,
  pcrBlobToValues,
  MAX_PCR_BLOB_BYTES,
} from '../../../../tpm/keylime/pcr-blob';
import { encodeKeylimeQuote, MAX_QUOTE_STRING_LENGTH, parseKeylimeQuote } from '../../../../tpm/keylime/quote-string';
import { TpmVerifyError } from '../../../../tpm/verify/errors';
import { fixture, mutations } from '../fixtures';

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

describe('tpm2-tools pcrblob (golden vectors from tpm2_quote -o)', () => {
  it.each(['quote-rsa.pcrs', 'quote-ecc.pcrs', 'quote-rsapss.pcrs'])(
    '%s parses and re-encodes byte for byte',
    (name) => {
      const bytes = fixture(name);
      const blob = parsePcrBlob(bytes);
      expect(Buffer.from(encodePcrBlob(blob)).equals(Buffer.from(bytes))).toBe(true);
      // and through the by-bank form, as a server builds it for Keylime
      expect(Buffer.from(encodePcrBlob(pcrBlobFromValues(pcrBlobToValues(blob)))).equals(Buffer.from(bytes))).toBe(
        true,
      );
    },
  );

  it('reads the selection in tpm2-tools order (sha256:0,1,2,3,16 then sha1:16)', () => {
    const blob = parsePcrBlob(fixture('quote-rsa.pcrs'));
    expect(blob.selections.map((s) => [s.hash, Buffer.from(s.pcrSelect).toString('hex')])).toEqual([
      [0x000b, '0f0001'],
      [0x0004, '000001'],
    ]);
    const values = pcrBlobToValues(blob);
    expect(Object.keys(values)).toEqual(['sha256', 'sha1']);
    expect(Object.keys(values.sha256!).map(Number)).toEqual([0, 1, 2, 3, 16]);
    expect(values.sha1![16].length).toBe(20);
    expect(values.sha256![16].length).toBe(32);
  });

  it('spreads 11 values over two TPML_DIGEST (8 + 3)', () => {
    const bytes = fixture('quote-ecc.pcrs');
    expect(bytes.length).toBe(132 + 4 + 2 * 532);
    expect(parsePcrBlob(bytes).values).toHaveLength(11);
  });

  const valid = fixture('quote-rsa.pcrs');
  const edit = (f: (b: Uint8Array, v: DataView) => void): Uint8Array => {
    const b = Uint8Array.from(valid);
    f(b, new DataView(b.buffer));
    return b;
  };
  it.each<[string, Uint8Array, string]>([
    ['truncated header', valid.slice(0, 100), 'pcrblob: 100 bytes is shorter than the 136-byte header'],
    [
      'oversized',
      new Uint8Array(MAX_PCR_BLOB_BYTES + 1),
      `pcrblob: ${MAX_PCR_BLOB_BYTES + 1} bytes exceeds the maximum ${MAX_PCR_BLOB_BYTES}`,
    ],
    ['selection count', edit((_, v) => v.setUint32(0, 17, true)), 'pcrblob: selection count 17 exceeds 16'],
    ['sizeofSelect', edit((b) => (b[6] = 5)), 'pcrblob: selection 0: sizeofSelect 5 exceeds 4'],
    ['list count', edit((_, v) => v.setUint32(132, 33, true)), 'pcrblob: digest list count 33 exceeds 32'],
    ['length vs lists', edit((_, v) => v.setUint32(132, 2, true)), 'pcrblob: 668 bytes, but 2 digest lists make 1200'],
    ['digest count', edit((_, v) => v.setUint32(136, 9, true)), 'pcrblob: digest list 0: count 9 exceeds 8'],
    ['digest size', edit((_, v) => v.setUint16(140, 65, true)), 'pcrblob: digest list 0 value 0: size 65 exceeds 64'],
    ['value count', edit((_, v) => v.setUint32(136, 5, true)), 'pcrblob: 5 values for 6 selected PCRs'],
  ])('rejects %s', (_name, bytes, message) => {
    const err = (() => {
      try {
        parsePcrBlob(bytes);
      } catch (e) {
        return e;
      }
    })() as TpmVerifyError;
    expect(err).toBeInstanceOf(TpmVerifyError);
    expect(err.code).toBe('KEYLIME_QUOTE_MALFORMED');
    expect(err.kind).toBe('malformed');
    expect(err.message).toBe(message);
  });
});

describe('Keylime quote string', () => {
  const attest = fixture('quote-rsa.attest');
  const signature = fixture('quote-rsa.sig');
  const pcrs = fixture('quote-rsa.pcrs');
  const text = `r${b64(attest)}:${b64(signature)}:${b64(pcrs)}`;

  it('parses r<attest>:<sig>:<pcrblob> and encodes it back identically', () => {
    const q = parseKeylimeQuote(text);
    expect(Buffer.from(q.attest).equals(Buffer.from(attest))).toBe(true);
    expect(Buffer.from(q.signature).equals(Buffer.from(signature))).toBe(true);
    expect(encodeKeylimeQuote(q)).toBe(text);
  });

  it.each<[string, string, string]>([
    ['no r prefix', text.slice(1), 'Keylime quote: must start with "r", starts with "/"'],
    ['two parts', `r${b64(attest)}:${b64(signature)}`, 'Keylime quote: needs 3 ":"-separated parts, has 2'],
    ['four parts', `${text}:AAAA`, 'Keylime quote: needs 3 ":"-separated parts, has 4'],
    ['empty attest', `r:${b64(signature)}:${b64(pcrs)}`, 'Keylime quote: attest is empty'],
    ['bad base64', `r${b64(attest)}:!!!!:${b64(pcrs)}`, 'Keylime quote: signature is not canonical base64'],
    [
      'oversized attest',
      `r${'A'.repeat(4000)}:${b64(signature)}:${b64(pcrs)}`,
      'Keylime quote: attest is longer than 2048 bytes',
    ],
    [
      'oversized string',
      'r' + 'A'.repeat(40000),
      `Keylime quote: 40001 characters exceeds the maximum ${MAX_QUOTE_STRING_LENGTH}`,
    ],
    ['short pcrblob', `r${b64(attest)}:${b64(signature)}:AAAA`, 'pcrblob: 3 bytes is shorter than the 136-byte header'],
  ])('rejects %s', (_name, input, message) => {
    expect(() => parseKeylimeQuote(input)).toThrow(TpmVerifyError);
    expect(() => parseKeylimeQuote(input)).toThrow(message);
  });

  it('fuzz: random and mutated strings and pcrblobs throw only TpmVerifyError', () => {
    let accepted = 0;
    const inputs = mutations(new TextEncoder().encode(text), 3000, 0x5eed1);
    for (const m of inputs) {
      try {
        parseKeylimeQuote(Buffer.from(m).toString('latin1'));
        accepted++;
      } catch (e) {
        if (!(e instanceof TpmVerifyError))
          throw new Error(`non-typed error for input ${Buffer.from(m).toString('hex')}: ${e}`, { cause: e });
        expect(e.code).toBe('KEYLIME_QUOTE_MALFORMED');
      }
    }
    for (const m of mutations(pcrs, 3000, 0x5eed2)) {
      try {
        parsePcrBlob(m);
        accepted++;
      } catch (e) {
        if (!(e instanceof TpmVerifyError))
          throw new Error(`non-typed error for input ${Buffer.from(m).toString('hex')}: ${e}`, { cause: e });
      }
    }
    // some mutations (e.g. a flipped bit inside a digest) stay valid; the test must see both outcomes
    expect(accepted).toBeGreaterThan(0);
  });
});
