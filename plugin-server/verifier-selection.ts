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

/** A Keylime client shared by attestations, closed once it is retired and no verification still uses it. */
interface SharedKeylime {
  key: string;
  verifier: Verifier;
  retire(): void;
}

function sharedKeylime(key: string, inner: Verifier): SharedKeylime {
  let inFlight = 0;
  let retired = false;
  const closeIfIdle = () => {
    if (retired && inFlight === 0) inner.close();
  };
  return {
    key,
    verifier: {
      async verify(evidence, policy, options) {
        inFlight++;
        try {
          return await inner.verify(evidence, policy, options);
        } finally {
          inFlight--;
          closeIfIdle();
        }
      },
      close: () => inner.close(),
    },
    retire() {
      retired = true;
      closeIfIdle();
    },
  };
}

/**
 * The verifier for a configuration: the in-process one, or in Keylime mode the gated verifier (our quote
 * checks, then Keylime) over one Keylime client. The client (its keep-alive connections) is kept while the
 * Keylime settings stay the same across Configure calls; when they change it is retired and closed once
 * the attestations that started under the old settings have their verdicts (closing it at once would turn
 * their pending Keylime calls into Unavailable).
 */
export function createVerifierSelector(override?: Verifier): (config: ServerConfig) => Verifier {
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
    ]);
  return (config) => {
    if (override) return override;
    if (config.verifier !== 'keylime') return inProcess;
    if (!config.keylime) throw new PluginError(Code.INTERNAL, 'verifier = "keylime" without a keylime configuration');
    const key = keyOf(config.keylime);
    if (keylime?.key !== key) {
      keylime?.retire();
      keylime = sharedKeylime(key, createGatedVerifier(createKeylimeVerifier(config.keylime)));
    }
    return keylime.verifier;
  };
}
