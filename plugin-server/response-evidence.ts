// The agent's response as evidence: its PCR values (grouped for the quote check, listed for selectors) and
// the check that the quote's signed selection is exactly the one the challenge asked for (part of check 4).
import { type ChallengeResponse, checkResponsePcrValues } from '../proto';
import {
  encodePcrBlob,
  formatPcrSelection,
  HASH_NAMES,
  hashAlgId,
  hashInfo,
  type HashName,
  marshal,
  pcrBlobFromValues,
  type PcrValues,
  type PublicArea,
  selectedPcrs,
  tpm2b,
  type TpmsPcrSelection,
  type VerifiedQuote,
} from '../tpm';
import type { QuoteEvidence } from '../verifier-client';
import { protocol, refused } from './attestation-error';

/** TPM2B_PUBLIC around the exact TPMT_PUBLIC bytes received (what Keylime's tpm_ak / tpm_ek expect). */
const asTpm2bPublic = (publicBytes: Uint8Array): Uint8Array => marshal(tpm2b(0xffff), publicBytes);

/** The configured PCR selection in the forms each attestation uses. Shared: never modify. */
export interface RequestedSelection {
  /** As the challenge carries it: bank names and ascending indices. */
  banks: ReadonlyArray<{ bank: HashName; pcrs: number[] }>;
  /** By bank name, for checkSelection. */
  byBank: ReadonlyMap<HashName, readonly number[]>;
  /** In tpm2-tools syntax ("sha256:0,1+sha1:16"), for messages and logs. */
  text: string;
}

// By the configuration's selection array (fixed once configured): made once, not at every attestation.
const requested = new WeakMap<readonly TpmsPcrSelection[], RequestedSelection>();

/** The challenge's PCR selection (a configuration's `pcrSelection`) as bank names, by bank, and as text. */
export function requestedSelection(selection: readonly TpmsPcrSelection[]): RequestedSelection {
  let r = requested.get(selection);
  if (!r) {
    const banks = selection.map((s) => ({ bank: hashInfo(s.hash).name, pcrs: selectedPcrs(s) }));
    r = { banks, byBank: new Map(banks.map((b) => [b.bank, b.pcrs])), text: formatPcrSelection(selection) };
    requested.set(selection, r);
  }
  return r;
}

/**
 * The response's PCR values, checked per the protocol (known banks, each once, indices 0-MAX_PCR_INDEX once): grouped
 * by bank for the quote check, and as a list for selectors. Throws AttestationError (malformed).
 */
export function responsePcrs(response: ChallengeResponse): { values: PcrValues; list: ResponsePcr[] } {
  const values: Partial<Record<HashName, Record<number, Uint8Array>>> = {};
  const list: ResponsePcr[] = [];
  protocol(() => checkResponsePcrValues(response));
  for (const b of response.pcrValues) {
    const bank = b.bank as HashName; // checkResponsePcrValues refused any other name
    const byIndex: Record<number, Uint8Array> = {};
    for (const v of b.values) {
      byIndex[v.index] = v.digest;
      list.push({ bank, index: v.index, digest: v.digest });
    }
    values[bank] = byIndex;
  }
  return { values, list };
}

/** The quote's signed selection must be exactly the selection the challenge asked for. */
export function checkSelection(quote: VerifiedQuote, requested: RequestedSelection): void {
  const wanted = requested.byBank;
  let banks = 0;
  let same = true;
  for (const s of quote.pcrSelection) {
    const indices = selectedPcrs(s);
    if (indices.length === 0) continue;
    banks++;
    const pcrs = wanted.get(hashInfo(s.hash).name);
    if (pcrs === undefined || pcrs.length !== indices.length || indices.some((v, i) => v !== pcrs[i])) {
      same = false;
      break;
    }
  }
  if (!same || banks !== wanted.size) {
    const quoted =
      quote.pcrSelection
        .filter((s) => selectedPcrs(s).length > 0)
        .map((s) => `${hashInfo(s.hash).name}:${selectedPcrs(s).join(',')}`)
        .join('+') || '(none)';
    throw refused('quote', `the quote covers ${quoted}, not the PCRs asked for (${requested.text})`);
  }
}

/** One PCR value of the response, for selectors. */
export interface ResponsePcr {
  bank: HashName;
  index: number;
  digest: Uint8Array;
}

/** The response's PCR values in the quote's signed order: banks as the quote selects them, indices ascending. */
export function inSignedOrder(list: readonly ResponsePcr[], quote: VerifiedQuote): readonly ResponsePcr[] {
  // A bank's position in the signed selection (its first), looked up once rather than per comparison.
  const rank = new Map<string, number>();
  quote.pcrSelection.forEach((s, i) => {
    // A bank this project does not compute (an empty SM3 selection, say) holds no PCR of `list`.
    const name = HASH_NAMES.find((n) => hashAlgId(n) === s.hash);
    if (name !== undefined && !rank.has(name)) rank.set(name, i);
  });
  const at = (bank: string) => rank.get(bank) ?? -1;
  const order = (a: ResponsePcr, b: ResponsePcr) => at(a.bank) - at(b.bank) || a.index - b.index;
  // An agent sends them in this order already: then no sorted copy is needed.
  for (let i = 1; i < list.length; i++) if (order(list[i - 1], list[i]) > 0) return [...list].sort(order);
  return list;
}

/**
 * The evidence a verifier judges (check 5), from a response whose quote already passed check 4: the PCR
 * values re-encoded as a Keylime pcrblob in the signed bank order, and the keys as TPM2B_PUBLIC around the
 * exact bytes received.
 */
export function quoteEvidence(o: {
  response: ChallengeResponse;
  quote: VerifiedQuote;
  values: PcrValues;
  nonce: Uint8Array;
  ak: PublicArea;
  ek: PublicArea;
  /** The event log, only once it replayed to the quoted PCRs (check event_log passed). */
  eventLog?: Uint8Array;
}): QuoteEvidence {
  const ordered: PcrValues = {};
  for (const s of o.quote.pcrSelection) {
    const bank = hashInfo(s.hash).name;
    if (o.values[bank]) (ordered as Record<string, unknown>)[bank] = o.values[bank];
  }
  return {
    attest: o.response.quoteAttest,
    signature: o.response.quoteSignature,
    pcrBlob: encodePcrBlob(pcrBlobFromValues(ordered)),
    nonce: o.nonce,
    hashAlg: o.quote.hash,
    akPublic: asTpm2bPublic(o.ak.bytes),
    ekPublic: asTpm2bPublic(o.ek.bytes),
    ...(o.eventLog && o.eventLog.length > 0 ? { eventLog: o.eventLog } : {}),
  };
}
