// The server side of the tpm_quote protocol (docs/protocol.md) without gRPC: payload -> challenge,
// response -> agent attributes. Each check fails with its own AttestationError, in the documented order.
import { createHash, randomFillSync, timingSafeEqual } from "node:crypto";
import { fromBinary, toBinary, create } from "@bufbuild/protobuf";
import { Code, PluginError } from "../plugin-sdk";
import {
  AttestationChallengeSchema,
  AttestationPayloadSchema,
  ChallengeResponseSchema,
  type AttestationPayload,
  type ChallengeResponse,
  ProtocolVersion,
} from "../proto/gen/tpmquote/v1/attestation_pb";
import { TpmCryptoError } from "../tpm/crypto/errors";
import { marshal, tpm2b } from "../tpm/marshal/codec";
import { hashInfo, type HashName } from "../tpm/crypto/hash";
import { makeCredential } from "../tpm/crypto/make-credential";
import { parseTpmtPublic, publicToPkixDer, tpmName, type PublicArea } from "../tpm/crypto/public-key";
import { encodePcrBlob, pcrBlobFromValues } from "../tpm/keylime/pcr-blob";
import { verifyAkPolicy } from "../tpm/verify/ak-policy";
import { parseEkCertificate, verifyEkCertificate, type EkCertificate } from "../tpm/verify/ek-cert";
import { TpmVerifyError } from "../tpm/verify/errors";
import { selectedIndices, type PcrValues } from "../tpm/verify/pcr-values";
import type { VerifiedQuote } from "../tpm/verify/quote";
import { verifyQuoteFreshByNonce } from "../verifier-client/in-process";
import { VerifierError } from "../verifier-client/errors";
import type { Verifier } from "../verifier-client/types";
import type { ServerConfig } from "./config";
import { formatPcrSelection, PCR_BANKS, type BankSelection, type PcrBank } from "./pcr-selection";
import { buildSelectors, printable } from "./selectors";

/** The protocol version this plugin speaks (declared once, in the .proto). */
export const PROTOCOL_VERSION = ProtocolVersion.V1;
/** Bytes of the nonce and of the credential secret. */
export const NONCE_BYTES = 32;
export const SECRET_BYTES = 32;
/** Largest payload / response accepted before decoding (an EK cert is a few KiB; a response ~2 KiB). */
export const MAX_MESSAGE_BYTES = 64 * 1024;

/** The checks, in the order they run; the names appear in errors, logs and metric labels. */
export const CHECKS = ["ek_trust", "ak_attributes", "credential_activation", "quote", "pcr_policy"] as const;
export type CheckName = (typeof CHECKS)[number];

/** Why an attestation failed: a check (PermissionDenied) or malformed input (InvalidArgument). */
export type FailureReason = CheckName | "malformed" | "verifier_unavailable" | "not_configured" | "internal";

const CHECK_TITLES: Record<CheckName, string> = {
  ek_trust: "EK trust",
  ak_attributes: "AK attributes",
  credential_activation: "credential activation",
  quote: "quote",
  pcr_policy: "PCR policy",
};

/** A refused attestation: the gRPC code, the reason (for logs and metrics) and the EK hash when known. */
export class AttestationError extends PluginError {
  readonly reason: FailureReason;
  ekHash?: string;
  constructor(code: Code, reason: FailureReason, message: string, options?: { cause?: unknown; ekHash?: string }) {
    super(code, message, { cause: options?.cause });
    this.reason = reason;
    this.ekHash = options?.ekHash;
  }
}

function refused(check: CheckName, detail: string, cause?: unknown): AttestationError {
  return new AttestationError(Code.PERMISSION_DENIED, check, `${CHECK_TITLES[check]} check failed: ${detail}`, { cause });
}

function malformed(what: string, detail: string, cause?: unknown): AttestationError {
  return new AttestationError(Code.INVALID_ARGUMENT, "malformed", `malformed ${what}: ${detail}`, { cause });
}

/** A TpmVerifyError as an attestation error: malformed evidence InvalidArgument, a failed check PermissionDenied. */
function fromVerifyError(check: CheckName, what: string, err: unknown): AttestationError {
  if (err instanceof TpmVerifyError) {
    return err.kind === "malformed" ? malformed(what, err.message, err) : refused(check, `${err.message} (${err.code})`, err);
  }
  if (err instanceof TpmCryptoError) return malformed(what, err.message, err);
  throw err;
}

