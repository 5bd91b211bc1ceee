// The EK certificate profile and path search, on certificates openssl makes at test time (test/helpers/
// openssl-pki): one certificate per rule, each refusal asserted with its code and the message naming it.
import { X509Certificate } from 'node:crypto';
import { MAX_PATH_SIGNATURE_CHECKS, verifyEkCertificate } from '../../../../tpm/verify/ek-cert';
import { TpmVerifyError } from '../../../../tpm/verify/errors';
import { CA_EXT, createPki, EK_EXT_EC, EK_EXT_RSA, type MadeCert, type Pki } from '../../../helpers/openssl-pki';
import { thrown } from '../../../helpers/thrown';

let pki: Pki;
let root: MadeCert;
let ca: MadeCert;
beforeAll(() => {
  pki = createPki();
  root = pki.make('root', { subject: 'CN=profile test root', key: 'rsa2048', ext: CA_EXT });
  ca = pki.make('ca', { subject: 'CN=profile test EK CA', issuer: root, key: 'p256', ext: CA_EXT });
});
afterAll(() => pki?.cleanup());

const verify = (
  leaf: MadeCert,
  options: {
    requireEku?: boolean;
    allowSha1?: boolean;
    intermediates?: X509Certificate[];
    trusted?: X509Certificate[];
    now?: Date;
  } = {},
) =>
  verifyEkCertificate({
    certificate: leaf.der,
    trusted: options.trusted ?? [root.x509],
    intermediates: options.intermediates ?? [ca.x509],
    ...options,
  });

const leaf = (
  name: string,
  spec: {
    key?: 'rsa1024' | 'rsa2048' | 'p256' | 'p384' | 'secp256k1';
    ext?: string[];
    md?: string;
    sigopt?: string[];
    issuer?: MadeCert;
  },
) =>
  pki.make(name, {
    subject: `CN=${name}`,
    issuer: spec.issuer ?? ca,
    key: spec.key ?? 'p256',
    ext: spec.ext,
    md: spec.md,
    sigopt: spec.sigopt,
  });

describe('EK certificate profile: accepted', () => {
  test.each<[string, Parameters<typeof leaf>[1], { requireEku?: boolean; allowSha1?: boolean }]>([
    ['RSA 2048 EK, keyEncipherment, EK EKU', { key: 'rsa2048', ext: EK_EXT_RSA }, { requireEku: true }],
    ['EC P-256 EK, keyAgreement, EK EKU', { ext: EK_EXT_EC }, { requireEku: true }],
    ['EC P-384 EK', { key: 'p384', ext: EK_EXT_EC }, {}],
    ['no keyUsage, no EKU (both optional unless required)', { ext: ['basicConstraints=critical,CA:FALSE'] }, {}],
    ['no extensions at all', { ext: [] }, {}],
    ['signed with SHA-384', { ext: EK_EXT_EC, md: 'sha384' }, {}],
    ['signed with SHA-512', { ext: EK_EXT_EC, md: 'sha512' }, {}],
    ['signed with SHA-1 when allowed', { ext: EK_EXT_EC, md: 'sha1' }, { allowSha1: true }],
  ])('%s', (name, spec, options) => {
    const v = verify(leaf(name.replace(/\W+/g, '-'), spec), options);
    expect(v.chain.map((c) => c.subject)).toEqual([
      `CN=${name.replace(/\W+/g, '-')}`,
      'CN=profile test EK CA',
      'CN=profile test root',
    ]);
  });

  test('RSA-PSS (SHA-256, MGF1 SHA-256) signatures from an RSA CA', () => {
    const rsaCa = pki.make('rsa-ca', { subject: 'CN=profile test RSA CA', issuer: root, key: 'rsa2048', ext: CA_EXT });
    const v = verify(
      leaf('pss', { ext: EK_EXT_EC, issuer: rsaCa, sigopt: ['rsa_padding_mode:pss', 'rsa_pss_saltlen:32'] }),
      { intermediates: [rsaCa.x509] },
    );
    expect(v.chain).toHaveLength(3);
  });
});

