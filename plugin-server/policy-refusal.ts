// What the caller is told about a verifier's refusal (PCR policy, Keylime's measured boot): which of its own
// PCRs failed, or the verifier's failure types. Never the values the policy allows, the policy file or the
// verifier's URL: those go to the server's log only. Also which Keylime refusals are the verifier's own fault.
import { Code } from '../plugin-sdk';
import { VerifierError } from '../verifier-client';
import { AttestationError } from './attestation-error';

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

/** Whether a verifier refusal lists a measured-boot failure (Keylime judged the boot log against its state). */
export function isMeasuredBootRefusal(err: unknown): boolean {
  return failuresOf(err).some((f) => f.type.startsWith(MEASURED_BOOT));
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
export const PARSER_FAILURE_HINT = 'the verifier host may lack libefivar1 or tpm2-tools (docs/keylime.md)';

/**
 * The refusal for a Keylime verdict that lists only failures of its measured-boot parser
 * (`measured_boot.parser.*`, e.g. `bootlog_enrich` when libefivar.so.1 does not load, `tpm2_eventlog.error`):
 * Unavailable, reason `verifier_unavailable`, because the verifier could not evaluate a log this plugin already
 * parsed and replayed; the boot was not judged, so it is not blamed. Still a refusal (fail closed). The caller
 * is told the check and the failure types; the server's log keeps Keylime's whole reason, `refstatePath` and a
 * hint for the verifier host. Returns undefined for anything else: a verdict that lists any other failure
 * (a policy or replay failure, a PCR) stays the PermissionDenied it was, and a non-Keylime error is not ours.
 */
export function verifierParserRefusal(err: unknown, refstatePath?: string): AttestationError | undefined {
  if (!(err instanceof VerifierError) || err.code !== 'permission_denied') return undefined;
  const failures = err.failures;
  if (failures.length === 0 || !failures.every((f) => f.type.startsWith(MEASURED_BOOT_PARSER))) return undefined;
  const title = 'boot policy verifier unavailable: ';
  const state = refstatePath === undefined ? '' : ` (reference state ${refstatePath})`;
  return new AttestationError(
    Code.UNAVAILABLE,
    'verifier_unavailable',
    `${title}${err.message}${state}; ${PARSER_FAILURE_HINT}`,
    {
      cause: err,
      publicMessage: `${title}the verifier's boot log parser failed (${measuredBootTypes(err)}); the boot was not judged`,
    },
  );
}
