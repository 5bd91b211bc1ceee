// Verifies quote evidence with a Keylime verifier's stateless endpoint, POST /v2.<minor>/verify/evidence
// (Keylime >= 7.13; wire facts in docs/keylime.md). Keylime never dials the node
// and the node is never registered with it.
import { Agent, request } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { readFileSync } from 'node:fs';
import { eventlog, keylimeQuoteString, keylimeUnreadableDevicePath } from '../tpm';
import { VerifierError, type VerifierFailure } from './errors';
import { formatTpmPolicy, type TpmPolicy } from './policy';
import type { QuoteEvidence, Verifier, VerifierVerdict, VerifyOptions } from './types';

/** Default time for one request (connect + TLS + verification + answer). */
export const DEFAULT_KEYLIME_TIMEOUT_MS = 10_000;
/** Default bound on a verifier answer; Keylime's answers for tpm evidence are a few KiB. */
export const DEFAULT_KEYLIME_MAX_RESPONSE_BYTES = 1024 * 1024;

export interface KeylimeVerifierOptions {
  /** Base URL, `https://host:port` (a path prefix is kept). Only https is accepted. */
  url: string;
  /** PEM of the CA that signed the verifier's server certificate (Keylime's `cv_ca/cacert.crt`). */
  caPem: string | Buffer;
  /** PEM client certificate and key, sent when both are given (Keylime's `client-cert.crt`/`client-private.pem`). */
  clientCertPem?: string | Buffer;
  clientKeyPem?: string | Buffer;
  /** API version `2.<minor>` to use, e.g. "2.6". Default: asked once with GET /version. */
  apiVersion?: string;
  /** Time allowed for one request, in ms. Default DEFAULT_KEYLIME_TIMEOUT_MS. */
  timeoutMs?: number;
  /** Largest answer accepted, in bytes. Default DEFAULT_KEYLIME_MAX_RESPONSE_BYTES. */
  maxResponseBytes?: number;
  /** Most concurrent connections to the verifier. Default 8. */
  maxSockets?: number;
  /**
   * Keylime measured-boot reference state (`mb_refstate` JSON text, checked by the caller), sent as `mb_policy`
   * with the evidence's event log as `mb_log`. When set, evidence without an event log is refused unsent.
   */
  mbRefstate?: string;
}

/** File-path form of the TLS options, as the plugin config names them. */
export interface KeylimeVerifierFileOptions extends Omit<
  KeylimeVerifierOptions,
  'caPem' | 'clientCertPem' | 'clientKeyPem'
> {
  caPath: string;
  clientCertPath?: string;
  clientKeyPath?: string;
}

export interface KeylimeVerifier extends Verifier {
  /** The API version in use ("2.<minor>"), asking the verifier once if it was not configured. */
  apiVersion(options?: VerifyOptions): Promise<string>;
  /** The evidence endpoint URL for the API version in use. */
  endpoint(options?: VerifyOptions): Promise<string>;
}

// Errors from a reused keep-alive socket that the verifier had closed before our request reached it.
const staleSocketErrors = new WeakSet<Error>();

const API_VERSION = /^2\.(0|[1-9][0-9]{0,2})$/;

interface HttpAnswer {
  status: number;
  body: Buffer;
}

/** Reads the PEM files named in `options` and creates a Keylime verifier (see createKeylimeVerifier). */
export function createKeylimeVerifierFromFiles(options: KeylimeVerifierFileOptions): KeylimeVerifier {
  const read = (what: string, path: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (e) {
      throw new Error(`keylime ${what} ${path}: cannot read: ${(e as Error).message}`, { cause: e });
    }
  };
  const { caPath, clientCertPath, clientKeyPath, ...rest } = options;
  return createKeylimeVerifier({
    ...rest,
    caPem: read('CA certificate', caPath),
    clientCertPem: clientCertPath ? read('client certificate', clientCertPath) : undefined,
    clientKeyPem: clientKeyPath ? read('client key', clientKeyPath) : undefined,
  });
}

