// The EK certificate cache: a hit gives the uncached verdict for the same bytes, anchors and profile, and
// nothing else (a changed byte, other anchors, another profile, a time outside a validity date all miss).
// On the golden swtpm EK certificate and on certificates openssl makes at test time.
import { createEkCertificateCache } from '../../../../tpm/verify/ek-cert-cache';
import { parsePemCertificates, verifyEkCertificate } from '../../../../tpm/verify/ek-cert';
import { TpmVerifyError } from '../../../../tpm/verify/errors';
import { CA_EXT, createPki, EK_EXT_RSA, type MadeCert, type Pki } from '../../../helpers/openssl-pki';
import { thrown } from '../../../helpers/thrown';
import { fixture, fixtureText } from '../fixtures';

const ekDer = fixture('ek-rsa-cert.der');
const swtpmCas = parsePemCertificates(fixtureText('ca-root.pem') + fixtureText('ca-issuer.pem'));
const otherCas = parsePemCertificates(fixtureText('other-ca-root.pem') + fixtureText('other-ca-issuer.pem'));
const now = new Date();
// The golden certificates are valid until 9999-12-31T23:59:59Z.
const afterNotAfter = new Date(Date.UTC(10000, 0, 1));
const padded = (n: number) => Uint8Array.from([...ekDer, ...new Uint8Array(n)]);

describe('EK certificate cache: parse', () => {
  test('a hit returns the same parsed certificate, with its key DER', () => {
    const cache = createEkCertificateCache();
    const first = cache.parse(ekDer);
    expect(cache.parse(Uint8Array.from(ekDer))).toBe(first);
    expect(Buffer.from(first.publicKeyDer)).toEqual(first.publicKey.export({ type: 'spki', format: 'der' }));
    expect(first.subject).toBe(first.certificate.subject);
    expect(cache.size.parsed).toBe(1);
  });

  test('a malformed certificate throws every time and is not kept', () => {
    const cache = createEkCertificateCache();
    const bad = ekDer.slice(0, 100);
    for (let i = 0; i < 2; i++) expect(thrown(TpmVerifyError, () => cache.parse(bad)).code).toBe('EK_CERT_MALFORMED');
    expect(cache.size.parsed).toBe(0);
  });
});

describe('EK certificate cache: verify', () => {
  test('a hit returns the verdict and path of an uncached verification', () => {
    const cache = createEkCertificateCache();
    const first = cache.verify({ certificate: ekDer, trusted: swtpmCas, now });
    const uncached = verifyEkCertificate({ certificate: ekDer, trusted: swtpmCas, now });
    expect(first.chain.map((c) => c.fingerprint256)).toEqual(uncached.chain.map((c) => c.fingerprint256));
    expect(cache.verify({ certificate: Uint8Array.from(ekDer), trusted: swtpmCas, now })).toBe(first);
    expect(cache.size.verified).toBe(1);
  });

  test('one changed byte misses: the changed certificate is verified anew and refused', () => {
    const cache = createEkCertificateCache();
    cache.verify({ certificate: ekDer, trusted: swtpmCas, now });
    // The last byte is in the signature: the certificate still parses, its signature no longer verifies.
    const changed = Uint8Array.from(ekDer);
    changed[changed.length - 1] ^= 0x01;
    const e = thrown(TpmVerifyError, () => cache.verify({ certificate: changed, trusted: swtpmCas, now }));
    expect(e.code).toBe('EK_CERT_UNTRUSTED');
    expect(e.message).toMatch(/is not in the CA bundle or does not verify/);
    // NV padding is other bytes too: its own entry, verified on its own.
    expect(cache.verify({ certificate: padded(8), trusted: swtpmCas, now }).ek.der).toEqual(ekDer);
    expect(cache.size.verified).toBe(2);
  });

  test('another anchor array misses, even holding the same certificates', () => {
    const cache = createEkCertificateCache();
    const first = cache.verify({ certificate: ekDer, trusted: swtpmCas, now });
    const e = thrown(TpmVerifyError, () => cache.verify({ certificate: ekDer, trusted: otherCas, now }));
    expect(e.code).toBe('EK_CERT_UNTRUSTED');
    const again = cache.verify({ certificate: ekDer, trusted: [...swtpmCas], now });
    expect(again).not.toBe(first);
  });

  test('a certificate outside its validity dates is refused on a hit, then accepted again in them', () => {
    const cache = createEkCertificateCache();
    const first = cache.verify({ certificate: ekDer, trusted: swtpmCas, now });
    const before = new Date(Date.parse(first.ek.certificate.validFrom) - 1000);
    for (const when of [afterNotAfter, before]) {
      const e = thrown(TpmVerifyError, () => cache.verify({ certificate: ekDer, trusted: swtpmCas, now: when }));
      expect(e.code).toBe('EK_CERT_EXPIRED');
      expect(e.message).toMatch(/^EK certificate .* is valid from .*, not at /);
    }
    expect(cache.verify({ certificate: ekDer, trusted: swtpmCas, now }).chain).toHaveLength(2);
  });

  test('the bound is respected: the least recently used path goes first', () => {
    const cache = createEkCertificateCache({ maxEntries: 2 });
    const a = cache.verify({ certificate: padded(1), trusted: swtpmCas, now });
    const b = cache.verify({ certificate: padded(2), trusted: swtpmCas, now });
    expect(cache.verify({ certificate: padded(1), trusted: swtpmCas, now })).toBe(a); // padded(2) is now oldest
    cache.verify({ certificate: padded(3), trusted: swtpmCas, now });
    expect(cache.size).toEqual({ parsed: 2, verified: 2 });
    expect(cache.verify({ certificate: padded(1), trusted: swtpmCas, now })).toBe(a);
    expect(cache.verify({ certificate: padded(2), trusted: swtpmCas, now })).not.toBe(b);
  });
});

