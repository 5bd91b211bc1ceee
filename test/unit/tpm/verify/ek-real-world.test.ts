// Real EK certificates from the field: Google Compute Engine vTPM EK certificates and Google's EK CA roots
// and intermediates, from the Go module github.com/google/go-tpm-tools v0.4.7 (fetched at test time through
// the Go module proxy, never committed): `internal/test/certificates/*_enc_cert.pem` are EK certificates,
// their `*_sign_cert.pem` siblings are AK certificates from the same CAs, and `server/ca-certs/` holds the
// CAs (DER).
import { X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEkCertificate, parsePemCertificates, verifyEkCertificate } from '../../../../tpm/verify/ek-cert';
import { TpmVerifyError } from '../../../../tpm/verify/errors';
import { goModuleDir } from '../../../helpers/go-module';
import { thrown } from '../../../helpers/thrown';

const MODULE = 'github.com/google/go-tpm-tools';
const VERSION = 'v0.4.7';

let certsDir: string;
let cas: X509Certificate[];
let roots: X509Certificate[];
let intermediates: X509Certificate[];
const pem = (name: string) => parsePemCertificates(readFileSync(join(certsDir, name), 'utf8'), name);

beforeAll(() => {
  const dir = goModuleDir(`${MODULE}@${VERSION}`);
  certsDir = join(dir, 'internal', 'test', 'certificates');
  const caDir = join(dir, 'server', 'ca-certs');
  cas = readdirSync(caDir)
    .sort()
    .map((f) => new X509Certificate(readFileSync(join(caDir, f))));
  roots = cas.filter((c) => c.subject === c.issuer && c.verify(c.publicKey));
  intermediates = cas.filter((c) => !roots.includes(c));
});

// Listed, not globbed: a module with fewer files must fail here, not pass with nothing checked.
const EK_CERTS = [
  'pca_tpm_ecc_enc_cert.pem',
  'pca_tpm_rsa_enc_cert.pem',
  'uca_tpm_ecc_enc_cert.pem',
  'uca_tpm_rsa_enc_cert.pem',
];

describe(`real EK certificates (${MODULE}@${VERSION})`, () => {
  test('the module holds the expected certificates and CAs', () => {
    expect(
      readdirSync(certsDir)
        .filter((f) => f.endsWith('_enc_cert.pem'))
        .sort(),
    ).toEqual(EK_CERTS);
    expect(cas).toHaveLength(5);
    expect(roots).toHaveLength(2);
  });

  test.each(EK_CERTS)('%s passes the EK profile and chains to server/ca-certs', (name) => {
    const [cert] = pem(name);
    const der = new Uint8Array(cert.raw);
    // All CAs as trust anchors (how an operator would configure ek_ca_path with that directory)...
    const all = verifyEkCertificate({ certificate: der, trusted: cas });
    expect(all.chain).toHaveLength(2);
    // ...and only the roots trusted, the intermediates offered as untrusted ones: the search finds its issuer.
    const fromRoots = verifyEkCertificate({ certificate: der, trusted: roots, intermediates });
    expect(fromRoots.chain).toHaveLength(3);
    expect(roots.some((r) => r.raw.equals(fromRoots.chain[2].raw))).toBe(true);
    expect(fromRoots.publicKey.asymmetricKeyType).toBe(name.includes('_rsa_') ? 'rsa' : 'ec');
    const ek = parseEkCertificate(der);
    if (name.startsWith('uca_')) {
      // Shielded VM EK certificates carry the TCG fields: the EK EKU and the TPM attributes in the SAN.
      expect(ek.ekCertificateEku).toBe(true);
      expect(ek.tpmManufacturer).toBe('id:474F4F47');
      expect(ek.tpmModel).toBe('vTPM');
      expect(verifyEkCertificate({ certificate: der, trusted: cas, requireEku: true }).chain).toHaveLength(2);
    } else {
      // These carry no extKeyUsage: accepted by default, refused when ek_require_eku demands it.
      expect(ek.ekCertificateEku).toBe(false);
      const e = thrown(TpmVerifyError, () => verifyEkCertificate({ certificate: der, trusted: cas, requireEku: true }));
      expect(e.code).toBe('EK_CERT_EKU');
      expect(e.message).toMatch(/has no extKeyUsage; required: the EK certificate purpose 2\.23\.133\.8\.1$/);
    }
  });

  test.each(EK_CERTS.map((n) => n.replace('_enc_', '_sign_')))(
    '%s (an AK certificate from the same CA) is refused as an EK certificate',
    (name) => {
      const [cert] = pem(name);
      // Its chain is sound: only its profile keeps it out.
      expect(cas.some((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey))).toBe(true);
      const e = thrown(TpmVerifyError, () =>
        verifyEkCertificate({ certificate: new Uint8Array(cert.raw), trusted: cas }),
      );
      expect([e.code, e.kind]).toEqual(['EK_CERT_KEY_USAGE', 'rejected']);
      expect(e.message).toMatch(
        new RegExp(
          `^EK certificate .*: keyUsage lacks ${name.includes('_rsa_') ? 'keyEncipherment, which an RSA' : 'keyAgreement, which an EC'} EK certificate must allow$`,
        ),
      );
    },
  );
});
