// Differential test: the same evidence + tpm_policy cases judged three ways, on real swtpm quotes made with
// tpm2-tools and a real keylime_verifier 7.14.3:
//   (a) in-process: createInProcessVerifier, the server plugin's in_process mode (tpm/verify's verifyQuote +
//       the Keylime-semantics policy evaluation);
//   (b) Keylime alone: the Keylime client, evidence posted as given;
//   (c) Keylime mode: createGatedVerifier(Keylime client), the function the server plugin calls in
//       verifier = "keylime" mode (our quote checks, then Keylime's verdict as a second gate).
// (a) and (c) must refuse every bad case. Where (b) differs (accepts a bad case, or refuses it for another
// reason than the real one), `expectedKeylimeAlone` records what Keylime really answers and `why` explains it;
// docs/keylime.md repeats the table. Needs scripts/install-keylime.sh and scripts/install-tpm-tools.sh.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  VerifierError,
  createGatedVerifier,
  createInProcessVerifier,
  createKeylimeVerifierFromFiles,
  parseTpmPolicy,
  type KeylimeVerifier,
  type QuoteEvidence,
  type TpmPolicy,
  type Verifier,
} from '../../verifier-client';
import { encodePcrBlob, parsePcrBlob } from '../../tpm/keylime/pcr-blob';
import { pcrSelection, selectedPcrs } from '../../tpm/types/pcr';
import { startSwtpm, type Swtpm } from '../helpers/swtpm';
import {
  createToolsAk,
  startKeylimeVerifier,
  toolsPcrExtend,
  toolsPcrRead,
  toolsQuote,
  type KeylimeVerifierProcess,
  type ToolsAk,
} from '../helpers/keylime';

jest.setTimeout(120_000);

const ALL = [0, 1, 2, 3, 4, 5, 6, 7];

interface Ctx {
  rsa: ToolsAk;
  ecc: ToolsAk;
  otherRsa: ToolsAk;
  otherEcc: ToolsAk;
  /** sha256 / sha1 values of PCRs 0-8 and 16, lowercase hex. */
  sha256: Map<number, string>;
  sha1: Map<number, string>;
  /** RSA and ECC quotes over sha256:0-7 (each its own nonce). */
  qRsa: QuoteEvidence;
  qEcc: QuoteEvidence;
  /** RSA quotes: sha256:0-6; sha1:0-7 signed with SHA-256; sha1:0-7 + sha256:0-7; an earlier challenge's quote. */
  qRsa0to6: QuoteEvidence;
  qRsaSha1Bank: QuoteEvidence;
  qRsaTwoBanks: QuoteEvidence;
  qRsaOld: QuoteEvidence;
}

type Outcome = 'accept' | string; // 'accept', or '<code>: <failure types, sorted, comma-separated>'

interface Case {
  name: string;
  /** A bad case: (a) and (c) must refuse it. */
  bad: boolean;
  make(c: Ctx): { evidence: QuoteEvidence; policy: TpmPolicy };
  /** (a)'s outcome. */
  inProcess: Outcome;
  /** (c)'s outcome, and who refused: our checks ('ours', Keylime never asked) or Keylime's verdict ('keylime'). */
  keylimeMode: Outcome;
  gatedBy?: 'ours' | 'keylime';
  /** (b)'s outcome as Keylime 7.14.3 really answers. */
  expectedKeylimeAlone: Outcome;
  /** Set when (b) differs from the right answer: 'verdict' (accepts a bad case) or 'reason' (refuses, for a wrong reason). */
  keylimeAloneDiffers?: 'verdict' | 'reason';
  /** Why (b) differs. */
  why?: string;
}

// ---- evidence helpers (tpm2-tools, independent of our TPM code) ----

let swtpm: Swtpm;
const makeAk = (alg: 'rsa' | 'ecc'): ToolsAk => createToolsAk(swtpm, alg);
/** tpm2_quote over `selection` (e.g. "sha256:0,1"), signed with SHA-256, with a fresh 32-byte nonce. */
const quote = (ak: ToolsAk, selection: string): QuoteEvidence =>
  toolsQuote(swtpm, ak, { nonce: randomBytes(32), selection });

// ---- byte surgery ----

/** Offsets of TPMS_ATTEST fields (TPM 2.0 Part 2, 10.12.12) in a quote's attest bytes. */
function attestOffsets(a: Uint8Array) {
  const v = Buffer.from(a);
  const qs = 6;
  const ed = qs + 2 + v.readUInt16BE(qs);
  const clock = ed + 2 + v.readUInt16BE(ed);
  const fw = clock + 17;
  const sel = fw + 8; // TPML_PCR_SELECTION: u32 count, then hash u16, size u8, select[size]
  const firstSelect = sel + 4 + 3;
  const digest = firstSelect + v[sel + 6]; // TPM2B_DIGEST pcrDigest
  return {
    magic: 0,
    type: 4,
    qualifiedSigner: qs + 2,
    extraData: ed + 2,
    clock,
    resetCount: clock + 8,
    safe: clock + 16,
    firmwareVersion: fw,
    firstSelect,
    pcrDigest: digest + 2,
  };
}