function decode<T>(what: string, bytes: Uint8Array, parse: (b: Uint8Array) => T): T {
  if (bytes.length === 0) throw malformed(what, "empty");
  if (bytes.length > MAX_MESSAGE_BYTES) throw malformed(what, `${bytes.length} bytes exceeds the maximum ${MAX_MESSAGE_BYTES}`);
  let msg: T;
  try {
    msg = parse(bytes);
  } catch (err) {
    throw malformed(what, `not a tpmquote.v1 message: ${(err as Error).message}`, err);
  }
  const version = (msg as { version: number }).version;
  if (version !== PROTOCOL_VERSION) throw malformed(what, `version ${version} is not supported (this server speaks version ${PROTOCOL_VERSION})`);
  return msg;
}

function publicArea(what: string, bytes: Uint8Array): PublicArea {
  if (bytes.length === 0) throw malformed(what, "empty");
  try {
    return parseTpmtPublic(bytes);
  } catch (err) {
    throw malformed(what, `not a TPMT_PUBLIC: ${(err as Error).message}`, err);
  }
}

// Node-chosen text headed for a log line.
const reported = (text: string): string => printable(text, 64);

function reportedTpmInfo(payload: AttestationPayload): ReportedTpmInfo {
  const info = payload.tpmInfo;
  return {
    manufacturer: reported(info?.manufacturer ?? ""),
    vendor: reported(info?.vendor ?? ""),
    firmwareVersion: reported(info?.firmwareVersion ?? ""),
    pcrBanks: reported((info?.pcrBanks ?? []).slice(0, 8).join(",")),
  };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  // Lengths are public (the secret is always SECRET_BYTES); contents are compared in constant time.
  return a.length === b.length && timingSafeEqual(a, b);
}

/** TPM2B_PUBLIC around the exact TPMT_PUBLIC bytes received (what Keylime's tpm_ak / tpm_ek expect). */
const asTpm2bPublic = (publicBytes: Uint8Array): Uint8Array => marshal(tpm2b(0xffff), publicBytes);

/**
 * The Qualified Name of the AK if it is a child of the EK (TPM 2.0 Part 1, 16: QN(B) = nameAlg_B ||
 * H_B(QN(parent) || Name(B)); a primary's parent QN is its hierarchy handle, here TPM_RH_ENDORSEMENT).
 * A quote whose qualifiedSigner equals it was signed by an AK in the endorsement hierarchy, so its
 * firmwareVersion is not obfuscated (TPM 2.0 Part 3, 18.1).
 */
export function qualifiedNameUnderEk(ek: PublicArea, ak: PublicArea): Uint8Array {
  const qn = (parent: Uint8Array, child: PublicArea) => {
    const h = hashInfo(child.public.nameAlg);
    const digest = createHash(h.name).update(parent).update(tpmName(child)).digest();
    const out = new Uint8Array(2 + digest.length);
    new DataView(out.buffer).setUint16(0, child.public.nameAlg);
    out.set(digest, 2);
    return out;
  };
  const endorsement = new Uint8Array([0x40, 0x00, 0x00, 0x0b]);
  return qn(qn(endorsement, ek), ak);
}

/** Injected for tests; production uses crypto.randomFillSync and the configured verifier. */
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
}

interface TrustedEk {
  certificate?: EkCertificate;
  /** Set when the certificate chained to the CA bundle. */
  chained: boolean;
}

/** Check 1: the EK is trusted per ek_trust, and a certificate sent holds the very key used for activation. */
function checkEkTrust(config: ServerConfig, payload: AttestationPayload, ekDer: Uint8Array, ekHash: string, now: Date): TrustedEk {
  let certificate: EkCertificate | undefined;
  if (payload.ekCertificate.length > 0) {
    try {
      certificate = parseEkCertificate(payload.ekCertificate);
    } catch (err) {
      throw fromVerifyError("ek_trust", "payload.ek_certificate", err);
    }
    const certKey = new Uint8Array(certificate.publicKey.export({ type: "spki", format: "der" }));
    if (!sameBytes(certKey, ekDer)) throw refused("ek_trust", "the EK certificate's public key differs from ek_public (the key credential activation uses)");
  }
  const problems: string[] = [];
  let caOk = false;
  let hashOk = false;
  if (config.ekCas) {
    if (!certificate) problems.push(`no EK certificate was sent, so it cannot chain to ek_ca_path ${config.ekCaPath}`);
    else {
      try {
        verifyEkCertificate({ certificate, trusted: config.ekCas, now, ...config.ekProfile });
        caOk = true;
      } catch (err) {
        if (!(err instanceof TpmVerifyError)) throw err;
        problems.push(`EK certificate does not chain to ek_ca_path ${config.ekCaPath}: ${err.message} (${err.code})`);
      }
    }
  }
  if (config.ekHashes) {
    hashOk = config.ekHashes.has(ekHash);
    if (!hashOk) problems.push(`EK hash ${ekHash} is not in ek_hash_path ${config.ekHashPath}`);
  }
  const ok =
    config.ekTrust === "all"
      ? (config.ekCas === undefined || caOk) && (config.ekHashes === undefined || hashOk) && (config.ekCas !== undefined || config.ekHashes !== undefined)
      : caOk || hashOk;
  if (!ok) throw refused("ek_trust", `${problems.join("; ")} (ek_trust = "${config.ekTrust}")`);
  return { certificate, chained: caOk };
}

