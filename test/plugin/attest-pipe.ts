// Test-side SPIRE: starts both BUILT plugin executables over go-plugin gRPC (handshake, Init, Configure),
// then pipes AidAttestation <-> Attest the way spire-agent and spire-server relay them.
import { execFileSync } from 'node:child_process';
import { Init } from '../../proto/gen/spire/service/private/init/v1/init_pb';
import { Config } from '../../proto/gen/spire/service/common/config/v1/config_pb';
import { NodeAttestor as AgentNodeAttestor } from '../../proto/gen/spire/plugin/agent/nodeattestor/v1/nodeattestor_pb';
import {
  NodeAttestor as ServerNodeAttestor,
  type AgentAttributes,
} from '../../proto/gen/spire/plugin/server/nodeattestor/v1/nodeattestor_pb';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { AttestRequestSchema } from '../../proto/gen/spire/plugin/server/nodeattestor/v1/nodeattestor_pb';
import type { ChallengeSchema } from '../../proto/gen/spire/plugin/agent/nodeattestor/v1/nodeattestor_pb';
import { AGENT_EXE, SERVER_EXE, startSession, type Session } from './go-plugin-host';
import type { Swtpm } from '../helpers/swtpm';

export const TRUST_DOMAIN = 'example.org';

/** A push-fed async iterable (one consumer). */
export function queue<T>() {
  const items: T[] = [];
  let wake: (() => void) | undefined;
  let closed = false;
  return {
    push(item: T) {
      items.push(item);
      wake?.();
    },
    close() {
      closed = true;
      wake?.();
    },
    iterable: {
      async *[Symbol.asyncIterator]() {
        for (;;) {
          if (items.length > 0) {
            yield items.shift() as T;
            continue;
          }
          if (closed) return;
          await new Promise<void>((r) => (wake = r));
          wake = undefined;
        }
      },
    } as AsyncIterable<T>,
  };
}

/** A started, initialised and configured plugin. */
export async function startConfigured(exe: string, hcl: string): Promise<Session> {
  const s = await startSession(exe);
  try {
    await s.client(Init).init({ hostServiceNames: [] });
    await s.client(Config).configure({ coreConfiguration: { trustDomain: TRUST_DOMAIN }, hclConfiguration: hcl });
  } catch (err) {
    await s.dispose();
    throw err;
  }
  return s;
}

export const startAgent = (hcl: string) => startConfigured(AGENT_EXE, hcl);
export const startServer = (hcl: string) => startConfigured(SERVER_EXE, hcl);

/** What one piped attestation produced. */
export interface AttestOutcome {
  attributes?: AgentAttributes;
  agentError?: { code: number; details: string };
  serverError?: { code: number; details: string };
  payload?: Uint8Array;
  challenge?: Uint8Array;
  response?: Uint8Array;
}

export interface AttestOptions {
  /** Replaces the agent's challenge_response before it reaches the server (e.g. a replay). */
  replaceResponse?: (response: Uint8Array) => Uint8Array;
  /** Replaces the server's challenge before it reaches the agent (e.g. a malformed one). */
  replaceChallenge?: (challenge: Uint8Array) => Uint8Array;
  /** Holds the agent's challenge_response until this settles (a slow agent, or one that never answers). */
  holdResponse?: Promise<unknown>;
  timeoutMs?: number;
}

const grpcError = (err: unknown) => ({
  code: (err as { code: number }).code,
  details: String((err as { details?: string }).details ?? err),
});

/** Runs one attestation through both plugins, as SPIRE relays it; cancels the agent stream at the end. */
export async function attest(agent: Session, server: Session, options: AttestOptions = {}): Promise<AttestOutcome> {
  const out: AttestOutcome = {};
  const toAgent = queue<MessageInitShape<typeof ChallengeSchema>>();
  const toServer = queue<MessageInitShape<typeof AttestRequestSchema>>();
  const agentAbort = new AbortController();
  const serverAbort = new AbortController();
  const timer = setTimeout(() => {
    agentAbort.abort();
    serverAbort.abort();
  }, options.timeoutMs ?? 60_000);

  const agentStream = agent.client(AgentNodeAttestor).aidAttestation(toAgent.iterable, { signal: agentAbort.signal });
  const serverStream = server.client(ServerNodeAttestor).attest(toServer.iterable, { signal: serverAbort.signal });

  const agentSide = (async () => {
    try {
      for await (const m of agentStream) {
        if (m.data.case === 'payload') {
          out.payload = m.data.value;
          toServer.push({ request: { case: 'payload', value: m.data.value } });
        } else if (m.data.case === 'challengeResponse') {
          out.response = m.data.value;
          if (options.holdResponse) await options.holdResponse;
          const value = options.replaceResponse ? options.replaceResponse(m.data.value) : m.data.value;
          toServer.push({ request: { case: 'challengeResponse', value } });
        }
      }
    } catch (err) {
      if (!agentAbort.signal.aborted) {
        out.agentError = grpcError(err);
        // SPIRE fails the attestation when the agent side fails: end the server stream too.
        serverAbort.abort();
      }
    }
  })();
  const serverSide = (async () => {
    try {
      for await (const m of serverStream) {
        if (m.response.case === 'challenge') {
          out.challenge = m.response.value;
          toAgent.push({
            challenge: options.replaceChallenge ? options.replaceChallenge(m.response.value) : m.response.value,
          });
        } else if (m.response.case === 'agentAttributes') {
          out.attributes = m.response.value;
        }
      }
    } catch (err) {
      if (!serverAbort.signal.aborted) out.serverError = grpcError(err);
    } finally {
      // SPIRE cancels the agent's stream once the server has answered (or failed).
      agentAbort.abort();
    }
  })();
  await Promise.all([agentSide, serverSide]);
  clearTimeout(timer);
  toAgent.close();
  toServer.close();
  return out;
}

/** Sends a fixed request sequence straight to the server plugin (no agent), collecting what it answers. */
export async function attestRaw(
  server: Session,
  requests: Array<MessageInitShape<typeof AttestRequestSchema>>,
  onChallenge?: (c: Uint8Array) => MessageInitShape<typeof AttestRequestSchema> | undefined,
) {
  const toServer = queue<MessageInitShape<typeof AttestRequestSchema>>();
  for (const r of requests) toServer.push(r);
  // Without a challenge handler the request side is half-closed at once, as a client that has said all it will.
  if (!onChallenge) toServer.close();
  const out: { challenges: Uint8Array[]; attributes?: AgentAttributes; error?: { code: number; details: string } } = {
    challenges: [],
  };
  try {
    for await (const m of server.client(ServerNodeAttestor).attest(toServer.iterable)) {
      if (m.response.case === 'challenge') {
        out.challenges.push(m.response.value);
        const next = onChallenge?.(m.response.value);
        if (next) toServer.push(next);
        else toServer.close();
      } else if (m.response.case === 'agentAttributes') out.attributes = m.response.value;
    }
  } catch (err) {
    out.error = grpcError(err);
  }
  toServer.close();
  return out;
}

/** tpm2-tools against a swtpm (e.g. tpm2_pcrextend). */
export function tpm2(swtpm: Swtpm, args: string[]): string {
  return execFileSync(args[0], args.slice(1), { env: swtpm.env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}