describe('EK certificate cache: intermediates and profile (openssl-made)', () => {
  let pki: Pki;
  let root: MadeCert;
  let ca: MadeCert;
  let ek: MadeCert;
  let noEku: MadeCert;
  // A minute after the certificates were made (openssl dates them from the current second).
  let now: Date;
  beforeAll(() => {
    pki = createPki();
    root = pki.make('root', { subject: 'CN=cache test root', key: 'rsa2048', ext: CA_EXT });
    ca = pki.make('ca', { subject: 'CN=cache test EK CA', issuer: root, ext: CA_EXT, days: 1 });
    ek = pki.make('ek', { subject: 'CN=cache test EK', issuer: ca, key: 'rsa2048', ext: EK_EXT_RSA });
    noEku = pki.make('no-eku', {
      subject: 'CN=cache test EK without EKU',
      issuer: ca,
      key: 'rsa2048',
      ext: ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,keyEncipherment'],
    });
    now = new Date(Date.now() + 60_000);
  });
  afterAll(() => pki?.cleanup());

  test('the intermediates are part of the key; an expired intermediate is refused on a hit', () => {
    const cache = createEkCertificateCache();
    const trusted = [root.x509];
    const first = cache.verify({ certificate: ek.der, intermediates: [ca.der], trusted, now });
    expect(first.chain.map((c) => c.subject)).toEqual([ek.x509.subject, ca.x509.subject, root.x509.subject]);
    expect(cache.verify({ certificate: ek.der, intermediates: [ca.der], trusted, now })).toBe(first);
    // Without the intermediate there is no path: not served from the entry that had one.
    expect(thrown(TpmVerifyError, () => cache.verify({ certificate: ek.der, trusted, now })).code).toBe(
      'EK_CERT_UNTRUSTED',
    );
    // The CA was made for one day: two days on, the remembered path is out of date and checked again.
    const later = new Date(now.getTime() + 2 * 86400_000);
    const e = thrown(TpmVerifyError, () =>
      cache.verify({ certificate: ek.der, intermediates: [ca.der], trusted, now: later }),
    );
    expect(e.code).toBe('EK_CERT_EXPIRED');
    expect(e.message).toMatch(/^CA certificate "CN=cache test EK CA" is valid from /);
  });

  test('parseIntermediate runs on a miss only', () => {
    const cache = createEkCertificateCache();
    let parsed = 0;
    const parseIntermediate = () => {
      parsed++;
      return ca.x509;
    };
    const options = { certificate: ek.der, intermediates: [ca.der], trusted: [root.x509], parseIntermediate, now };
    cache.verify(options);
    cache.verify(options);
    expect(parsed).toBe(1);
  });

  test('another profile misses: ek_require_eku set after a hit refuses a certificate without EKU', () => {
    const cache = createEkCertificateCache();
    const trusted = [root.x509, ca.x509];
    cache.verify({ certificate: noEku.der, trusted, now });
    const e = thrown(TpmVerifyError, () => cache.verify({ certificate: noEku.der, trusted, now, requireEku: true }));
    expect(e.code).toBe('EK_CERT_EKU');
    expect(cache.verify({ certificate: noEku.der, trusted, now, requireEku: false }).chain).toHaveLength(2);
  });
});