/** The challenge's PCR selection as the verify code's bank names. */
function requestedSelection(selection: readonly BankSelection[]): Map<PcrBank, readonly number[]> {
  return new Map(selection.map((s) => [s.bank, s.pcrs]));
}

function responsePcrs(response: ChallengeResponse): { values: PcrValues; list: Array<{ bank: PcrBank; index: number; digest: Uint8Array }> } {
  const values: Partial<Record<HashName, Record<number, Uint8Array>>> = {};
  const list: Array<{ bank: PcrBank; index: number; digest: Uint8Array }> = [];
  for (const b of response.pcrValues) {
    if (!(PCR_BANKS as readonly string[]).includes(b.bank)) throw malformed("challenge_response.pcr_values", `unknown bank ${JSON.stringify(b.bank.slice(0, 20))}`);
    const bank = b.bank as PcrBank;
    if (values[bank]) throw malformed("challenge_response.pcr_values", `bank ${bank} appears twice`);
    const byIndex: Record<number, Uint8Array> = {};
    for (const v of b.values) {
      if (v.index > 23) throw malformed("challenge_response.pcr_values", `PCR ${bank}:${v.index} is beyond 23`);
      if (byIndex[v.index]) throw malformed("challenge_response.pcr_values", `PCR ${bank}:${v.index} appears twice`);
      byIndex[v.index] = v.digest;
      list.push({ bank, index: v.index, digest: v.digest });
    }
    values[bank] = byIndex;
  }
  return { values, list };
}

/** The quote's signed selection must be exactly the selection the challenge asked for. */
function checkSelection(quote: VerifiedQuote, wanted: Map<PcrBank, readonly number[]>, asked: string): void {
  const got = new Map<string, number[]>();
  for (const s of quote.pcrSelection) {
    const indices = selectedIndices(s.pcrSelect);
    if (indices.length === 0) continue;
    got.set(hashInfo(s.hash).name, indices);
  }
  const same = got.size === wanted.size && [...wanted].every(([bank, pcrs]) => {
    const g = got.get(bank);
    return g !== undefined && g.length === pcrs.length && g.every((v, i) => v === pcrs[i]);
  });
  if (!same) {
    const quoted = [...got].map(([b, p]) => `${b}:${p.join(",")}`).join("+") || "(none)";
    throw refused("quote", `the quote covers ${quoted}, not the PCRs asked for (${asked})`);
  }
}

/**
 * Runs checks 1 and 2 on a payload and makes the challenge (fresh nonce and secret, credential for the AK
 * made to the EK). Throws AttestationError (InvalidArgument for malformed input, PermissionDenied naming
 * the failed check). The returned `finish` runs checks 3-5 on the response and builds the agent's
 * attributes.
 */