/**
 * Creates a Verifier that posts evidence to a Keylime verifier's /v2.<minor>/verify/evidence.
 * TLS: the server certificate must chain to `caPem` (no system CAs) and match the URL's host; a client
 * certificate is sent when configured; no Authorization header is ever sent. One keep-alive agent is reused.
 * Verdicts: `results.valid === true` with no failure listed in a 200 answer resolves; a 200 with valid=false
 * or with failures rejects 'permission_denied' listing Keylime's failures; 400 rejects 'invalid_argument' with
 * Keylime's reason; anything else (refused, reset, TLS failure, timeout, oversize or unreadable answer, a 200
 * without a boolean `valid` or whose `failures` is not a list, other statuses) rejects 'unavailable' naming
 * the URL. It never resolves on an error.
 * With `mbRefstate`, the evidence's event log and the reference state go too (keylimeEvidenceBody), and Keylime
 * replays the log and judges the state when the verifier runs with measured_boot_evaluate = always.
 * Keylime checks the quote's signature, nonce, PCR digest and the PCR policy; it does NOT reliably report a
 * bad signature (see docs/keylime.md) and takes PCR numbers from the unsigned pcrBlob, so the caller still
 * owes every cryptographic check of the evidence itself.
 */
export function createKeylimeVerifier(options: KeylimeVerifierOptions): KeylimeVerifier {
  const base = parseBaseUrl(options.url);
  if (options.apiVersion !== undefined && !API_VERSION.test(options.apiVersion)) {
    throw new Error(`keylime api_version ${JSON.stringify(options.apiVersion)}: must be "2.<minor>", e.g. "2.6"`);
  }
  if (!options.clientCertPem !== !options.clientKeyPem) {
    throw new Error('keylime client certificate and client key must be configured together');
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_KEYLIME_TIMEOUT_MS;
  const maxResponseBytes = options.maxResponseBytes ?? DEFAULT_KEYLIME_MAX_RESPONSE_BYTES;
  if (!(timeoutMs > 0)) throw new Error(`keylime timeout must be > 0 ms, got ${timeoutMs}`);
  if (!(maxResponseBytes > 0)) throw new Error(`keylime max response size must be > 0, got ${maxResponseBytes}`);

  const agent = new Agent({
    keepAlive: true,
    maxSockets: options.maxSockets ?? 8,
    ca: options.caPem,
    cert: options.clientCertPem,
    key: options.clientKeyPem,
    rejectUnauthorized: true,
  });
  const baseLabel = base.href.replace(/\/$/, '');
  let versionPromise: Promise<string> | undefined = options.apiVersion
    ? Promise.resolve(options.apiVersion)
    : undefined;
  let closed = false;

  function send(
    method: 'GET' | 'POST',
    path: string,
    body: Buffer | undefined,
    signal?: AbortSignal,
  ): Promise<HttpAnswer> {
    const url = new URL(base.pathname.replace(/\/$/, '') + path, base);
    return new Promise<HttpAnswer>((resolve, reject) => {
      if (closed) {
        reject(new VerifierError('unavailable', `keylime verifier ${url.href}: client is closed`, { url: url.href }));
        return;
      }
      if (signal?.aborted) {
        reject(
          new VerifierError('unavailable', `keylime verifier ${url.href}: cancelled`, {
            url: url.href,
            cause: signal.reason,
          }),
        );
        return;
      }
      let settled = false;
      const finish = (err: VerifierError | undefined, answer?: HttpAnswer): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve(answer!);
      };
      const fail = (message: string, cause?: unknown, httpStatus?: number): void => {
        finish(
          new VerifierError('unavailable', `keylime verifier ${url.href}: ${message}`, {
            url: url.href,
            cause,
            httpStatus,
          }),
        );
        req.destroy();
      };
      const headers: Record<string, string | number> = { Accept: 'application/json' };
      if (body) {
        headers['Content-Type'] = 'application/json';
        headers['Content-Length'] = body.length;
      }
      const req = request(url, { method, agent, headers });
      const timer = setTimeout(() => fail(`no answer within ${timeoutMs} ms`), timeoutMs);
      const onAbort = (): void => fail('cancelled', signal?.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      let answered = false;
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (!settled && !answered && req.reusedSocket && e.code === 'ECONNRESET') staleSocketErrors.add(e);
        fail(describeNetworkError(e), e);
      });
      req.on('response', (res: IncomingMessage) => {
        answered = true;
        const status = res.statusCode ?? 0;
        const declared = Number(res.headers['content-length']);
        if (Number.isFinite(declared) && declared > maxResponseBytes) {
          fail(`answer of ${declared} bytes exceeds the ${maxResponseBytes}-byte limit`, undefined, status);
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxResponseBytes) {
            fail(`answer exceeds the ${maxResponseBytes}-byte limit`, undefined, status);
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', (e: Error) => fail(`answer broken off: ${e.message}`, e, status));
        res.on('aborted', () => fail('answer broken off', undefined, status));
        res.on('end', () => finish(undefined, { status, body: Buffer.concat(chunks) }));
      });
      req.end(body);
    });
  }

  // A keep-alive socket the verifier closed while idle fails on reuse with ECONNRESET before any answer; the
  // request was never processed, and /verify/evidence is stateless, so such a request is sent once more.
  async function sendRetryingStale(
    method: 'GET' | 'POST',
    path: string,
    body: Buffer | undefined,
    signal?: AbortSignal,
  ): Promise<HttpAnswer> {
    try {
      return await send(method, path, body, signal);
    } catch (e) {
      // (No `instanceof Error` on the cause: errors from Node's core may come from another realm, e.g. under jest.)
      const cause = e instanceof VerifierError ? e.cause : undefined;
      if (typeof cause === 'object' && cause !== null && staleSocketErrors.has(cause as Error)) {
        return send(method, path, body, signal);
      }
      throw e;
    }
  }

  async function discoverVersion(signal?: AbortSignal): Promise<string> {
    const answer = await sendRetryingStale('GET', '/version', undefined, signal);
    const url = `${baseLabel}/version`;
    if (answer.status !== 200) {
      throw new VerifierError('unavailable', `keylime verifier ${url}: GET answered HTTP ${answer.status}`, {
        url,
        httpStatus: answer.status,
      });
    }
    const doc = parseJson(answer.body);
    const results = isRecord(doc) && isRecord(doc.results) ? doc.results : undefined;
    const current = results?.current_version;
    if (typeof current === 'string' && API_VERSION.test(current)) return current;
    // A verifier whose current API is 3.x still serves 2.x: take the highest 2.x it lists.
    const supported = Array.isArray(results?.supported_versions) ? results.supported_versions : [];
    const v2 = supported
      .filter((v): v is string => typeof v === 'string' && API_VERSION.test(v))
      .sort((a, b) => Number(a.slice(2)) - Number(b.slice(2)));
    const best = v2[v2.length - 1];
    if (best) return best;
    throw new VerifierError(
      'unavailable',
      `keylime verifier ${url}: lists no API version 2.x (answer: ${truncate(answer.body.toString('utf8'))})`,
      { url, httpStatus: answer.status },
    );
  }

  async function apiVersion(opts: VerifyOptions = {}): Promise<string> {
    if (!versionPromise) {
      const p = discoverVersion(opts.signal);
      versionPromise = p;
      // Do not remember a failure: the verifier may be back for the next attestation.
      p.catch(() => {
        if (versionPromise === p) versionPromise = undefined;
      });
    }
    return versionPromise;
  }

  async function endpoint(opts: VerifyOptions = {}): Promise<string> {
    return `${baseLabel}/v${await apiVersion(opts)}/verify/evidence`;
  }

  async function verify(
    evidence: QuoteEvidence,
    policy: TpmPolicy,
    opts: VerifyOptions = {},
  ): Promise<VerifierVerdict> {
    const version = await apiVersion(opts);
    const path = `/v${version}/verify/evidence`;
    const url = `${baseLabel}${path}`;
    const body = Buffer.from(JSON.stringify(keylimeEvidenceBody(evidence, policy, options.mbRefstate)), 'utf8');
    const answer = await sendRetryingStale('POST', path, body, opts.signal);
    const doc = parseJson(answer.body);
    const results = isRecord(doc) && isRecord(doc.results) ? doc.results : undefined;
    const failures = readFailures(results?.failures);
    if (answer.status === 200) {
      // A verdict whose failure list is not a list cannot be read as "no failures": fail closed.
      if (
        !results ||
        typeof results.valid !== 'boolean' ||
        (results.failures !== undefined && !Array.isArray(results.failures))
      ) {
        throw new VerifierError(
          'unavailable',
          `keylime verifier ${url}: HTTP 200 without a verdict (answer: ${truncate(answer.body.toString('utf8'))})`,
          { url, httpStatus: 200 },
        );
      }
      if (results.valid === true && failures.length === 0) {
        return { verifier: `keylime ${baseLabel}`, claims: results.claims ?? {} };
      }
      throw new VerifierError(
        'permission_denied',
        `keylime verifier ${url} refused the evidence: ${describeFailures(failures) || 'valid=false with no failure listed'}`,
        { url, httpStatus: 200, failures },
      );
    }
    if (answer.status === 400) {
      const status = isRecord(doc) && typeof doc.status === 'string' ? doc.status : '';
      const reason =
        describeFailures(failures) || status || truncate(answer.body.toString('utf8')) || 'no reason given';
      throw new VerifierError('invalid_argument', `keylime verifier ${url} rejected the request: ${reason}`, {
        url,
        httpStatus: 400,
        failures,
      });
    }
    const detail = truncate(answer.body.toString('utf8'));
    throw new VerifierError(
      'unavailable',
      `keylime verifier ${url}: HTTP ${answer.status}${detail ? ` (${detail})` : ''}`,
      {
        url,
        httpStatus: answer.status,
        failures,
      },
    );
  }

  return {
    verify,
    apiVersion,
    endpoint,
    close() {
      closed = true;
      agent.destroy();
    },
  };
}

