// Keylime mode through both BUILT plugin executables over real go-plugin gRPC, with a real swtpm and a REAL
// Keylime 7.14.3 verifier: a matching policy passes (Keylime asked); a policy mismatch is PermissionDenied
// listing Keylime's failures; Keylime stopped is Unavailable naming the URL, and attestation works again
// once it is back; Keylime hung (SIGSTOP) is Unavailable after the configured timeout; a reconfigured server
// uses the new Keylime settings; bad Keylime settings fail Configure naming the key.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { Config } from '../../proto/gen/spire/service/common/config/v1/config_pb';
import { startSwtpm, type Swtpm } from '../helpers/swtpm';
import { startKeylimeVerifier, type KeylimeVerifierProcess } from '../helpers/keylime';
import type { Session } from './go-plugin-host';
import { attest, startAgent, startServer, tpm2, TRUST_DOMAIN } from './attest-pipe';

const POSTS = /POST \/v2\.[0-9]+\/verify\/evidence/g;
/** An attested agent's ID (attributes alone would also be "defined" for an empty AgentAttributes). */
const AGENT_ID = new RegExp(`^spiffe://${TRUST_DOMAIN}/spire/agent/tpm_quote/[0-9a-f]{64}$`);

describe('tpm_quote in Keylime mode (real keylime_verifier)', () => {
  let swtpm: Swtpm;
  let kl: KeylimeVerifierProcess;
  let dir: string;
  let agent: Session;
  const servers: Session[] = [];
  let cas: string;
  let good: string;
  let mismatch: string;

  const keylimeHcl = (policy: string, timeout = '5s', k: KeylimeVerifierProcess = kl) =>
    `ek_ca_path = "${cas}"\npcr_selection = "sha256:0-7"\npcr_policy_path = "${policy}"\nverifier = "keylime"\n` +
    `keylime {\n  url = "${k.url}"\n  ca_path = "${k.caPath}"\n  client_cert_path = "${k.clientCertPath}"\n  client_key_path = "${k.clientKeyPath}"\n  timeout = "${timeout}"\n}\n`;
  const server = async (hcl: string) => {
    const s = await startServer(hcl);
    servers.push(s);
    return s;
  };
  const posts = () => (kl.log().match(POSTS) ?? []).length;

  beforeAll(async () => {
    swtpm = startSwtpm();
    kl = startKeylimeVerifier();
    dir = mkdtempSync(join(tmpdir(), 'tpmq-keylime-'));
    cas = join(dir, 'cas.pem');
    writeFileSync(cas, [swtpm.caRoot, swtpm.caIssuer].map((p) => readFileSync(p, 'utf8')).join(''));
    tpm2(swtpm, ['tpm2_pcrextend', `7:sha256=${'ab'.repeat(32)}`]);
    const values: Record<string, string[]> = {};
    for (const m of tpm2(swtpm, ['tpm2_pcrread', 'sha256:0,1,2,3,4,5,6,7']).matchAll(
      /^\s+(\d+)\s*:\s*0x([0-9A-Fa-f]+)/gm,
    ))
      values[m[1]] = [m[2].toLowerCase()];
    good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify(values));
    mismatch = join(dir, 'mismatch.json');
    writeFileSync(mismatch, JSON.stringify({ ...values, 7: ['cd'.repeat(32)] }));
    agent = await startAgent(`tpm = "${swtpm.transportSpec}"\nak_data_dir = "${join(dir, 'ak')}"\n`);
  });
  afterAll(async () => {
    await agent?.dispose();
    for (const s of servers) await s.dispose();
    kl?.stop();
    swtpm?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('matching policy -> attested, and Keylime was asked', async () => {
    const s = await server(keylimeHcl(good));
    const before = posts();
    const out = await attest(agent, s);
    expect(out.serverError).toBeUndefined();
    expect(out.attributes?.spiffeId).toMatch(AGENT_ID);
    expect(posts()).toBe(before + 1);
    expect(s.proc.stderr()).toMatch(/"@message":"agent attested".*"verifier":"keylime"/);
  });

  test("policy mismatch -> PermissionDenied listing Keylime's failure for PCR 7", async () => {
    const s = await server(keylimeHcl(mismatch));
    const out = await attest(agent, s);
    expect(out.attributes).toBeUndefined();
    expect(out.serverError?.code).toBe(status.PERMISSION_DENIED);
    // The caller learns which of its PCRs failed; Keylime's URL, its detail and the policy file are logged only.
    expect(out.serverError?.details).toBe('PCR policy check failed: PCR sha256:7 is not allowed');
    expect(s.proc.stderr()).toMatch(
      new RegExp(
        `"reason":"pcr_policy".*"error":"PCR policy check failed: keylime verifier ${kl.url}/v2\\.[0-9]+/verify/evidence refused the evidence: pcr_validation\\.invalid_pcr_7: PCR value is not in allowlist \\(got \\\\"[0-9a-f]{64}\\\\"\\) \\(policy ${mismatch}\\)"`,
      ),
    );
  });

  test('Keylime stopped -> Unavailable naming the URL; back -> the next attestation passes', async () => {
    const s = await server(keylimeHcl(good));
    expect((await attest(agent, s)).attributes?.spiffeId).toMatch(AGENT_ID); // a kept-alive connection and a known API version
    kl.stop({ keep: true });
    try {
      const out = await attest(agent, s);
      expect(out.attributes).toBeUndefined();
      expect(out.serverError?.code).toBe(status.UNAVAILABLE);
      expect(out.serverError?.details).toBe('PCR policy verifier unavailable');
      expect(s.proc.stderr()).toMatch(
        new RegExp(
          `"reason":"verifier_unavailable".*"error":"PCR policy verifier unavailable: keylime verifier ${kl.url}/v2\\.[0-9]+/verify/evidence: connection (refused|reset)`,
        ),
      );
    } finally {
      kl.restart();
    }
    const again = await attest(agent, s);
    expect(again.serverError).toBeUndefined();
    expect(again.attributes?.spiffeId).toMatch(AGENT_ID);
  });

  test('Keylime hung (SIGSTOP) -> Unavailable after the 1 s timeout; after SIGCONT it passes', async () => {
    const s = await server(keylimeHcl(good, '1s'));
    expect((await attest(agent, s)).attributes?.spiffeId).toMatch(AGENT_ID);
    kl.pause();
    let out;
    const t0 = Date.now();
    try {
      out = await attest(agent, s);
    } finally {
      kl.resume();
    }
    const ms = Date.now() - t0;
    expect(out.attributes).toBeUndefined();
    expect(out.serverError?.code).toBe(status.UNAVAILABLE);
    expect(out.serverError?.details).toBe('PCR policy verifier unavailable');
    expect(s.proc.stderr()).toMatch(
      new RegExp(
        `"error":"PCR policy verifier unavailable: keylime verifier ${kl.url}/v2\\.[0-9]+/verify/evidence: no answer within 1000 ms"`,
      ),
    );
    expect(ms).toBeGreaterThanOrEqual(1000);
    expect(ms).toBeLessThan(10_000);
    expect((await attest(agent, s)).attributes?.spiffeId).toMatch(AGENT_ID);
  });

  test("Configure again while an attestation waits on Keylime: it still gets the old Keylime's verdict while the next uses the new one", async () => {
    const other = startKeylimeVerifier();
    try {
      const s = await server(keylimeHcl(good));
      expect((await attest(agent, s)).attributes?.spiffeId).toMatch(AGENT_ID); // API version known, a kept-alive socket
      const challenges = () => (s.proc.stderr().match(/"@message":"sending attestation challenge"/g) ?? []).length;
      const sent = challenges();
      kl.pause();
      let inFlight: ReturnType<typeof attest>;
      try {
        inFlight = attest(agent, s);
        // The challenge went out; the agent's TPM answers in tens of ms, then the server posts to the stopped Keylime.
        for (let i = 0; i < 100 && challenges() === sent; i++) await new Promise((r) => setTimeout(r, 20));
        expect(challenges()).toBe(sent + 1);
        await new Promise((r) => setTimeout(r, 1000));
        await s.client(Config).configure({
          coreConfiguration: { trustDomain: TRUST_DOMAIN },
          hclConfiguration: keylimeHcl(good, '5s', other),
        });
        // The next attestation switches to the new Keylime (and retires the old client) while the first still waits.
        expect((await attest(agent, s)).attributes?.spiffeId).toMatch(AGENT_ID);
      } finally {
        kl.resume();
      }
      const out = await inFlight;
      expect(out.serverError).toBeUndefined();
      expect(out.attributes?.spiffeId).toMatch(AGENT_ID);
    } finally {
      other.stop();
    }
  });

  test('Configure changes Keylime while an attestation waits for its agent: it still finishes on the client it started with', async () => {
    const other = startKeylimeVerifier();
    try {
      const s = await server(keylimeHcl(good));
      expect((await attest(agent, s)).attributes?.spiffeId).toMatch(AGENT_ID);
      const challenges = () => (s.proc.stderr().match(/"@message":"sending attestation challenge"/g) ?? []).length;
      const sent = challenges();
      let answer!: () => void;
      const waiting = attest(agent, s, { holdResponse: new Promise<void>((r) => (answer = r)) });
      for (let i = 0; i < 200 && challenges() === sent; i++) await new Promise((r) => setTimeout(r, 20));
      expect(challenges()).toBe(sent + 1);
      await s.client(Config).configure({
        coreConfiguration: { trustDomain: TRUST_DOMAIN },
        hclConfiguration: keylimeHcl(good, '5s', other),
      });
      // The next attestation switches to the new Keylime and retires the old client, still held by `waiting`.
      expect((await attest(agent, s)).attributes?.spiffeId).toMatch(AGENT_ID);
      const oldPosts = posts();
      answer();
      const out = await waiting;
      expect(out.serverError).toBeUndefined();
      expect(out.attributes?.spiffeId).toMatch(AGENT_ID);
      expect(posts()).toBe(oldPosts + 1);
    } finally {
      other.stop();
    }
  });

  test('SPIRE cancels the Attest stream while Keylime hangs: the Keylime call is abandoned at once, not at its timeout', async () => {
    const s = await server(keylimeHcl(good, '30s'));
    expect((await attest(agent, s)).attributes?.spiffeId).toMatch(AGENT_ID);
    const refused = () =>
      (s.proc.stderr().match(/"@message":"attestation refused".*"reason":"verifier_unavailable".*cancelled/g) ?? [])
        .length;
    const before = refused();
    kl.pause();
    try {
      // attest() cancels both streams after 1.5 s, as SPIRE would when giving up.
      const out = await attest(agent, s, { timeoutMs: 1500 });
      expect(out.attributes).toBeUndefined();
      for (let i = 0; i < 100 && refused() === before; i++) await new Promise((r) => setTimeout(r, 20));
      expect(refused()).toBe(before + 1);
    } finally {
      kl.resume();
    }
  });

  test('Configure again with another Keylime: the new one is used, the old one is no longer asked', async () => {
    const other = startKeylimeVerifier();
    try {
      const s = await server(keylimeHcl(good));
      expect((await attest(agent, s)).attributes?.spiffeId).toMatch(AGENT_ID);
      await s.client(Config).configure({
        coreConfiguration: { trustDomain: TRUST_DOMAIN },
        hclConfiguration: keylimeHcl(good, '5s', other),
      });
      const oldPosts = posts();
      const otherPosts = () => (other.log().match(POSTS) ?? []).length;
      const before = otherPosts();
      expect((await attest(agent, s)).attributes?.spiffeId).toMatch(AGENT_ID);
      expect(otherPosts()).toBe(before + 1);
      expect(posts()).toBe(oldPosts);
    } finally {
      other.stop();
    }
  });

  test.each([
    [
      'no keylime block',
      (h: string) => h.replace(/keylime \{[\s\S]*\}\n$/, ''),
      /key "keylime": required when verifier = "keylime"/,
    ],
    [
      'http URL',
      (h: string) => h.replace(/url = "https:/, 'url = "http:'),
      /key "keylime\.url": expected an https URL/,
    ],
    [
      'two banks',
      (h: string) => h.replace('pcr_selection = "sha256:0-7"', 'pcr_selection = ["sha256:0-7", "sha1:0"]'),
      /key "pcr_selection": with verifier = "keylime" it must select one bank, sha256/,
    ],
  ])('Configure refuses %s, naming the key', async (_n, edit, re) => {
    await expect(startServer(edit(keylimeHcl(good)))).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: expect.stringMatching(re),
    });
  });
});
