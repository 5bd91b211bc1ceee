import { parsePcrSelection } from '../../../plugin-server/pcr-selection';
import { HASH_NAMES, hashAlgId, hashInfo } from '../../../tpm/crypto/hash';
import { formatPcrSelection, pcrSelection, selectedPcrs, type TpmsPcrSelection } from '../../../tpm/types/pcr';

// Parsed selections by bank name and index list, to keep the tables readable.
const view = (r: TpmsPcrSelection[] | string) =>
  typeof r === 'string' ? r : r.map((s) => ({ bank: hashInfo(s.hash).name, pcrs: selectedPcrs(s) }));

describe('PCR selection strings', () => {
  test.each([
    ['sha256:0,1,2,3,4,5,6,7', [{ bank: 'sha256', pcrs: [0, 1, 2, 3, 4, 5, 6, 7] }]],
    ['sha256:0-7', [{ bank: 'sha256', pcrs: [0, 1, 2, 3, 4, 5, 6, 7] }]],
    [
      'sha256:16,0-2+sha1:16',
      [
        { bank: 'sha256', pcrs: [0, 1, 2, 16] },
        { bank: 'sha1', pcrs: [16] },
      ],
    ],
    [' sha384 : 23 ', [{ bank: 'sha384', pcrs: [23] }]],
  ])('%j parses', (text, expected) => {
    expect(view(parsePcrSelection(text))).toEqual(expected);
  });

  test.each([
    ['', /got ""/],
    ['sha256', /expected "<bank>:<pcrs>"/],
    ['sha256:', /expected "<bank>:<pcrs>"/],
    ['md5:1', /unknown PCR bank "md5"/],
    ['sha256:24', /PCR index 24 is beyond 23/],
    ['sha256:7-3', /range 7-3 runs backwards/],
    ['sha256:1,1', /PCR 1 is selected twice/],
    ['sha256:1+sha256:2', /PCR bank sha256 is selected twice/],
    ['sha256:1,,2', /expected PCR indices or ranges/],
  ])('%j is refused: %s', (text, problem) => {
    const r = parsePcrSelection(text);
    expect(typeof r).toBe('string');
    expect(r).toMatch(problem);
  });

  test('property: format then parse gives the same selection (random selections)', () => {
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let i = 0; i < 500; i++) {
      const banks = [...HASH_NAMES].filter(() => rnd(2) === 0);
      if (banks.length === 0) banks.push('sha256');
      const sel = banks.map((bank) =>
        pcrSelection(
          hashAlgId(bank),
          Array.from({ length: 1 + rnd(24) }, () => rnd(24)),
        ),
      );
      expect(parsePcrSelection(formatPcrSelection(sel))).toEqual(sel);
    }
  });

  test('property: arbitrary text never throws', () => {
    const alphabet = 'sha1256:,-+ 0123456789x';
    let seed = 7;
    for (let i = 0; i < 2000; i++) {
      let t = '';
      for (let j = 0; j < i % 30; j++) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        t += alphabet[seed % alphabet.length];
      }
      const r = parsePcrSelection(t);
      expect(typeof r === 'string' || Array.isArray(r)).toBe(true);
    }
  });
});