/**
 * The JSON body Keylime's /verify/evidence expects for TPM evidence. The nonce is sent base64-encoded:
 * Keylime compares extraData with the nonce string's UTF-8 bytes and, failing that, its base64 decoding.
 * With `mbRefstate`, the event log goes as `mb_log` (base64 of the binary log) and the reference state as
 * `mb_policy`, the fields Keylime 7.14.3's VerifyEvidenceHandler._tpm_verify reads; evidence without a log is
 * refused here (permission_denied, `measured_boot.missing_log`): measured boot was asked for.
 */
export function keylimeEvidenceBody(
  evidence: QuoteEvidence,
  policy: TpmPolicy,
  mbRefstate?: string,
): { type: 'tpm'; data: Record<string, string> } {
  if (policy.hashAlg !== evidence.hashAlg) {
    // Keylime would compare values of one bank against digests of another and list every PCR as invalid.
    throw new VerifierError(
      'invalid_argument',
      `evidence quotes the ${evidence.hashAlg} bank but the tpm policy lists ${policy.hashAlg} values`,
    );
  }
  if (evidence.nonce.length === 0) throw new VerifierError('invalid_argument', 'evidence nonce is empty');
  return {
    type: 'tpm',
    data: {
      // "r<b64 TPMS_ATTEST>:<b64 TPMT_SIGNATURE>:<b64 pcrblob>" (docs/design.md section 6)
      quote: keylimeQuoteString(evidence.attest, evidence.signature, evidence.pcrBlob),
      nonce: b64(evidence.nonce),
      hash_alg: evidence.hashAlg,
      tpm_ak: b64(evidence.akPublic),
      tpm_ek: b64(evidence.ekPublic),
      tpm_policy: formatTpmPolicy(policy),
      ...(mbRefstate === undefined ? {} : { mb_policy: mbRefstate, mb_log: measuredBootLog(evidence) }),
    },
  };
}