export function startAttestation(config: ServerConfig, payloadBytes: Uint8Array, deps: AttestationDeps): PendingAttestation {
  // Filled in place: no second copy of the secret is left behind for the garbage collector when it is wiped.
  const random = deps.random ?? ((n: number) => randomFillSync(new Uint8Array(n)));
  const now = deps.now ?? (() => new Date());
  const payload = decode("payload", payloadBytes, (b) => fromBinary(AttestationPayloadSchema, b));
  const ek = publicArea("payload.ek_public", payload.ekPublic);
  let ekDer: Uint8Array;
  try {
    ekDer = publicToPkixDer(ek.public);
  } catch (err) {
    throw malformed("payload.ek_public", (err as Error).message, err);
  }
  const ekHash = createHash("sha256").update(ekDer).digest("hex");
  const withHash = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      if (err instanceof AttestationError) err.ekHash = ekHash;
      throw err;
    }
  };

  return withHash(() => {
    const ak = publicArea("payload.ak_public", payload.akPublic);
    // Check 1: EK trusted.
    const trusted = checkEkTrust(config, payload, ekDer, ekHash, now());
    // Check 2: AK attributes.
    try {
      verifyAkPolicy(ak.public);
    } catch (err) {
      throw fromVerifyError("ak_attributes", "payload.ak_public", err);
    }
    const nonce = random(NONCE_BYTES);
    const secret = random(SECRET_BYTES);
    let credential;
    try {
      credential = makeCredential({ ekPublic: ek.public, objectName: tpmName(ak), credential: secret });
    } catch (err) {
      if (err instanceof TpmCryptoError) throw malformed("payload.ek_public", `no credential can be made for this EK: ${err.message}`, err);
      throw err;
    }
    const challenge = toBinary(
      AttestationChallengeSchema,
      create(AttestationChallengeSchema, {
        version: PROTOCOL_VERSION,
        nonce,
        credentialBlob: credential.idObject,
        encryptedSecret: credential.encryptedSecret,
        pcrSelection: config.pcrSelection.map((s) => ({ bank: s.bank, pcrs: [...s.pcrs] })),
      }),
    );
    let used = false;

    const judge = async (responseBytes: Uint8Array): Promise<AttestationResult> => {
      const response = decode("challenge_response", responseBytes, (b) => fromBinary(ChallengeResponseSchema, b));
      // Check 3: the AK is in the TPM holding the EK.
      if (!sameBytes(response.activatedSecret, secret)) {
        throw refused("credential_activation", "the activated secret differs from the one sent (the AK is not in the TPM that holds this EK, or the response is not for this challenge)");
      }
      // Check 4: the quote.
      const { values, list } = responsePcrs(response);
      let quote: VerifiedQuote;
      try {
        quote = verifyQuoteFreshByNonce({ akPublic: ak, attest: response.quoteAttest, signature: response.quoteSignature, nonce, pcrs: values });
      } catch (err) {
        throw fromVerifyError("quote", "challenge_response", err);
      }
      checkSelection(quote, requestedSelection(config.pcrSelection), formatPcrSelection(config.pcrSelection));
      // Check 5: the PCR policy.
      if (config.pcrPolicy) {
        const ordered: PcrValues = {};
        for (const s of quote.pcrSelection) {
          const bank = hashInfo(s.hash).name;
          if (values[bank]) (ordered as Record<string, unknown>)[bank] = values[bank];
        }
        try {
          await deps.verifier.verify(
            {
              attest: response.quoteAttest,
              signature: response.quoteSignature,
              pcrBlob: encodePcrBlob(pcrBlobFromValues(ordered)),
              nonce,
              hashAlg: quote.hash,
              akPublic: asTpm2bPublic(ak.bytes),
              ekPublic: asTpm2bPublic(ek.bytes),
            },
            config.pcrPolicy,
            { signal: deps.signal },
          );
        } catch (err) {
          if (!(err instanceof VerifierError)) throw err;
          if (err.code === "permission_denied") throw refused("pcr_policy", `${err.message} (policy ${config.pcrPolicyPath})`, err);
          if (err.code === "invalid_argument") throw malformed("evidence", err.message, err);
          throw new AttestationError(Code.UNAVAILABLE, "verifier_unavailable", `PCR policy verifier unavailable: ${err.message}`, { cause: err });
        }
      }
      const orderedList = [...list].sort((a, b) => {
        const ba = quote.pcrSelection.findIndex((s) => hashInfo(s.hash).name === a.bank);
        const bb = quote.pcrSelection.findIndex((s) => hashInfo(s.hash).name === b.bank);
        return ba - bb || a.index - b.index;
      });
      const selectorValues = buildSelectors({
        ekHash,
        trustedCertificate: trusted.chained && trusted.certificate ? { certificate: trusted.certificate.certificate, tpmManufacturer: trusted.certificate.tpmManufacturer, tpmModel: trusted.certificate.tpmModel } : undefined,
        // Only an AK in the endorsement hierarchy signs the real firmware version.
        firmwareVersion: sameBytes(quote.qualifiedSigner, qualifiedNameUnderEk(ek, ak)) ? quote.firmwareVersion : undefined,
        pcrs: orderedList,
      });
      return {
        spiffeId: `spiffe://${config.trustDomain}/spire/agent/tpm_quote/${ekHash}`,
        selectorValues,
        ekHash,
        quotedPcrs: formatPcrSelection(config.pcrSelection),
        clockSafe: quote.safe,
      };
    };

    const finish = async (responseBytes: Uint8Array): Promise<AttestationResult> => {
      if (used) throw new AttestationError(Code.INVALID_ARGUMENT, "malformed", "this attestation already received its challenge response", { ekHash });
      used = true;
      try {
        return await judge(responseBytes);
      } catch (err) {
        if (err instanceof AttestationError) err.ekHash = ekHash;
        throw err;
      } finally {
        // Single use: whatever happened, this nonce and secret can never be matched again.
        nonce.fill(0);
        secret.fill(0);
      }
    };

    return { ekHash, reportedTpm: reportedTpmInfo(payload), challenge, finish };
  });
}
