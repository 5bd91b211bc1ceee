// The in-process verifier: judges quote evidence against a Keylime tpm_policy inside the server plugin,
// without any network. Unlike Keylime it takes the PCR numbers from the SIGNED selection, and refuses a
// signature that does not verify.
import {
  parsePcrBlob,
  pcrBlobToValues,
  type PcrValues,
  TpmVerifyError,
  type VerifiedQuote,
  verifyQuote,
  type VerifyQuoteOptions,
} from '../tpm';
import { VerifierError } from './errors';
import { evaluateTpmPolicy, type TpmPolicy, type TpmPolicyMismatch } from './policy';
import type { QuoteEvidence, Verifier, VerifierVerdict, VerifyOptions } from './types';

/**
 * verifyQuote as the plugin needs it: every check but clockInfo.safe, since freshness comes from the server's
 * single-use nonce (see VerifyQuoteOptions.requireSafeClock); the result says whether the clock was safe.
 */
export function verifyQuoteFreshByNonce(options: VerifyQuoteOptions): VerifiedQuote {
  // Fields listed, not spread (a spread of caller objects of varying shapes is slow at every attestation);
  // `satisfies` makes a field added to VerifyQuoteOptions a compile error here until it is passed on.
  const { akPublic, attest, signature, nonce, pcrs } = options;
  return verifyQuote({
    akPublic,
    attest,
    signature,
    nonce,
    pcrs,
    requireSafeClock: false,
  } satisfies Required<VerifyQuoteOptions>);
}

/** Name the verdicts carry. */
export const IN_PROCESS_VERIFIER = 'in_process';

function describe(m: TpmPolicyMismatch, bank: string): string {
  if (m.kind === 'missing_pcr') return `PCR ${bank}:${m.pcr} is in the policy but not quoted`;
  return `PCR ${bank}:${m.pcr} is ${m.got}, the policy allows ${m.expected.length === 1 ? m.expected[0] : `one of ${m.expected.join(', ')}`}`;
}

/**
 * Judges verified PCR values against a Keylime tpm_policy: the quote covers the policy's bank and every PCR of
 * the policy is quoted with one of its values. Throws permission_denied with failures typed as Keylime types
 * them (`pcr_validation.invalid_pcr_<n>`, `pcr_validation.missing_pcrs`). The caller owes the quote check:
 * `pcrs` must be values verifyQuote accepted for `quote`.
 */
export function checkTpmPolicy(policy: TpmPolicy, quote: VerifiedQuote, pcrs: PcrValues): void {
  const bank = pcrs[policy.hashAlg];
  if (!quote.pcrSelection.some((s) => s.pcrSelect.some((b) => b !== 0)) || !bank) {
    const failures = [...policy.pcrs.keys()].map((pcr) => ({
      type: 'pcr_validation.missing_pcrs',
      context: { pcr, bank: policy.hashAlg },
    }));
    throw new VerifierError('permission_denied', `PCR policy: the quote has no ${policy.hashAlg} PCR`, { failures });
  }
  const values = new Map<number, string>();
  for (const [k, v] of Object.entries(bank)) values.set(Number(k), Buffer.from(v).toString('hex'));
  const mismatches = evaluateTpmPolicy(policy, values);
  if (mismatches.length > 0) {
    const failures = mismatches.map((m) => ({
      type: m.kind === 'missing_pcr' ? 'pcr_validation.missing_pcrs' : `pcr_validation.invalid_pcr_${m.pcr}`,
      context: m,
    }));
    throw new VerifierError(
      'permission_denied',
      `PCR policy: ${mismatches.map((m) => describe(m, policy.hashAlg)).join('; ')}`,
      { failures },
    );
  }
}

/**
 * Checks quote evidence in this process. In order: the pcrblob decodes (invalid_argument); the quote
 * verifies (signature by the AK, magic, type, extraData == nonce, PCR digest over exactly the quoted PCRs:
 * permission_denied, or invalid_argument when undecodable; clockInfo.safe is not required, see
 * verifyQuoteFreshByNonce); the quote covers the policy's bank;
 * every PCR of the policy is quoted with one of its values (permission_denied, failures typed
 * `pcr_validation.invalid_pcr_<n>` / `pcr_validation.missing_pcrs` as Keylime types them).
 * Does NOT check the AK's attributes, that the AK belongs to a trusted EK, nor the secret of credential
 * activation: the caller owes those (the server plugin makes them before calling).
 */
export function createInProcessVerifier(): Verifier {
  return {
    async verify(evidence: QuoteEvidence, policy: TpmPolicy, options: VerifyOptions = {}): Promise<VerifierVerdict> {
      if (options.signal?.aborted) throw new VerifierError('unavailable', 'verification cancelled');
      let quoted;
      try {
        const pcrs = pcrBlobToValues(parsePcrBlob(evidence.pcrBlob));
        quoted = verifyQuoteFreshByNonce({
          akPublic: evidence.akPublic,
          attest: evidence.attest,
          signature: evidence.signature,
          nonce: evidence.nonce,
          pcrs,
        });
        checkTpmPolicy(policy, quoted, pcrs);
      } catch (err) {
        if (err instanceof VerifierError) throw err;
        if (err instanceof TpmVerifyError) {
          throw new VerifierError(err.kind === 'malformed' ? 'invalid_argument' : 'permission_denied', err.message, {
            failures: [{ type: `quote_validation.${err.code.toLowerCase()}`, context: {} }],
            cause: err,
          });
        }
        throw err;
      }
      return { verifier: IN_PROCESS_VERIFIER, claims: { hashAlg: policy.hashAlg, pcrs: [...policy.pcrs.keys()] } };
    },
    close() {},
  };
}