function flip(bytes: Uint8Array, at: number, mask = 0x01): Uint8Array {
  const out = Uint8Array.from(bytes);
  out[at] ^= mask;
  return out;
}

function withAttest(e: QuoteEvidence, field: keyof ReturnType<typeof attestOffsets>, mask = 0x01): QuoteEvidence {
  return { ...e, attest: flip(e.attest, attestOffsets(e.attest)[field], mask) };
}

/** Rewrites the pcrblob: `edit` gets the sha256 values by index and returns the values and indices to claim. */
function withBlob(e: QuoteEvidence, edit: (values: Map<number, Uint8Array>) => Map<number, Uint8Array>): QuoteEvidence {
  const blob = parsePcrBlob(e.pcrBlob);
  const sel = blob.selections[0];
  const values = new Map(selectedPcrs(sel).map((i, k) => [i, blob.values[k]]));
  const edited = edit(values);
  const indices = [...edited.keys()].sort((x, y) => x - y);
  return {
    ...e,
    pcrBlob: encodePcrBlob({
      selections: [pcrSelection(sel.hash, indices)],
      values: indices.map((i) => edited.get(i)!),
    }),
  };
}

// ---- policies ----

const policyOf = (doc: Record<string, string[]>): TpmPolicy => parseTpmPolicy(JSON.stringify(doc));
function exact(values: Map<number, string>, pcrs = ALL, override: Record<number, string[]> = {}): TpmPolicy {
  const doc: Record<string, string[]> = {};
  for (const p of pcrs) doc[String(p)] = [values.get(p)!];
  for (const [p, v] of Object.entries(override)) doc[p] = v;
  return policyOf(doc);
}
/**
 * Keylime's "accept-all" form `{"mask": "0x0"}`: no PCR listed. Our policy loader refuses such a file (it would
 * accept any PCR values), so the plugin never sends it; it is built directly here to show the signature gap.
 */
const maskOnly: TpmPolicy = { hashAlg: 'sha256', pcrs: new Map(), mask: 0 };

const PD = 'permission_denied';
const IA = 'invalid_argument';
const MISSING_ALL = `${PD}: pcr_validation.missing_pcrs`;
const SILENT_SIG =
  "Keylime's signature check raises an exception with an empty message, which its caller takes as no failure; " +
  'no PCR values come back, so a PCR policy fails only as missing_pcrs (the wrong reason)';
const SILENT_SIG_ACCEPT =
  "Keylime's failed signature check is silent (empty exception message) and a mask-only policy checks no PCR: valid:true";
const UNSIGNED_LABELS =
  'Keylime takes PCR numbers from the unsigned pcrblob, not from the signed selection; the values and their order are unchanged, so the digest still matches';

