// Check 1 of docs/protocol.md: the EK is trusted per ek_trust (CA bundle and/or hash allowlist), and an EK
// certificate sent holds the very key credential activation uses.
import type { AttestationPayload } from '../proto';
import { type EkCertificate, type ParsedEkCertificate, parseEkCertificate, TpmVerifyError } from '../tpm';
import { refusal, refused } from './attestation-error';
import type { ServerConfig } from './config';
import { sameBytes } from './same-bytes';

/** The outcome of check 1: the certificate sent (if any) and whether it chained to the CA bundle. */
export interface TrustedEk {
  certificate?: EkCertificate;
  /** Set when the certificate chained to the CA bundle. */
  chained: boolean;
}

// The agent's CA certificates (from its TPM's NV or its configuration): untrusted, only ever intermediates.
function parseIntermediate(der: Uint8Array, i: number) {
  try {
    return parseEkCertificate(der).certificate;
  } catch (err) {
    throw refusal(err, { check: 'ek_trust', what: `payload.ek_intermediates[${i}]` });
  }
}

/**
 * Check 1: the EK is trusted per ek_trust (`any`: a configured mechanism passes; `all`: both are configured
 * and pass), and a certificate sent holds `ekDer`, the key credential activation uses. Throws
 * AttestationError: PermissionDenied (ek_trust) naming every mechanism that failed, InvalidArgument for an
 * undecodable certificate. Does NOT check revocation (no CRL or OCSP is consulted). Parsing and path
 * validation go through the configuration's EK certificate cache (same bytes, same anchors: the validity
 * dates of the path are still checked against `now` every time).
 */
export function checkEkTrust(
  config: ServerConfig,
  payload: AttestationPayload,
  ekDer: Uint8Array,
  ekHash: string,
  now: Date,
): TrustedEk {
  let certificate: ParsedEkCertificate | undefined;
  if (payload.ekCertificate.length > 0) {
    try {
      certificate = config.ekCertificates.parse(payload.ekCertificate);
    } catch (err) {
      throw refusal(err, { check: 'ek_trust', what: 'payload.ek_certificate' });
    }
    if (!sameBytes(certificate.publicKeyDer, ekDer))
      throw refused(
        'ek_trust',
        "the EK certificate's public key differs from ek_public (the key credential activation uses)",
      );
  }
  // The log's detail names the files; the caller is told only what about its own EK failed.
  const problems: string[] = [];
  const shown: string[] = [];
  let caOk = false;
  let hashOk = false;
  if (config.ekCas) {
    if (!certificate) {
      problems.push(`no EK certificate was sent, so it cannot chain to ek_ca_path ${config.ekCaPath}`);
      shown.push('no EK certificate was sent');
    } else {
      try {
        config.ekCertificates.verify({
          certificate: payload.ekCertificate,
          trusted: config.ekCas,
          ...config.ekProfile,
          intermediates: payload.ekIntermediates,
          parseIntermediate,
          now,
        });
        caOk = true;
      } catch (err) {
        if (!(err instanceof TpmVerifyError)) throw err;
        problems.push(`EK certificate does not chain to ek_ca_path ${config.ekCaPath}: ${err.message} (${err.code})`);
        shown.push(`the EK certificate does not chain to a trusted CA (${err.code})`);
      }
    }
  }
  if (config.ekHashes) {
    hashOk = config.ekHashes.has(ekHash);
    if (!hashOk) {
      problems.push(`EK hash ${ekHash} is not in ek_hash_path ${config.ekHashPath}`);
      shown.push(`EK hash ${ekHash} is not allowed`);
    }
  }
  const ok =
    config.ekTrust === 'all'
      ? (config.ekCas === undefined || caOk) &&
        (config.ekHashes === undefined || hashOk) &&
        (config.ekCas !== undefined || config.ekHashes !== undefined)
      : caOk || hashOk;
  if (!ok)
    throw refused(
      'ek_trust',
      `${problems.join('; ')} (ek_trust = "${config.ekTrust}")`,
      shown.join('; ') || 'the EK is not trusted',
    );
  return { certificate, chained: caOk };
}
