// The Keylime client against a FAKE verifier (a Node HTTPS server on 127.0.0.1). The fake is only for what the
// real verifier cannot show: the exact request we send (headers, body, connection reuse) and faulty answers
// (oversize, non-JSON 200, 5xx with a body, a keep-alive socket closed while idle, a 3.x-only version list).
// The real verifier's answers are covered by test/swtpm/keylime-verify-evidence.test.ts.
import { rejected } from '../../helpers/thrown';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import {
  VerifierError,
  createKeylimeVerifier,
  keylimeEvidenceBody,
  parseTpmPolicy,
  type KeylimeVerifier,
  type KeylimeVerifierOptions,
  type QuoteEvidence,
} from '../../../verifier-client';
import { encodeEventLog } from '../../../tpm/eventlog';
import { makeBootLog } from '../../helpers/boot-log';

const FIX = join(__dirname, 'fixtures');
const CA = readFileSync(join(FIX, 'ca.crt'));
const OTHER_CA = readFileSync(join(FIX, 'other-ca.crt'));

const evidence: QuoteEvidence = {
  attest: Uint8Array.from([0xff, 0x54, 0x43, 0x47, 1, 2, 3]),
  signature: Uint8Array.from([0, 0x14, 0, 0x0b, 9, 9]),
  pcrBlob: Uint8Array.from([1, 0, 0, 0]),
  nonce: Uint8Array.from([0xde, 0xad, 0xbe, 0xef]),
  hashAlg: 'sha256',
  akPublic: Uint8Array.from([0, 2, 0xaa, 0xbb]),
  ekPublic: Uint8Array.from([0, 1, 0xcc]),
};
const policy = parseTpmPolicy(JSON.stringify({ 0: ['00'.repeat(32)], 7: ['11'.repeat(32)] }));

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  socket: Socket;
}

type Handler = (req: Seen, res: ServerResponse) => void;

let server: Server;
let base: string;
let handler: Handler;
let seen: Seen[];
const clients: KeylimeVerifier[] = [];

