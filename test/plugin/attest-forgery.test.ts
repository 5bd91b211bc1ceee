// The forgery an EK certificate profile stops, against the built server plugin over real go-plugin gRPC:
// an "agent" with no TPM holds the private key of a certificate that a CA in ek_ca_path issued (a TLS
// server leaf, a sub-CA, ...), presents that key as its EK, decrypts the credential in software, invents an
// AK with the right attribute bits and signs its own quote of invented PCRs.
// Each forgery is first shown to pass every other check (a server trusting its EK hash gives it an agent
// ID), so the refusal with ek_ca_path is the profile rule, named in the PermissionDenied, and nothing else.
import { createHash, createPrivateKey } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { CA_EXT, createPki, EK_EXT_RSA, type MadeCert, type Pki } from '../helpers/openssl-pki';
import { createSoftwareAgent } from '../helpers/software-tpm';
import type { Session } from './go-plugin-host';
import { attestRaw, startServer, TRUST_DOMAIN } from './attest-pipe';

/** One attestation by a software agent holding `cert`'s private key. */
/** The `error` field of the server plugin's last "attestation refused" log line (its full, server-side detail). */
function lastRefusal(server: Session): string {
  const lines = server.proc
    .stderr()
    .split('\n')
    .filter((l) => l.includes('"attestation refused"'));
  const last = lines.at(-1);
  if (last === undefined) throw new Error('no "attestation refused" line in the server plugin log');
  return String((JSON.parse(last) as { error?: unknown }).error);
}

