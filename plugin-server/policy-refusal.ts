// What the caller is told about a verifier's refusal (PCR policy, Keylime's measured boot): which of its own
// PCRs failed, or the verifier's failure types. Never the values the policy allows, the policy file or the
// verifier's URL: those go to the server's log only. Also which Keylime refusals are the verifier's own fault.
import { VerifierError } from '../verifier-client';
import { type AttestationError, verifierUnavailable } from './attestation-error';

// Keylime's failure types (the in-process verifier types its failures the same way).
const INVALID_PCR = /^pcr_validation\.invalid_pcr_([0-9]{1,2})$/;
const MISSING_PCRS = 'pcr_validation.missing_pcrs';
// Keylime's measured-boot component: its replay of the log, its parser, its policy's verdict; and ours when the
// log is missing.
const MEASURED_BOOT = 'measured_boot.';
// Keylime's measured-boot parser (tpm2_eventlog, then libefivar's enrichment): its failures mean the verifier
// could not read the log, not that the log broke anything (Keylime 7.14.3 mba/elparsing/tpm2_tools_elparser.py).
const MEASURED_BOOT_PARSER = 'measured_boot.parser.';
// A failure type is the verifier's vocabulary, not server data; still bounded and plain before it is echoed.
const PLAIN_TYPE = /^[a-z0-9_.]{1,64}$/;

function pcrOf(context: unknown): number | undefined {
  const pcr = (context as { pcr?: unknown } | null)?.pcr;
  return typeof pcr === 'number' && Number.isInteger(pcr) && pcr >= 0 && pcr < 64 ? pcr : undefined;
}

/**
 * The caller's version of a check-5 refusal by a verifier: "PCR sha256:7 is not allowed" per PCR whose value
 * the policy does not allow, "PCR sha256:7 was not quoted" per policy PCR missing from the quote, or the
 * verifier's failure types; `bank` is the policy's bank.
 */
export function policyRefusalForCaller(err: unknown, bank: string): string {
  const failures = err instanceof VerifierError ? err.failures : [];
  const said = new Set<string>();
  for (const f of failures) {
    const invalid = INVALID_PCR.exec(f.type);
    if (invalid) said.add(`PCR ${bank}:${Number(invalid[1])} is not allowed`);
    else if (f.type === MISSING_PCRS) {
      const pcr = pcrOf(f.context);
      said.add(pcr === undefined ? 'a PCR the policy lists was not quoted' : `PCR ${bank}:${pcr} was not quoted`);
    } else said.add(`the verifier refused the evidence (${PLAIN_TYPE.test(f.type) ? f.type : 'unnamed failure'})`);
  }
  return said.size > 0 ? [...said].join('; ') : 'the verifier refused the evidence';
}

const failuresOf = (err: unknown) => (err instanceof VerifierError ? err.failures : []);

/** Which check a verifier's refusal belongs to (classifyVerifierRefusal). */
export type VerifierRefusalKind = 'pcr_policy' | 'boot_policy' | 'boot_log_unparsed';

/**
 * Which check a verifier's refusal is, from its failure types: `boot_policy` when it lists a measured-boot
 * failure other than Keylime's parser's (Keylime, or our client, judged the boot log against the reference
 * state); `boot_log_unparsed` when it is a verdict listing only failures of Keylime's measured-boot parser
 * (`measured_boot.parser.*`, e.g. `bootlog_enrich` when the verifier's libefivar.so.1 does not load, or
 * `tpm2_eventlog.error`): the verifier could not read a log this plugin already parsed and replayed and judged
 * nothing of the boot; `pcr_policy` otherwise, including PCR failures next to a parser failure.
 */
export function classifyVerifierRefusal(err: unknown): VerifierRefusalKind {
  const failures = failuresOf(err);
  const boot = failures.filter((f) => f.type.startsWith(MEASURED_BOOT));
  const parser = boot.filter((f) => f.type.startsWith(MEASURED_BOOT_PARSER));
  if (boot.length > parser.length) return 'boot_policy';
  if (parser.length === 0 || parser.length < failures.length) return 'pcr_policy';
  // Only an answered verdict is the verifier's own parser failing; other codes keep their mapping.
  return (err as VerifierError).code === 'permission_denied' ? 'boot_log_unparsed' : 'boot_policy';
}

// The measured-boot failure types of a refusal, each once, bounded and plain.
const measuredBootTypes = (err: unknown): string =>
  [
    ...new Set(
      failuresOf(err)
        .filter((f) => f.type.startsWith(MEASURED_BOOT))
        .map((f) => (PLAIN_TYPE.test(f.type) ? f.type : 'unnamed failure')),
    ),
  ].join(', ');

/**
 * The caller's version of a measured-boot refusal by Keylime: its measured-boot failure types only. Keylime's
 * reason quotes the reference state (allowed digests, keys, command-line patterns), so it goes to the
 * server's log alone.
 */
export function bootRefusalForCaller(err: unknown): string {
  return `the verifier refused the boot log against its measured-boot reference state (${measuredBootTypes(err)})`;
}

/** What an operator of the verifier host should look at when Keylime's parser fails on every log. */
const PARSER_FAILURE_HINT = 'the verifier host may lack libefivar1 or tpm2-tools (docs/keylime.md)';

/**
 * The refusal for a `boot_log_unparsed` verdict (classifyVerifierRefusal): Unavailable, reason
 * `verifier_unavailable`, because the verifier could not evaluate the log; the boot was not judged, so it is
 * not blamed, and the attestation is still refused (fail closed). The caller is told the check and the parser's
 * failure types; the server's log keeps Keylime's whole reason, `refstatePath` and a hint for the verifier host.
 */
export function bootLogUnparsedRefusal(err: VerifierError, refstatePath?: string): AttestationError {
  const state = refstatePath === undefined ? '' : ` (reference state ${refstatePath})`;
  return verifierUnavailable(
    'boot_policy',
    `${err.message}${state}; ${PARSER_FAILURE_HINT}`,
    `the verifier's boot log parser failed (${measuredBootTypes(err)}); the boot was not judged`,
    err,
  );
}