describe('EK certificate profile: each rule refuses', () => {
  test.each<[string, Parameters<typeof leaf>[1], { requireEku?: boolean; allowSha1?: boolean }, string, RegExp]>([
    [
      'ca-true',
      { ext: ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyAgreement'] },
      {},
      'EK_CERT_IS_CA',
      /^EK certificate "CN=ca-true" is a CA certificate \(basicConstraints cA is TRUE\): an EK certificate is an end-entity certificate$/,
    ],
    [
      'keycertsign',
      { ext: ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,keyAgreement,keyCertSign'] },
      {},
      'EK_CERT_IS_CA',
      /^EK certificate "CN=keycertsign" allows keyCertSign: an EK certificate may not sign certificates$/,
    ],
    [
      'tls-rsa',
      { key: 'rsa2048', ext: ['keyUsage=critical,digitalSignature'] },
      {},
      'EK_CERT_KEY_USAGE',
      /^EK certificate "CN=tls-rsa": keyUsage lacks keyEncipherment, which an RSA EK certificate must allow$/,
    ],
    [
      'ec-encipher',
      { ext: ['keyUsage=critical,keyEncipherment'] },
      {},
      'EK_CERT_KEY_USAGE',
      /^EK certificate "CN=ec-encipher": keyUsage lacks keyAgreement, which an EC EK certificate must allow$/,
    ],
    [
      'tls-eku',
      { key: 'rsa2048', ext: ['keyUsage=critical,digitalSignature,keyEncipherment', 'extendedKeyUsage=serverAuth'] },
      {},
      'EK_CERT_EKU',
      /^EK certificate "CN=tls-eku" extKeyUsage \(1\.3\.6\.1\.5\.5\.7\.3\.1\) lacks the EK certificate purpose 2\.23\.133\.8\.1$/,
    ],
    [
      'no-eku',
      { ext: ['keyUsage=critical,keyAgreement'] },
      { requireEku: true },
      'EK_CERT_EKU',
      /^EK certificate "CN=no-eku" has no extKeyUsage; required: the EK certificate purpose 2\.23\.133\.8\.1$/,
    ],
    [
      'rsa1024',
      { key: 'rsa1024', ext: EK_EXT_RSA },
      {},
      'EK_CERT_KEY_WEAK',
      /^EK certificate "CN=rsa1024" has a RSA 1024 bits key: accepted are RSA >= 2048 bits and EC P-256, P-384, P-521$/,
    ],
    [
      'k1',
      { key: 'secp256k1', ext: EK_EXT_EC },
      {},
      'EK_CERT_KEY_WEAK',
      /^EK certificate "CN=k1" has a EC secp256k1 key/,
    ],
    [
      'md5',
      { ext: EK_EXT_EC, md: 'md5' },
      { allowSha1: true },
      'EK_CERT_SIGNATURE_ALGORITHM',
      /is signed with (md5WithRSAEncryption|algorithm [0-9.]+): accepted are RSA PKCS#1 v1\.5, RSA-PSS and ECDSA with SHA-256, SHA-384 or SHA-512$/,
    ],
    [
      'sha1',
      { ext: EK_EXT_EC, md: 'sha1' },
      {},
      'EK_CERT_SIGNATURE_ALGORITHM',
      /^EK certificate "CN=sha1" is signed with ecdsa-with-SHA1: accepted are .*; SHA-1 is accepted only when explicitly allowed$/,
    ],
    [
      'sha224',
      { ext: EK_EXT_EC, md: 'sha224' },
      { allowSha1: true },
      'EK_CERT_SIGNATURE_ALGORITHM',
      /^EK certificate "CN=sha224" is signed with ecdsa-with-SHA224: accepted are/,
    ],
    [
      'critical',
      { ext: [...EK_EXT_EC, '1.3.6.1.4.1.55555.1=critical,DER:05:00'] },
      {},
      'EK_CERT_CRITICAL_EXTENSION',
      /^EK certificate "CN=critical" has the unknown critical extension 1\.3\.6\.1\.4\.1\.55555\.1$/,
    ],
    [
      'policies',
      { ext: [...EK_EXT_EC, 'certificatePolicies=critical,1.2.3.4'] },
      {},
      'EK_CERT_CRITICAL_EXTENSION',
      /has the unknown critical extension 2\.5\.29\.32$/,
    ],
  ])('leaf CN=%s -> %s', (name, spec, options, code, message) => {
    // MD5 needs an RSA signer (openssl has no ECDSA-with-MD5).
    const issuer =
      spec.md === 'md5'
        ? pki.make('md5-ca', { subject: 'CN=profile test MD5 CA', issuer: root, key: 'rsa2048', ext: CA_EXT })
        : undefined;
    const made = leaf(name, { ...spec, issuer: issuer ?? spec.issuer });
    const e = thrown(TpmVerifyError, () => verify(made, { ...options, intermediates: [issuer?.x509 ?? ca.x509] }));
    expect([e.code, e.kind]).toEqual([code, 'rejected']);
    expect(e.message).toMatch(message);
  });

  test('the same leaf profile passes once the rule is met (each refusal above is the rule, not the chain)', () => {
    // The TLS leaf chains: only its profile is wrong. Node's own chain check (signature + issuer) agrees.
    const tls = leaf('tls-chains', {
      key: 'rsa2048',
      ext: ['keyUsage=critical,digitalSignature,keyEncipherment', 'extendedKeyUsage=serverAuth'],
    });
    expect(tls.x509.checkIssued(ca.x509) && tls.x509.verify(ca.x509.publicKey)).toBe(true);
    expect(thrown(TpmVerifyError, () => verify(tls)).code).toBe('EK_CERT_EKU');
  });
});

describe('EK certificate path: every candidate issuer is tried, each CA checked', () => {
  test('an intermediate that is not a CA -> EK_CERT_NOT_CA', () => {
    const notCa = pki.make('notca', {
      subject: 'CN=profile test not-a-CA',
      issuer: root,
      ext: ['basicConstraints=critical,CA:FALSE'],
    });
    const l = leaf('under-notca', { ext: EK_EXT_EC, issuer: notCa });
    const e = thrown(TpmVerifyError, () => verify(l, { intermediates: [notCa.x509] }));
    expect(e.code).toBe('EK_CERT_NOT_CA');
    expect(e.message).toBe('certificate "CN=profile test not-a-CA" signed "CN=under-notca" but is not a CA');
  });

  test('a path longer than a CA\'s pathLenConstraint -> EK_CERT_PATH_LENGTH (openssl verify: "path length constraint exceeded")', () => {
    const root0 = pki.make('root0', {
      subject: 'CN=profile test root pathlen 0',
      ext: ['basicConstraints=critical,CA:TRUE,pathlen:0', 'keyUsage=critical,keyCertSign,cRLSign'],
    });
    const deep = pki.make('deep', { subject: 'CN=profile test CA under pathlen 0', issuer: root0, ext: CA_EXT });
    const l = leaf('under-deep', { ext: EK_EXT_EC, issuer: deep });
    const e = thrown(TpmVerifyError, () => verify(l, { trusted: [root0.x509], intermediates: [deep.x509] }));
    expect(e.code).toBe('EK_CERT_PATH_LENGTH');
    expect(e.message).toBe(
      'CA certificate "CN=profile test root pathlen 0" allows 0 intermediate CAs below it (pathLenConstraint), the path has 1',
    );
    // With the intermediate trusted directly, the path stops there and pathlen 0 is not exceeded.
    expect(verify(l, { trusted: [deep.x509], intermediates: [] }).chain).toHaveLength(2);
  });

  test('an expired CA above a valid leaf -> EK_CERT_EXPIRED; a renewed CA (same subject and key) is tried next', () => {
    const short = pki.make('short', { subject: 'CN=profile test renewed CA', issuer: root, ext: CA_EXT, days: 1 });
    const l = leaf('under-short', { ext: EK_EXT_EC, issuer: short });
    const later = new Date(Date.now() + 3 * 86_400_000);
    expect(verify(l, { intermediates: [short.x509] }).chain).toHaveLength(3);
    const e = thrown(TpmVerifyError, () => verify(l, { intermediates: [short.x509], now: later }));
    expect(e.code).toBe('EK_CERT_EXPIRED');
    expect(e.message).toMatch(/^CA certificate "CN=profile test renewed CA" is valid from /);
    const renewed = pki.make('renewed', {
      subject: 'CN=profile test renewed CA',
      issuer: root,
      key: { keyPath: short.keyPath },
      ext: CA_EXT,
    });
    // The expired one first: the old walk stopped at it; the search goes on to the renewed one.
    expect(
      verify(l, { intermediates: [short.x509, renewed.x509], now: later }).chain[1].raw.equals(renewed.x509.raw),
    ).toBe(true);
    // The same with both as trust anchors.
    expect(
      verify(l, { trusted: [short.x509, renewed.x509], intermediates: [], now: later }).chain[1].raw.equals(
        renewed.x509.raw,
      ),
    ).toBe(true);
  });

  test('several anchors with one subject: the one whose key signed is found, wherever it is in the bundle', () => {
    const twins = [1, 2, 3].map((i) => pki.make(`twin${i}`, { subject: 'CN=profile test twin root', ext: CA_EXT }));
    const l = leaf('under-twin3', { ext: EK_EXT_EC, issuer: twins[2] });
    expect(
      verify(l, { trusted: twins.map((t) => t.x509), intermediates: [] }).chain[1].raw.equals(twins[2].x509.raw),
    ).toBe(true);
  });

  test('the search is bounded: many same-name impostor issuers end it after MAX_PATH_SIGNATURE_CHECKS (EK_CERT_UNTRUSTED)', () => {
    // Without an authorityKeyIdentifier the leaf names its issuer by subject only, so every impostor costs a signature check.
    const l = leaf('under-ca-bounded', { ext: [...EK_EXT_EC, 'authorityKeyIdentifier=none'] });
    const impostor = pki.make('impostor', { subject: 'CN=profile test EK CA', issuer: root, ext: CA_EXT });
    const e = thrown(TpmVerifyError, () =>
      verify(l, { intermediates: Array(MAX_PATH_SIGNATURE_CHECKS + 5).fill(impostor.x509) }),
    );
    expect(e.code).toBe('EK_CERT_UNTRUSTED');
    expect(e.message).toBe(
      `EK certificate "CN=under-ca-bounded": no path found within ${MAX_PATH_SIGNATURE_CHECKS} signature checks`,
    );
    // With the real CA among them, found while the budget lasts.
    expect(verify(l, { intermediates: [...Array(10).fill(impostor.x509), ca.x509] }).chain).toHaveLength(3);
  });

  test('an anchor failing its checks does not hide another that passes (pathlen 0 root, then a root without)', () => {
    const r0 = pki.make('r0', {
      subject: 'CN=profile test same root',
      ext: ['basicConstraints=critical,CA:TRUE,pathlen:0', 'keyUsage=critical,keyCertSign,cRLSign'],
    });
    const r1 = pki.make('r1', { subject: 'CN=profile test same root', key: { keyPath: r0.keyPath }, ext: CA_EXT });
    const mid = pki.make('mid', { subject: 'CN=profile test mid', issuer: r0, ext: CA_EXT });
    const l = leaf('under-mid', { ext: EK_EXT_EC, issuer: mid });
    expect(thrown(TpmVerifyError, () => verify(l, { trusted: [r0.x509], intermediates: [mid.x509] })).code).toBe(
      'EK_CERT_PATH_LENGTH',
    );
    expect(verify(l, { trusted: [r0.x509, r1.x509], intermediates: [mid.x509] }).chain[2].raw.equals(r1.x509.raw)).toBe(
      true,
    );
  });

  test('intermediates are held to the algorithm rules: MD5-signed, SHA-1-signed, critical extension, weak key', () => {
    const md5Ca = pki.make('md5-mid', {
      subject: 'CN=profile test MD5 intermediate',
      issuer: root,
      key: 'p256',
      ext: CA_EXT,
      md: 'md5',
    });
    const sha1Ca = pki.make('sha1-mid', {
      subject: 'CN=profile test SHA-1 intermediate',
      issuer: root,
      key: 'p256',
      ext: CA_EXT,
      md: 'sha1',
    });
    const critCa = pki.make('crit-mid', {
      subject: 'CN=profile test critical intermediate',
      issuer: root,
      key: 'p256',
      ext: [...CA_EXT, 'nameConstraints=critical,permitted;DNS:example.org'],
    });
    const weakCa = pki.make('weak-mid', {
      subject: 'CN=profile test weak intermediate',
      issuer: root,
      key: 'rsa1024',
      ext: CA_EXT,
    });
    const cases: Array<[MadeCert, string, RegExp]> = [
      [
        md5Ca,
        'EK_CERT_SIGNATURE_ALGORITHM',
        /^CA certificate "CN=profile test MD5 intermediate" is signed with md5WithRSAEncryption/,
      ],
      [
        sha1Ca,
        'EK_CERT_SIGNATURE_ALGORITHM',
        /^CA certificate "CN=profile test SHA-1 intermediate" is signed with sha1WithRSAEncryption: .*explicitly allowed$/,
      ],
      [
        critCa,
        'EK_CERT_CRITICAL_EXTENSION',
        /^CA certificate "CN=profile test critical intermediate" has the unknown critical extension 2\.5\.29\.30$/,
      ],
      [weakCa, 'EK_CERT_KEY_WEAK', /^CA certificate "CN=profile test weak intermediate" has a RSA 1024 bits key/],
    ];
    for (const [mid, code, message] of cases) {
      const l = leaf(`under-${mid.name}`, { ext: EK_EXT_EC, issuer: mid });
      const e = thrown(TpmVerifyError, () => verify(l, { intermediates: [mid.x509] }));
      expect([mid.name, e.code]).toEqual([mid.name, code]);
      expect(e.message).toMatch(message);
    }
    // SHA-1 on the intermediate passes with allowSha1; MD5 never.
    expect(
      verify(pki.make('under-sha1-ok', { subject: 'CN=under-sha1-ok', issuer: sha1Ca, ext: EK_EXT_EC }), {
        intermediates: [sha1Ca.x509],
        allowSha1: true,
      }).chain,
    ).toHaveLength(3);
  });
});
