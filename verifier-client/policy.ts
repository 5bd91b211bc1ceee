// Keylime's tpm_policy file format, shared by the in-process and Keylime verifiers:
//   {"<pcr>": ["<hex digest>", ...], ..., "mask": "0x..."}
// Each PCR key lists the values that PCR may have; a quote passes when every listed PCR is quoted with one
// of its values. Keylime itself ignores "mask"; we only check it agrees with the PCR keys.
import { readFileSync, statSync } from 'node:fs';
import { HASH_NAMES, type HashName, hashSize, MAX_PCR_INDEX } from '../tpm';

/** PCR indices a policy may name (a PC client TPM has PCRs 0-23): the bound verifyQuote applies. */
export { MAX_PCR_INDEX };

/** Largest policy file accepted (Keylime policies list a handful of digests per PCR). */
export const MAX_TPM_POLICY_BYTES = 1024 * 1024;
/** Most values accepted for one PCR. */
export const MAX_VALUES_PER_PCR = 4096;
/**
 * The IMA PCR. Keylime checks a quoted PCR 10 against an IMA measurement list instead of the tpm_policy
 * (an empty one when none is sent), so a policy for PCR 10 cannot mean the same in both modes.
 */
export const IMA_PCR = 10;

/** A parsed, validated TPM policy. Values are lowercase hex without a prefix, as Keylime compares them. */
export interface TpmPolicy {
  /** The bank every value belongs to, from the values' length (or the `hashAlg` option). */
  hashAlg: HashName;
  /** PCR index -> allowed values, in ascending PCR order. */
  pcrs: ReadonlyMap<number, readonly string[]>;
  /** Bit n set for each PCR n in `pcrs`. */
  mask: number;
}

/** A policy file that cannot be used; `pcr` names the PCR at fault, when one is. */
export class TpmPolicyError extends Error {
  override readonly name = 'TpmPolicyError';
  constructor(
    message: string,
    readonly pcr?: number,
  ) {
    super(message);
  }
}

export interface ParseTpmPolicyOptions {
  /** The bank quotes will use; every value must be a digest of that size. Default: inferred from the values. */
  hashAlg?: HashName;
  /** Where the text came from, for error messages (e.g. the file path). */
  source?: string;
}

const HEX = /^[0-9a-fA-F]+$/;
const PCR_KEY = /^(0|[1-9][0-9]?)$/;
const MASK = /^0x[0-9a-fA-F]{1,8}$/;

function bankForHexLength(length: number): HashName | undefined {
  return HASH_NAMES.find((name) => hashSize(name) * 2 === length);
}

/**
 * Parses Keylime tpm_policy JSON text (untrusted) into a TpmPolicy.
 * Checks: a JSON object of at most MAX_TPM_POLICY_BYTES; keys are "mask" or decimal PCR indices 0-23
 * (not 10, the IMA PCR); each PCR lists 1..MAX_VALUES_PER_PCR hex strings, all of one bank's digest length
 * (the `hashAlg` option's, when given); at least one PCR; "mask", when present, is "0x<hex>" with exactly
 * the bits of the listed PCRs. Values are lowercased and de-duplicated.
 * Throws TpmPolicyError naming the PCR (or key) at fault.
 */