function json(res: ServerResponse, status: number, doc: unknown): void {
  const body = JSON.stringify(doc);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

const VERSION = {
  code: 200,
  status: 'Success',
  results: { current_version: '2.6', supported_versions: ['2.0', '2.6', '3.0'] },
};
const VALID = { code: 200, status: 'Success', results: { valid: true, claims: { hash_alg: 'sha256' }, failures: [] } };

function client(options: Partial<KeylimeVerifierOptions> = {}): KeylimeVerifier {
  const c = createKeylimeVerifier({ url: base, caPem: CA, timeoutMs: 2000, ...options });
  clients.push(c);
  return c;
}

const refusal = (p: Promise<unknown>): Promise<VerifierError> => rejected(VerifierError, p);

beforeAll(async () => {
  server = createServer(
    { cert: readFileSync(join(FIX, 'server.crt')), key: readFileSync(join(FIX, 'server.key')) },
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const s: Seen = {
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          socket: req.socket,
        };
        seen.push(s);
        handler(s, res);
      });
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

beforeEach(() => {
  seen = [];
  handler = (req, res) => (req.url === '/version' ? json(res, 200, VERSION) : json(res, 200, VALID));
});

afterEach(() => {
  while (clients.length) clients.pop()!.close();
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('request', () => {
  test('discovers the version once, then POSTs JSON to /v2.6/verify/evidence without Authorization', async () => {
    const c = client();
    await c.verify(evidence, policy);
    await c.verify(evidence, policy);
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      'GET /version',
      'POST /v2.6/verify/evidence',
      'POST /v2.6/verify/evidence',
    ]);
    for (const s of seen) expect(s.headers.authorization).toBeUndefined();
    expect(seen[1].headers['content-type']).toBe('application/json');
    expect(JSON.parse(seen[1].body)).toEqual(keylimeEvidenceBody(evidence, policy));
  });

  test('body per docs/keylime.md: quote string, base64 nonce/AK/EK, tpm_policy as a JSON string', () => {
    expect(keylimeEvidenceBody(evidence, policy)).toEqual({
      type: 'tpm',
      data: {
        quote: `r${Buffer.from(evidence.attest).toString('base64')}:${Buffer.from(evidence.signature).toString('base64')}:AQAAAA==`,
        nonce: '3q2+7w==',
        hash_alg: 'sha256',
        tpm_ak: 'AAKquw==',
        tpm_ek: 'AAHM',
        tpm_policy: `{"0":["${'00'.repeat(32)}"],"7":["${'11'.repeat(32)}"],"mask":"0x81"}`,
      },
    });
  });

  test('with a reference state: mb_policy is the state and mb_log the base64 log; without one no mb_ field', async () => {
    const log = encodeEventLog(makeBootLog({ banks: ['sha256'], firmwareShapes: true }).log);
    const logB64 = Buffer.from(log).toString('base64');
    const state = '{"kernels":[]}';
    expect(keylimeEvidenceBody({ ...evidence, eventLog: log }, policy, state).data).toMatchObject({
      mb_policy: state,
      mb_log: logB64,
    });
    expect(Object.keys(keylimeEvidenceBody({ ...evidence, eventLog: log }, policy).data)).not.toContain('mb_log');
    const c = client({ apiVersion: '2.6', mbRefstate: state });
    handler = (_req, res) => json(res, 200, VALID);
    await c.verify({ ...evidence, eventLog: log }, policy);
    expect(JSON.parse(seen[0].body).data).toMatchObject({ mb_policy: state, mb_log: logB64 });
  });

  test.each([
    ['bytes that are no event log', Uint8Array.from([3, 0, 0, 0, 1, 2]), /^measured boot: .*not sent to Keylime/],
    [
      'a log whose image-load device path length runs past the event',
      encodeEventLog(makeBootLog({ banks: ['sha256'] }).log),
      /EV_EFI_BOOT_SERVICES_APPLICATION, PCR 4\): LengthOfDevicePath \d+ but the event holds 8 bytes of device path$/,
    ],
  ])('with a reference state, %s -> measured_boot.device_path_malformed, unsent', async (_n, eventLog, message) => {
    const c = client({ apiVersion: '2.6', mbRefstate: '{"kernels":[]}' });
    const e = await refusal(c.verify({ ...evidence, eventLog }, policy));
    expect(e.code).toBe('permission_denied');
    expect(e.failures.map((f) => f.type)).toEqual(['measured_boot.device_path_malformed']);
    expect(e.message).toMatch(message);
    expect(seen).toHaveLength(0);
  });

  test('with a reference state, evidence without a log -> permission_denied measured_boot.missing_log, unsent', async () => {
    const c = client({ apiVersion: '2.6', mbRefstate: '{"kernels":[]}' });
    for (const eventLog of [undefined, new Uint8Array(0)]) {
      const e = await refusal(c.verify({ ...evidence, eventLog }, policy));
      expect(e.code).toBe('permission_denied');
      expect(e.failures.map((f) => f.type)).toEqual(['measured_boot.missing_log']);
    }
    expect(seen).toHaveLength(0);
  });

  test('one keep-alive connection is reused for sequential requests', async () => {
    const c = client({ apiVersion: '2.6' });
    for (let i = 0; i < 5; i++) await c.verify(evidence, policy);
    expect(seen).toHaveLength(5);
    expect(new Set(seen.map((s) => s.socket)).size).toBe(1);
    expect(seen[0].headers.connection).toBe('keep-alive');
  });

  test('configured apiVersion skips GET /version; a path prefix in the URL is kept', async () => {
    const c = client({ url: `${base}/keylime`, apiVersion: '2.3' });
    handler = (_req, res) => json(res, 200, VALID);
    await c.verify(evidence, policy);
    expect(seen.map((s) => s.url)).toEqual(['/keylime/v2.3/verify/evidence']);
    expect(await c.endpoint()).toBe(`${base}/keylime/v2.3/verify/evidence`);
  });

  test('a verifier whose current API is 3.x: the highest listed 2.x is used', async () => {
    handler = (req, res) =>
      req.url === '/version'
        ? json(res, 200, {
            code: 200,
            results: { current_version: '3.0', supported_versions: ['2.1', '2.10', '2.2', '3.0'] },
          })
        : json(res, 200, VALID);
    const c = client();
    expect(await c.apiVersion()).toBe('2.10');
  });

  test('a /version answer with no 2.x -> unavailable, and the failure is not cached', async () => {
    handler = (_req, res) =>
      json(res, 200, { code: 200, results: { current_version: '3.0', supported_versions: ['3.0'] } });
    const c = client();
    const e = await refusal(c.verify(evidence, policy));
    expect(e.code).toBe('unavailable');
    expect(e.message).toMatch(new RegExp(`^keylime verifier ${base}/version: lists no API version 2.x`));
    handler = (req, res) => (req.url === '/version' ? json(res, 200, VERSION) : json(res, 200, VALID));
    await expect(c.verify(evidence, policy)).resolves.toEqual({
      verifier: `keylime ${base}`,
      claims: { hash_alg: 'sha256' },
    });
  });

  test('policy of another bank than the evidence -> invalid_argument before anything is sent', async () => {
    const c = client({ apiVersion: '2.6' });
    const e = await refusal(c.verify(evidence, parseTpmPolicy(JSON.stringify({ 0: ['00'.repeat(20)] }))));
    expect(e.code).toBe('invalid_argument');
    expect(e.message).toBe('evidence quotes the sha256 bank but the tpm policy lists sha1 values');
    expect(seen).toHaveLength(0);
  });
});

describe('verdicts', () => {
  const url = () => `${base}/v2.6/verify/evidence`;
  test.each([
    [
      'valid=false -> permission_denied listing failures',
      200,
      {
        code: 200,
        status: 'Success',
        results: {
          valid: false,
          claims: {},
          failures: [
            {
              type: 'pcr_validation.invalid_pcr_0',
              context: { context: 'PCR value is not in allowlist', got: 'ab', expected: ['cd'] },
            },
            { type: 'pcr_validation.missing_pcrs', context: { context: 'PCRs are missing in quote', data: [7] } },
          ],
        },
      },
      'permission_denied',
      () =>
        `keylime verifier ${url()} refused the evidence: pcr_validation.invalid_pcr_0: PCR value is not in allowlist (got "ab"); pcr_validation.missing_pcrs: PCRs are missing in quote ([7])`,
    ],
    [
      "measured-boot policy failure -> permission_denied with Keylime's reason, not its reference state",
      200,
      {
        code: 200,
        results: {
          valid: false,
          failures: [
            {
              type: 'measured_boot.policy_example',
              context: {
                context: 'Boot attestation failed',
                policy: 'example',
                refstate: "{'db': [{'SignatureData': '0xsecret'}]}",
                reason: "Event VariableData [SignatureData is not 'abab']",
              },
            },
          ],
        },
      },
      'permission_denied',
      () =>
        `keylime verifier ${url()} refused the evidence: measured_boot.policy_example: Boot attestation failed: Event VariableData [SignatureData is not 'abab']`,
    ],
    [
      'valid=true with failures listed -> permission_denied (never accept a contradiction)',
      200,
      { code: 200, results: { valid: true, failures: [{ type: 'x.y', context: { message: 'odd' } }] } },
      'permission_denied',
      () => `keylime verifier ${url()} refused the evidence: x.y: odd`,
    ],
    [
      'valid as a string -> unavailable',
      200,
      { code: 200, results: { valid: 'true', failures: [] } },
      'unavailable',
      () =>
        `keylime verifier ${url()}: HTTP 200 without a verdict (answer: {"code":200,"results":{"valid":"true","failures":[]}})`,
    ],
    [
      'valid=true with failures that are not a list -> unavailable (never read as "no failures")',
      200,
      { code: 200, results: { valid: true, failures: { type: 'x.y' } } },
      'unavailable',
      () =>
        `keylime verifier ${url()}: HTTP 200 without a verdict (answer: {"code":200,"results":{"valid":true,"failures":{"type":"x.y"}}})`,
    ],
    [
      '400 missing_param -> invalid_argument with the reason',
      400,
      {
        code: 400,
        status: 'Bad Request',
        results: {
          valid: false,
          claims: {},
          failures: [{ type: 'default.missing_param', context: { message: 'missing parameter "tpm_ak"' } }],
        },
      },
      'invalid_argument',
      () => `keylime verifier ${url()} rejected the request: default.missing_param: missing parameter "tpm_ak"`,
    ],
    [
      '400 without failures -> invalid_argument with the status text',
      400,
      { code: 400, status: "missing parameter 'type'", results: {} },
      'invalid_argument',
      () => `keylime verifier ${url()} rejected the request: missing parameter 'type'`,
    ],
    [
      '500 -> unavailable naming the URL',
      500,
      { code: 500, status: 'Internal Server Error: Failed to process attestation data', results: {} },
      'unavailable',
      () =>
        `keylime verifier ${url()}: HTTP 500 ({"code":500,"status":"Internal Server Error: Failed to process attestation data","results":{}})`,
    ],
    [
      '401 -> unavailable',
      401,
      { errors: [{ status: '401', title: 'Unauthorized' }] },
      'unavailable',
      () => `keylime verifier ${url()}: HTTP 401 ({"errors":[{"status":"401","title":"Unauthorized"}]})`,
    ],
  ] as [string, number, unknown, string, () => string][])('%s', async (_name, status, doc, code, message) => {
    handler = (_req, res) => json(res, status, doc);
    const e = await refusal(client({ apiVersion: '2.6' }).verify(evidence, policy));
    expect(e.code).toBe(code);
    expect(e.message).toBe(message());
    expect(e.httpStatus).toBe(status);
    expect(e.url).toBe(url());
  });

  test('200 with a non-JSON body -> unavailable', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end('');
    };
    const e = await refusal(client({ apiVersion: '2.6' }).verify(evidence, policy));
    expect(e.code).toBe('unavailable');
    expect(e.message).toBe(`keylime verifier ${base}/v2.6/verify/evidence: HTTP 200 without a verdict (answer: )`);
  });

  test('declared oversize answer -> unavailable before reading it', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': 5000 });
      res.end(Buffer.alloc(5000, 0x20));
    };
    const e = await refusal(client({ apiVersion: '2.6', maxResponseBytes: 4096 }).verify(evidence, policy));
    expect(e.code).toBe('unavailable');
    expect(e.message).toBe(
      `keylime verifier ${base}/v2.6/verify/evidence: answer of 5000 bytes exceeds the 4096-byte limit`,
    );
  });

  test('chunked answer growing past the limit -> unavailable', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      for (let i = 0; i < 10; i++) res.write(Buffer.alloc(1000, 0x20));
      res.end();
    };
    const e = await refusal(client({ apiVersion: '2.6', maxResponseBytes: 4096 }).verify(evidence, policy));
    expect(e.code).toBe('unavailable');
    expect(e.message).toBe(`keylime verifier ${base}/v2.6/verify/evidence: answer exceeds the 4096-byte limit`);
  });

  test('no answer within the timeout -> unavailable', async () => {
    handler = () => undefined;
    const started = Date.now();
    const e = await refusal(client({ apiVersion: '2.6', timeoutMs: 300 }).verify(evidence, policy));
    expect(e.code).toBe('unavailable');
    expect(e.message).toBe(`keylime verifier ${base}/v2.6/verify/evidence: no answer within 300 ms`);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  test('connection dropped mid-request on a fresh socket -> unavailable, not retried', async () => {
    handler = (req) => req.socket.destroy();
    const e = await refusal(client({ apiVersion: '2.6' }).verify(evidence, policy));
    expect(e.code).toBe('unavailable');
    expect(e.message).toContain(`keylime verifier ${base}/v2.6/verify/evidence: connection reset`);
    expect(seen).toHaveLength(1);
  });

  test('a reused keep-alive socket reset before any answer is retried once on a new connection', async () => {
    const c = client({ apiVersion: '2.6' });
    await c.verify(evidence, policy);
    const first = seen[0].socket;
    // What the client sees when the verifier closed an idle keep-alive socket: the reused socket is reset
    // before any answer. (The fake reads the request first; the real case never delivers it.)
    let dropped = 0;
    handler = (req, res) => {
      if (req.socket === first && dropped === 0) {
        dropped++;
        req.socket.destroy();
        return;
      }
      json(res, 200, VALID);
    };
    await expect(c.verify(evidence, policy)).resolves.toBeDefined();
    expect(dropped).toBe(1);
    expect(seen).toHaveLength(3);
    expect(seen[2].socket).not.toBe(first);
  });

  test('the retry happens once only: a second reset is reported', async () => {
    const c = client({ apiVersion: '2.6' });
    await c.verify(evidence, policy);
    handler = (req) => req.socket.destroy();
    const e = await refusal(c.verify(evidence, policy));
    expect(e.code).toBe('unavailable');
    expect(e.message).toContain('connection reset');
    expect(seen).toHaveLength(3);
  });

  test('server certificate from another CA -> unavailable naming the TLS error', async () => {
    const e = await refusal(client({ caPem: OTHER_CA, apiVersion: '2.6' }).verify(evidence, policy));
    expect(e.code).toBe('unavailable');
    expect(e.message).toMatch(
      new RegExp(`^keylime verifier ${base}/v2.6/verify/evidence: UNABLE_TO_VERIFY_LEAF_SIGNATURE`),
    );
    expect(seen).toHaveLength(0);
  });

  test('server certificate for another name -> unavailable', async () => {
    const port = (server.address() as AddressInfo).port;
    const e = await refusal(client({ url: `https://localhost:${port}`, apiVersion: '2.6' }).verify(evidence, policy));
    expect(e.code).toBe('unavailable');
    expect(e.message).toMatch(/ERR_TLS_CERT_ALTNAME_INVALID/);
  });

  test('already-aborted signal -> unavailable without a request', async () => {
    const ac = new AbortController();
    ac.abort();
    const e = await refusal(client({ apiVersion: '2.6' }).verify(evidence, policy, { signal: ac.signal }));
    expect(e.code).toBe('unavailable');
    expect(e.message).toBe(`keylime verifier ${base}/v2.6/verify/evidence: cancelled`);
    expect(seen).toHaveLength(0);
  });

  test('closed client refuses', async () => {
    const c = client({ apiVersion: '2.6' });
    c.close();
    const e = await refusal(c.verify(evidence, policy));
    expect(e.code).toBe('unavailable');
    expect(e.message).toBe(`keylime verifier ${base}/v2.6/verify/evidence: client is closed`);
  });
});

