// verifier-client: one Verifier interface for the server plugin; the Keylime implementation; the tpm policy loader.
export { VerifierError, type VerifierErrorCode, type VerifierFailure, type VerifierErrorOptions } from './errors';
export { type QuoteEvidence, type Verifier, type VerifierVerdict, type VerifyOptions } from './types';
export {
  IMA_PCR,
  MAX_PCR_INDEX,
  MAX_TPM_POLICY_BYTES,
  MAX_VALUES_PER_PCR,
  TpmPolicyError,
  evaluateTpmPolicy,
  formatTpmPolicy,
  loadTpmPolicyFile,
  parseTpmPolicy,
  type ParseTpmPolicyOptions,
  type TpmPolicy,
  type TpmPolicyMismatch,
} from './policy';
export {
  DEFAULT_KEYLIME_MAX_RESPONSE_BYTES,
  DEFAULT_KEYLIME_TIMEOUT_MS,
  createKeylimeVerifier,
  createKeylimeVerifierFromFiles,
  keylimeEvidenceBody,
  type KeylimeVerifier,
  type KeylimeVerifierFileOptions,
  type KeylimeVerifierOptions,
} from './keylime';
export { GATED_VERIFIER, createGatedVerifier, verifyForGate } from './gated';
export { IN_PROCESS_VERIFIER, createInProcessVerifier, verifyQuoteFreshByNonce } from './in-process';
