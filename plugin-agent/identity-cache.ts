// The TPM identity an attestation learnt (TPM facts, EK and its certificates, persistent AK), kept in the
// agent plugin's process, and in a file in ak_data_dir for the first attestation after a restart, for the
// next attestation stream to confirm with ReadPublic instead of re-reading (tpm/attestation-session.ts).
// One TPM per agent, so one slot.
import { createHash } from 'node:crypto';
import { unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from '../plugin-sdk';
import { ensureAkDir, readStoreFile, replaceStoreFile, type SessionIdentity, type TpmInfo } from '../tpm';
import {
  encodeIdentityRecord,
  IdentityFileError,
  MAX_IDENTITY_FILE_BYTES,
  parseIdentityRecord,
  type IdentityRecord,
} from './identity-file';

/** What the cached identity's last quote said about the TPM: a reboot or firmware update drops the cache. */
export interface QuotedFacts {
  resetCount: number;
  firmwareVersion: bigint;
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
  /**
   * The identity read under `key` at most `maxAgeMs` ago; else undefined and why (for the debug log). With
   * `file` (the cache file in ak_data_dir) and nothing in memory, the identity is taken from that file
   * (identity-file.ts); a file that does not parse is deleted and logged. `from` says where it came from.
   */
  lookup(
    key: string,
    maxAgeMs: number,
    file?: string,
  ): Promise<{ identity?: SessionIdentity<TpmInfo>; miss?: string; from?: 'memory' | 'file' }>;
  /**
   * Keeps `identity`, read under `key`, with the facts of the quote of the attestation that used it; with
   * `file`, also writes it there (atomically, 0600). A write failure is logged, never thrown.
   */
  fill(key: string, identity: SessionIdentity<TpmInfo>, quoted: QuotedFacts, file?: string): Promise<void>;
  /**
   * After an attestation that used the cache: drops it (and returns why) when the quote shows the TPM reset
   * or its firmware changed since the identity was read.
   */
  checkQuote(quoted: QuotedFacts): Promise<string | undefined>;
  /** Forgets the identity and deletes its file (any failed attestation does this). */
  drop(): Promise<void>;
}

export interface IdentityCacheOptions {
  now?: () => number;
  /** Where file problems are logged (warn), naming the file. */
  log?: Pick<Logger, 'warn' | 'debug'>;
}

export function createIdentityCache(o: IdentityCacheOptions = {}): IdentityCache {
  const now = o.now ?? Date.now;
  let entry: IdentityRecord | undefined;
  // The file `entry` came from or was written to: dropping the entry deletes it.
  let file: string | undefined;
  const removeFile = async (path: string, why: string) => {
    if (file === path) file = undefined;
    await unlink(path).then(
      () => o.log?.debug('TPM identity cache file deleted', { file: path, reason: why }),
      (e: unknown) => {
        // Nothing there, or no directory to hold it: nothing to delete.
        const errno = (e as NodeJS.ErrnoException).code;
        if (errno !== 'ENOENT' && errno !== 'ENOTDIR')
          o.log?.warn('cannot delete the TPM identity cache file', { file: path, error: (e as Error).message });
      },
    );
  };
  // A cache file that cannot be used: logged naming it, deleted; `miss` is the reason the lookup gives.
  const discard = async (path: string, message: string, e: unknown, miss: string) => {
    o.log?.warn(message, { file: path, error: (e as Error).message });
    await removeFile(path, miss);
    return miss;
  };
  const load = async (path: string): Promise<IdentityRecord | string> => {
    let body: string | undefined;
    try {
      body = await readStoreFile(path, MAX_IDENTITY_FILE_BYTES, 'TPM identity cache file');
    } catch (e) {
      return discard(path, 'cannot read the TPM identity cache file; reading the identity', e, 'cache file unreadable');
    }
    if (body === undefined) return 'nothing cached';
    try {
      const record = parseIdentityRecord(body);
      if (record.filledAt > now()) throw new IdentityFileError('filledAt: in the future');
      file = path;
      return record;
    } catch (e) {
      return discard(
        path,
        'TPM identity cache file is not valid; deleted, reading the identity',
        e,
        'cache file not valid',
      );
    }
  };
  const forget = async (why: string) => {
    entry = undefined;
    if (file) await removeFile(file, why);
  };
  return {
    async lookup(key, maxAgeMs, path) {
      if (maxAgeMs <= 0) return { miss: 'identity_cache_max_age is 0' };
      let from: 'memory' | 'file' = 'memory';
      if (!entry && path) {
        const r = await load(path);
        if (typeof r === 'string') return { miss: r };
        entry = r;
        from = 'file';
      }
      if (!entry) return { miss: 'nothing cached' };
      if (entry.key !== key) return { miss: 'configuration changed' };
      if (now() - entry.filledAt >= maxAgeMs) return { miss: 'older than identity_cache_max_age' };
      return { identity: entry.identity, from };
    },
    async fill(key, identity, quoted, path) {
      entry = { key, identity, quoted, filledAt: now() };
      if (!path) return;
      try {
        await ensureAkDir(dirname(path));
        await replaceStoreFile(path, encodeIdentityRecord(entry), 'TPM identity cache file');
        file = path;
      } catch (e) {
        o.log?.warn('cannot write the TPM identity cache file; the next agent start reads the identity again', {
          file: path,
          error: (e as Error).message,
        });
        // An older file there must not outlive the identity it no longer matches.
        await removeFile(path, 'not updated');
      }
    },
    async checkQuote(quoted) {
      if (!entry) return undefined;
      let why: string | undefined;
      if (quoted.resetCount !== entry.quoted.resetCount) why = 'the TPM was reset (resetCount moved)';
      else if (quoted.firmwareVersion !== entry.quoted.firmwareVersion) why = 'the TPM firmware version changed';
      if (why) await forget(why);
      return why;
    },
    drop: () => forget('attestation failed or unanswered'),
  };
}