const CASES: Case[] = [
  // ---- valid evidence: all three accept ----
  {
    name: 'valid RSA AK quote, exact policy PCRs 0-7',
    bad: false,
    make: (c) => ({ evidence: c.qRsa, policy: exact(c.sha256) }),
    inProcess: 'accept',
    keylimeMode: 'accept',
    expectedKeylimeAlone: 'accept',
  },
  {
    name: 'valid ECC AK quote, exact policy PCRs 0-7',
    bad: false,
    make: (c) => ({ evidence: c.qEcc, policy: exact(c.sha256) }),
    inProcess: 'accept',
    keylimeMode: 'accept',
    expectedKeylimeAlone: 'accept',
  },
  {
    name: 'valid, policy lists only PCRs 1 and 7 (quoted PCRs outside the policy only warn)',
    bad: false,
    make: (c) => ({ evidence: c.qRsa, policy: exact(c.sha256, [1, 7]) }),
    inProcess: 'accept',
    keylimeMode: 'accept',
    expectedKeylimeAlone: 'accept',
  },
  {
    name: 'valid, policy allows several values for PCR 7 (one matches)',
    bad: false,
    make: (c) => ({
      evidence: c.qEcc,
      policy: exact(c.sha256, ALL, { 7: ['ab'.repeat(32), c.sha256.get(7)!, 'cd'.repeat(32)] }),
    }),
    inProcess: 'accept',
    keylimeMode: 'accept',
    expectedKeylimeAlone: 'accept',
  },
  {
    name: 'valid, mask-only (accept-all) policy',
    bad: false,
    make: (c) => ({ evidence: c.qRsa, policy: maskOnly }),
    inProcess: 'accept',
    keylimeMode: 'accept',
    expectedKeylimeAlone: 'accept',
  },
  {
    name: 'valid, a padding byte of an unused pcrblob digest slot flipped (no value changes)',
    bad: false,
    make: (c) => ({
      evidence: { ...c.qRsa, pcrBlob: flip(c.qRsa.pcrBlob, c.qRsa.pcrBlob.length - 1) },
      policy: exact(c.sha256),
    }),
    inProcess: 'accept',
    keylimeMode: 'accept',
    expectedKeylimeAlone: 'accept',
  },

  // ---- nonce ----
  {
    name: 'wrong nonce (another fresh nonce)',
    bad: true,
    make: (c) => ({ evidence: { ...c.qRsa, nonce: new Uint8Array(randomBytes(32)) }, policy: exact(c.sha256) }),
    inProcess: `${PD}: quote_validation.nonce_mismatch`,
    keylimeMode: `${PD}: quote_validation.nonce_mismatch`,
    gatedBy: 'ours',
    expectedKeylimeAlone: `${PD}: qoute_validation.quote_validation`,
  },
  {
    name: 'nonce is a prefix of the quoted one (16 of 32 bytes)',
    bad: true,
    make: (c) => ({ evidence: { ...c.qRsa, nonce: c.qRsa.nonce.slice(0, 16) }, policy: exact(c.sha256) }),
    inProcess: `${PD}: quote_validation.nonce_mismatch`,
    keylimeMode: `${PD}: quote_validation.nonce_mismatch`,
    gatedBy: 'ours',
    expectedKeylimeAlone: `${PD}: qoute_validation.quote_validation`,
  },
  {
    name: "replayed quote from an earlier challenge (its nonce is not this challenge's)",
    bad: true,
    make: (c) => ({ evidence: { ...c.qRsaOld, nonce: c.qRsa.nonce }, policy: exact(c.sha256) }),
    inProcess: `${PD}: quote_validation.nonce_mismatch`,
    keylimeMode: `${PD}: quote_validation.nonce_mismatch`,
    gatedBy: 'ours',
    expectedKeylimeAlone: `${PD}: qoute_validation.quote_validation`,
  },

  // ---- tampered attest (each a signed field; the signature no longer verifies) ----
  ...(
    [
      'magic',
      'type',
      'qualifiedSigner',
      'extraData',
      'clock',
      'resetCount',
      'safe',
      'firmwareVersion',
      'firstSelect',
      'pcrDigest',
    ] as const
  ).map((field): Case => ({
    name: `tampered attest: ${field} byte changed`,
    bad: true,
    make: (c) => ({
      evidence: withAttest(c.qRsa, field, field === 'firstSelect' ? 0x80 : 0x01),
      policy: exact(c.sha256),
    }),
    inProcess:
      field === 'type' ? `${IA}: quote_validation.attest_malformed` : `${PD}: quote_validation.signature_invalid`,
    keylimeMode:
      field === 'type' ? `${IA}: quote_validation.attest_malformed` : `${PD}: quote_validation.signature_invalid`,
    gatedBy: 'ours',
    expectedKeylimeAlone: MISSING_ALL,
    keylimeAloneDiffers: 'reason',
    why: SILENT_SIG,
  })),
  {
    name: 'tampered attest (clock), mask-only policy',
    bad: true,
    make: (c) => ({ evidence: withAttest(c.qRsa, 'clock'), policy: maskOnly }),
    inProcess: `${PD}: quote_validation.signature_invalid`,
    keylimeMode: `${PD}: quote_validation.signature_invalid`,
    gatedBy: 'ours',
    expectedKeylimeAlone: 'accept',
    keylimeAloneDiffers: 'verdict',
    why: SILENT_SIG_ACCEPT,
  },
  {
    name: 'attest truncated by one byte',
    bad: true,
    make: (c) => ({ evidence: { ...c.qRsa, attest: c.qRsa.attest.slice(0, -1) }, policy: exact(c.sha256) }),
    inProcess: `${IA}: quote_validation.attest_malformed`,
    keylimeMode: `${IA}: quote_validation.attest_malformed`,
    gatedBy: 'ours',
    expectedKeylimeAlone: MISSING_ALL,
    keylimeAloneDiffers: 'reason',
    why: SILENT_SIG,
  },
  {
    name: 'attest with a trailing byte appended',
    bad: true,
    make: (c) => ({ evidence: { ...c.qRsa, attest: Uint8Array.from([...c.qRsa.attest, 0]) }, policy: exact(c.sha256) }),
    inProcess: `${IA}: quote_validation.attest_malformed`,
    keylimeMode: `${IA}: quote_validation.attest_malformed`,
    gatedBy: 'ours',
    expectedKeylimeAlone: MISSING_ALL,
    keylimeAloneDiffers: 'reason',
    why: SILENT_SIG,
  },

  // ---- signature ----
  {
    name: 'RSA signature byte flipped, exact PCR policy',
    bad: true,
    make: (c) => ({
      evidence: { ...c.qRsa, signature: flip(c.qRsa.signature, c.qRsa.signature.length - 1) },
      policy: exact(c.sha256),
    }),
    inProcess: `${PD}: quote_validation.signature_invalid`,
    keylimeMode: `${PD}: quote_validation.signature_invalid`,
    gatedBy: 'ours',
    expectedKeylimeAlone: MISSING_ALL,
    keylimeAloneDiffers: 'reason',
    why: SILENT_SIG,
  },
  {
    name: 'RSA signature byte flipped, mask-only (accept-all) policy',
    bad: true,
    make: (c) => ({
      evidence: { ...c.qRsa, signature: flip(c.qRsa.signature, c.qRsa.signature.length - 1) },
      policy: maskOnly,
    }),
    inProcess: `${PD}: quote_validation.signature_invalid`,
    keylimeMode: `${PD}: quote_validation.signature_invalid`,
    gatedBy: 'ours',
    expectedKeylimeAlone: 'accept',
    keylimeAloneDiffers: 'verdict',
    why: SILENT_SIG_ACCEPT,
  },
  {
    name: 'ECC signature (s) byte flipped, exact PCR policy',
    bad: true,
    make: (c) => ({
      evidence: { ...c.qEcc, signature: flip(c.qEcc.signature, c.qEcc.signature.length - 1) },
      policy: exact(c.sha256),
    }),
    inProcess: `${PD}: quote_validation.signature_invalid`,
    keylimeMode: `${PD}: quote_validation.signature_invalid`,
    gatedBy: 'ours',
    expectedKeylimeAlone: MISSING_ALL,
    keylimeAloneDiffers: 'reason',
    why: SILENT_SIG,
  },
  {
    name: 'ECC signature (r) byte flipped, mask-only policy',
    bad: true,
    make: (c) => ({ evidence: { ...c.qEcc, signature: flip(c.qEcc.signature, 10) }, policy: maskOnly }),
    inProcess: `${PD}: quote_validation.signature_invalid`,
    keylimeMode: `${PD}: quote_validation.signature_invalid`,
    gatedBy: 'ours',
    expectedKeylimeAlone: 'accept',
    keylimeAloneDiffers: 'verdict',
    why: SILENT_SIG_ACCEPT,
  },
  {
    name: 'RSA signature truncated (last 16 bytes cut), exact PCR policy',
    bad: true,
    make: (c) => ({ evidence: { ...c.qRsa, signature: c.qRsa.signature.slice(0, -16) }, policy: exact(c.sha256) }),
    inProcess: `${IA}: quote_validation.signature_malformed`,
    keylimeMode: `${IA}: quote_validation.signature_malformed`,
    gatedBy: 'ours',
    expectedKeylimeAlone: `${PD}: qoute_validation.quote_validation`,
  },
  {
    name: 'RSA signature truncated, mask-only policy',
    bad: true,
    make: (c) => ({ evidence: { ...c.qRsa, signature: c.qRsa.signature.slice(0, -16) }, policy: maskOnly }),
    inProcess: `${IA}: quote_validation.signature_malformed`,
    keylimeMode: `${IA}: quote_validation.signature_malformed`,
    gatedBy: 'ours',
    expectedKeylimeAlone: `${PD}: qoute_validation.quote_validation`,
  },
  {
    name: 'signature scheme relabelled RSASSA -> RSAPSS',
    bad: true,
    make: (c) => ({
      evidence: { ...c.qRsa, signature: flip(c.qRsa.signature, 1, 0x14 ^ 0x16) },
      policy: exact(c.sha256),
    }),
    inProcess: `${PD}: quote_validation.signature_scheme_unsupported`,
    keylimeMode: `${PD}: quote_validation.signature_scheme_unsupported`,
    gatedBy: 'ours',
    expectedKeylimeAlone: `${PD}: qoute_validation.quote_validation`,
  },
  {
    name: 'signature hash relabelled SHA-256 -> SHA-384',
    bad: true,
    make: (c) => ({
      evidence: { ...c.qRsa, signature: flip(c.qRsa.signature, 3, 0x0b ^ 0x0c) },
      policy: exact(c.sha256),
    }),
    inProcess: `${PD}: quote_validation.signature_scheme_unsupported`,
    keylimeMode: `${PD}: quote_validation.signature_scheme_unsupported`,
    gatedBy: 'ours',
    expectedKeylimeAlone: `${PD}: qoute_validation.quote_validation`,
  },

  // ---- AK ----
  {
    name: 'other RSA AK (same TPM) than the signer, exact PCR policy',
    bad: true,
    make: (c) => ({ evidence: { ...c.qRsa, akPublic: c.otherRsa.akPublic }, policy: exact(c.sha256) }),
    inProcess: `${PD}: quote_validation.signature_invalid`,
    keylimeMode: `${PD}: quote_validation.signature_invalid`,
    gatedBy: 'ours',
    expectedKeylimeAlone: MISSING_ALL,
    keylimeAloneDiffers: 'reason',
    why: SILENT_SIG,
  },
  {
    name: 'other RSA AK than the signer, mask-only policy',
    bad: true,
    make: (c) => ({ evidence: { ...c.qRsa, akPublic: c.otherRsa.akPublic }, policy: maskOnly }),
    inProcess: `${PD}: quote_validation.signature_invalid`,
    keylimeMode: `${PD}: quote_validation.signature_invalid`,
    gatedBy: 'ours',
    expectedKeylimeAlone: 'accept',
    keylimeAloneDiffers: 'verdict',
    why: SILENT_SIG_ACCEPT,
  },
  {
    name: 'other ECC AK than the signer, exact PCR policy',
    bad: true,
    make: (c) => ({ evidence: { ...c.qEcc, akPublic: c.otherEcc.akPublic }, policy: exact(c.sha256) }),
    inProcess: `${PD}: quote_validation.signature_invalid`,
    keylimeMode: `${PD}: quote_validation.signature_invalid`,
    gatedBy: 'ours',
    expectedKeylimeAlone: MISSING_ALL,
    keylimeAloneDiffers: 'reason',
    why: SILENT_SIG,
  },
  {
    name: 'ECC AK given for an RSA-signed quote',
    bad: true,
    make: (c) => ({ evidence: { ...c.qRsa, akPublic: c.ecc.akPublic }, policy: exact(c.sha256) }),
    inProcess: `${PD}: quote_validation.signature_scheme_unsupported`,
    keylimeMode: `${PD}: quote_validation.signature_scheme_unsupported`,
    gatedBy: 'ours',
    expectedKeylimeAlone: `${PD}: qoute_validation.quote_validation`,
  },
  {
    name: 'the EK (a decrypt key) given as the AK, mask-only policy',
    bad: true,
    make: (c) => ({ evidence: { ...c.qRsa, akPublic: c.rsa.ekPublic }, policy: maskOnly }),
    inProcess: `${PD}: quote_validation.signature_invalid`,
    keylimeMode: `${PD}: quote_validation.signature_invalid`,
    gatedBy: 'ours',
    expectedKeylimeAlone: 'accept',
    keylimeAloneDiffers: 'verdict',
    why: SILENT_SIG_ACCEPT,
  },

  // ---- PCR values and labels in the unsigned pcrblob ----
  {
    name: 'PCR 1 value changed in the blob, policy of the real values',
    bad: true,
    make: (c) => ({ evidence: withBlob(c.qRsa, (v) => v.set(1, randomBytes(32))), policy: exact(c.sha256) }),
    inProcess: `${PD}: quote_validation.pcr_digest_mismatch`,
    keylimeMode: `${PD}: quote_validation.pcr_digest_mismatch`,
    gatedBy: 'ours',
    expectedKeylimeAlone: `${PD}: qoute_validation.quote_validation`,
  },
  {
    name: 'PCR 7 value changed in the blob to the value the policy wants',
    bad: true,
    make: (c) => ({
      evidence: withBlob(c.qRsa, (v) => v.set(7, Buffer.from('ab'.repeat(32), 'hex'))),
      policy: exact(c.sha256, ALL, { 7: ['ab'.repeat(32)] }),
    }),
    inProcess: `${PD}: quote_validation.pcr_digest_mismatch`,
    keylimeMode: `${PD}: quote_validation.pcr_digest_mismatch`,
    gatedBy: 'ours',
    expectedKeylimeAlone: `${PD}: qoute_validation.quote_validation`,
  },
  {
    name: 'PCR 1 and PCR 7 values swapped in the blob',
    bad: true,
    make: (c) => ({
      evidence: withBlob(c.qRsa, (v) => {
        const a = v.get(1)!;
        v.set(1, v.get(7)!);
        v.set(7, a);
        return v;
      }),
      policy: exact(c.sha256, ALL, {
        1: [c.sha256.get(1)!, c.sha256.get(7)!],
        7: [c.sha256.get(1)!, c.sha256.get(7)!],
      }),
    }),
    inProcess: `${PD}: quote_validation.pcr_digest_mismatch`,
    keylimeMode: `${PD}: quote_validation.pcr_digest_mismatch`,
    gatedBy: 'ours',
    expectedKeylimeAlone: `${PD}: qoute_validation.quote_validation`,
  },
  {
    name: 'PCR values relabelled in the blob (0-7 claimed as 1-8), policy for the claimed labels',
    bad: true,
    make: (c) => ({
      evidence: withBlob(c.qRsa, (v) => new Map([...v].map(([i, d]) => [i + 1, d]))),
      policy: policyOf(Object.fromEntries(ALL.map((i) => [String(i + 1), [c.sha256.get(i)!]]))),
    }),
    inProcess: `${PD}: quote_validation.pcr_not_supplied`,
    keylimeMode: `${PD}: quote_validation.pcr_not_supplied`,
    gatedBy: 'ours',
    expectedKeylimeAlone: 'accept',
    keylimeAloneDiffers: 'verdict',
    why: UNSIGNED_LABELS,
  },
  {
    name: 'PCR 7 relabelled as PCR 16 in the blob, policy wants PCR 16 = that value',
    bad: true,
    make: (c) => ({
      evidence: withBlob(c.qRsa, (v) => {
        const d = v.get(7)!;
        v.delete(7);
        v.set(16, d);
        return v;
      }),
      policy: policyOf({ 16: [c.sha256.get(7)!] }),
    }),
    inProcess: `${PD}: quote_validation.pcr_not_supplied`,
    keylimeMode: `${PD}: quote_validation.pcr_not_supplied`,
    gatedBy: 'ours',
    expectedKeylimeAlone: 'accept',
    keylimeAloneDiffers: 'verdict',
    why: UNSIGNED_LABELS,
  },
  {
    name: 'extra PCR 8 supplied in the blob but not quoted',
    bad: true,
    make: (c) => ({
      evidence: withBlob(c.qRsa, (v) => v.set(8, Buffer.from(c.sha256.get(8)!, 'hex'))),
      policy: exact(c.sha256, [...ALL, 8]),
    }),
    inProcess: `${PD}: quote_validation.pcr_not_quoted`,
    keylimeMode: `${PD}: quote_validation.pcr_not_quoted`,
    gatedBy: 'ours',
    expectedKeylimeAlone: `${PD}: qoute_validation.quote_validation`,
  },
  {
    name: 'quoted PCR 7 left out of the blob',
    bad: true,
    make: (c) => ({
      evidence: withBlob(c.qRsa, (v) => {
        v.delete(7);
        return v;
      }),
      policy: exact(c.sha256, [0, 1, 2, 3, 4, 5, 6]),
    }),
    inProcess: `${PD}: quote_validation.pcr_not_supplied`,
    keylimeMode: `${PD}: quote_validation.pcr_not_supplied`,
    gatedBy: 'ours',
    expectedKeylimeAlone: `${PD}: qoute_validation.quote_validation`,
  },

  // ---- policy (evidence valid; the policy decides) ----
  {
    name: 'policy mismatch: PCR 7 has another value than the policy allows',
    bad: true,
    make: (c) => ({ evidence: c.qRsa, policy: exact(c.sha256, ALL, { 7: ['ab'.repeat(32)] }) }),
    inProcess: `${PD}: pcr_validation.invalid_pcr_7`,
    keylimeMode: `${PD}: pcr_validation.invalid_pcr_7`,
    gatedBy: 'keylime',
    expectedKeylimeAlone: `${PD}: pcr_validation.invalid_pcr_7`,
  },
  {
    name: 'policy mismatch on every PCR (ECC AK)',
    bad: true,
    make: (c) => ({
      evidence: c.qEcc,
      policy: policyOf(Object.fromEntries(ALL.map((i) => [String(i), ['ee'.repeat(32)]]))),
    }),
    inProcess: `${PD}: ${ALL.map((i) => `pcr_validation.invalid_pcr_${i}`).join(',')}`,
    keylimeMode: `${PD}: ${ALL.map((i) => `pcr_validation.invalid_pcr_${i}`).join(',')}`,
    gatedBy: 'keylime',
    expectedKeylimeAlone: `${PD}: ${ALL.map((i) => `pcr_validation.invalid_pcr_${i}`).join(',')}`,
  },
  {
    name: 'policy PCRs 8 and 16 not quoted',
    bad: true,
    make: (c) => ({ evidence: c.qRsa, policy: exact(c.sha256, [0, 8, 16]) }),
    inProcess: `${PD}: pcr_validation.missing_pcrs`,
    keylimeMode: `${PD}: pcr_validation.missing_pcrs`,
    gatedBy: 'keylime',
    expectedKeylimeAlone: `${PD}: pcr_validation.missing_pcrs`,
  },
  {
    name: 'PCR 7 missing from the quote (agent quoted 0-6), policy 0-7',
    bad: true,
    make: (c) => ({ evidence: c.qRsa0to6, policy: exact(c.sha256) }),
    inProcess: `${PD}: pcr_validation.missing_pcrs`,
    keylimeMode: `${PD}: pcr_validation.missing_pcrs`,
    gatedBy: 'keylime',
    expectedKeylimeAlone: `${PD}: pcr_validation.missing_pcrs`,
  },

  // ---- banks and hash_alg ----
  {
    name: 'wrong hash_alg: evidence says sha1 (sha1 policy) but the quote is signed with SHA-256 over sha256',
    bad: true,
    make: (c) => ({ evidence: { ...c.qRsa, hashAlg: 'sha1' }, policy: exact(c.sha1) }),
    inProcess: `${PD}: pcr_validation.missing_pcrs`,
    keylimeMode: `${PD}: quote_validation.hash_alg`,
    gatedBy: 'ours',
    expectedKeylimeAlone: `${PD}: qoute_validation.quote_validation`,
  },
  {
    name: 'sha1 bank quoted (signed with SHA-256), sha256 policy',
    bad: true,
    make: (c) => ({ evidence: c.qRsaSha1Bank, policy: exact(c.sha256) }),
    inProcess: `${PD}: pcr_validation.missing_pcrs`,
    keylimeMode: `${IA}: quote_validation.bank`,
    gatedBy: 'ours',
    expectedKeylimeAlone: `${PD}: qoute_validation.quote_validation`,
  },
  {
    name: 'sha1 bank quoted (signed with SHA-256), hash_alg sha1 and a policy of the real sha1 values: genuine, but Keylime mode takes only the signature-hash bank',
    bad: false,
    make: (c) => ({ evidence: { ...c.qRsaSha1Bank, hashAlg: 'sha1' }, policy: exact(c.sha1) }),
    inProcess: 'accept',
    keylimeMode: `${PD}: quote_validation.hash_alg`,
    gatedBy: 'ours',
    expectedKeylimeAlone: `${PD}: qoute_validation.quote_validation`,
    keylimeAloneDiffers: 'verdict',
    why: 'Keylime checks one bank, and hash_alg must be the signature hash; a genuine sha1-bank quote signed with SHA-256 cannot be judged (Keylime mode refuses it too; the server config allows only the sha256 bank)',
  },
  {
    name: 'two banks quoted (sha1 + sha256): valid, but Keylime mode takes one bank',
    bad: false,
    make: (c) => ({ evidence: c.qRsaTwoBanks, policy: exact(c.sha256) }),
    inProcess: 'accept',
    keylimeMode: `${IA}: quote_validation.bank`,
    gatedBy: 'ours',
    expectedKeylimeAlone: 'accept',
  },
];