export function parseTpmPolicy(text: string, options: ParseTpmPolicyOptions = {}): TpmPolicy {
  const where = options.source ? `tpm policy ${options.source}` : 'tpm policy';
  if (Buffer.byteLength(text, 'utf8') > MAX_TPM_POLICY_BYTES) {
    throw new TpmPolicyError(`${where}: larger than ${MAX_TPM_POLICY_BYTES} bytes`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new TpmPolicyError(`${where}: not valid JSON: ${(e as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new TpmPolicyError(`${where}: must be a JSON object of PCR index -> list of hex values`);
  }

  let hashAlg = options.hashAlg;
  let hashAlgFrom = hashAlg ? `the configured bank ${hashAlg}` : '';
  let maskText: string | undefined;
  const entries: [number, string[]][] = [];

  for (const [key, value] of Object.entries(doc as Record<string, unknown>)) {
    if (key === 'mask') {
      if (typeof value !== 'string' || !MASK.test(value)) {
        throw new TpmPolicyError(`${where}: "mask" must be a string "0x<hex>", got ${JSON.stringify(value)}`);
      }
      maskText = value;
      continue;
    }
    if (!PCR_KEY.test(key) || Number(key) > MAX_PCR_INDEX) {
      throw new TpmPolicyError(
        `${where}: key ${JSON.stringify(key)} is neither "mask" nor a PCR index 0-${MAX_PCR_INDEX} in decimal`,
      );
    }
    const pcr = Number(key);
    if (pcr === IMA_PCR) {
      throw new TpmPolicyError(
        `${where}: PCR ${IMA_PCR} is the IMA PCR; Keylime checks it against an IMA measurement list, which ` +
          'tpm_quote does not send, so it cannot be in a tpm policy',
        pcr,
      );
    }
    if (!Array.isArray(value) || value.length === 0) {
      throw new TpmPolicyError(`${where}: PCR ${pcr} must list at least one hex value`, pcr);
    }
    if (value.length > MAX_VALUES_PER_PCR) {
      throw new TpmPolicyError(`${where}: PCR ${pcr} lists more than ${MAX_VALUES_PER_PCR} values`, pcr);
    }
    const values: string[] = [];
    for (const [i, v] of value.entries()) {
      if (typeof v !== 'string' || !HEX.test(v)) {
        throw new TpmPolicyError(
          `${where}: PCR ${pcr} value ${i} must be a hex string without "0x", got ${JSON.stringify(v)}`,
          pcr,
        );
      }
      const bank = bankForHexLength(v.length);
      if (!bank) {
        throw new TpmPolicyError(
          `${where}: PCR ${pcr} value ${i} has ${v.length} hex digits, which is no bank's digest size ` +
            '(sha1 40, sha256 64, sha384 96, sha512 128)',
          pcr,
        );
      }
      if (!hashAlg) {
        hashAlg = bank;
        hashAlgFrom = `PCR ${pcr} value ${i}`;
      } else if (bank !== hashAlg) {
        throw new TpmPolicyError(
          `${where}: PCR ${pcr} value ${i} is a ${bank} digest (${v.length} hex digits) but the policy is ` +
            `for ${hashAlg} (${hashSize(hashAlg) * 2} hex digits, from ${hashAlgFrom})`,
          pcr,
        );
      }
      const lower = v.toLowerCase();
      if (!values.includes(lower)) values.push(lower);
    }
    entries.push([pcr, values]);
  }

  if (entries.length === 0 || !hashAlg) {
    throw new TpmPolicyError(`${where}: lists no PCR (an empty policy would accept any PCR values)`);
  }
  entries.sort((a, b) => a[0] - b[0]);
  let mask = 0;
  for (const [pcr] of entries) mask |= 1 << pcr;
  if (maskText !== undefined) {
    const given = parseInt(maskText.slice(2), 16);
    if (given !== mask) {
      const extra: number[] = [];
      const missing: number[] = [];
      for (let pcr = 0; pcr < 32; pcr++) {
        const bit = 2 ** pcr;
        const inGiven = Math.floor(given / bit) % 2 === 1;
        const inPolicy = (mask & (1 << pcr)) !== 0;
        if (inGiven && !inPolicy) extra.push(pcr);
        if (!inGiven && inPolicy) missing.push(pcr);
      }
      const parts = [];
      if (missing.length) parts.push(`lacks PCR ${missing.join(', ')}`);
      if (extra.length) parts.push(`sets PCR ${extra.join(', ')}, which the policy does not list`);
      throw new TpmPolicyError(
        `${where}: "mask" ${maskText} ${parts.join(' and ')} (expected 0x${mask.toString(16)})`,
        missing[0] ?? extra[0],
      );
    }
  }
  return { hashAlg, pcrs: new Map(entries), mask };
}

/** Reads and parses a tpm_policy file (see parseTpmPolicy). The size is checked before the file is read. */
export function loadTpmPolicyFile(path: string, options: Omit<ParseTpmPolicyOptions, 'source'> = {}): TpmPolicy {
  let text: string;
  try {
    const size = statSync(path).size;
    if (size > MAX_TPM_POLICY_BYTES) {
      throw new TpmPolicyError(`tpm policy ${path}: larger than ${MAX_TPM_POLICY_BYTES} bytes`);
    }
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (e instanceof TpmPolicyError) throw e;
    throw new TpmPolicyError(`tpm policy ${path}: cannot read: ${(e as Error).message}`);
  }
  return parseTpmPolicy(text, { ...options, source: path });
}

/** The policy in Keylime's tpm_policy JSON form (PCR keys ascending, then "mask"), as sent to a verifier. */
export function formatTpmPolicy(policy: TpmPolicy): string {
  const doc: Record<string, unknown> = {};
  for (const [pcr, values] of policy.pcrs) doc[String(pcr)] = [...values];
  doc.mask = `0x${policy.mask.toString(16)}`;
  return JSON.stringify(doc);
}

/** One way quoted PCR values fail a policy. */
export type TpmPolicyMismatch =
  { kind: 'invalid_pcr'; pcr: number; got: string; expected: readonly string[] } | { kind: 'missing_pcr'; pcr: number };

/**
 * Compares quoted PCR values (PCR index -> lowercase hex, from a quote whose signature, nonce and PCR digest
 * the caller has ALREADY verified) with the policy, as Keylime does: every policy PCR must be quoted with one of
 * its values; quoted PCRs outside the policy are ignored. Returns the mismatches in PCR order (empty: passes).
 * Does not check the bank: the caller owes that `quoted` is from `policy.hashAlg`'s bank.
 */
export function evaluateTpmPolicy(policy: TpmPolicy, quoted: ReadonlyMap<number, string>): TpmPolicyMismatch[] {
  const out: TpmPolicyMismatch[] = [];
  for (const [pcr, allowed] of policy.pcrs) {
    const got = quoted.get(pcr);
    if (got === undefined) out.push({ kind: 'missing_pcr', pcr });
    else if (!allowed.includes(got.toLowerCase())) out.push({ kind: 'invalid_pcr', pcr, got, expected: allowed });
  }
  return out;
}
