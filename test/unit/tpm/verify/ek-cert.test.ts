import { X509Certificate } from 'node:crypto';
import {
  parseEkCertificate,
  parsePemCertificates,
  verifyEkCertificate,
  MAX_EK_CERT_BYTES,
} from '../../../../tpm/verify/ek-cert';
import { TpmVerifyError } from '../../../../tpm/verify/errors';
import { thrown } from '../../../helpers/thrown';
import { fixture, fixtureText, mutations } from '../fixtures';

const root = parsePemCertificates(fixtureText('ca-root.pem'));
const issuer = parsePemCertificates(fixtureText('ca-issuer.pem'));
const otherRoot = parsePemCertificates(fixtureText('other-ca-root.pem'));
const otherIssuer = parsePemCertificates(fixtureText('other-ca-issuer.pem'));

describe('EK certificate (swtpm NV 0x01c00002 / 0x01c00016)', () => {
  it.each([
    ['ek-rsa-cert.der', 'rsa'],
    ['ek-ecc-cert.der', 'ec'],
  ])('%s: TPM attributes from the critical SAN', (name, keyType) => {
    const ek = parseEkCertificate(fixture(name));
    expect(ek.tpmManufacturer).toBe('id:00001014');
    expect(ek.tpmManufacturerId).toBe(0x1014);
    expect(ek.tpmModel).toBe('swtpm');
    expect(ek.tpmVersion).toBe('id:20191023');
    expect(ek.ekCertificateEku).toBe(true);
    expect(ek.publicKey.asymmetricKeyType).toBe(keyType);
    expect(ek.issuer).toBe('CN=swtpm-localca');
  });

  it('accepts NV padding (0x00 or 0xFF) after the DER and strips it', () => {
    const der = fixture('ek-rsa-cert.der');
    for (const pad of [0x00, 0xff]) {
      const ek = parseEkCertificate(Uint8Array.from([...der, ...new Uint8Array(40).fill(pad)]));
      expect(Buffer.from(ek.der).equals(Buffer.from(der))).toBe(true);
    }
  });

  it.each([
    ['bundle = issuer only', issuer, [], 2],
    ['bundle = root + issuer', [...root, ...issuer], [], 2],
    ['bundle = root, issuer supplied as intermediate', root, issuer, 3],
  ])('chains to the local CA: %s', (_n, trusted, intermediates, length) => {
    for (const name of ['ek-rsa-cert.der', 'ek-ecc-cert.der']) {
      const v = verifyEkCertificate({ certificate: fixture(name), trusted, intermediates });
      expect(v.chain).toHaveLength(length);
      expect(v.issuer).toBe('CN=swtpm-localca');
      expect(v.publicKey.equals(parseEkCertificate(fixture(name)).publicKey)).toBe(true);
    }
  });

  it.each<[string, () => unknown, string, string]>([
    [
      'another CA',
      () => verifyEkCertificate({ certificate: fixture('ek-rsa-cert.der'), trusted: [...otherRoot, ...otherIssuer] }),
      'EK_CERT_UNTRUSTED',
      'EK certificate "CN=unknown": issuer "CN=swtpm-localca" of "CN=unknown" is not in the CA bundle or does not verify',
    ],
    [
      'root without the intermediate',
      () => verifyEkCertificate({ certificate: fixture('ek-rsa-cert.der'), trusted: root }),
      'EK_CERT_UNTRUSTED',
      'EK certificate "CN=unknown": issuer "CN=swtpm-localca" of "CN=unknown" is not in the CA bundle or does not verify',
    ],
    [
      'intermediate of another CA',
      () => verifyEkCertificate({ certificate: fixture('ek-rsa-cert.der'), trusted: root, intermediates: otherIssuer }),
      'EK_CERT_UNTRUSTED',
      'EK certificate "CN=unknown": issuer "CN=swtpm-localca" of "CN=unknown" is not in the CA bundle or does not verify',
    ],
    [
      'before its notBefore',
      () =>
        verifyEkCertificate({
          certificate: fixture('ek-rsa-cert.der'),
          trusted: issuer,
          now: new Date('2000-01-01T00:00:00Z'),
        }),
      'EK_CERT_EXPIRED',
      'EK certificate "CN=unknown" is valid from ',
    ],
    [
      'a leaf used as CA',
      () =>
        verifyEkCertificate({
          certificate: fixture('ek-rsa-cert.der'),
          trusted: [new X509Certificate(fixture('ek-ecc-cert.der'))],
        }),
      'EK_CERT_UNTRUSTED',
      'is not in the CA bundle',
    ],
    [
      'empty',
      () => parseEkCertificate(new Uint8Array(0)),
      'EK_CERT_MALFORMED',
      'EK certificate: DER element at byte 0: truncated header',
    ],
    [
      'oversized',
      () => parseEkCertificate(new Uint8Array(MAX_EK_CERT_BYTES + 1)),
      'EK_CERT_MALFORMED',
      `EK certificate: ${MAX_EK_CERT_BYTES + 1} bytes exceeds the maximum ${MAX_EK_CERT_BYTES}`,
    ],
    [
      'truncated',
      () => parseEkCertificate(fixture('ek-rsa-cert.der').slice(0, 500)),
      'EK_CERT_MALFORMED',
      'EK certificate: DER element at byte 0: length 1012 exceeds the 496 bytes left',
    ],
    [
      'junk after the DER',
      () => parseEkCertificate(Uint8Array.from([...fixture('ek-rsa-cert.der'), 0x30])),
      'EK_CERT_MALFORMED',
      'EK certificate: non-padding byte after the certificate at byte 1016',
    ],
    [
      'not a SEQUENCE',
      () => parseEkCertificate(Uint8Array.from([0x04, 0x01, 0x00])),
      'EK_CERT_MALFORMED',
      'EK certificate: Certificate: expected DER tag 0x30, got 0x4',
    ],
  ])('refuses %s', (_n, f, code, message) => {
    const e = thrown(TpmVerifyError, f);
    expect(e.code).toBe(code);
    expect(e.message).toContain(message);
  });

  // Chains with faults swtpm's CA cannot show, and the EK profile rules: ek-profile.test.ts (openssl at test time);
  // real EK certificates from the field: ek-real-world.test.ts.

  it('fuzz: random and mutated certificates throw only TpmVerifyError EK_CERT_MALFORMED', () => {
    let parsed = 0;
    for (const name of ['ek-rsa-cert.der', 'ek-ecc-cert.der']) {
      for (const m of mutations(fixture(name), 2500, name.length * 7919)) {
        try {
          parseEkCertificate(m);
          parsed++;
        } catch (e) {
          if (!(e instanceof TpmVerifyError))
            throw new Error(`non-typed error for ${Buffer.from(m).toString('hex')}: ${e}`, { cause: e });
          expect(e.code).toBe('EK_CERT_MALFORMED');
        }
      }
    }
    expect(parsed).toBeGreaterThan(0);
  });

  it('fuzz: mutated certificates that parse go through the profile and path checks with typed errors only', () => {
    let verified = 0;
    let profiled = 0;
    for (const name of ['ek-rsa-cert.der', 'ek-ecc-cert.der']) {
      for (const m of mutations(fixture(name), 2500, name.length * 104729)) {
        let ek;
        try {
          ek = parseEkCertificate(m);
        } catch {
          continue;
        }
        profiled++;
        try {
          verifyEkCertificate({ certificate: ek, trusted: issuer });
          verified++;
        } catch (e) {
          if (!(e instanceof TpmVerifyError))
            throw new Error(`non-typed error for ${Buffer.from(m).toString('hex')}: ${e}`, { cause: e });
        }
      }
    }
    expect(profiled).toBeGreaterThan(0);
    // Padding-only mutations still verify; any change to the signed bytes must not.
    expect(verified).toBeLessThan(profiled);
  });
});
