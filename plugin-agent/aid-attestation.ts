// Agent side of the tpm_quote protocol (docs/protocol.md): the payload at once, then one response per
// challenge, all evidence read from the local TPM. No verifier ever calls back to this node.
import type { MessageInitShape } from '@bufbuild/protobuf';
import {
  type AttestationChallenge,
  type Challenge,
  encodeChallengeResponse,
  encodePayload,
  MAX_EK_CERTIFICATE_BYTES,
  MAX_EK_INTERMEDIATES,
  parseChallenge,
  type PayloadOrChallengeResponseSchema,
} from '../proto';
import { type CallContext, type PluginContext, PluginError, toPluginError } from '../plugin-sdk';
import {
  formatPcrSelection,
  hashAlgId,
  type HashName,
  openTpm,
  pcrSelection,
  type TpmClient,
  type TpmsPcrSelection,
  type AttestationSession,
  PcrsChangingError,
} from '../tpm';
import type { AgentConfig } from './config';
import { readEkCertificateFile, type EkCertificateFile } from './ek-certificate-file';
import { readEventLog } from './event-log';
import { createIdentityCache, identityKey, type IdentityCache } from './identity-cache';
import { identityFilePath } from './identity-file';
import { createAgentTelemetry, type AgentTelemetry } from './telemetry';

/** Times the PCRs are quoted and read when they change between the quote and the read. */
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

/**
 * A failure of TPM step `step` as the plugin error SPIRE shows (plugin-sdk's toPluginError): an unreachable
 * TPM Unavailable naming the transport, a TPM refusal FailedPrecondition naming `spec`, the step first.
 */
export function tpmFailure(spec: string, step: string, err: unknown): PluginError {
  return toPluginError(err, { tpm: spec, message: (_code, detail) => `${step}: ${detail}` });
}

/** A challenge from the server, checked (proto/tpmquote/protocol.ts) before the TPM sees any of it; InvalidArgument naming the field. */
function readChallenge(bytes: Uint8Array): { challenge: AttestationChallenge; selection: TpmsPcrSelection[] } {
  let challenge: AttestationChallenge;
  try {
    challenge = parseChallenge(bytes);
  } catch (err) {
    throw toPluginError(err);
  }
  // parseChallenge refused any bank that is not a HashName.
  const selection = challenge.pcrSelection.map((s) => pcrSelection(hashAlgId(s.bank as HashName), s.pcrs));
  return { challenge, selection };
}

/**
 * Creates the AidAttestation handler: opens one attestation on the TPM (facts, EK and certificate, AK from
 * ak_handle or ak_data_dir; each key loaded once; the identity an earlier stream read is reused when
 * ReadPublic confirms it, see identity-cache.ts), sends the payload, answers exactly one challenge
 * (activates the credential, quotes the PCRs and reads them once, re-quoting when the read does not match
 * the quote's digest), then releases what it loaded on every path. TPM commands are counted (debug log and
 * metric). An unreachable TPM fails the stream with Unavailable naming the transport.
 */
