// The server plugin's `keylime { ... }` block (verifier = "keylime"): its keys, and the TLS material and the
// measured-boot reference state its files hold, read and checked at Configure.
import { createSecureContext } from 'node:tls';
import { duration, type Field, object, string } from '../plugin-sdk';
import { MAX_MB_REFSTATE_BYTES, MbRefstateError, parseKeylimeMbRefstate, parsePemCertificates } from '../tpm';
import type { KeylimeVerifierOptions } from '../verifier-client';
import { readTrustFile } from './trust-files';

/** Largest CA / client certificate / key file read for the Keylime connection. */
export const MAX_KEYLIME_PEM_BYTES = 1024 * 1024;

/** The `keylime { ... }` block (verifier = "keylime"). */
export const keylimeBlock = object({
  url: string()
    .check((v) => keylimeUrlProblem(v))
    .describe('Base URL of the Keylime verifier, `https://host:port` (Keylime serves TLS only).'),
  ca_path: string().describe(
    "PEM file of the CA the verifier's server certificate must chain to (Keylime's `cv_ca/cacert.crt`); no system CAs are used.",
  ),
  client_cert_path: string()
    .optional()
    .describe("PEM client certificate sent to the verifier (Keylime's `client-cert.crt`); set with `client_key_path`."),
  client_key_path: string()
    .optional()
    .describe("PEM private key of `client_cert_path` (Keylime's `client-private.pem`)."),
  timeout: duration({ min: '100ms', max: '5m' })
    .default('10s')
    .describe(
      "Time allowed for one verification (connect, TLS, Keylime's check, answer); past it the attestation is refused with Unavailable.",
    ),
  api_version: string({ pattern: /^2\.(0|[1-9][0-9]{0,2})$/, patternText: '"2.<minor>" API version, e.g. "2.6"' })
    .optional()
    .describe(
      'Keylime API version to post to (`/v<api_version>/verify/evidence`). Default: asked once with GET /version.',
    ),
  mb_refstate_path: string()
    .optional()
    .describe(
      'Keylime measured-boot reference state (JSON for Keylime\'s `example` policy, as `tpm-quote boot-policy --keylime` or `keylime-policy create measured-boot` write it): the agent\'s event log, after this plugin\'s own replay passed, goes to Keylime with it and Keylime judges the boot. Needs event_log = "required", PCRs 0-9 and 14 in pcr_selection, and a verifier run with measured_boot_policy_name = "example" and measured_boot_evaluate = "always" (docs/keylime.md).',
    ),
});

function keylimeUrlProblem(v: string): string | undefined {
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    return `expected an https URL, got ${JSON.stringify(v.slice(0, 80))}`;
  }
  if (url.protocol !== 'https:')
    return `expected an https URL (the Keylime verifier serves TLS only), got ${JSON.stringify(v.slice(0, 80))}`;
  if (url.username || url.password || url.search || url.hash)
    return 'expected an https URL without credentials, query or fragment';
  return undefined;
}

/**
 * Reads and checks the Keylime measured-boot reference state file (parseKeylimeMbRefstate); returns the JSON
 * text to send, or a note naming the key, the file and the JSON path at fault.
 */
export function loadKeylimeMbRefstate(path: string): { refstate: string } | { notes: string[] } {
  const key = 'keylime.mb_refstate_path';
  try {
    return { refstate: JSON.stringify(parseKeylimeMbRefstate(readTrustFile(path, MAX_MB_REFSTATE_BYTES))) };
  } catch (err) {
    if (err instanceof MbRefstateError) return { notes: [`key "${key}": ${path}: ${err.message}`] };
    return { notes: [`key "${key}": ${(err as Error).message}`] };
  }
}

/** The keylime block as parsed (file paths not yet read). */
type RawKeylime = typeof keylimeBlock extends Field<infer T, infer _R> ? T : never;

function readPem(key: string, path: string, notes: string[]): string | undefined {
  let pem: string;
  try {
    pem = readTrustFile(path, MAX_KEYLIME_PEM_BYTES);
  } catch (err) {
    notes.push(`key "${key}": ${(err as Error).message}`);
    return undefined;
  }
  if (!pem.includes('-----BEGIN ')) {
    notes.push(`key "${key}": ${path} holds no PEM block`);
    return undefined;
  }
  return pem;
}

/**
 * Reads and checks the Keylime block's files: the measured-boot reference state when set
 * (loadKeylimeMbRefstate), and the TLS material: the CA file holds certificates (each parsed), the client
 * certificate and key come together and belong to each other (Node's TLS context refuses a mismatched pair).
 */
export function loadKeylimeTls(k: RawKeylime): { options: KeylimeVerifierOptions } | { notes: string[] } {
  const notes: string[] = [];
  const caPem = readPem('keylime.ca_path', k.ca_path, notes);
  if (caPem) {
    try {
      if (parsePemCertificates(caPem, k.ca_path).length === 0)
        notes.push(`key "keylime.ca_path": ${k.ca_path} holds no CERTIFICATE block`);
    } catch (err) {
      notes.push(`key "keylime.ca_path": ${(err as Error).message}`);
    }
  }
  if ((k.client_cert_path === undefined) !== (k.client_key_path === undefined)) {
    notes.push(
      `keys "keylime.client_cert_path" and "keylime.client_key_path": set both or neither (got only ${k.client_cert_path !== undefined ? 'client_cert_path' : 'client_key_path'})`,
    );
  }
  let clientCertPem: string | undefined;
  let clientKeyPem: string | undefined;
  if (k.client_cert_path !== undefined && k.client_key_path !== undefined) {
    clientCertPem = readPem('keylime.client_cert_path', k.client_cert_path, notes);
    clientKeyPem = readPem('keylime.client_key_path', k.client_key_path, notes);
    if (clientCertPem && clientKeyPem) {
      try {
        createSecureContext({ cert: clientCertPem, key: clientKeyPem });
      } catch (err) {
        notes.push(
          `keys "keylime.client_cert_path" and "keylime.client_key_path": ${k.client_cert_path} and ${k.client_key_path} are not a usable certificate and key pair: ${(err as Error).message}`,
        );
      }
    }
  }
  let mbRefstate: string | undefined;
  if (k.mb_refstate_path !== undefined) {
    const loaded = loadKeylimeMbRefstate(k.mb_refstate_path);
    if ('notes' in loaded) notes.push(...loaded.notes);
    else mbRefstate = loaded.refstate;
  }
  if (notes.length > 0) return { notes };
  return {
    options: {
      mbRefstate,
      url: k.url,
      caPem: caPem!,
      clientCertPem,
      clientKeyPem,
      timeoutMs: k.timeout,
      apiVersion: k.api_version,
    },
  };
}
