// Refusals through both built plugin executables over real go-plugin gRPC against a real swtpm: each
// failed check is a PermissionDenied naming the check and what about the caller's own evidence failed (never
// the server's files or allowed values, which go to the server's warn log); a silent agent is refused at
// challenge_timeout; a replayed response is refused; a stopped swtpm
// fails the agent's stream with Unavailable naming the TPM, and attestation works again after restart;
// no transient object is left in the TPM.
import { createHash, X509Certificate } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { status } from '@grpc/grpc-js';
import { startSwtpm, type Swtpm } from '../helpers/swtpm';
import type { Session } from './go-plugin-host';
import { attest, startAgent, startServer, tpm2, TRUST_DOMAIN } from './attest-pipe';

const FIXTURES = resolve(__dirname, '../fixtures/tpm');

function pcrValues(swtpm: Swtpm, bank: string, pcrs: number[]): Record<string, string> {
  const out = tpm2(swtpm, ['tpm2_pcrread', `${bank}:${pcrs.join(',')}`]);
  const values: Record<string, string> = {};
  for (const m of out.matchAll(/^\s+(\d+)\s*:\s*0x([0-9A-Fa-f]+)/gm)) values[m[1]] = m[2].toLowerCase();
  return values;
}

function transientHandles(swtpm: Swtpm): string[] {
  return tpm2(swtpm, ['tpm2_getcap', 'handles-transient'])
    .split('\n')
    .filter((l) => /0x8/.test(l));
}