async function forge(server: Session, cert: MadeCert) {
  const agent = createSoftwareAgent({
    ekPrivate: createPrivateKey(readFileSync(cert.keyPath)),
    ekCertificate: cert.der,
  });
  return attestRaw(server, [{ request: { case: 'payload', value: agent.payload() } }], (challenge) => ({
    request: { case: 'challengeResponse', value: agent.respond(challenge) },
  }));
}
const ekHash = (cert: MadeCert) =>
  createHash('sha256')
    .update(cert.x509.publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex');

describe('forged EK certificates from a CA in ek_ca_path (software agent, no TPM)', () => {
  let pki: Pki;
  let ca: MadeCert;
  const servers: Session[] = [];
  const server = async (hcl: string) => {
    const s = await startServer(`pcr_selection = "sha256:0-7"\n${hcl}`);
    servers.push(s);
    return s;
  };
  let profileServer: Session;

  // name, the rule expected to refuse it, the certificate's extensions and digest, the message
  const forgeries: Array<[string, string, { ext: string[]; md?: string }, RegExp]> = [
    [
      'TLS server leaf',
      'EK_CERT_EKU',
      {
        ext: [
          'basicConstraints=critical,CA:FALSE',
          'keyUsage=critical,digitalSignature,keyEncipherment',
          'extendedKeyUsage=serverAuth,clientAuth',
          'subjectAltName=DNS:node.example.org',
        ],
      },
      /EK certificate "CN=forgery TLS server leaf" extKeyUsage \(1\.3\.6\.1\.5\.5\.7\.3\.1, 1\.3\.6\.1\.5\.5\.7\.3\.2\) lacks the EK certificate purpose 2\.23\.133\.8\.1/,
    ],
    [
      'CA:TRUE leaf',
      'EK_CERT_IS_CA',
      { ext: CA_EXT },
      /EK certificate "CN=forgery CA:TRUE leaf" is a CA certificate \(basicConstraints cA is TRUE\)/,
    ],
    [
      'MD5-signed EK profile',
      'EK_CERT_SIGNATURE_ALGORITHM',
      { ext: EK_EXT_RSA, md: 'md5' },
      /EK certificate "CN=forgery MD5-signed EK profile" is signed with md5WithRSAEncryption/,
    ],
    [
      'SHA-1-signed EK profile',
      'EK_CERT_SIGNATURE_ALGORITHM',
      { ext: EK_EXT_RSA, md: 'sha1' },
      /EK certificate "CN=forgery SHA-1-signed EK profile" is signed with sha1WithRSAEncryption: .*SHA-1 is accepted only when explicitly allowed/,
    ],
    [
      'unknown critical extension',
      'EK_CERT_CRITICAL_EXTENSION',
      { ext: [...EK_EXT_RSA, '1.3.6.1.4.1.55555.7=critical,DER:05:00'] },
      /EK certificate "CN=forgery unknown critical extension" has the unknown critical extension 1\.3\.6\.1\.4\.1\.55555\.7/,
    ],
  ];
  const certs = new Map<string, MadeCert>();

  beforeAll(async () => {
    pki = createPki();
    // A mixed-use CA: it signs TLS certificates and sub-CAs as well as EK certificates.
    ca = pki.make('mixed-ca', { subject: 'CN=forgery mixed-use CA', key: 'rsa2048', ext: CA_EXT });
    for (const [name, , spec] of forgeries)
      certs.set(
        name,
        pki.make(name.replace(/\W+/g, '-'), {
          subject: `CN=forgery ${name}`,
          issuer: ca,
          key: 'rsa2048',
          ext: spec.ext,
          md: spec.md,
        }),
      );
    profileServer = await server(`ek_ca_path = "${ca.certPath}"\n`);
  });
  afterAll(async () => {
    for (const s of servers) await s.dispose();
    pki?.cleanup();
  });

  test.each(forgeries)(
    '%s: chains to the CA and passes every other check, yet is refused at EK trust (%s)',
    async (name, code, _spec, message) => {
      const cert = certs.get(name)!;
      // The chain itself is sound: the CA in ek_ca_path signed it.
      expect(cert.x509.checkIssued(ca.x509) && cert.x509.verify(ca.x509.publicKey)).toBe(true);
      // The forgery is complete: trusting its EK by hash (no CA), the server accepts it as a node.
      const hashes = join(pki.dir, `${cert.name}.hashes`);
      writeFileSync(hashes, `${ekHash(cert)}\n`);
      const byHash = await forge(await server(`ek_hash_path = "${hashes}"\n`), cert);
      expect(byHash.error).toBeUndefined();
      expect(byHash.attributes?.spiffeId).toBe(`spiffe://${TRUST_DOMAIN}/spire/agent/tpm_quote/${ekHash(cert)}`);
      // With the CA: refused before any challenge, PermissionDenied naming the rule.
      const out = await forge(profileServer, cert);
      expect(out.challenges).toEqual([]);
      expect(out.attributes).toBeUndefined();
      expect(out.error?.code).toBe(status.PERMISSION_DENIED);
      // The caller is told the rule's code only; the server's warn line has the rule and the bundle's path.
      expect(out.error?.details).toBe(
        `EK trust check failed: the EK certificate does not chain to a trusted CA (${code})`,
      );
      const logged = lastRefusal(profileServer);
      expect(logged).toMatch(
        new RegExp(`^EK trust check failed: EK certificate does not chain to ek_ca_path ${ca.certPath}: `),
      );
      expect(logged).toMatch(message);
      expect(logged).toMatch(new RegExp(`\\(${code}\\) \\(ek_trust = "any"\\)$`));
    },
  );

  test('an EK-profile certificate from the same CA attests, and SHA-1 passes only with ek_allow_sha1 = true', async () => {
    const good = pki.make('good-ek', {
      subject: 'CN=forgery control EK profile',
      issuer: ca,
      key: 'rsa2048',
      ext: EK_EXT_RSA,
    });
    const ok = await forge(profileServer, good);
    expect(ok.error).toBeUndefined();
    expect(ok.attributes?.spiffeId).toBe(`spiffe://${TRUST_DOMAIN}/spire/agent/tpm_quote/${ekHash(good)}`);
    const sha1 = certs.get('SHA-1-signed EK profile')!;
    const allowing = await server(`ek_ca_path = "${ca.certPath}"\nek_allow_sha1 = true\n`);
    expect((await forge(allowing, sha1)).attributes?.spiffeId).toBe(
      `spiffe://${TRUST_DOMAIN}/spire/agent/tpm_quote/${ekHash(sha1)}`,
    );
    // MD5 is never accepted, whatever the option.
    expect((await forge(allowing, certs.get('MD5-signed EK profile')!)).error?.details).toMatch(
      /\(EK_CERT_SIGNATURE_ALGORITHM\)/,
    );
  });

  test('ek_require_eku = true refuses an EK-profile certificate without extKeyUsage (EK_CERT_EKU)', async () => {
    const noEku = pki.make('no-eku', {
      subject: 'CN=forgery no EKU',
      issuer: ca,
      key: 'rsa2048',
      ext: ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,keyEncipherment'],
    });
    expect((await forge(profileServer, noEku)).attributes?.spiffeId).toBe(
      `spiffe://${TRUST_DOMAIN}/spire/agent/tpm_quote/${ekHash(noEku)}`,
    );
    const strict = await server(`ek_ca_path = "${ca.certPath}"\nek_require_eku = true\n`);
    const out = await forge(strict, noEku);
    expect(out.error?.code).toBe(status.PERMISSION_DENIED);
    expect(out.error?.details).toBe(
      'EK trust check failed: the EK certificate does not chain to a trusted CA (EK_CERT_EKU)',
    );
    expect(lastRefusal(strict)).toMatch(
      /EK certificate "CN=forgery no EKU" has no extKeyUsage; required: the EK certificate purpose 2\.23\.133\.8\.1 \(EK_CERT_EKU\)/,
    );
  });
});
