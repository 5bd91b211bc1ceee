// The server side of the tpm_quote protocol (docs/protocol.md) without gRPC: payload -> challenge,
// response -> agent attributes. Each check fails with its own AttestationError, in the documented order.
import { Code } from '../plugin-sdk';
import {
  type AttestationPayload,
  encodeChallenge,
  NONCE_BYTES,
  parseChallengeResponse,
  parsePayload,
  SECRET_BYTES,
} from '../proto';
import {
  createBytesCache,
  KEY_CACHE_ENTRIES,
  makeCredential,
  parseTpmtPublic,
  type PublicArea,
  qualifiedName,
  randomBytesFresh,
  tpmName,
  type VerifiedQuote,
  verifyAkPolicy,
} from '../tpm';
import { type Verifier, type VerifierError, verifyQuoteFreshByNonce } from '../verifier-client';
import { AttestationError, malformed, protocol, refusal, refused } from './attestation-error';
import type { ServerConfig } from './config';
import { checkEkTrust } from './ek-trust';
import { type EkIdentity, ekIdentityOf } from './ek-identity';
import { checkMeasuredBoot } from './measured-boot';
import { checkSelection, inSignedOrder, quoteEvidence, requestedSelection, responsePcrs } from './response-evidence';
import {
  bootLogUnparsedRefusal,
  bootRefusalForCaller,
  classifyVerifierRefusal,
  policyRefusalForCaller,
} from './policy-refusal';
import { sameBytes } from './same-bytes';
import { buildSelectors, printable } from './selectors';

// Decoded public areas by their exact bytes (a node sends the same EK and AK each time), with what the server
// derives from them, each made on first use. Shared between attestations: read only. Undecodable bytes are
// never kept, and a derivation that throws is not kept either (it throws again next time).
interface KnownPublic {
  area: PublicArea;
  /** The TPM Name (nameAlg || H(TPMT_PUBLIC)). */
  name?: Uint8Array;
  /** For an AK: set once verifyAkPolicy passed (check 2 depends on nothing but these bytes). */
  akPolicyPassed?: true;
  /** For an AK: its Qualified Name under the parent Qualified Name `parent` (the same array each time). */
  qualified?: { parent: Uint8Array; qualifiedName: Uint8Array };
}
const publicAreas = createBytesCache<KnownPublic>(KEY_CACHE_ENTRIES);

function publicArea(what: string, bytes: Uint8Array): KnownPublic {
  if (bytes.length === 0) throw malformed(what, 'empty');
  const hit = publicAreas.get([bytes]);
  if (hit) return hit;
  let area: PublicArea;
  try {
    area = parseTpmtPublic(bytes);
  } catch (err) {
    throw malformed(what, `not a TPMT_PUBLIC: ${(err as Error).message}`, err);
  }
  const known: KnownPublic = { area };
  publicAreas.set([bytes], known);
  return known;
}

// The AK's Qualified Name if it is a child of this EK (a quote's qualifiedSigner equal to it proves so).
function qualifiedNameUnder(ekIdentity: EkIdentity, ak: KnownPublic, akName: Uint8Array): Uint8Array {
  const parent = ekIdentity.qualifiedName();
  if (ak.qualified?.parent !== parent) ak.qualified = { parent, qualifiedName: qualifiedName(parent, ak.area, akName) };
  return ak.qualified.qualifiedName;
}

// Node-chosen text headed for a log line.
const reported = (text: string): string => printable(text, 64);

function reportedTpmInfo(payload: AttestationPayload): ReportedTpmInfo {
  const info = payload.tpmInfo;
  return {
    manufacturer: reported(info?.manufacturer ?? ''),
    vendor: reported(info?.vendor ?? ''),
    firmwareVersion: reported(info?.firmwareVersion ?? ''),
    pcrBanks: reported((info?.pcrBanks ?? []).slice(0, 8).join(',')),
  };
}

/** Injected for tests; production uses randomBytesFresh (node:crypto) and the configured verifier. */
export interface AttestationDeps {
  verifier: Verifier;
  random?: (n: number) => Uint8Array;
  now?: () => Date;
  /** The Attest stream's cancellation: a verifier call still pending when SPIRE gives up is abandoned. */
  signal?: AbortSignal;
}

