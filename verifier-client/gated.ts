// Keylime mode's verification path: our own cryptographic checks of the quote first, then a policy verifier
// (Keylime) as a second gate. Both must pass. Why both: Keylime 7.14.3's /verify/evidence does not report a
// signature that fails to verify (with a mask-only policy it answers valid) and takes PCR numbers from the
// unsigned pcrblob (docs/keylime.md, "Observed behaviour" and the differential table).
import {
  bankName,
  encodePcrBlob,
  parsePcrBlob,
  pcrBlobToValues,
  pcrSelection,
  type PcrValues,
  selectedPcrs,
  TpmVerifyError,
  type VerifiedQuote,
} from '../tpm';
import { VerifierError } from './errors';
import { verifyQuoteFreshByNonce } from './in-process';
import type { TpmPolicy } from './policy';
import type { QuoteEvidence, Verifier, VerifierVerdict, VerifyOptions } from './types';

/** Name the verdicts of a gated verifier carry before the gate's own name. */
export const GATED_VERIFIER = 'in_process quote checks + ';

/**
 * The evidence as the gate must see it, after our checks: the pcrblob re-encoded from the values the signed
 * selection covers (banks and indices in signed order, tpm2-tools layout, zeroed padding), so the PCR numbers
 * the gate reads are the signed ones, never labels the sender chose.
 * Checks, in order (each its own VerifierError, no network):
 *  1. the pcrblob decodes (invalid_argument, `quote_validation.keylime_quote_malformed`);
 *  2. verifyQuote without the clock-safe check (verifyQuoteFreshByNonce): AK and signature decode, scheme
 *     fits the AK, signature verifies, magic, type, extraData == nonce (constant time), every quoted PCR has
 *     a value and every value is quoted, PCR digest (permission_denied, or invalid_argument when undecodable;
 *     failure type `quote_validation.<code>`);
 *  3. `evidence.hashAlg` is the signature's hash (permission_denied, `quote_validation.hash_alg`);
 *  4. exactly one bank is quoted and it is the signature's hash bank, the only bank Keylime handles
 *     (invalid_argument, `quote_validation.bank`);
 *  5. the policy is for that bank (invalid_argument, `quote_validation.policy_bank`).
 * Does NOT check the PCR policy, the AK's attributes, the AK-EK link or credential activation: the gate
 * owes the first, the server plugin the rest (it makes them before calling).
 */
export function verifyForGate(
  evidence: QuoteEvidence,
  policy: TpmPolicy,
): { evidence: QuoteEvidence; quote: VerifiedQuote } {
  const refuse = (
    code: 'permission_denied' | 'invalid_argument',
    type: string,
    message: string,
    cause?: unknown,
  ): VerifierError => new VerifierError(code, message, { failures: [{ type, context: {} }], cause });
  let values: PcrValues;
  let quote: VerifiedQuote;
  try {
    values = pcrBlobToValues(parsePcrBlob(evidence.pcrBlob));
    quote = verifyQuoteFreshByNonce({
      akPublic: evidence.akPublic,
      attest: evidence.attest,
      signature: evidence.signature,
      nonce: evidence.nonce,
      pcrs: values,
    });
  } catch (err) {
    if (err instanceof TpmVerifyError) {
      throw refuse(
        err.kind === 'malformed' ? 'invalid_argument' : 'permission_denied',
        `quote_validation.${err.code.toLowerCase()}`,
        `quote: ${err.message} (${err.code})`,
        err,
      );
    }
    throw err;
  }
  if (evidence.hashAlg !== quote.hash) {
    throw refuse(
      'permission_denied',
      'quote_validation.hash_alg',
      `quote: the evidence says hash_alg ${evidence.hashAlg}, but the quote is signed with ${quote.hash}`,
    );
  }
  const banks = quote.pcrSelection.filter((s) => selectedPcrs(s).length > 0);
  const bankNames = banks.map((s) => bankName(s.hash));
  if (banks.length !== 1 || bankNames[0] !== quote.hash) {
    throw refuse(
      'invalid_argument',
      'quote_validation.bank',
      `quote: covers the ${bankNames.join('+') || '(no)'} bank${banks.length === 1 ? '' : 's'}; Keylime mode needs exactly one, the ${quote.hash} bank of the signature`,
    );
  }
  if (policy.hashAlg !== quote.hash) {
    throw refuse(
      'invalid_argument',
      'quote_validation.policy_bank',
      `quote: covers the ${quote.hash} bank, but the tpm policy lists ${policy.hashAlg} values`,
    );
  }
  // Values in signed order only: verifyQuote proved the supplied set equals the quoted set.
  const bank = values[quote.hash]!;
  const indices = selectedPcrs(banks[0]);
  const pcrBlob = encodePcrBlob({
    selections: [pcrSelection(banks[0].hash, indices)],
    values: indices.map((i) => bank[i]),
  });
  return { evidence: { ...evidence, pcrBlob }, quote };
}

/**
 * Creates the Keylime-mode verifier the server plugin uses: `verifyForGate` (our checks of the quote; any
 * failure refuses without asking the gate), then `gate.verify` on the re-encoded evidence (Keylime: the PCR
 * policy). Resolves only when both pass; the gate's VerifierError (permission_denied listing its failures,
 * invalid_argument, unavailable naming its URL) is passed on unchanged, so it never accepts on an error.
 * Does NOT check the AK's attributes, the AK-EK link or credential activation (the caller owes them).
 * `close()` closes the gate.
 */
export function createGatedVerifier(gate: Verifier): Verifier {
  return {
    async verify(evidence: QuoteEvidence, policy: TpmPolicy, options: VerifyOptions = {}): Promise<VerifierVerdict> {
      if (options.signal?.aborted) throw new VerifierError('unavailable', 'verification cancelled');
      const checked = verifyForGate(evidence, policy);
      const verdict = await gate.verify(checked.evidence, policy, options);
      return { verifier: `${GATED_VERIFIER}${verdict.verifier}`, claims: verdict.claims };
    },
    close() {
      gate.close();
    },
  };
}