// ---- the three ways ----

function outcomeOf(err: unknown): Outcome {
  if (!(err instanceof VerifierError)) throw err;
  return `${err.code}: ${[...new Set(err.failures.map((f) => f.type))].sort().join(',')}`;
}

async function judge(
  v: Verifier,
  e: QuoteEvidence,
  p: TpmPolicy,
): Promise<{ outcome: Outcome; error?: VerifierError }> {
  try {
    await v.verify(e, p);
    return { outcome: 'accept' };
  } catch (err) {
    return { outcome: outcomeOf(err), error: err as VerifierError };
  }
}

describe('differential: in-process vs Keylime alone vs Keylime mode (gated)', () => {
  let kl: KeylimeVerifierProcess;
  let keylime: KeylimeVerifier;
  let inProcess: Verifier;
  let gated: Verifier;
  let ctx: Ctx;
  const rows: string[] = [];

  beforeAll(async () => {
    swtpm = startSwtpm();
    kl = startKeylimeVerifier();
    // Non-reset values in both banks so that policies mean something.
    for (const [pcr, bank, d] of [
      [1, 'sha256', 'aa'.repeat(32)],
      [7, 'sha256', 'bb'.repeat(32)],
      [1, 'sha1', 'aa'.repeat(20)],
      [7, 'sha1', 'bb'.repeat(20)],
    ] as const)
      toolsPcrExtend(swtpm, pcr, bank, d);
    const rsa = makeAk('rsa');
    const ecc = makeAk('ecc');
    ctx = {
      rsa,
      ecc,
      otherRsa: makeAk('rsa'),
      otherEcc: makeAk('ecc'),
      sha256: toolsPcrRead(swtpm, 'sha256', [...ALL, 8, 16]),
      sha1: toolsPcrRead(swtpm, 'sha1', [...ALL, 8, 16]),
      qRsaOld: quote(rsa, 'sha256:0,1,2,3,4,5,6,7'),
      qRsa: quote(rsa, 'sha256:0,1,2,3,4,5,6,7'),
      qEcc: quote(ecc, 'sha256:0,1,2,3,4,5,6,7'),
      qRsa0to6: quote(rsa, 'sha256:0,1,2,3,4,5,6'),
      qRsaSha1Bank: quote(rsa, 'sha1:0,1,2,3,4,5,6,7'),
      qRsaTwoBanks: quote(rsa, 'sha1:0,1,2,3,4,5,6,7+sha256:0,1,2,3,4,5,6,7'),
    };
    keylime = createKeylimeVerifierFromFiles({
      url: kl.url,
      caPath: kl.caPath,
      clientCertPath: kl.clientCertPath,
      clientKeyPath: kl.clientKeyPath,
      timeoutMs: 15_000,
    });
    // A second client for the gated path, so that (b) and (c) share nothing but the verifier.
    gated = createGatedVerifier(
      createKeylimeVerifierFromFiles({
        url: kl.url,
        caPath: kl.caPath,
        clientCertPath: kl.clientCertPath,
        clientKeyPath: kl.clientKeyPath,
        timeoutMs: 15_000,
      }),
    );
    inProcess = createInProcessVerifier();
  });

  afterAll(() => {
    if (process.env.DIFFERENTIAL_TABLE)
      process.stderr.write(
        `\n| case | bad | in-process | Keylime alone | Keylime mode |\n|---|---|---|---|---|\n${rows.join('\n')}\n`,
      );
    keylime?.close();
    gated?.close();
    kl?.stop();
    swtpm?.stop();
  });

  test('has at least 30 cases, each named once', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(30);
    expect(new Set(CASES.map((c) => c.name)).size).toBe(CASES.length);
  });

  test("docs/keylime.md's summary counts are this table's", () => {
    const doc = readFileSync(join(__dirname, '..', '..', 'docs', 'keylime.md'), 'utf8');
    const bad = CASES.filter((c) => c.bad);
    const accepted = bad.filter((c) => c.expectedKeylimeAlone === 'accept').length;
    const wrongReason = bad.filter((c) => c.keylimeAloneDiffers === 'reason').length;
    const good = CASES.filter((c) => !c.bad);
    const unsupported = good.filter((c) => c.keylimeMode !== 'accept').length;
    expect(doc).toContain(
      `${CASES.length} cases: ${bad.length} bad, ${good.length - unsupported} good, and ${unsupported} genuine quotes`,
    );
    expect(doc).toContain(`**accepts ${accepted} bad cases:**`);
    expect(doc).toContain(`**refuses ${wrongReason} bad cases for the wrong reason:**`);
    expect(doc).toContain(`refuse all ${bad.length} bad cases`);
  });

  test.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const { evidence, policy } = c.make(ctx);
    const a = await judge(inProcess, evidence, policy);
    const b = await judge(keylime, evidence, policy);
    const logBefore = kl.log().length;
    const g = await judge(gated, evidence, policy);
    const askedKeylime = /POST \/v[0-9.]+\/verify\/evidence/.test(kl.log().slice(logBefore));
    rows.push(
      `| ${c.name} | ${c.bad ? 'bad' : 'good'} | ${a.outcome} | ${b.outcome} | ${g.outcome}${g.error ? ` (${g.error.url ? 'keylime' : 'ours'})` : ''} |`,
    );

    // (a) and (c): every bad case refused, with the expected code and failure types.
    if (c.bad) {
      expect(a.outcome).not.toBe('accept');
      expect(g.outcome).not.toBe('accept');
    }
    expect({ inProcess: a.outcome, keylimeMode: g.outcome }).toEqual({
      inProcess: c.inProcess,
      keylimeMode: c.keylimeMode,
    });
    // (c) refused by the right gate: our checks never ask Keylime; a Keylime refusal names its URL.
    if (g.error) {
      expect(g.error.url ? 'keylime' : 'ours').toBe(c.gatedBy);
      if (c.gatedBy === 'ours') expect(g.error.url).toBeUndefined();
      else expect(g.error.url).toBe(await keylime.endpoint());
    }
    if (g.outcome === 'accept' || c.gatedBy === 'keylime') expect(askedKeylime).toBe(true);
    // (b): what Keylime alone really answers; a difference from the right answer is explained.
    expect(b.outcome).toBe(c.expectedKeylimeAlone);
    const differs = c.bad
      ? b.outcome === 'accept'
        ? 'verdict'
        : c.keylimeAloneDiffers === 'reason'
          ? 'reason'
          : undefined
      : b.outcome === 'accept'
        ? undefined
        : 'verdict';
    expect(c.keylimeAloneDiffers).toBe(differs);
    if (differs) expect(c.why).toBeTruthy();
  });
});
