// The Attest RPC: reads the payload, sends the one challenge, reads the response, answers with the agent's
// attributes; logs and counts every outcome. The checks themselves are in attestation-checks.ts.
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { AttestRequest, AttestResponseSchema } from '../proto';
import { type CallContext, Code, type PluginContext, PluginError } from '../plugin-sdk';
import type { Verifier } from '../verifier-client';
import { AttestationError, forCaller } from './attestation-error';
import { startAttestation, type AttestationDeps, type PendingAttestation } from './attestation-checks';
import type { ServerConfig } from './config';
import { formatPcrSelection } from '../tpm';
import { createAttestationTelemetry, type AttestationTelemetry } from './telemetry';
import { createVerifierSelector } from './verifier-selection';

/** What the Attest handler needs besides the plugin context. */
export interface AttestHandlerOptions {
  /** Overrides the configured verifier (tests). */
  verifier?: Verifier;
  telemetry?: AttestationTelemetry;
  random?: AttestationDeps['random'];
}

async function nextRequest(
  it: AsyncIterator<AttestRequest>,
  want: 'payload' | 'challengeResponse',
): Promise<Uint8Array> {
  const what = want === 'payload' ? 'payload' : 'challenge_response';
  const r = await it.next();
  if (r.done) throw new AttestationError(Code.INVALID_ARGUMENT, 'malformed', `the stream ended before the ${what}`);
  const req = r.value.request;
  if (req.case !== want) {
    throw new AttestationError(
      Code.INVALID_ARGUMENT,
      'malformed',
      `expected a ${what}, got ${req.case === undefined ? 'an empty request' : req.case === 'payload' ? 'a payload' : 'a challenge_response'}`,
    );
  }
  return req.value;
}

/**
 * The challenge response, waited for at most `timeoutMs` (challenge_timeout: DeadlineExceeded) and no
 * longer than the stream lives (cancelled: Cancelled), so a silent agent cannot hold the attestation and
 * its secrets.
 */
async function awaitResponse(it: AsyncIterator<AttestRequest>, timeoutMs: number, signal: AbortSignal) {
  const next = nextRequest(it, 'challengeResponse');
  // Lost the race: its later rejection (the stream ending) has nobody to hear it.
  next.catch(() => {});
  let timer: NodeJS.Timeout | undefined;
  let onAbort = () => {};
  const stop = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new AttestationError(
            Code.DEADLINE_EXCEEDED,
            'challenge_timeout',
            `no challenge response within challenge_timeout (${timeoutMs} ms)`,
          ),
        ),
      timeoutMs,
    );
    onAbort = () =>
      reject(
        new AttestationError(Code.CANCELLED, 'cancelled', 'the stream was cancelled before the challenge response'),
      );
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([next, stop]);
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
  }
}

/** The log field naming the EK: `claimed_ek_hash` until credential activation proved it, `ek_hash` after. */
const ekField = (pending: PendingAttestation | undefined, hash: string | undefined) =>
  hash === undefined ? {} : pending?.activated ? { ek_hash: hash } : { claimed_ek_hash: hash };

/**
 * Creates the server side of tpm_quote attestation (docs/protocol.md): reads the payload, runs checks 1-2,
 * sends one challenge, reads one response, runs checks 3-5 and answers with the agent's attributes.
 * Every outcome is counted through telemetry; refusals are logged at warn with the check, the EK hash and
 * the full detail, while the caller (through SPIRE, unauthenticated) gets only forCaller's text. The nonce
 * and secret are wiped on every path, and a Keylime client is held from the payload to the verdict.
 */
export function createAttestHandler(plugin: PluginContext<ServerConfig>, options: AttestHandlerOptions = {}) {
  const verifierFor = createVerifierSelector(options.verifier);
  const telemetry = options.telemetry ?? createAttestationTelemetry(plugin as PluginContext<unknown>);
  const log = plugin.logger;

  return async function* attest(
    requests: AsyncIterable<AttestRequest>,
    call: CallContext,
  ): AsyncIterable<MessageInitShape<typeof AttestResponseSchema>> {
    const started = Date.now();
    let pending: PendingAttestation | undefined;
    let release = () => {};
    try {
      const { config } = plugin.configured();
      const it = requests[Symbol.asyncIterator]();
      const payload = await nextRequest(it, 'payload');
      const lease = verifierFor(config);
      release = lease.release;
      pending = startAttestation(config, payload, {
        verifier: lease.verifier,
        random: options.random,
        signal: call.signal,
      });
      const tpm = pending.reportedTpm;
      log.debug('sending attestation challenge', {
        ...ekField(pending, pending.ekHash),
        pcrs: formatPcrSelection(config.pcrSelection),
        tpm_manufacturer: tpm.manufacturer,
        tpm_vendor: tpm.vendor,
        tpm_firmware_version: tpm.firmwareVersion,
        tpm_pcr_banks: tpm.pcrBanks,
      });
      const waitFrom = Date.now();
      yield { response: { case: 'challenge', value: pending.challenge } };
      const response = await awaitResponse(it, config.challengeTimeoutMs, call.signal);
      // busy_ms (logged): the plugin's own time, without the wait for the agent's response.
      const waitMs = Date.now() - waitFrom;
      const result = await pending.finish(response);
      const durationMs = Date.now() - started;
      log.info('agent attested', {
        agent_id: result.spiffeId,
        ek_hash: result.ekHash,
        verifier: config.verifier,
        quoted_pcrs: result.quotedPcrs,
        selectors: result.selectorValues.length,
        clock_safe: result.clockSafe,
        duration_ms: durationMs,
        busy_ms: durationMs - waitMs,
      });
      telemetry.record('success', 'none', started);
      yield {
        response: {
          case: 'agentAttributes',
          value: { spiffeId: result.spiffeId, selectorValues: result.selectorValues, canReattest: true },
        },
      };
    } catch (err) {
      const reason =
        err instanceof AttestationError
          ? err.reason
          : err instanceof PluginError && err.code === Code.FAILED_PRECONDITION
            ? 'not_configured'
            : 'internal';
      const hash = (err instanceof AttestationError && err.ekHash) || pending?.ekHash;
      if (err instanceof PluginError) {
        log.warn('attestation refused', {
          reason,
          code: Code[err.code],
          ...ekField(pending, hash),
          error: err.message,
        });
      } else {
        log.error('attestation failed', {
          reason,
          ...ekField(pending, hash),
          error: String(err),
          stack: (err as Error)?.stack,
        });
      }
      telemetry.record('failure', reason, started);
      throw forCaller(err);
    } finally {
      // Every path (verdict, refusal, timeout, cancel, a generator closed early) ends here.
      pending?.dispose();
      release();
    }
  };
}