/** What a successful attestation yields. */
export interface AttestationResult {
  spiffeId: string;
  selectorValues: string[];
  ekHash: string;
  /** The quoted PCRs, for the success log ("sha256:0,1,...") */
  quotedPcrs: string;
  /** The quote's clockInfo.safe (NO after an unorderly TPM shutdown; freshness comes from the nonce). */
  clockSafe: boolean;
}

/** The payload's tpm_info as the node reports it: unauthenticated, for the log only, each string bounded. */
export interface ReportedTpmInfo {
  manufacturer: string;
  vendor: string;
  firmwareVersion: string;
  pcrBanks: string;
}

/** One attestation in progress: the challenge to send and how to judge the single response. */
export interface PendingAttestation {
  ekHash: string;
  /** What the node says about its TPM (never a selector: GetCapability answers are not signed). */
  reportedTpm: ReportedTpmInfo;
  challenge: Uint8Array;
  /** Judges the response. Single use: the nonce and secret are wiped whatever the outcome. */
  finish(response: Uint8Array): Promise<AttestationResult>;
  /**
   * True once credential activation (check 3) passed: from then on `ekHash` is proven to be the hash of the
   * EK of the TPM holding the AK; before, it is only what the caller claims.
   */
  readonly activated: boolean;
  /** Wipes the nonce and secret (a stream cancelled or timed out before its response); idempotent. */
  dispose(): void;
}

/**
 * Runs checks 1 and 2 on a payload and makes the challenge (fresh nonce and secret, credential for the AK
 * made to the EK). Throws AttestationError (InvalidArgument for malformed input, PermissionDenied naming
 * the failed check). The returned `finish` runs checks 3-5 on the response and builds the agent's
 * attributes.
 */