export function createAidAttestation(
  plugin: PluginContext<AgentConfig>,
  pool: TpmPool = createTpmPool(),
  telemetry: AgentTelemetry = createAgentTelemetry(plugin as PluginContext<unknown>),
  identities: IdentityCache = createIdentityCache({ log: plugin.logger }),
) {
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
    let session: AttestationSession | undefined;
    let identitySource: 'cached' | 'read' | undefined;
    let answered = false;
    const counts = () => session?.counts();
    // Any failure forgets the identity (and deletes its file): the next attestation reads it all again.
    const fail = async (step: string, commands = counts()) => {
      telemetry.record('failure', step, started, tpmMs, commands, identitySource);
      await identities.drop();
    };
    // Runs one TPM step: times it, and turns a failure into the plugin error (and a failure metric named by `label`).
    const step = async <T>(label: string, name: string, fn: () => Promise<T>): Promise<T> => {
      const t0 = Date.now();
      try {
        const result = await fn();
        tpmMs += Date.now() - t0;
        return result;
      } catch (err) {
        tpmMs += Date.now() - t0;
        // PCRs that never held still between quote and read are no TPM fault: Unavailable, counted apart.
        if (err instanceof PcrsChangingError) {
          await fail('pcrs_changing');
          throw PluginError.unavailable(`TPM ${spec}: ${err.message}`);
        }
        await fail(label);
        throw tpmFailure(spec, name, err);
      }
    };

    let fromFile: EkCertificateFile | undefined;
    if (config.ekCertificatePath) {
      try {
        fromFile = await readEkCertificateFile(config.ekCertificatePath);
      } catch (err) {
        await fail('ek_certificate_path');
        throw PluginError.failedPrecondition(`ek_certificate_path: ${(err as Error).message}`);
      }
    }
    // Opening reports its phase, so a failure names the step (tpm_info, ek, ak) as before.
    const phases = {
      tpm_info: 'reading TPM properties',
      ek: 'reading the EK',
      ak:
        config.akHandle === undefined
          ? 'loading the AK from ak_data_dir'
          : `reading the AK at ak_handle 0x${config.akHandle.toString(16)}`,
    };
    let phase: keyof typeof phases = 'tpm_info';
    let info;
    let identity;
    const maxIntermediates = MAX_EK_INTERMEDIATES - (fromFile?.intermediates.length ?? 0);
    const cacheKey = identityKey({
      tpm: spec,
      ek_algorithm: config.ekAlgorithm,
      ek_certificate: fromFile?.certificate,
      max_intermediates: maxIntermediates,
      ak_handle: config.akHandle,
      ak_data_dir: config.akDataDir,
      ak_algorithm: config.akAlgorithm,
    });
    // Also kept in ak_data_dir, so the first attestation after a restart confirms it instead of reading it
    // (no file when the cache is off).
    const cacheFile = config.identityCacheMaxAgeMs > 0 ? identityFilePath(config.akDataDir) : undefined;
    const cached = await identities.lookup(cacheKey, config.identityCacheMaxAgeMs, cacheFile);
    const t0 = Date.now();
    try {
      const opened = await tpm.beginAttestation({
        cached: cached.identity,
        ...o,
        ekChoice: config.ekAlgorithm,
        ekCertificate: fromFile?.certificate,
        maxIntermediates,
        maxCertificateBytes: MAX_EK_CERTIFICATE_BYTES,
        ak:
          config.akHandle === undefined
            ? { dataDir: config.akDataDir, alg: config.akAlgorithm }
            : { handle: config.akHandle },
        onPhase: (p) => (phase = p),
      });
      session = opened.session;
      info = opened.info;
      identity = opened.identity;
      identitySource = opened.fromCache ? 'cached' : 'read';
      tpmMs += Date.now() - t0;
      if (!opened.fromCache)
        log.debug('reading the TPM identity', { tpm: spec, reason: opened.cacheMiss ?? cached.miss ?? 'unknown' });
    } catch (err) {
      tpmMs += Date.now() - t0;
      await fail(phase);
      throw tpmFailure(spec, phases[phase], err);
    }
    try {
      const { ek, ak } = session;
      if (ak.created) log.info('created a new attestation key', { ak_path: ak.path, ak_algorithm: config.akAlgorithm });
      // getInfo() reports both firmware words ("v1hi.v1lo.v2hi.v2lo"); tpm_info carries TPM_PT_FIRMWARE_VERSION_1
      // only, as "<major>.<minor>", the form the server's firmware_version selector takes from the signed quote.
      const firmwareVersion1 = info.firmwareVersion.split('.').slice(0, 2).join('.');
      const intermediates = [...(fromFile?.intermediates ?? []), ...ek.intermediates];
      const payload = encodePayload({
        ekCertificate: ek.certificate ?? new Uint8Array(),
        ekPublic: ek.public.bytes,
        akPublic: ak.public.bytes,
        ekIntermediates: intermediates,
        tpmInfo: {
          manufacturer: info.manufacturer,
          vendor: info.vendor,
          firmwareVersion: firmwareVersion1,
          pcrBanks: info.pcrBanks.map((b) => b.hashName),
        },
      });
      log.debug('sending attestation payload', {
        tpm: spec,
        ek_kind: ek.kind,
        ek_persistent: ek.persistentHandle !== undefined,
        ek_certificate: ek.certificate === undefined ? 'none' : ek.certIndex === undefined ? 'file' : 'nv',
        ek_intermediates: intermediates.length,
        ak_persistent: ak.persistentHandle !== undefined,
        manufacturer: info.manufacturer,
      });
      // Time spent waiting for the server's challenge: busy_ms (logged) is the plugin's own time without it.
      let waitMs = 0;
      const waitFrom = Date.now();
      yield { data: { case: 'payload', value: payload } };

      // Exactly one challenge is answered: the server sends one (docs/protocol.md), and a second would be
      // another use of the same credential and AK in one stream.
      for await (const c of challenges) {
        waitMs += Date.now() - waitFrom;
        let parsed;
        try {
          parsed = readChallenge(c.challenge);
        } catch (err) {
          await fail('challenge');
          throw err;
        }
        const { challenge, selection } = parsed;
        const s = session;
        const secret = await step('activate_credential', 'activating the credential', () =>
          s.activateCredential(challenge.credentialBlob, challenge.encryptedSecret, o),
        );
        const quoted = await step('quote', 'quoting PCRs', () =>
          s.quoteAndRead(challenge.nonce, selection, PCR_READ_ATTEMPTS, o),
        );
        const { quote, pcrs } = quoted;
        if (quoted.attempts > 1)
          log.debug('PCRs changed between quote and read; quoted again', { attempts: quoted.attempts });
        let eventLog;
        try {
          eventLog = readEventLog(config.eventLogPath);
        } catch (err) {
          await fail('event_log');
          throw err;
        }
        if ('absent' in eventLog) log.debug('no event log sent', { reason: eventLog.absent });
        const clock = quote.attest.value.clockInfo;
        const facts = { resetCount: clock.resetCount, firmwareVersion: quote.attest.value.firmwareVersion };
        if (identitySource === 'read') await identities.fill(cacheKey, identity!, facts, cacheFile);
        else {
          const dropped = await identities.checkQuote(facts);
          if (dropped) log.debug('TPM identity dropped; read again next attestation', { reason: dropped });
        }
        // Closed first so the count includes its FlushContext commands.
        const closing = Date.now();
        await session.close();
        tpmMs += Date.now() - closing;
        const commands = s.counts();
        log.info('quote read from the TPM', {
          tpm: spec,
          pcrs: formatPcrSelection(selection),
          ak_algorithm: config.akAlgorithm,
          ek_kind: ek.kind,
          tpm_ms: tpmMs,
          busy_ms: Date.now() - started - waitMs,
          event_log_bytes: 'bytes' in eventLog ? eventLog.bytes.length : 0,
        });
        log.debug('TPM commands for this attestation', {
          tpm: spec,
          identity: identitySource,
          identity_from: identitySource === 'cached' ? cached.from : undefined,
          tpm_commands: commands.total,
          tpm_create_primary: commands.createPrimary,
        });
        const response = encodeChallengeResponse({
          activatedSecret: secret,
          quoteAttest: quote.attest.bytes,
          quoteSignature: quote.signature.bytes,
          pcrValues: Object.entries(pcrs).map(([bank, byIndex]) => ({
            bank,
            values: Object.entries(byIndex ?? {}).map(([index, digest]) => ({ index: Number(index), digest })),
          })),
          eventLog: 'bytes' in eventLog ? eventLog.bytes : new Uint8Array(),
        });
        // Counted, and the keys flushed (above), before yielding: SPIRE cancels the stream once the server has
        // answered, and a generator that is never resumed would hold its transient objects until it is collected.
        telemetry.record('success', 'none', started, tpmMs, commands, identitySource);
        answered = true;
        yield { data: { case: 'challengeResponse', value: response } };
        break;
      }
    } finally {
      // A stream that ends unanswered (server refused the payload, or cancelled) keeps no identity.
      if (!answered) await identities.drop();
      await session.close();
    }
  };
}
