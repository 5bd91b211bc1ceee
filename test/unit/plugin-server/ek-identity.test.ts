// The EK identity kept per EK public area: the same values as computed afresh, one entry per exact bytes.
import { ekIdentityOf } from '../../../plugin-server/ek-identity';
import {
  ekHashOfPkixDer,
  parseTpmtPublic,
  publicToPkixDer,
  qualifiedNameUnderEk,
  qualifiedName,
} from '../../../tpm/crypto/public-key';
import { TpmCryptoError } from '../../../tpm/crypto/errors';
import { thrown } from '../../helpers/thrown';
import { fx, strip2b } from './golden-evidence';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('EK identity', () => {
  test.each(['ek-rsa.pub', 'ek-ecc.pub'])('%s: the values computed afresh, the same object for the same bytes', (f) => {
    const ek = parseTpmtPublic(strip2b(fx(f)));
    const ak = parseTpmtPublic(strip2b(fx('ak-rsa.pub')));
    const id = ekIdentityOf(ek);
    expect(hex(id.pkixDer)).toBe(hex(publicToPkixDer(ek.value)));
    expect(id.hash).toBe(ekHashOfPkixDer(publicToPkixDer(ek.value)));
    expect(hex(qualifiedName(id.qualifiedName(), ak))).toBe(hex(qualifiedNameUnderEk(ek, ak)));
    expect(ekIdentityOf(parseTpmtPublic(strip2b(fx(f))))).toBe(id);
  });

  test('one changed byte of the public area is another EK', () => {
    const bytes = Uint8Array.from(strip2b(fx('ek-rsa.pub')));
    const id = ekIdentityOf(parseTpmtPublic(bytes));
    bytes[bytes.length - 1] ^= 1; // the modulus's last byte
    const other = ekIdentityOf(parseTpmtPublic(bytes));
    expect(other).not.toBe(id);
    expect(other.hash).not.toBe(id.hash);
  });

  test('a public area without a valid key throws every time', () => {
    const bytes = Uint8Array.from(strip2b(fx('ek-ecc.pub')));
    bytes[bytes.length - 1] ^= 1; // y off the curve
    for (let i = 0; i < 2; i++)
      expect(thrown(TpmCryptoError, () => ekIdentityOf(parseTpmtPublic(bytes))).code).toBe('INVALID_KEY');
  });
});