describe('tpm_quote refusals (RSA EK)', () => {
  let swtpm: Swtpm;
  let dir: string;
  let agent: Session;
  const servers: Session[] = [];
  let ekHash: string;
  let goodCas: string;

  const server = async (hcl: string) => {
    const s = await startServer(hcl);
    servers.push(s);
    return s;
  };

  beforeAll(async () => {
    swtpm = startSwtpm();
    dir = mkdtempSync(join(tmpdir(), 'tpmq-refuse-'));
    tpm2(swtpm, ['tpm2_nvread', '0x01c00002', '-o', join(dir, 'ek.der')]);
    const cert = new X509Certificate(readFileSync(join(dir, 'ek.der')));
    ekHash = createHash('sha256')
      .update(cert.publicKey.export({ type: 'spki', format: 'der' }))
      .digest('hex');
    goodCas = join(dir, 'good-cas.pem');
    writeFileSync(goodCas, readFileSync(swtpm.caRoot, 'utf8') + readFileSync(swtpm.caIssuer, 'utf8'));
    mkdirSync(join(dir, 'other-cas'));
    copyFileSync(join(FIXTURES, 'other-ca-root.pem'), join(dir, 'other-cas', 'root.pem'));
    copyFileSync(join(FIXTURES, 'other-ca-issuer.pem'), join(dir, 'other-cas', 'issuer.pem'));
    writeFileSync(join(dir, 'allowed.txt'), `${ekHash}\n`);
    writeFileSync(join(dir, 'others.txt'), `${'0'.repeat(64)}\n${'f'.repeat(64)}\n`);
    agent = await startAgent(
      `tpm = "${swtpm.transportSpec}"\nek_algorithm = "rsa"\nak_data_dir = "${join(dir, 'ak')}"\n`,
    );
  });
  afterAll(async () => {
    await agent?.dispose();
    for (const s of servers) await s.dispose();
    swtpm?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('EK certificate from a CA not in the bundle -> PermissionDenied (EK trust), logged with the EK hash', async () => {
    const s = await server(`ek_ca_path = "${join(dir, 'other-cas')}"\n`);
    const out = await attest(agent, s);
    expect(out.attributes).toBeUndefined();
    expect(out.serverError?.code).toBe(status.PERMISSION_DENIED);
    expect(out.serverError?.details).toBe(
      'EK trust check failed: the EK certificate does not chain to a trusted CA (EK_CERT_UNTRUSTED)',
    );
    // The log has the detail; the hash is only claimed (no credential activation yet).
    expect(s.proc.stderr()).toMatch(
      new RegExp(
        `"@level":"warn","@message":"attestation refused".*"reason":"ek_trust".*"claimed_ek_hash":"${ekHash}".*"error":"EK trust check failed: EK certificate does not chain to ek_ca_path [^"]*other-cas`,
      ),
    );
  });

  test('EK not in the allowlist -> PermissionDenied (EK trust) naming the hash', async () => {
    const s = await server(`ek_hash_path = "${join(dir, 'others.txt')}"\n`);
    const out = await attest(agent, s);
    expect(out.attributes).toBeUndefined();
    expect(out.serverError?.code).toBe(status.PERMISSION_DENIED);
    expect(out.serverError?.details).toBe(`EK trust check failed: EK hash ${ekHash} is not allowed`);
    expect(s.proc.stderr()).toContain(
      `"error":"EK trust check failed: EK hash ${ekHash} is not in ek_hash_path ${join(dir, 'others.txt')} (ek_trust = \\"any\\")"`,
    );
  });

  test('ek_trust = all: a trusted chain is not enough when the hash is not allowed', async () => {
    const s = await server(
      `ek_ca_path = "${goodCas}"\nek_hash_path = "${join(dir, 'others.txt')}"\nek_trust = "all"\n`,
    );
    const out = await attest(agent, s);
    expect(out.serverError?.code).toBe(status.PERMISSION_DENIED);
    expect(out.serverError?.details).toBe(`EK trust check failed: EK hash ${ekHash} is not allowed`);
    // ... and "any" with the same files admits it by its certificate.
    const any = await server(
      `ek_ca_path = "${goodCas}"\nek_hash_path = "${join(dir, 'others.txt')}"\nek_trust = "any"\n`,
    );
    expect((await attest(agent, any)).attributes?.spiffeId).toBe(
      `spiffe://${TRUST_DOMAIN}/spire/agent/tpm_quote/${ekHash}`,
    );
  });

  test('PCR extended after the policy was written -> PermissionDenied (PCR policy) naming the PCR', async () => {
    const values = pcrValues(swtpm, 'sha256', [0, 1, 2, 3, 4, 5, 6, 7, 16]);
    const policy: Record<string, unknown> = {};
    for (const [pcr, v] of Object.entries(values)) policy[pcr] = [v];
    writeFileSync(join(dir, 'policy.json'), JSON.stringify(policy));
    const s = await server(
      `ek_ca_path = "${goodCas}"\npcr_selection = "sha256:0-7,16"\npcr_policy_path = "${join(dir, 'policy.json')}"\n`,
    );
    const before = await attest(agent, s);
    expect(before.serverError).toBeUndefined();
    expect(before.attributes?.spiffeId).toBe(`spiffe://${TRUST_DOMAIN}/spire/agent/tpm_quote/${ekHash}`);

    tpm2(swtpm, ['tpm2_pcrextend', `16:sha256=${'77'.repeat(32)}`]);
    const now16 = pcrValues(swtpm, 'sha256', [16])['16'];
    const after = await attest(agent, s);
    expect(after.attributes).toBeUndefined();
    expect(after.serverError?.code).toBe(status.PERMISSION_DENIED);
    expect(after.serverError?.details).toBe('PCR policy check failed: PCR sha256:16 is not allowed');
    // The allowed value and the policy file go to the server's log only, with the (now proven) ek_hash.
    expect(s.proc.stderr()).toMatch(
      new RegExp(
        `"reason":"pcr_policy".*"ek_hash":"${ekHash}".*"error":"PCR policy check failed: PCR policy: PCR sha256:16 is ${now16}, the policy allows ${values['16']} \\(policy ${join(dir, 'policy.json')}\\)"`,
      ),
    );
  });

  test('a challenge_response replayed from an earlier attestation into a new Attest stream is refused', async () => {
    const s = await server(`ek_ca_path = "${goodCas}"\n`);
    const first = await attest(agent, s);
    expect(first.attributes?.spiffeId).toBe(`spiffe://${TRUST_DOMAIN}/spire/agent/tpm_quote/${ekHash}`);
    expect(first.response?.length).toBeGreaterThan(0);
    const replay = await attest(agent, s, { replaceResponse: () => first.response! });
    expect(replay.attributes).toBeUndefined();
    expect(replay.serverError?.code).toBe(status.PERMISSION_DENIED);
    expect(replay.serverError?.details).toMatch(/^credential activation check failed: the activated secret differs/);
  });

  test('an agent silent past challenge_timeout -> DeadlineExceeded, logged and the stream freed', async () => {
    const s = await server(`ek_ca_path = "${goodCas}"\nchallenge_timeout = "1s"\n`);
    const out = await attest(agent, s, { holdResponse: new Promise((r) => setTimeout(r, 3000)) });
    expect(out.attributes).toBeUndefined();
    expect(out.serverError?.code).toBe(status.DEADLINE_EXCEEDED);
    expect(out.serverError?.details).toBe('no challenge response within challenge_timeout (1000 ms)');
    expect(s.proc.stderr()).toMatch(
      new RegExp(
        `"@level":"warn","@message":"attestation refused".*"reason":"challenge_timeout".*"code":"DEADLINE_EXCEEDED".*"claimed_ek_hash":"${ekHash}"`,
      ),
    );
    // The same server attests the next (prompt) agent.
    expect((await attest(agent, s)).attributes?.spiffeId).toBe(
      `spiffe://${TRUST_DOMAIN}/spire/agent/tpm_quote/${ekHash}`,
    );
  });

  test("swtpm stopped -> the agent's stream fails with Unavailable naming the TPM; after restart it attests", async () => {
    const s = await server(`ek_ca_path = "${goodCas}"\n`);
    swtpm.stop({ keep: true });
    try {
      const down = await attest(agent, s);
      expect(down.attributes).toBeUndefined();
      expect(down.agentError?.code).toBe(status.UNAVAILABLE);
      expect(down.agentError?.details).toContain(`TPM ${swtpm.transportSpec} unavailable`);
    } finally {
      swtpm.restart();
    }
    const up = await attest(agent, s);
    expect(up.agentError).toBeUndefined();
    expect(up.serverError).toBeUndefined();
    expect(up.attributes?.spiffeId).toBe(`spiffe://${TRUST_DOMAIN}/spire/agent/tpm_quote/${ekHash}`);
  });

  test('after 20 attestations the TPM holds 0 transient objects', async () => {
    const s = await server(`ek_ca_path = "${goodCas}"\n`);
    for (let i = 0; i < 20; i++) {
      const out = await attest(agent, s);
      expect(out.attributes?.spiffeId).toBe(`spiffe://${TRUST_DOMAIN}/spire/agent/tpm_quote/${ekHash}`);
    }
    expect(transientHandles(swtpm)).toEqual([]);
  });
});