function measuredBootLog(evidence: QuoteEvidence): string {
  if (!evidence.eventLog || evidence.eventLog.length === 0) {
    throw new VerifierError(
      'permission_denied',
      'measured boot: the evidence carries no event log, and a measured-boot reference state is configured',
      { failures: [{ type: 'measured_boot.missing_log', context: {} }] },
    );
  }
  // Keylime 7.14.3's parser reads image-load device paths with the length the event claims: a log that
  // replays but claims more crashes a verifier worker (docs/keylime.md, "Measured boot"). Not sent.
  let problem: string | undefined;
  try {
    problem = keylimeUnreadableDevicePath(eventlog.parseEventLog(evidence.eventLog));
  } catch (err) {
    if (!(err instanceof eventlog.EventLogError)) throw err;
    problem = err.message;
  }
  if (problem !== undefined) {
    throw new VerifierError(
      'permission_denied',
      `measured boot: the event log is not sent to Keylime, whose parser cannot read it safely: ${problem}`,
      { failures: [{ type: 'measured_boot.device_path_malformed', context: { message: problem } }] },
    );
  }
  return b64(evidence.eventLog);
}

function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

function parseBaseUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`keylime url ${JSON.stringify(text)}: not a URL`);
  }
  if (url.protocol !== 'https:') throw new Error(`keylime url ${text}: must be https (the verifier serves TLS only)`);
  if (url.username || url.password) throw new Error(`keylime url ${text}: must not carry credentials`);
  if (url.search || url.hash) throw new Error(`keylime url ${text}: must not have a query or fragment`);
  return url;
}

