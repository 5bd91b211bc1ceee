// Both built plugin executables over real go-plugin gRPC, piped as SPIRE pipes them, against a real swtpm
// (RSA and ECC EKs): the agent attests and gets the documented agent ID and selectors.
import { createHash, X509Certificate } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromBinary } from '@bufbuild/protobuf';
import {
  AttestationChallengeSchema,
  AttestationPayloadSchema,
  ChallengeResponseSchema,
} from '../../proto/gen/tpmquote/v1/attestation_pb';
import { startSwtpm, type Swtpm } from '../helpers/swtpm';
import type { Session } from './go-plugin-host';
import { attest, startAgent, startServer, tpm2, TRUST_DOMAIN } from './attest-pipe';

const EK_CERT_INDEX = { rsa: '0x01c00002', ecc: '0x01c00016' } as const;

/** The EK certificate as tpm2-tools reads it, and the documented EK hash (SHA-256 of the key's PKIX DER). */
function ekFacts(swtpm: Swtpm, alg: 'rsa' | 'ecc', dir: string) {
  const file = join(dir, `ek-${alg}.der`);
  tpm2(swtpm, ['tpm2_nvread', EK_CERT_INDEX[alg], '-o', file]);
  const cert = new X509Certificate(readFileSync(file));
  const hash = createHash('sha256')
    .update(cert.publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex');
  return { cert, hash };
}

function pcrValues(swtpm: Swtpm, bank: string, pcrs: number[]): Map<number, string> {
  const out = tpm2(swtpm, ['tpm2_pcrread', `${bank}:${pcrs.join(',')}`]);
  const map = new Map<number, string>();
  for (const m of out.matchAll(/^\s+(\d+)\s*:\s*0x([0-9A-Fa-f]+)/gm)) map.set(Number(m[1]), m[2].toLowerCase());
  return map;
}

describe.each([
  ['rsa', 'rsa'],
  ['ecc', 'rsa'],
  ['ecc', 'ecc'],
] as const)('tpm_quote attestation with the %s EK and an %s AK', (alg, akAlg) => {
  let swtpm: Swtpm;
  let dir: string;
  let agent: Session;
  let server: Session;
  let ek: { cert: X509Certificate; hash: string };

  const agentHcl = () =>
    `tpm = "${swtpm.transportSpec}"\nek_algorithm = "${alg}"\nak_algorithm = "${akAlg}"\nak_data_dir = "${join(dir, 'ak')}"\n`;

  beforeAll(async () => {
    swtpm = startSwtpm();
    dir = mkdtempSync(join(tmpdir(), 'tpmq-attest-'));
    ek = ekFacts(swtpm, alg, dir);
    writeFileSync(join(dir, 'hashes.txt'), `# allowlist\n${ek.hash}\n`);
    // The CA bundle as a directory: swtpm's root and the intermediate that issued the EK certificates.
    mkdirSync(join(dir, 'cas'));
    copyFileSync(swtpm.caRoot, join(dir, 'cas', 'root.pem'));
    copyFileSync(swtpm.caIssuer, join(dir, 'cas', 'issuer.pem'));
    agent = await startAgent(agentHcl());
    server = await startServer(
      `ek_ca_path = "${join(dir, 'cas')}"\nek_hash_path = "${join(dir, 'hashes.txt')}"\nek_trust = "all"\npcr_selection = "sha256:0-7,16"\n`,
    );
  });
  afterAll(async () => {
    await agent?.dispose();
    await server?.dispose();
    swtpm?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the agent attests: agent ID from the EK hash, can_reattest, selectors from the EK cert and the quote', async () => {
    tpm2(swtpm, ['tpm2_pcrextend', `16:sha256=${'5a'.repeat(32)}`]);
    const out = await attest(agent, server);
    expect(out.agentError).toBeUndefined();
    expect(out.serverError).toBeUndefined();
    expect(out.attributes?.spiffeId).toBe(`spiffe://${TRUST_DOMAIN}/spire/agent/tpm_quote/${ek.hash}`);
    expect(out.attributes?.canReattest).toBe(true);

    const selectors = out.attributes!.selectorValues;
    const issuerCn = /CN=([^\n]+)/.exec(ek.cert.issuer)![1];
    expect(selectors).toContain(`ek_hash:${ek.hash}`);
    expect(selectors).toContain(`ek_issuer:${issuerCn}`);
    expect(selectors.filter((s) => s.startsWith('manufacturer:'))).toEqual(['manufacturer:id:00001014']);
    expect(selectors.filter((s) => s.startsWith('model:'))).toHaveLength(1);
    // The quote's firmwareVersion is the TPM's real one (not obfuscated: the AK is the EK's child).
    const fw1 = parseInt(
      /TPM2_PT_FIRMWARE_VERSION_1:\s*raw: 0x([0-9a-fA-F]+)/.exec(tpm2(swtpm, ['tpm2_getcap', 'properties-fixed']))![1],
      16,
    );
    expect(selectors.filter((s) => s.startsWith('firmware_version:'))).toEqual([
      `firmware_version:${fw1 >>> 16}.${fw1 & 0xffff}`,
    ]);
    // The payload's (unauthenticated, logged-only) tpm_info reports the same word in the same form.
    expect(fromBinary(AttestationPayloadSchema, out.payload!).tpmInfo?.firmwareVersion).toBe(
      `${fw1 >>> 16}.${fw1 & 0xffff}`,
    );
    const pcrs = pcrValues(swtpm, 'sha256', [0, 1, 2, 3, 4, 5, 6, 7, 16]);
    expect(pcrs.size).toBe(9);
    const pcrSelectors = selectors.filter((s) => s.startsWith('pcr:'));
    expect(pcrSelectors).toEqual([...pcrs].map(([i, v]) => `pcr:sha256:${i}:${v}`));
    expect(pcrSelectors).toContain(`pcr:sha256:16:${pcrs.get(16)}`);
    expect(selectors.every((s) => !s.startsWith('tpm_quote:'))).toBe(true);

    // Neither plugin logs the nonce or the activated secret.
    const nonce = Buffer.from(fromBinary(AttestationChallengeSchema, out.challenge!).nonce).toString('hex');
    const secret = Buffer.from(fromBinary(ChallengeResponseSchema, out.response!).activatedSecret).toString('hex');
    expect(secret).toHaveLength(64);
    for (const log of [agent.proc.stderr(), server.proc.stderr()]) {
      expect(log).not.toContain(nonce);
      expect(log).not.toContain(secret);
      expect(log).not.toContain(Buffer.from(nonce, 'hex').toString('base64'));
    }

    // The server logs the node's self-reported TPM facts (unauthenticated: logged, never a selector).
    expect(server.proc.stderr()).toMatch(
      new RegExp(
        `"@message":"sending attestation challenge".*"tpm_manufacturer":"IBM".*"tpm_firmware_version":"${fw1 >>> 16}\\.${fw1 & 0xffff}".*"tpm_pcr_banks":"[a-z0-9,]*sha256`,
      ),
    );

    // The agent logs that the quote was read from the TPM and which PCRs it covers.
    expect(agent.proc.stderr()).toMatch(/"@message":"quote read from the TPM".*"pcrs":"sha256:0,1,2,3,4,5,6,7,16"/);
  });

  test('a second attestation gives the same agent ID (the AK is kept in ak_data_dir)', async () => {
    const first = await attest(agent, server);
    const second = await attest(agent, server);
    expect(first.attributes?.spiffeId).toBe(`spiffe://${TRUST_DOMAIN}/spire/agent/tpm_quote/${ek.hash}`);
    expect(second.attributes?.spiffeId).toBe(first.attributes?.spiffeId);
    // One AK file, beside the TPM identity cache file.
    const stored = readdirSync(join(dir, 'ak')).sort();
    expect(stored).toHaveLength(2);
    expect(stored[1]).toBe('tpm-identity-cache.json');
    const akFiles = stored.filter((f) => f.startsWith('tpm-ak-'));
    expect(akFiles).toHaveLength(1);
    expect(akFiles[0]).toMatch(new RegExp(`^tpm-ak-${akAlg}-ek-[0-9a-f]{16}\\.json$`));
    expect(readFileSync(join(dir, 'ak', akFiles[0]), 'utf8')).toMatch(/"parent":"ek"/);
  });

  test('a restarted agent keeps the agent ID and reuses the stored AK', async () => {
    const akFile = readdirSync(join(dir, 'ak')).find((f) => f.startsWith('tpm-ak-'))!;
    const before = readFileSync(join(dir, 'ak', akFile), 'utf8');
    await agent.dispose();
    agent = await startAgent(agentHcl());
    const out = await attest(agent, server);
    expect(out.attributes?.spiffeId).toBe(`spiffe://${TRUST_DOMAIN}/spire/agent/tpm_quote/${ek.hash}`);
    expect(readFileSync(join(dir, 'ak', akFile), 'utf8')).toBe(before);
    expect(agent.proc.stderr()).not.toContain('created a new attestation key');
  });
});
