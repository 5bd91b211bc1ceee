// Which verifier judges check 5 for a configuration: the in-process one, or the gated Keylime one, whose
// client is kept across Configure calls while its settings stay the same.
import { Code, PluginError } from '../plugin-sdk';
import {
  createGatedVerifier,
  createInProcessVerifier,
  createKeylimeVerifier,
  type KeylimeVerifierOptions,
  type Verifier,
} from '../verifier-client';
import type { ServerConfig } from './config';

/** A verifier held by one attestation from its start to its verdict; `release` once, when it ends. */
export interface VerifierLease {
  verifier: Verifier;
  release(): void;
}

/** A Keylime client shared by attestations, closed once it is retired and no attestation still holds it. */
interface SharedKeylime {
  key: string;
  acquire(): VerifierLease;
  retire(): void;
}

function sharedKeylime(key: string, inner: Verifier): SharedKeylime {
  let held = 0;
  let retired = false;
  const closeIfIdle = () => {
    if (retired && held === 0) inner.close();
  };
  return {
    key,
    acquire() {
      held++;
      let released = false;
      return {
        verifier: inner,
        release() {
          if (released) return;
          released = true;
          held--;
          closeIfIdle();
        },
      };
    },
    retire() {
      retired = true;
      closeIfIdle();
    },
  };
}

/**
 * The verifier for a configuration, held by one attestation: the in-process one, or in Keylime mode the
 * gated verifier (our quote checks, then Keylime) over one Keylime client. The client (its keep-alive
 * connections) is kept while the Keylime settings stay the same across Configure calls; when they change it
 * is retired and closed once every attestation that acquired it (at its start, before the challenge) has
 * released it at its verdict: an attestation waiting for its agent's response when Configure changes the
 * settings still finishes on its own client.
 */
export function createVerifierSelector(override?: Verifier): (config: ServerConfig) => VerifierLease {
  const inProcess = createInProcessVerifier();
  let keylime: SharedKeylime | undefined;
  const keyOf = (k: KeylimeVerifierOptions): string =>
    JSON.stringify([
      k.url,
      k.apiVersion,
      k.timeoutMs,
      String(k.caPem),
      String(k.clientCertPem ?? ''),
      String(k.clientKeyPem ?? ''),
      k.mbRefstate ?? '',
    ]);
  const unshared = (verifier: Verifier): VerifierLease => ({ verifier, release() {} });
  return (config) => {
    if (override) return unshared(override);
    if (config.verifier !== 'keylime') return unshared(inProcess);
    if (!config.keylime) throw new PluginError(Code.INTERNAL, 'verifier = "keylime" without a keylime configuration');
    const key = keyOf(config.keylime);
    if (keylime?.key !== key) {
      keylime?.retire();
      keylime = sharedKeylime(key, createGatedVerifier(createKeylimeVerifier(config.keylime)));
    }
    return keylime.acquire();
  };
}
