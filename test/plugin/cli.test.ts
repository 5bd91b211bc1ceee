// The built tpm-quote CLI (dist/tpm_quote/tpm-quote: launcher + pinned lib/ + bundle) against a real swtpm,
// cross-checked with tpm2-tools and openssl; its pcr-policy output loaded by the built server plugin
// (pcr_policy_path) in a real attestation whose agent ID ends with `tpm-quote ek-hash`; its eventlog replay
// of real logs (go-eventlog, go-attestation) equal to tpm2_eventlog's.
import { execFileSync, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeEventLog, EV, parseEventLog } from '../../tpm/eventlog';
import { parseKeylimeMbRefstate } from '../../tpm';
import { makeBootLog, pcrExtendArgs } from '../helpers/boot-log';
import { realEventLogs } from '../helpers/go-testdata';
import { startSwtpm, type Swtpm } from '../helpers/swtpm';
import { runTpm2Eventlog } from '../swtpm/eventlog-tool';
import { attest, startAgent, startServer, tpm2, TRUST_DOMAIN } from './attest-pipe';
import { ROOT, type Session } from './go-plugin-host';

const CLI = join(ROOT, 'dist/tpm_quote/tpm-quote');

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(CLI, args, { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `cli(args)` that must succeed; returns stdout. */
function ok(...args: string[]): string {
  const r = cli(...args);
  if (r.status !== 0) throw new Error(`tpm-quote ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  expect(r.stderr).toBe(''); // nothing but the answer: no launcher debug line outside go-plugin
  return r.stdout;
}

// openssl: SHA-256 of a PEM public key's DER, as get_tpm_pubhash-style tooling computes it.
function opensslPubHash(pem: string, dir: string): string {
  const der = execFileSync('openssl', ['pkey', '-pubin', '-in', pem, '-outform', 'DER'], { cwd: dir });
  return execFileSync('sha256sum', { input: der, encoding: 'utf8' }).split(' ')[0];
}

describe('tpm-quote against swtpm', () => {
  let swtpm: Swtpm;
  let dir: string;
  const sessions: Session[] = [];
  const tool = (...args: string[]) => tpm2(swtpm, args);

  beforeAll(() => {
    swtpm = startSwtpm();
    dir = mkdtempSync(join(tmpdir(), 'tpmq-cli-'));
  });
  afterAll(async () => {
    for (const s of sessions) await s.dispose();
    swtpm?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test.each([
    ['rsa', 'rsa', 'rsa2048'],
    ['ecc', 'ecc-p256', 'ecc-p256'],
  ])('tpm2_createek -G %s + tpm2_readpublic -f pem + openssl equals ek-hash --ek %s (and --ek %s)', (g, ek, kind) => {
    const ctx = join(dir, `ek-${g}.ctx`);
    const pem = join(dir, `ek-${g}.pem`);
    tool('tpm2_createek', '-G', g, '-c', ctx);
    tool('tpm2_readpublic', '-c', ctx, '-f', 'pem', '-o', pem);
    tool('tpm2_flushcontext', '-t');
    const expected = opensslPubHash(pem, dir);
    expect(expected).toMatch(/^[0-9a-f]{64}$/);
    expect(ok('ek-hash', '--tpm', swtpm.transportSpec, '--ek', ek)).toBe(`${expected}\n`);
    expect(ok('ek-hash', '--tpm', swtpm.transportSpec, '--ek', kind)).toBe(`${expected}\n`);
  });

  test('ek-hash of the certified ECC P-384 EK (high range) equals openssl on the certificate in NV 0x01c00016', () => {
    tool('tpm2_nvread', '0x01c00016', '-o', join(dir, 'ek384.der'));
    const pem = execFileSync('openssl', ['x509', '-inform', 'DER', '-in', 'ek384.der', '-pubkey', '-noout'], {
      cwd: dir,
    });
    writeFileSync(join(dir, 'ek384.pub.pem'), pem);
    expect(ok('ek-hash', '--tpm', swtpm.transportSpec, '--ek', 'ecc')).toBe(
      `${opensslPubHash(join(dir, 'ek384.pub.pem'), dir)}\n`,
    );
  });

  test('ek-cert prints the NV certificate as PEM; --ca-bundle checks the chain as the server does (exit 5 when it does not chain)', () => {
    tool('tpm2_nvread', '0x01c00002', '-o', join(dir, 'ek.der'));
    const pem = execFileSync('openssl', ['x509', '-inform', 'DER', '-in', 'ek.der'], { cwd: dir, encoding: 'utf8' });
    expect(ok('ek-cert', '--tpm', swtpm.transportSpec, '--ek', 'rsa')).toBe(pem);

    const bundle = join(dir, 'cas.pem');
    writeFileSync(bundle, readFileSync(swtpm.caRoot, 'utf8') + readFileSync(swtpm.caIssuer, 'utf8'));
    const good = cli('ek-cert', '--tpm', swtpm.transportSpec, '--ek', 'rsa', '--ca-bundle', bundle);
    expect([good.status, good.stdout]).toEqual([0, pem]);
    expect(good.stderr).toMatch(/^EK certificate at NV 0x1c00002 \(rsa2048 EK\) chains to /);

    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'].concat([
        '-keyout',
        'other.key',
        '-out',
        'other.pem',
        '-subj',
        '/CN=other CA',
        '-days',
        '2',
      ]),
      { cwd: dir, stdio: 'ignore' },
    );
    const bad = cli('ek-cert', '--tpm', swtpm.transportSpec, '--ek', 'rsa', '--ca-bundle', join(dir, 'other.pem'));
    expect(bad.status).toBe(5);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toMatch(/EK certificate at NV 0x1c00002 \(rsa2048 EK\): .*\(EK_CERT_UNTRUSTED\)/);
  });

  test('inspect: manufacturer as tpm2_getcap, persistent handles as tpm2_getcap with their EK template, the NV EK certificates', () => {
    const doc = JSON.parse(ok('inspect', '--tpm', swtpm.transportSpec));
    const fixed = tool('tpm2_getcap', 'properties-fixed');
    const manufacturer = /TPM2_PT_MANUFACTURER:\s*\n\s*raw: 0x([0-9A-Fa-f]+)/.exec(fixed)![1];
    expect(doc.manufacturerId).toBe(`0x${manufacturer.toLowerCase().padStart(8, '0')}`);
    expect(doc.pcrBanks.sha256).toBe(24);
    const persistent = [...tool('tpm2_getcap', 'handles-persistent').matchAll(/0x[0-9A-Fa-f]{8}/g)].map((m) =>
      m[0].toLowerCase(),
    );
    expect(doc.persistentHandles.map((h: { handle: string }) => h.handle)).toEqual(persistent);
    // swtpm_setup persists the RSA EK it certifies at the TCG handle.
    expect(doc.persistentHandles).toContainEqual({
      handle: '0x81010001',
      key: 'rsa 2048',
      attributes: ['fixedTPM', 'restricted', 'decrypt'],
      ekTemplate: 'rsa2048',
    });
    const issuer = new X509Certificate(readFileSync(swtpm.caIssuer)).subject;
    expect(doc.ekNvIndices).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ index: '0x01c00002', profile: 'rsa2048', key: 'rsa 2048', issuer, ca: false }),
        expect.objectContaining({ index: '0x01c00016', profile: 'ecc-p384', key: 'ec secp384r1', issuer }),
      ]),
    );
  });

  test('pcr-policy output is loaded by the server plugin (pcr_policy_path) and the agent ID ends with ek-hash', async () => {
    tool('tpm2_pcrextend', `16:sha256=${'5a'.repeat(32)}`);
    const policyFile = join(dir, 'policy.json');
    ok('pcr-policy', '--tpm', swtpm.transportSpec, '--pcrs', 'sha256:0-7,16', '--out', policyFile);
    const policy = JSON.parse(readFileSync(policyFile, 'utf8'));
    const now16 = /^\s+16\s*:\s*0x([0-9A-F]+)/m.exec(tool('tpm2_pcrread', 'sha256:16'))![1].toLowerCase();
    expect(policy).toEqual(expect.objectContaining({ '16': [now16], mask: '0x100ff' }));

    const bundle = join(dir, 'cas.pem');
    const server = await startServer(
      `ek_ca_path = "${bundle}"\npcr_selection = "sha256:0-7,16"\npcr_policy_path = "${policyFile}"\n`,
    );
    sessions.push(server);
    const agent = await startAgent(
      `tpm = "${swtpm.transportSpec}"\nek_algorithm = "rsa"\nak_data_dir = "${join(dir, 'ak')}"\n`,
    );
    sessions.push(agent);
    const hash = ok('ek-hash', '--tpm', swtpm.transportSpec, '--ek', 'rsa').trim();
    const out = await attest(agent, server);
    expect(out.serverError).toBeUndefined();
    expect(out.attributes?.spiffeId).toBe(`spiffe://${TRUST_DOMAIN}/spire/agent/tpm_quote/${hash}`);
    // The policy is what decided: one more extend and the same server refuses.
    tool('tpm2_pcrextend', `16:sha256=${'5a'.repeat(32)}`);
    expect((await attest(agent, server)).serverError?.details).toMatch(/^PCR policy check failed: .*PCR sha256:16/);
  });

  test('exit statuses: usage 2, TPM unreachable 3, unusable input 6', () => {
    expect(cli().status).toBe(2);
    expect(cli('nope').status).toBe(2);
    expect(cli('ek-hash', '--bogus').status).toBe(2);
    expect(cli('ek-hash', '--tpm', 'tcp:x').status).toBe(2);
    expect(cli('pcr-policy', '--tpm', swtpm.transportSpec, '--pcrs', 'sha256:0+sha1:0').status).toBe(2);
    expect(cli('pcr-policy', '--tpm', swtpm.transportSpec, '--pcrs', 'sha256:10').stderr).toContain('IMA PCR');
    const down = cli('ek-hash', '--tpm', 'swtpm:host=127.0.0.1,port=1');
    expect(down.status).toBe(3);
    expect(down.stderr).toMatch(/^tpm-quote ek-hash: TPM swtpm:host=127.0.0.1,port=1 unavailable/);
    expect(cli('eventlog', '--log', join(dir, 'missing.bin')).status).toBe(6);
    writeFileSync(join(dir, 'garbage.bin'), 'not a log');
    const garbage = cli('eventlog', '--log', join(dir, 'garbage.bin'));
    expect([garbage.status, garbage.stderr]).toEqual([6, expect.stringContaining('(EVENT_LOG_MALFORMED)')]);
    for (const c of ['ek-hash', 'ek-cert', 'pcr-policy', 'inspect', 'eventlog', 'boot-policy'])
      expect(ok(c, '--help')).toMatch(new RegExp(`^Usage: tpm-quote ${c} .*--tpm SPEC`, 's'));
  });
});

