// What the caller is told about a PCR policy refusal (check 5): which of its own PCRs failed, from the
// verifier's typed failures. Never the values the policy allows, the policy file or the verifier's URL:
// those go to the server's log only.
import { VerifierError } from '../verifier-client';

// Keylime's failure types (the in-process verifier types its failures the same way).
const INVALID_PCR = /^pcr_validation\.invalid_pcr_([0-9]{1,2})$/;
const MISSING_PCRS = 'pcr_validation.missing_pcrs';
// Keylime's measured-boot component: its replay of the log, its parser, its policy's verdict; and ours when the
// log is missing.
const MEASURED_BOOT = 'measured_boot.';
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

/**
 * The caller's version of a measured-boot refusal by Keylime: its measured-boot failure types only. Keylime's
 * reason quotes the reference state (allowed digests, keys, command-line patterns), so it goes to the
 * server's log alone.
 */
export function bootRefusalForCaller(err: unknown): string {
  const types = [
    ...new Set(
      failuresOf(err)
        .filter((f) => f.type.startsWith(MEASURED_BOOT))
        .map((f) => (PLAIN_TYPE.test(f.type) ? f.type : 'unnamed failure')),
    ),
  ];
  return `the verifier refused the boot log against its measured-boot reference state (${types.join(', ')})`;
}
