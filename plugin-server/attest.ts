import type { MessageInitShape } from "@bufbuild/protobuf";
import type { AttestRequest, AttestResponseSchema } from "../proto/gen/spire/plugin/server/nodeattestor/v1/nodeattestor_pb";
import { Code, PluginError, type CallContext, type PluginContext } from "../plugin-sdk";
import type { Verifier } from "../verifier-client/types";
import { createInProcessVerifier } from "../verifier-client/in-process";
import { createGatedVerifier } from "../verifier-client/gated";
import { createKeylimeVerifier, type KeylimeVerifierOptions } from "../verifier-client/keylime";
import { AttestationError, startAttestation, type AttestationDeps } from "./attestation";
import type { ServerConfig } from "./config";
import { formatPcrSelection } from "./pcr-selection";
import { createAttestationTelemetry, type AttestationTelemetry } from "./telemetry";

/** What the Attest handler needs besides the plugin context. */
export interface AttestHandlerOptions {
  /** Overrides the configured verifier (tests). */
  verifier?: Verifier;
  telemetry?: AttestationTelemetry;
  random?: AttestationDeps["random"];
}

/** A Keylime client shared by attestations, closed once it is retired and no verification still uses it. */
interface SharedKeylime {
  key: string;
  verifier: Verifier;
  retire(): void;
}

function sharedKeylime(key: string, inner: Verifier): SharedKeylime {
  let inFlight = 0;
  let retired = false;
  const closeIfIdle = () => {
    if (retired && inFlight === 0) inner.close();
  };
  return {
    key,
    verifier: {
      async verify(evidence, policy, options) {
        inFlight++;
        try {
          return await inner.verify(evidence, policy, options);
        } finally {
          inFlight--;
          closeIfIdle();
        }
      },
      close: () => inner.close(),
    },
    retire() {
      retired = true;
      closeIfIdle();
    },
  };
}

/**
 * The verifier for a configuration: the in-process one, or in Keylime mode the gated verifier (our quote
 * checks, then Keylime) over one Keylime client. The client (its keep-alive connections) is kept while the
 * Keylime settings stay the same across Configure calls; when they change it is retired and closed once
 * the attestations that started under the old settings have their verdicts (closing it at once would turn
 * their pending Keylime calls into Unavailable).
 */
export function createVerifierSelector(override?: Verifier): (config: ServerConfig) => Verifier {
  const inProcess = createInProcessVerifier();
  let keylime: SharedKeylime | undefined;
  const keyOf = (k: KeylimeVerifierOptions): string =>
    JSON.stringify([k.url, k.apiVersion, k.timeoutMs, String(k.caPem), String(k.clientCertPem ?? ""), String(k.clientKeyPem ?? "")]);
  return (config) => {
    if (override) return override;
    if (config.verifier !== "keylime") return inProcess;
    if (!config.keylime) throw new PluginError(Code.INTERNAL, 'verifier = "keylime" without a keylime configuration');
    const key = keyOf(config.keylime);
    if (keylime?.key !== key) {
      keylime?.retire();
      keylime = sharedKeylime(key, createGatedVerifier(createKeylimeVerifier(config.keylime)));
    }
    return keylime.verifier;
  };
}

async function nextRequest(it: AsyncIterator<AttestRequest>, want: "payload" | "challengeResponse"): Promise<Uint8Array> {
  const what = want === "payload" ? "payload" : "challenge_response";
  const r = await it.next();
  if (r.done) throw new AttestationError(Code.INVALID_ARGUMENT, "malformed", `the stream ended before the ${what}`);
  const req = r.value.request;
  if (req.case !== want) {
    throw new AttestationError(Code.INVALID_ARGUMENT, "malformed", `expected a ${what}, got ${req.case === undefined ? "an empty request" : req.case === "payload" ? "a payload" : "a challenge_response"}`);
  }
  return req.value;
}

/**
 * Creates the server side of tpm_quote attestation (docs/protocol.md): reads the payload, runs checks 1-2,
 * sends one challenge, reads one response, runs checks 3-5 and answers with the agent's attributes.
 * Every outcome is counted through telemetry; refusals are logged at warn with the check and EK hash.
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
    let ekHash: string | undefined;
    try {
      const { config } = plugin.configured();
      const it = requests[Symbol.asyncIterator]();
      const pending = startAttestation(config, await nextRequest(it, "payload"), { verifier: verifierFor(config), random: options.random, signal: call.signal });
      ekHash = pending.ekHash;
      const tpm = pending.reportedTpm;
      log.debug("sending attestation challenge", { ek_hash: ekHash, pcrs: formatPcrSelection(config.pcrSelection), tpm_manufacturer: tpm.manufacturer, tpm_vendor: tpm.vendor, tpm_firmware_version: tpm.firmwareVersion, tpm_pcr_banks: tpm.pcrBanks });
      const waitFrom = Date.now();
      yield { response: { case: "challenge", value: pending.challenge } };
      const response = await nextRequest(it, "challengeResponse");
      // busy_ms (logged): the plugin's own time, without the wait for the agent's response.
      const waitMs = Date.now() - waitFrom;
      const result = await pending.finish(response);
      const durationMs = Date.now() - started;
      log.info("agent attested", { agent_id: result.spiffeId, ek_hash: result.ekHash, verifier: config.verifier, quoted_pcrs: result.quotedPcrs, selectors: result.selectorValues.length, clock_safe: result.clockSafe, duration_ms: durationMs, busy_ms: durationMs - waitMs });
      telemetry.record("success", "none", started);
      yield { response: { case: "agentAttributes", value: { spiffeId: result.spiffeId, selectorValues: result.selectorValues, canReattest: true } } };
    } catch (err) {
      const reason = err instanceof AttestationError ? err.reason : err instanceof PluginError && err.code === Code.FAILED_PRECONDITION ? "not_configured" : "internal";
      const hash = (err instanceof AttestationError && err.ekHash) || ekHash;
      if (err instanceof PluginError) {
        log.warn("attestation refused", { reason, code: Code[err.code], ek_hash: hash, error: err.message });
      }
      telemetry.record("failure", reason, started);
      throw err;
    }
  };
}
