// The selectors a tpm_quote agent gets (values without the "tpm_quote:" type, which SPIRE adds). Each comes
// from authenticated evidence only: the EK itself, an EK certificate that chained to the configured CA
// bundle, or the AK-signed quote. docs/plugin-server.md's table is generated from SELECTORS.
import type { X509Certificate } from 'node:crypto';
import { eventlog } from '../tpm';

/** One selector kind, for the docs table. */
export interface SelectorDoc {
  /** The value's prefix, e.g. "ek_hash". */
  name: string;
  /** How the value looks. */
  format: string;
  /** Where it comes from and when it is present. */
  source: string;
}

/** Every selector kind, in the order the plugin emits them. */
export const SELECTORS: readonly SelectorDoc[] = [
  {
    name: 'ek_hash',
    format: '`ek_hash:<hex SHA-256 of the EK public key, PKIX DER>`',
    source: 'The EK public area (always; also the last path segment of the agent ID).',
  },
  {
    name: 'ek_issuer',
    format: '`ek_issuer:<issuer CN, or the issuer DN when it has no CN>`',
    source: 'The EK certificate, only when it chained to `ek_ca_path`.',
  },
  {
    name: 'manufacturer',
    format: '`manufacturer:<TPM manufacturer, e.g. id:00001014>`',
    source: "The EK certificate's subjectAltName (TCG OID 2.23.133.2.1), only when it chained to `ek_ca_path`.",
  },
  {
    name: 'model',
    format: '`model:<TPM model>`',
    source: "The EK certificate's subjectAltName (2.23.133.2.2), only when it chained to `ek_ca_path`.",
  },
  {
    name: 'firmware_version',
    format: '`firmware_version:<major>.<minor>`',
    source:
      "The AK-signed quote's firmwareVersion (TPM_PT_FIRMWARE_VERSION_1: high and low 16 bits), when the quote's qualifiedSigner proves the AK is a child of the EK (otherwise the TPM obfuscates the value).",
  },
  {
    name: 'pcr',
    format: '`pcr:<bank>:<index>:<hex value>`',
    source: "One per quoted PCR (`pcr_selection`), from the PCR values the signed quote's digest covers; always.",
  },
  // Boot selectors: from the agent's event log once it replayed to the quoted PCRs (event_log not "ignore").
  ...eventlog.BOOT_SELECTOR_TYPES.map(([name, value]) => ({
    name,
    format: `\`${name}:<value>\``,
    source: `${value.replace(/\|/g, '\\|')}. From the event log, only when it replayed to the quoted PCRs and that PCR was quoted.`,
  })),
];

/** The selector table as Markdown (docs/plugin-server.md and README embed it between markers). */
export function renderSelectorTable(): string {
  const lines = ['| Selector | Value | Source |', '| --- | --- | --- |'];
  for (const s of SELECTORS) lines.push(`| \`tpm_quote:${s.name}\` | ${s.format} | ${s.source} |`);
  return `${lines.join('\n')}\n`;
}

/** "<major>.<minor>" from the 64-bit firmwareVersion of TPMS_ATTEST (its high 32 bits are TPM_PT_FIRMWARE_VERSION_1). */
export function formatFirmwareVersion(firmwareVersion: bigint): string {
  const v1 = Number((firmwareVersion >> 32n) & 0xffffffffn);
  return `${v1 >>> 16}.${v1 & 0xffff}`;
}

/** The issuer's CN, or the whole DN (comma-joined) when there is no CN. */
export function issuerName(cert: X509Certificate): string {
  const parts = cert.issuer
    .split('\n')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const cn = parts.filter((p) => p.startsWith('CN=')).pop();
  return cn ? cn.slice(3) : parts.join(',');
}

/** What selectors are made from; only authenticated facts. */
export interface SelectorInput {
  ekHash: string;
  /** Present only when the EK certificate chained to the CA bundle. */
  trustedCertificate?: {
    certificate: X509Certificate;
    tpmManufacturer?: string;
    tpmModel?: string;
  };
  /** From the verified quote, when the AK is in the endorsement hierarchy (else undefined: obfuscated). */
  firmwareVersion?: bigint;
  /** Quoted PCR values, banks in quote order, indices ascending. */
  pcrs: ReadonlyArray<{ bank: string; index: number; digest: Uint8Array }>;
  /** Boot selectors (`secure_boot:enabled`, ...) from a replayed event log (bounded values: words and hex digests). */
  boot?: readonly string[];
}

/** `value` as printable ASCII (anything else becomes "?"), at most `maxChars` long: for selector values and logged node-chosen text. */
export function printable(value: string, maxChars = 256): string {
  return value.replace(/[^\x20-\x7e]/g, '?').slice(0, maxChars);
}

// A trusted certificate's selectors, made once per certificate object (the EK certificate cache hands out
// the same object for the same bytes; a new object, from a new parse, gets its own).
const certificateSelectors = new WeakMap<NonNullable<SelectorInput['trustedCertificate']>, readonly string[]>();

function selectorsOfCertificate(cert: NonNullable<SelectorInput['trustedCertificate']>): readonly string[] {
  let out = certificateSelectors.get(cert);
  if (!out) {
    const made = [`ek_issuer:${printable(issuerName(cert.certificate))}`];
    if (cert.tpmManufacturer) made.push(`manufacturer:${printable(cert.tpmManufacturer)}`);
    if (cert.tpmModel) made.push(`model:${printable(cert.tpmModel)}`);
    certificateSelectors.set(cert, (out = made));
  }
  return out;
}

// Hex of a digest through a view of its bytes (Buffer.from(array) would copy them first).
const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');

/** The selector values, in SELECTORS order. */
export function buildSelectors(input: SelectorInput): string[] {
  const out = [`ek_hash:${input.ekHash}`];
  if (input.trustedCertificate) out.push(...selectorsOfCertificate(input.trustedCertificate));
  if (input.firmwareVersion !== undefined) out.push(`firmware_version:${formatFirmwareVersion(input.firmwareVersion)}`);
  for (const p of input.pcrs) out.push(`pcr:${p.bank}:${p.index}:${hex(p.digest)}`);
  out.push(...(input.boot ?? []));
  return out;
}
