// EK certificate parsing and path validation remembered by exact bytes: a node re-attests with the same
// certificate, and Node's X.509 parser and the path search cost far more than the attestation's own RSA
// operations. A verified path is reused only for the same anchor set and profile; failures are not kept.
import type { X509Certificate } from 'node:crypto';
import { createBytesCache } from '../lru-cache';
import { type EkCertificate, parseEkCertificate, type VerifiedEkCertificate, verifyEkCertificate } from './ek-cert';
import type { EkProfileOptions } from './ek-profile';

/** Default bound of each of the cache's two maps (parsed certificates, verified paths). */
export const EK_CERT_CACHE_ENTRIES = 1024;

export interface EkCertificateCacheOptions {
  /** Most entries kept in each map (default EK_CERT_CACHE_ENTRIES). */
  maxEntries?: number;
}

/** A parsed EK certificate with the PKIX DER of its key. Shared between callers: never modify it. */
export interface ParsedEkCertificate extends EkCertificate {
  /** The certificate's SubjectPublicKeyInfo DER (to compare with the EK public area's). */
  publicKeyDer: Uint8Array;
}

export interface CachedVerifyOptions extends EkProfileOptions {
  /** The EK certificate bytes as received (NV padding allowed). */
  certificate: Uint8Array;
  /**
   * Trust anchors (e.g. the server's ek_ca_path bundle). Compared by identity: a path verified against
   * one array is never reused for another, even with the same certificates in it.
   */
  trusted: readonly X509Certificate[];
  /** The untrusted intermediates' DER as received. */
  intermediates?: readonly Uint8Array[];
  /** Parses intermediate `index` (only on a miss); default parseEkCertificate(der).certificate. */
  parseIntermediate?: (der: Uint8Array, index: number) => X509Certificate;
  /** Time of the validity checks (default: now). */
  now?: Date;
}

export interface EkCertificateCache {
  /** parseEkCertificate, remembered by the exact bytes. Throws as it does. */
  parse(bytes: Uint8Array): ParsedEkCertificate;
  /**
   * verifyEkCertificate, remembered by the exact bytes of the certificate and intermediates. A remembered
   * path is reused only for the same `trusted` array and profile options, and only while `now` is within
   * the validity dates of every certificate on it; otherwise the whole validation runs again (and may find
   * another path, or throw as verifyEkCertificate does). Failures are never remembered. Same checks, same
   * errors, same caveats (no revocation) as verifyEkCertificate. The result is shared: never modify it.
   */
  verify(options: CachedVerifyOptions): VerifiedEkCertificate;
  readonly size: { parsed: number; verified: number };
}

interface VerifiedEntry {
  result: VerifiedEkCertificate;
  trusted: readonly X509Certificate[];
  profile: string;
  /** [notBefore, notAfter] in ms of each certificate on the path. */
  validity: ReadonlyArray<readonly [number, number]>;
}

const profileOf = (o: EkProfileOptions) => `${o.requireEku === true}:${o.allowSha1 === true}`;

/**
 * Creates an empty cache. The server plugin makes a new one at every Configure, so nothing verified under
 * an earlier configuration outlives it.
 */
export function createEkCertificateCache(options: EkCertificateCacheOptions = {}): EkCertificateCache {
  const max = options.maxEntries ?? EK_CERT_CACHE_ENTRIES;
  const parsed = createBytesCache<ParsedEkCertificate>(max);
  const verified = createBytesCache<VerifiedEntry>(max);

  const parse = (bytes: Uint8Array): ParsedEkCertificate => {
    const key = [bytes];
    const hit = parsed.get(key);
    if (hit) return hit;
    const ek = parseEkCertificate(bytes);
    const entry = { ...ek, publicKeyDer: new Uint8Array(ek.publicKey.export({ type: 'spki', format: 'der' })) };
    parsed.set(key, entry);
    return entry;
  };

  return {
    parse,
    verify(options) {
      const { certificate, trusted, intermediates = [], parseIntermediate, now = new Date() } = options;
      const key = [certificate, ...intermediates];
      const profile = profileOf(options);
      const hit = verified.get(key);
      const t = now.getTime();
      if (
        hit &&
        hit.trusted === trusted &&
        hit.profile === profile &&
        hit.validity.every(([from, to]) => t >= from && t <= to)
      )
        return hit.result;
      const toCertificate = parseIntermediate ?? ((der: Uint8Array) => parseEkCertificate(der).certificate);
      const result = verifyEkCertificate({
        certificate: parse(certificate),
        trusted,
        intermediates: intermediates.map(toCertificate),
        now,
        requireEku: options.requireEku,
        allowSha1: options.allowSha1,
      });
      const validity = result.chain.map((c) => [Date.parse(c.validFrom), Date.parse(c.validTo)] as const);
      verified.set(key, { result, trusted, profile, validity });
      return result;
    },
    get size() {
      return { parsed: parsed.size, verified: verified.size };
    },
  };
}
