// The Attest handler at its RPC boundary, driven in process with golden evidence: what the caller is told
// (no server material), what the server logs (the full detail, claimed_ek_hash until activation), the
// challenge_timeout, and the nonce and secret seen non-zero while the challenge is out, zero on every path.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Metadata } from '@grpc/grpc-js';
import type { AttestRequest } from '../../../proto';
import { Code, type Logger, type LogFields, type PluginContext, PluginError } from '../../../plugin-sdk';
import { createAttestHandler } from '../../../plugin-server/attest-handler';
import type { ServerConfig } from '../../../plugin-server/config';
import { parsePcrBlob, pcrBlobToValues } from '../../../tpm/keylime/pcr-blob';
import type { Verifier } from '../../../verifier-client';
import { fx, goldenConfig, goldenDir, NONCE, payload, response, SECRET } from './golden-evidence';

let dir: string;
beforeAll(() => {
  dir = goldenDir();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Line {
  level: string;
  message: string;
  fields: LogFields;
}

function recordingLogger(lines: Line[]): Logger {
  const at =
    (level: string) =>
    (message: string, fields: LogFields = {}) =>
      lines.push({ level, message, fields });
  const logger: Logger = {
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    debug: at('debug'),
    trace: at('trace'),
    child: () => logger,
    setLevel() {},
    level: 'trace',
  };
  return logger;
}

/** A request stream the test feeds: the payload at once, then whatever `answer` resolves to (or nothing). */
function requests(answer: Promise<Uint8Array | undefined>): AsyncIterable<AttestRequest> {
  return (async function* () {
    yield { request: { case: 'payload', value: payload() } } as AttestRequest;
    const r = await answer;
    if (r !== undefined) yield { request: { case: 'challengeResponse', value: r } } as AttestRequest;
  })();
}

const never = new Promise<Uint8Array | undefined>(() => {});

function harness(extra = '', verifier?: Verifier) {
  const lines: Line[] = [];
  const counted: string[] = [];
  const config = goldenConfig(dir, extra);
  const plugin = {
    logger: recordingLogger(lines),
    configured: () => ({ core: { trustDomain: 'example.org' }, config }),
    hostServices: {},
  } as unknown as PluginContext<ServerConfig>;
  // The very buffers the server draws its nonce and secret into, to watch them being wiped.
  const drawn: Uint8Array[] = [];
  const golden = [NONCE, SECRET];
  const attest = createAttestHandler(plugin, {
    verifier,
    telemetry: { record: (result, reason) => counted.push(`${result}:${reason}`) },
    random: (n) => {
      const g = golden.shift();
      const b = g ? new Uint8Array(g) : new Uint8Array(n).fill(0x11);
      drawn.push(b);
      return b;
    },
  });
  const abort = new AbortController();
  const run = (answer: Promise<Uint8Array | undefined>) =>
    attest(requests(answer), { signal: abort.signal, method: '/test', metadata: new Metadata() })[
      Symbol.asyncIterator
    ]();
  const zeroed = () => drawn.length === 2 && drawn.every((b) => b.every((v) => v === 0));
  const nonZero = () => drawn.length === 2 && drawn.every((b) => b.some((v) => v !== 0));
  const refusals = () => lines.filter((l) => l.message === 'attestation refused');
  return { lines, counted, run, abort, zeroed, nonZero, refusals };
}

async function rejection(p: Promise<unknown>): Promise<PluginError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof PluginError) return err;
    throw err;
  }
  throw new Error('expected the stream to fail');
}

/** The caller's text must carry none of the server's material. */
function expectNoServerMaterial(text: string, ...material: string[]) {
  for (const m of [dir, ...material]) expect(text).not.toContain(m);
}

