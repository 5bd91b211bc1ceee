// Agent side of the tpm_quote protocol (docs/protocol.md): the payload at once, then one response per
// challenge, all evidence read from the local TPM. No verifier ever calls back to this node.
import { create, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import type { Challenge, PayloadOrChallengeResponseSchema } from "../proto/gen/spire/plugin/agent/nodeattestor/v1/nodeattestor_pb";
import { AttestationChallengeSchema, AttestationPayloadSchema, ChallengeResponseSchema, ProtocolVersion } from "../proto/gen/tpmquote/v1/attestation_pb";
import { Code, PluginError, type CallContext, type PluginContext } from "../plugin-sdk";
import { openTpm, type TpmClient } from "../tpm/client";
import { hashAlgId, isHashName } from "../tpm/crypto/hash";
import { formatPcrSelection, MAX_PCR_INDEX, pcrSelection, type PcrValues, type TpmsPcrSelection } from "../tpm/types/pcr";
import { TpmError, TpmResponseError, TpmUnavailableError } from "../tpm/errors";
import type { AgentConfig } from "./config";
import { createAgentTelemetry, type AgentTelemetry } from "./telemetry";

/** The protocol version this plugin speaks (declared once, in the .proto). */
export const PROTOCOL_VERSION = ProtocolVersion.V1;
/** Largest challenge accepted before decoding. */
export const MAX_CHALLENGE_BYTES = 16 * 1024;
/** Times the PCRs are re-read and re-quoted when they change during a quote. */
export const PCR_READ_ATTEMPTS = 3;

/** Keeps one TPM client per transport spec; commands open a fresh connection each, so a restarted swtpm is fine. */
export function createTpmPool(open: (spec: string) => TpmClient = (spec) => openTpm(spec)) {
  const clients = new Map<string, TpmClient>();
  return {
    get(spec: string): TpmClient {
      let c = clients.get(spec);
      if (!c) {
        c = open(spec);
        clients.set(spec, c);
      }
      return c;
    },
    async close() {
      for (const c of clients.values()) await c.close().catch(() => undefined);
      clients.clear();
    },
  };
}
export type TpmPool = ReturnType<typeof createTpmPool>;

/** A TPM failure as the plugin error SPIRE shows: unreachable TPM Unavailable naming the transport. */
export function tpmFailure(spec: string, step: string, err: unknown): PluginError {
  if (err instanceof PluginError) return err;
  if (err instanceof TpmUnavailableError) return PluginError.unavailable(`${step}: ${err.message}`, err);
  if (err instanceof TpmError) {
    return new PluginError(Code.FAILED_PRECONDITION, `${step}: TPM ${spec} refused ${err.message}`, { cause: err });
  }
  if (err instanceof TpmResponseError) return PluginError.unavailable(`${step}: TPM ${spec} sent a malformed response: ${err.message}`, err);
  if ((err as Error)?.name === "AbortError") return PluginError.unavailable(`${step}: cancelled`, err);
  return PluginError.internal(`${step}: ${(err as Error)?.message ?? String(err)}`, err);
}

/** The challenge's TPM2B fields must be exactly one size-prefixed buffer (malformed input, not a TPM failure). */
function checkTpm2b(what: string, bytes: Uint8Array): void {
  if (bytes.length < 2) throw PluginError.invalidArgument(`challenge.${what}: ${bytes.length} bytes is not a TPM2B`);
  const size = (bytes[0] << 8) | bytes[1];
  if (size !== bytes.length - 2) throw PluginError.invalidArgument(`challenge.${what}: TPM2B size ${size} does not match its ${bytes.length - 2} bytes`);
}

/**
 * The challenge's PCR selection as TPM selections, checked as docs/protocol.md states it: known banks, each
 * once, indices 0-23 ascending without repeats. A repeat would be folded away by the TPM's selection bitmap
 * while the values sent kept it, so the server would refuse an honest node's quote.
 */
function selectionOf(challenge: { pcrSelection: Array<{ bank: string; pcrs: number[] }> }): TpmsPcrSelection[] {
  if (challenge.pcrSelection.length === 0) throw PluginError.invalidArgument("challenge.pcr_selection: empty");
  const seen = new Set<string>();
  return challenge.pcrSelection.map((s) => {
    if (!isHashName(s.bank)) throw PluginError.invalidArgument(`challenge.pcr_selection: unknown bank ${JSON.stringify(s.bank.slice(0, 20))}`);
    if (seen.has(s.bank)) throw PluginError.invalidArgument(`challenge.pcr_selection: bank ${s.bank} appears twice`);
    seen.add(s.bank);
    if (s.pcrs.length === 0 || s.pcrs.some((p) => p > MAX_PCR_INDEX)) throw PluginError.invalidArgument(`challenge.pcr_selection: ${s.bank} needs PCR indices 0-${MAX_PCR_INDEX}`);
    if (s.pcrs.some((p, i) => i > 0 && p <= s.pcrs[i - 1])) throw PluginError.invalidArgument(`challenge.pcr_selection: ${s.bank} PCR indices ${s.pcrs.slice(0, 24).join(",")} are not ascending without repeats`);
    return pcrSelection(hashAlgId(s.bank), s.pcrs);
  });
}

/** A challenge from the server, checked before the TPM sees any of it; InvalidArgument naming the field. */
function parseChallenge(bytes: Uint8Array) {
  if (bytes.length === 0 || bytes.length > MAX_CHALLENGE_BYTES) {
    throw PluginError.invalidArgument(`challenge: ${bytes.length} bytes is not a tpm_quote challenge (1-${MAX_CHALLENGE_BYTES})`);
  }
  let challenge;
  try {
    challenge = fromBinary(AttestationChallengeSchema, bytes);
  } catch (err) {
    throw PluginError.invalidArgument(`challenge: not a tpmquote.v1 AttestationChallenge: ${(err as Error).message}`, err);
  }
  if (challenge.version !== PROTOCOL_VERSION) throw PluginError.invalidArgument(`challenge: version ${challenge.version} is not supported (this agent speaks ${PROTOCOL_VERSION})`);
  if (challenge.nonce.length === 0 || challenge.nonce.length > 64) throw PluginError.invalidArgument(`challenge.nonce: ${challenge.nonce.length} bytes (1-64 expected)`);
  const selection = selectionOf(challenge);
  checkTpm2b("credential_blob", challenge.credentialBlob);
  checkTpm2b("encrypted_secret", challenge.encryptedSecret);
  return { challenge, selection };
}

// Banks and indices in order, digests byte for byte.
function samePcrs(a: PcrValues, b: PcrValues): boolean {
  const flat = (v: PcrValues) => Object.entries(v).flatMap(([bank, byIndex]) => Object.entries(byIndex ?? {}).map(([i, d]) => `${bank}:${i}:${Buffer.from(d).toString("hex")}`));
  const x = flat(a);
  const y = flat(b);
  return x.length === y.length && x.every((s, i) => s === y[i]);
}

/**
 * Creates the AidAttestation handler: reads the TPM's facts, EK (and certificate) and AK (loaded from
 * ak_data_dir or created), sends the payload, then for each challenge activates the credential, reads the
 * PCRs and quotes them (re-reading when a PCR changed meanwhile) and sends the response. An unreachable TPM
 * fails the stream with Unavailable naming the transport.
 */
export function createAidAttestation(plugin: PluginContext<AgentConfig>, pool: TpmPool = createTpmPool(), telemetry: AgentTelemetry = createAgentTelemetry(plugin as PluginContext<unknown>)) {
  const log = plugin.logger;
  return async function* aidAttestation(
    challenges: AsyncIterable<Challenge>,
    call: CallContext,
  ): AsyncIterable<MessageInitShape<typeof PayloadOrChallengeResponseSchema>> {
    const { config } = plugin.configured();
    const spec = config.tpm;
    const tpm = pool.get(spec);
    const o = { signal: call.signal };
    const started = Date.now();
    let tpmMs = 0;
    // Runs one TPM step: times it, and turns a failure into the plugin error (and a failure metric named by `label`).
    const step = async <T>(label: string, name: string, fn: () => Promise<T>): Promise<T> => {
      const t0 = Date.now();
      try {
        const result = await fn();
        tpmMs += Date.now() - t0;
        return result;
      } catch (err) {
        tpmMs += Date.now() - t0;
        telemetry.record("failure", label, started, tpmMs);
        throw tpmFailure(spec, name, err);
      }
    };

    const info = await step("tpm_info", "reading TPM properties", () => tpm.getInfo(o));
    const ek = await step("ek", "reading the EK", () => tpm.readEk(config.ekAlgorithm, o));
    // The AK is the EK's child (endorsement hierarchy): quotes then carry the real firmware version.
    const ak = await step("ak", "loading the AK", () => tpm.loadOrCreateAk(config.akDataDir, config.akAlgorithm, { ...o, parent: "ek", ek }));
    if (ak.created) log.info("created a new attestation key", { ak_path: ak.path, ak_algorithm: config.akAlgorithm });
    // getInfo() reports both firmware words ("v1hi.v1lo.v2hi.v2lo"); tpm_info carries TPM_PT_FIRMWARE_VERSION_1
    // only, as "<major>.<minor>", the form the server's firmware_version selector takes from the signed quote.
    const firmwareVersion1 = info.firmwareVersion.split(".").slice(0, 2).join(".");
    const payload = toBinary(
      AttestationPayloadSchema,
      create(AttestationPayloadSchema, {
        version: PROTOCOL_VERSION,
        ekCertificate: ek.certificate ?? new Uint8Array(),
        ekPublic: ek.public.bytes,
        akPublic: ak.public.bytes,
        tpmInfo: { manufacturer: info.manufacturer, vendor: info.vendor, firmwareVersion: firmwareVersion1, pcrBanks: info.pcrBanks.map((b) => b.hashName) },
      }),
    );
    log.debug("sending attestation payload", { tpm: spec, ek_kind: ek.kind, ek_certificate: ek.certificate !== undefined, manufacturer: info.manufacturer });
    // Time spent waiting for the server's challenge: busy_ms (logged) is the plugin's own time without it.
    let waitMs = 0;
    let waitFrom = Date.now();
    yield { data: { case: "payload", value: payload } };

    for await (const c of challenges) {
      waitMs += Date.now() - waitFrom;
      let parsed;
      try {
        parsed = parseChallenge(c.challenge);
      } catch (err) {
        telemetry.record("failure", "challenge", started, tpmMs);
        throw err;
      }
      const { challenge, selection } = parsed;

      const secret = await step("activate_credential", "activating the credential", () => tpm.activateCredential(ak, ek, challenge.credentialBlob, challenge.encryptedSecret, o));
      let quote;
      let pcrs;
      for (let attempt = 1; ; attempt++) {
        const before = await step("pcr_read", "reading PCRs", () => tpm.readPcrs(selection, o));
        quote = await step("quote", "quoting PCRs", () => tpm.quote(ak, challenge.nonce, selection, o));
        const after = await step("pcr_read", "reading PCRs", () => tpm.readPcrs(selection, o));
        if (samePcrs(before, after)) {
          pcrs = after;
          break;
        }
        if (attempt >= PCR_READ_ATTEMPTS) {
          telemetry.record("failure", "pcrs_changing", started, tpmMs);
          throw PluginError.unavailable(`PCRs of TPM ${spec} kept changing during ${PCR_READ_ATTEMPTS} quotes`);
        }
        log.debug("PCRs changed while quoting; quoting again", { attempt });
      }
      log.info("quote read from the TPM", { tpm: spec, pcrs: formatPcrSelection(selection), ak_algorithm: config.akAlgorithm, ek_kind: ek.kind, tpm_ms: tpmMs, busy_ms: Date.now() - started - waitMs });
      const response = toBinary(
        ChallengeResponseSchema,
        create(ChallengeResponseSchema, {
          version: PROTOCOL_VERSION,
          activatedSecret: secret,
          quoteAttest: quote.attest.bytes,
          quoteSignature: quote.signature.bytes,
          pcrValues: Object.entries(pcrs).map(([bank, byIndex]) => ({ bank, values: Object.entries(byIndex ?? {}).map(([index, digest]) => ({ index: Number(index), digest })) })),
        }),
      );
      // Counted before yielding: SPIRE cancels the stream once the server has answered.
      telemetry.record("success", "none", started, tpmMs);
      yield { data: { case: "challengeResponse", value: response } };
      waitFrom = Date.now();
    }
  };
}
