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

  // openssl-made chains (remake.sh): faults swtpm's CA cannot show
  const testRoot = parsePemCertificates(fixtureText('test-root.pem'));
  it('refuses a path through an issuer that is not a CA (EK_CERT_NOT_CA)', () => {
    const e = thrown(TpmVerifyError, () =>
      verifyEkCertificate({
        certificate: fixture('test-notca-leaf.der'),
        trusted: testRoot,
        intermediates: parsePemCertificates(fixtureText('test-notca-issuer.pem')),
      }),
    );
    expect(e.code).toBe('EK_CERT_NOT_CA');
    expect(e.message).toBe(
      'certificate "CN=tpm_quote test not-a-CA" signed "CN=tpm_quote test leaf under not-a-CA" but is not a CA',
    );
  });
  it('refuses a path longer than a CA\'s pathLenConstraint (EK_CERT_PATH_LENGTH; openssl verify: "path length constraint exceeded")', () => {
    const root0 = parsePemCertificates(fixtureText('test-pathlen0-root.pem'));
    const deep = parsePemCertificates(fixtureText('test-pathlen0-issuer.pem'));
    // The intermediate itself is fine under the root: pathlen 0 allows no CA *below* the intermediate.
    expect(verifyEkCertificate({ certificate: new Uint8Array(deep[0].raw), trusted: root0 }).chain).toHaveLength(2);
    const e = thrown(TpmVerifyError, () =>
      verifyEkCertificate({ certificate: fixture('test-pathlen0-leaf.der'), trusted: root0, intermediates: deep }),
    );
    expect(e.code).toBe('EK_CERT_PATH_LENGTH');
    expect(e.message).toBe(
      'CA certificate "CN=tpm_quote test root pathlen 0" allows 0 intermediate CAs below it (pathLenConstraint), the path has 1',
    );
    // With the intermediate trusted directly, the path stops there and pathlen 0 is not exceeded.
    expect(verifyEkCertificate({ certificate: fixture('test-pathlen0-leaf.der'), trusted: deep }).chain).toHaveLength(
      2,
    );
  });
  it('refuses a path through an expired CA while the leaf is still valid (EK_CERT_EXPIRED)', () => {
    const shortCa = parsePemCertificates(fixtureText('test-shortca-issuer.pem'));
    const leaf = fixture('test-shortca-leaf.der');
    const during = new Date(new Date(shortCa[0].validTo).getTime() - 60_000);
    const after = new Date(new Date(shortCa[0].validTo).getTime() + 86_400_000);
    expect(
      verifyEkCertificate({ certificate: leaf, trusted: testRoot, intermediates: shortCa, now: during }).chain,
    ).toHaveLength(3);
    const e = thrown(TpmVerifyError, () =>
      verifyEkCertificate({ certificate: leaf, trusted: testRoot, intermediates: shortCa, now: after }),
    );
    expect(e.code).toBe('EK_CERT_EXPIRED');
    expect(e.message).toContain('CA certificate "CN=tpm_quote test one-day CA" is valid from ');
  });

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
});