function describeNetworkError(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'ECONNREFUSED':
      return `connection refused (${e.message})`;
    case 'ECONNRESET':
      return `connection reset (${e.message})`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `host not found (${e.message})`;
    default:
      // TLS verification failures carry OpenSSL's reason as the code, e.g. SELF_SIGNED_CERT_IN_CHAIN.
      return e.code ? `${e.code}: ${e.message}` : e.message;
  }
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function readFailures(v: unknown): VerifierFailure[] {
  if (!Array.isArray(v)) return [];
  return v.map((f) =>
    isRecord(f) && typeof f.type === 'string' ? { type: f.type, context: f.context } : { type: 'unknown', context: f },
  );
}

function describeFailures(failures: readonly VerifierFailure[]): string {
  return failures
    .map((f) => {
      const c = f.context;
      let detail = '';
      if (isRecord(c) && typeof c.message === 'string') {
        detail = c.message;
        if (typeof c.error === 'string' && c.error) detail += `: ${c.error}`;
      } else if (isRecord(c) && typeof c.context === 'string') {
        detail = c.context;
        if ('got' in c) detail += ` (got ${JSON.stringify(c.got)})`;
        if ('data' in c) detail += ` (${JSON.stringify(c.data)})`;
        // A measured-boot policy failure: why the log broke the reference state (the state itself is left out).
        if (typeof c.reason === 'string') detail += `: ${truncate(c.reason, 1000)}`;
      } else if (c !== undefined) detail = truncate(JSON.stringify(c));
      return detail ? `${f.type}: ${detail}` : f.type;
    })
    .join('; ');
}

function truncate(s: string, max = 300): string {
  const t = s.trim();
  return t.length > max ? `${t.slice(0, max)}...` : t;
}