describe('Attest handler: refusal texts, challenge_timeout, secrets wiped on every path', () => {
  test('success: the nonce and secret are non-zero while the challenge is out, zero after the verdict', async () => {
    const h = harness();
    let answer!: (r: Uint8Array) => void;
    const it = h.run(new Promise((res) => (answer = res)));
    const challenge = await it.next();
    expect(challenge.value?.response?.case).toBe('challenge');
    expect(h.nonZero()).toBe(true);
    answer(response());
    const verdict = await it.next();
    expect(verdict.value?.response?.case).toBe('agentAttributes');
    expect(h.zeroed()).toBe(true);
    expect(h.counted).toEqual(['success:none']);
    const attested = h.lines.find((l) => l.message === 'agent attested');
    expect(attested?.fields.ek_hash).toMatch(/^[0-9a-f]{64}$/);
    const sent = h.lines.find((l) => l.message === 'sending attestation challenge');
    expect(sent?.fields).toHaveProperty('claimed_ek_hash');
    expect(sent?.fields).not.toHaveProperty('ek_hash');
  });

  test('check 3 refused: the EK hash is logged as claimed; caller and log see the check; secrets zero', async () => {
    const h = harness();
    const it = h.run(Promise.resolve(response({ activatedSecret: new Uint8Array(32).fill(7) })));
    await it.next();
    const err = await rejection(it.next());
    expect(err.code).toBe(Code.PERMISSION_DENIED);
    expect(err.message).toMatch(/^credential activation check failed: the activated secret differs/);
    const [logged] = h.refusals();
    expect(logged.level).toBe('warn');
    expect(logged.fields).toMatchObject({ reason: 'credential_activation', code: 'PERMISSION_DENIED' });
    expect(logged.fields.claimed_ek_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(logged.fields).not.toHaveProperty('ek_hash');
    expect(h.zeroed()).toBe(true);
    expect(h.counted).toEqual(['failure:credential_activation']);
  });

  test('check 5 refused: the caller learns its failing PCR only; the log has the values, the policy file and ek_hash', async () => {
    const values = pcrBlobToValues(parsePcrBlob(fx('quote-rsa.pcrs')));
    const allowed = 'ab'.repeat(32);
    const policy = join(dir, 'handler-policy.json');
    writeFileSync(policy, JSON.stringify({ 0: [Buffer.from(values.sha256![0]).toString('hex')], 16: [allowed] }));
    const h = harness(`pcr_policy_path = "${policy}"\n`);
    const it = h.run(Promise.resolve(response()));
    await it.next();
    const err = await rejection(it.next());
    expect(err.code).toBe(Code.PERMISSION_DENIED);
    expect(err.message).toBe('PCR policy check failed: PCR sha256:16 is not allowed');
    expectNoServerMaterial(err.message, allowed, policy);
    const [logged] = h.refusals();
    expect(logged.fields.error).toBe(
      `PCR policy check failed: PCR policy: PCR sha256:16 is ${Buffer.from(values.sha256![16]).toString('hex')}, the policy allows ${allowed} (policy ${policy})`,
    );
    // Activation passed before check 5: the hash is proven.
    expect(logged.fields.ek_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(logged.fields).not.toHaveProperty('claimed_ek_hash');
    expect(h.zeroed()).toBe(true);
  });

  test('check 1 refused: the caller is not told the CA file; the log is', async () => {
    const h = harness();
    const other = goldenConfig(dir, '');
    // Same HCL shape, other CAs: the golden EK certificate does not chain to them.
    other.ekCaPath = join(dir, 'other-cas.pem');
    other.ekCas = goldenConfig(dir).ekCas!.slice(0, 0);
    const lines: Line[] = [];
    const attest = createAttestHandler({
      logger: recordingLogger(lines),
      configured: () => ({ core: { trustDomain: 'example.org' }, config: other }),
      hostServices: {},
    } as unknown as PluginContext<ServerConfig>);
    const it = attest(requests(never), { signal: h.abort.signal, method: '/test', metadata: new Metadata() })[
      Symbol.asyncIterator
    ]();
    const err = await rejection(it.next());
    expect(err.code).toBe(Code.PERMISSION_DENIED);
    expect(err.message).toMatch(
      /^EK trust check failed: the EK certificate does not chain to a trusted CA \(EK_[A-Z_]+\)$/,
    );
    expectNoServerMaterial(err.message);
    const logged = lines.find((l) => l.message === 'attestation refused')!;
    expect(logged.fields.error).toContain(join(dir, 'other-cas.pem'));
    expect(logged.fields.claimed_ek_hash).toMatch(/^[0-9a-f]{64}$/);
  });

  test('a stream silent past challenge_timeout -> DeadlineExceeded, counted, logged; secrets zero', async () => {
    const h = harness('challenge_timeout = "1s"\n');
    const it = h.run(never);
    await it.next();
    expect(h.nonZero()).toBe(true);
    const started = Date.now();
    const err = await rejection(it.next());
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(err.code).toBe(Code.DEADLINE_EXCEEDED);
    expect(err.message).toBe('no challenge response within challenge_timeout (1000 ms)');
    expect(h.refusals()[0].fields).toMatchObject({ reason: 'challenge_timeout', code: 'DEADLINE_EXCEEDED' });
    expect(h.refusals()[0].fields).toHaveProperty('claimed_ek_hash');
    expect(h.counted).toEqual(['failure:challenge_timeout']);
    expect(h.zeroed()).toBe(true);
  });

  test('a stream cancelled while the challenge is out -> Cancelled at once; secrets zero', async () => {
    const h = harness();
    const it = h.run(never);
    await it.next();
    expect(h.nonZero()).toBe(true);
    const next = it.next();
    h.abort.abort();
    const err = await rejection(next);
    expect(err.code).toBe(Code.CANCELLED);
    expect(h.counted).toEqual(['failure:cancelled']);
    expect(h.zeroed()).toBe(true);
  });

  test('a stream closed by its consumer after the challenge (generator return) wipes too', async () => {
    const h = harness();
    const it = h.run(never);
    await it.next();
    expect(h.nonZero()).toBe(true);
    await it.return?.(undefined);
    expect(h.zeroed()).toBe(true);
  });

  test('our own bug: the caller gets Internal without its text; the log has it', async () => {
    const broken: Verifier = {
      verify: () => Promise.reject(new TypeError('boom at /srv/secret/path')),
      close() {},
    };
    const policy = join(dir, 'any-policy.json');
    writeFileSync(policy, JSON.stringify({ 0: ['00'.repeat(32)] }));
    const h = harness(`pcr_policy_path = "${policy}"\n`, broken);
    const it = h.run(Promise.resolve(response()));
    await it.next();
    const err = await rejection(it.next());
    expect(err.code).toBe(Code.INTERNAL);
    expect(err.message).toBe('internal error in the tpm_quote server plugin (detail in the server log)');
    const logged = h.lines.find((l) => l.message === 'attestation failed')!;
    expect(logged.level).toBe('error');
    expect(String(logged.fields.error)).toContain('boom at /srv/secret/path');
    expect(h.zeroed()).toBe(true);
  });
});