describe('options', () => {
  test.each([
    [
      { url: 'http://127.0.0.1:8881' },
      'keylime url http://127.0.0.1:8881: must be https (the verifier serves TLS only)',
    ],
    [{ url: 'not a url' }, 'keylime url "not a url": not a URL'],
    [{ url: 'https://u:p@127.0.0.1:8881' }, 'keylime url https://u:p@127.0.0.1:8881: must not carry credentials'],
    [
      { url: 'https://127.0.0.1:8881/?a=1' },
      'keylime url https://127.0.0.1:8881/?a=1: must not have a query or fragment',
    ],
    [{ apiVersion: '3.0' }, 'keylime api_version "3.0": must be "2.<minor>", e.g. "2.6"'],
    [{ apiVersion: 'v2.6' }, 'keylime api_version "v2.6": must be "2.<minor>", e.g. "2.6"'],
    [{ clientCertPem: 'x' }, 'keylime client certificate and client key must be configured together'],
    [{ timeoutMs: 0 }, 'keylime timeout must be > 0 ms, got 0'],
    [{ maxResponseBytes: -1 }, 'keylime max response size must be > 0, got -1'],
  ] as [Partial<KeylimeVerifierOptions>, string][])('%j -> %s', (options, message) => {
    expect(() => createKeylimeVerifier({ url: 'https://127.0.0.1:8881', caPem: CA, ...options })).toThrow(message);
  });
});