export function startAttestation(
  config: ServerConfig,
  payloadBytes: Uint8Array,
  deps: AttestationDeps,
): PendingAttestation {
  // Each draw is a new array (no second copy of the secret is left behind when it is wiped).
  const random = deps.random ?? randomBytesFresh;
  const now = deps.now ?? (() => new Date());
  const payload = protocol(() => parsePayload(payloadBytes));
  const knownEk = publicArea('payload.ek_public', payload.ekPublic);
  const ek = knownEk.area;
  let ekIdentity: EkIdentity;
  try {
    // Kept by ek-identity's own cache, keyed by the same bytes.
    ekIdentity = ekIdentityOf(ek);
  } catch (err) {
    throw malformed('payload.ek_public', (err as Error).message, err);
  }
  const ekHash = ekIdentity.hash;
  const withHash = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      if (err instanceof AttestationError) err.ekHash = ekHash;
      throw err;
    }
  };

  return withHash(() => {
    const knownAk = publicArea('payload.ak_public', payload.akPublic);
    const ak = knownAk.area;
    // Check 1: EK trusted.
    const trusted = checkEkTrust(config, payload, ekIdentity.pkixDer, ekHash, now());
    // Check 2: AK attributes.
    try {
      // A pure function of the exact AK bytes: once passed, it passes again for the same entry.
      if (!knownAk.akPolicyPassed) {
        verifyAkPolicy(ak.value);
        knownAk.akPolicyPassed = true;
      }
    } catch (err) {
      throw refusal(err, { check: 'ak_attributes', what: 'payload.ak_public' });
    }
    const nonce = random(NONCE_BYTES);
    const secret = random(SECRET_BYTES);
    let credential;
    let akName: Uint8Array;
    try {
      akName = knownAk.name ??= tpmName(ak);
      credential = makeCredential({ ekPublic: ek.value, objectName: akName, credential: secret });
    } catch (err) {
      throw refusal(err, { what: 'payload.ek_public', detail: (d) => `no credential can be made for this EK: ${d}` });
    }
    const challenge = encodeChallenge({
      nonce,
      credentialBlob: credential.idObject,
      encryptedSecret: credential.encryptedSecret,
      pcrSelection: [...requestedSelection(config.pcrSelection).banks],
    });
    let used = false;
    let activated = false;
    const wipe = () => {
      nonce.fill(0);
      secret.fill(0);
    };

    const judge = async (responseBytes: Uint8Array): Promise<AttestationResult> => {
      const response = protocol(() => parseChallengeResponse(responseBytes));
      // Check 3: the AK is in the TPM holding the EK.
      if (!sameBytes(response.activatedSecret, secret)) {
        throw refused(
          'credential_activation',
          'the activated secret differs from the one sent (the AK is not in the TPM that holds this EK, or the response is not for this challenge)',
        );
      }
      activated = true;
      // Check 4: the quote.
      const { values, list } = responsePcrs(response);
      let quote: VerifiedQuote;
      try {
        quote = verifyQuoteFreshByNonce({
          akPublic: ak,
          attest: response.quoteAttest,
          signature: response.quoteSignature,
          nonce,
          pcrs: values,
        });
      } catch (err) {
        throw refusal(err, { check: 'quote', what: 'challenge_response' });
      }
      checkSelection(quote, requestedSelection(config.pcrSelection));
      // Checks 5 and 6: the event log replays to the signed PCRs; the boot facts it proves meet the boot policy.
      const boot = checkMeasuredBoot(config, response.eventLog, values);
      // Check 7: the PCR policy (in Keylime mode, Keylime's verdict comes after our own event-log replay; with
      // a measured-boot reference state Keylime also judges the log, which only reaches it once it replayed).
      const policy = config.pcrPolicy;
      if (policy) {
        const eventLog = config.eventLog === 'ignore' ? undefined : response.eventLog;
        try {
          await deps.verifier.verify(quoteEvidence({ response, quote, values, nonce, ak, ek, eventLog }), policy, {
            signal: deps.signal,
          });
        } catch (err) {
          // Keylime's measured-boot failures are a boot policy refusal (its reference state), the rest check 7;
          // its parser failing on a log we replayed is the verifier's fault: Unavailable, the boot not blamed.
          const kind = classifyVerifierRefusal(err);
          const refstate = config.keylimeMbRefstatePath;
          if (kind === 'boot_log_unparsed') throw bootLogUnparsedRefusal(err as VerifierError, refstate);
          if (kind === 'boot_policy') {
            throw refusal(err, {
              check: 'boot_policy',
              what: 'evidence',
              detail: (d, code) => (code === Code.PERMISSION_DENIED ? `${d} (reference state ${refstate})` : d),
              publicDetail: (e) => bootRefusalForCaller(e),
            });
          }
          throw refusal(err, {
            check: 'pcr_policy',
            what: 'evidence',
            detail: (d, code) => (code === Code.PERMISSION_DENIED ? `${d} (policy ${config.pcrPolicyPath})` : d),
            publicDetail: (e) => policyRefusalForCaller(e, policy.hashAlg),
          });
        }
      }
      const selectorValues = buildSelectors({
        ekHash,
        trustedCertificate: trusted.chained ? trusted.certificate : undefined,
        // Only an AK in the endorsement hierarchy signs the real firmware version.
        firmwareVersion: sameBytes(quote.qualifiedSigner, qualifiedNameUnder(ekIdentity, knownAk, akName))
          ? quote.firmwareVersion
          : undefined,
        pcrs: inSignedOrder(list, quote),
        boot,
      });
      return {
        spiffeId: `spiffe://${config.trustDomain}/spire/agent/tpm_quote/${ekHash}`,
        selectorValues,
        ekHash,
        quotedPcrs: requestedSelection(config.pcrSelection).text,
        clockSafe: quote.safe,
      };
    };

    const finish = async (responseBytes: Uint8Array): Promise<AttestationResult> => {
      if (used)
        throw new AttestationError(
          Code.INVALID_ARGUMENT,
          'malformed',
          'this attestation already received its challenge response',
          { ekHash },
        );
      used = true;
      try {
        return await judge(responseBytes);
      } catch (err) {
        if (err instanceof AttestationError) err.ekHash = ekHash;
        throw err;
      } finally {
        // Single use: whatever happened, this nonce and secret can never be matched again.
        wipe();
      }
    };

    return {
      ekHash,
      reportedTpm: reportedTpmInfo(payload),
      challenge,
      finish,
      get activated() {
        return activated;
      },
      dispose: wipe,
    };
  });
}
