// The TPM identity an attestation learnt (TPM facts, EK and its certificates, persistent AK), kept in the
// agent plugin's process for the next attestation stream to confirm with ReadPublic instead of re-reading
// (tpm/attestation-session.ts). One TPM per agent, so one slot.
import { createHash } from 'node:crypto';
import type { SessionIdentity, TpmInfo } from '../tpm';

/** What the cached identity's last quote said about the TPM: a reboot or firmware update drops the cache. */
export interface QuotedFacts {
  resetCount: number;
  firmwareVersion: bigint;
}

interface Entry {
  key: string;
  identity: SessionIdentity<TpmInfo>;
  quoted: QuotedFacts;
  filledAt: number;
}

/** Identifies the configuration an identity was read under: another one (any key, or file contents) misses. */
export function identityKey(parts: Record<string, string | number | Uint8Array | undefined>): string {
  const h = createHash('sha256');
  for (const [k, v] of Object.entries(parts))
    h.update(`${k}=`)
      .update(typeof v === 'number' ? String(v) : (v ?? ''))
      .update('\0');
  return h.digest('hex');
}

export interface IdentityCache {
  /** The identity read under `key` at most `maxAgeMs` ago; else undefined and why (for the debug log). */
  lookup(key: string, maxAgeMs: number): { identity?: SessionIdentity<TpmInfo>; miss?: string };
  /** Keeps `identity`, read under `key`, with the facts of the quote of the attestation that used it. */
  fill(key: string, identity: SessionIdentity<TpmInfo>, quoted: QuotedFacts): void;
  /**
   * After an attestation that used the cache: drops it (and returns why) when the quote shows the TPM reset
   * or its firmware changed since the identity was read.
   */
  checkQuote(quoted: QuotedFacts): string | undefined;
  /** Forgets the identity (any failed attestation does this). */
  drop(): void;
}

export function createIdentityCache(now: () => number = Date.now): IdentityCache {
  let entry: Entry | undefined;
  return {
    lookup(key, maxAgeMs) {
      if (maxAgeMs <= 0) return { miss: 'identity_cache_max_age is 0' };
      if (!entry) return { miss: 'nothing cached' };
      if (entry.key !== key) return { miss: 'configuration changed' };
      if (now() - entry.filledAt >= maxAgeMs) return { miss: 'older than identity_cache_max_age' };
      return { identity: entry.identity };
    },
    fill(key, identity, quoted) {
      entry = { key, identity, quoted, filledAt: now() };
    },
    checkQuote(quoted) {
      if (!entry) return undefined;
      let why: string | undefined;
      if (quoted.resetCount !== entry.quoted.resetCount) why = 'the TPM was reset (resetCount moved)';
      else if (quoted.firmwareVersion !== entry.quoted.firmwareVersion) why = 'the TPM firmware version changed';
      if (why) entry = undefined;
      return why;
    },
    drop() {
      entry = undefined;
    },
  };
}