describe('tpm-quote eventlog and boot-policy', () => {
  let swtpm: Swtpm;
  let dir: string;
  beforeAll(() => {
    swtpm = startSwtpm();
    dir = mkdtempSync(join(tmpdir(), 'tpmq-cli-log-'));
  });
  afterAll(() => {
    swtpm?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('on every real go-eventlog/go-attestation log tpm2_eventlog reads, the same events and replayed PCRs', () => {
    let compared = 0;
    for (const real of realEventLogs()) {
      const file = join(dir, real.name.replace(/[^\w.-]/g, '_'));
      writeFileSync(file, real.bytes);
      const tool = runTpm2Eventlog(file);
      if (!tool.ok) continue; // the two logs tpm2_eventlog 5.4 cannot read (test/swtpm/eventlog-differential pins them)
      const log = parseEventLog(real.bytes);
      // tpm2_eventlog starts PCR 0 at zero even after a StartupLocality event; the differential test covers those.
      if (log.events.some((e) => e.type === EV.EV_NO_ACTION && e.pcr === 0 && e.index > 0)) continue;
      const ours = JSON.parse(ok('eventlog', '--log', file, '--json'));
      expect([real.name, ours.events.map((e: { pcr: number; type: string }) => [e.pcr, e.type])]).toEqual([
        real.name,
        tool.log.events.map((e) => [e.pcr, e.type]),
      ]);
      expect([real.name, ours.pcrs]).toEqual([real.name, tool.log.pcrs]);
      expect(ours.verifiedAgainst).toBeNull();
      compared++;
    }
    expect(compared).toBeGreaterThanOrEqual(10);
  });

  test('--tpm: a log extended into swtpm verifies and its facts show; one more extend is exit 5 naming the PCR; boot-policy from it', () => {
    const boot = makeBootLog({ banks: ['sha1', 'sha256'] });
    const file = join(dir, 'boot.bin');
    writeFileSync(file, encodeEventLog(boot.log));
    for (const arg of pcrExtendArgs(boot.log)) tpm2(swtpm, ['tpm2_pcrextend', arg]);
    const ours = JSON.parse(ok('eventlog', '--log', file, '--tpm', swtpm.transportSpec, '--json'));
    expect(ours.verifiedAgainst).toBe(swtpm.transportSpec);
    expect(ours.facts.secureBoot.state).toBe('enabled');
    expect(ours.facts.kernelCmdline).toBe(boot.expect.kernelCmdline);
    expect(ok('eventlog', '--log', file, '--tpm', swtpm.transportSpec)).toContain(
      `PCRs (equal to ${swtpm.transportSpec}'s):`,
    );

    const policy = JSON.parse(ok('boot-policy', '--log', file, '--tpm', swtpm.transportSpec));
    expect(policy).toMatchObject({
      require_secure_boot: true,
      allowed_db: [boot.expect.db],
      allowed_boot_apps: boot.expect.bootApps,
      allowed_kernels: [boot.expect.kernel],
      allowed_kernel_cmdlines: [boot.expect.kernelCmdline],
    });

    tpm2(swtpm, ['tpm2_pcrextend', `4:sha256=${'11'.repeat(32)}`]);
    const r = cli('eventlog', '--log', file, '--tpm', swtpm.transportSpec);
    expect(r.status).toBe(5);
    expect(r.stderr).toMatch(/PCR sha256:4.*\(EVENT_LOG_PCR_MISMATCH\)/);
    expect(cli('boot-policy', '--log', file, '--tpm', swtpm.transportSpec).status).toBe(5);
  });

  test('boot-policy --keylime: a Keylime reference state the server loads; a log lacking its pieces is exit 6', () => {
    const boot = makeBootLog({ banks: ['sha256'], firmwareShapes: true });
    const file = join(dir, 'keylime-boot.bin');
    writeFileSync(file, encodeEventLog(boot.log));
    const state = parseKeylimeMbRefstate(ok('boot-policy', '--log', file, '--keylime'));
    expect(state.has_secureboot).toBe(true);
    expect(state.kernels).toEqual([
      expect.objectContaining({
        shim_authcode_sha256: `0x${boot.expect.bootApps[0]}`,
        kernel_authcode_sha256: `0x${boot.expect.bootApps[2]}`,
      }),
    ]);
    const plain = join(dir, 'plain-boot.bin');
    writeFileSync(plain, encodeEventLog(makeBootLog({ banks: ['sha256'] }).log));
    const r = cli('boot-policy', '--log', plain, '--keylime');
    expect(r.status).toBe(6);
    expect(r.stderr).toMatch(
      /the log makes no Keylime reference state: event 3 \(EV_EFI_VARIABLE_DRIVER_CONFIG, PCR 7\): EFI_SIGNATURE_LIST/,
    );
  });
});
