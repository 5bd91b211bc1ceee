// The verifier interface the server plugin uses; the in-process and Keylime verifiers implement it.
import type { HashName } from '../tpm';
import type { TpmPolicy } from './policy';

/** A TPM quote as the agent plugin carried it, with what the server knows about it. All bytes are untrusted. */
export interface QuoteEvidence {
  /** Marshalled TPMS_ATTEST, as TPM2_Quote returned it in `quoted` (without the TPM2B size). */
  attest: Uint8Array;
  /** Marshalled TPMT_SIGNATURE over `attest`. */
  signature: Uint8Array;
  /** The quoted PCR values in tpm2-tools' in-memory layout (Keylime's "pcrblob"; docs/design.md section 6). */
  pcrBlob: Uint8Array;
  /** The server's fresh nonce: `attest.extraData` must equal these bytes. */
  nonce: Uint8Array;
  /** Bank quoted and hash of the signature. */
  hashAlg: HashName;
  /** The AK's TPM2B_PUBLIC (size prefix included). */
  akPublic: Uint8Array;
  /** The EK's TPM2B_PUBLIC (size prefix included). */
  ekPublic: Uint8Array;
  /**
   * The TCG event log the node sent, when the caller has already replayed it against these PCRs. Keylime mode
   * sends it as Keylime's measured-boot evidence (`mb_log`) when a reference state is configured.
   */
  eventLog?: Uint8Array;
}

/** A positive verdict. Negative verdicts are never returned: they are thrown as VerifierError. */
export interface VerifierVerdict {
  /** Which verifier judged, e.g. "keylime https://127.0.0.1:8881". */
  verifier: string;
  /** What the verifier claims about the evidence (Keylime's `results.claims`), for logs only. */
  claims: unknown;
}

export interface VerifyOptions {
  /** Cancels the verification; a cancelled verification rejects (never accepts). */
  signal?: AbortSignal;
}

/**
 * One way to judge quote evidence against a TPM policy.
 * `verify` resolves only when the evidence passed; otherwise it rejects with a VerifierError whose `code`
 * says why ('permission_denied', 'invalid_argument' or 'unavailable').
 */
export interface Verifier {
  verify(evidence: QuoteEvidence, policy: TpmPolicy, options?: VerifyOptions): Promise<VerifierVerdict>;
  /** Releases connections and timers. */
  close(): void;
}
