// A caller of spire-server's node attestation API (spire.api.server.agent.v1.Agent/AttestAgent) written
// independently of spire-agent: it speaks the stream itself, so a test can send what spire-agent never
// would (a payload and then silence, a late answer, a message over gRPC's 4 MiB default) and record the
// exact status SPIRE sends back. The messages are encoded by hand from spire-api-sdk's field numbers:
//   AttestAgentRequest  { Params params = 1; bytes challenge_response = 2; }   (oneof step)
//   Params              { AttestationData data = 1; AgentX509SVIDParams params = 2; }
//   AttestationData     { string type = 1; bytes payload = 2; }
//   AgentX509SVIDParams { bytes csr = 1; }
//   AttestAgentResponse { Result result = 1; bytes challenge = 2; }            (oneof step)
import {
  Metadata,
  credentials,
  makeGenericClientConstructor,
  status,
  type ClientDuplexStream,
  type ServiceError,
} from '@grpc/grpc-js';
import { BinaryReader, BinaryWriter } from '@bufbuild/protobuf/wire';

const METHOD = '/spire.api.server.agent.v1.Agent/AttestAgent';

/** The first request: the attestor's type and payload, and a CSR (SPIRE only checks it is not empty here). */
export function encodeParams(type: string, payload: Uint8Array, csr: Uint8Array): Uint8Array {
  const data = new BinaryWriter().uint32(10).string(type).uint32(18).bytes(payload).finish();
  const svidParams = new BinaryWriter().uint32(10).bytes(csr).finish();
  const params = new BinaryWriter().uint32(10).bytes(data).uint32(18).bytes(svidParams).finish();
  return new BinaryWriter().uint32(10).bytes(params).finish();
}

/** A later request: the answer to a challenge. */
export function encodeChallengeResponse(answer: Uint8Array): Uint8Array {
  return new BinaryWriter().uint32(18).bytes(answer).finish();
}

/** A response: the challenge bytes, or that attestation completed (the result is not decoded). */
export function decodeResponse(bytes: Uint8Array): { challenge: Uint8Array } | { result: true } {
  const r = new BinaryReader(bytes);
  while (r.pos < r.len) {
    const [field, wireType] = r.tag();
    if (field === 2) return { challenge: r.bytes() };
    if (field === 1) return { result: true };
    r.skip(wireType);
  }
  throw new Error('AttestAgentResponse with no step');
}

/** What the caller saw from one stream, in order, with milliseconds since it opened. */
export type StreamEvent =
  | { event: 'challenge'; bytes: number; ms: number }
  | { event: 'result'; ms: number }
  | { event: 'status'; code: string; details: string; ms: number };

export interface AttestStream {
  send(message: Uint8Array): void;
  /** Half-closes the stream (no more requests). */
  end(): void;
  /** Resolves with the next event (a response or the final status). */
  next(): Promise<StreamEvent>;
  /** Every event so far. */
  events: StreamEvent[];
  cancel(): void;
}

/**
 * Opens AttestAgent on `address` (host:port of spire-server's TCP endpoint), authenticating the server
 * with `bundlePem` (its trust bundle). Its certificate names a SPIFFE ID, not a host, so only the chain is
 * checked. `deadlineMs` is the caller's own deadline (none by default).
 */
export function openAttestAgent(address: string, bundlePem: Buffer, deadlineMs?: number): AttestStream {
  const identity = (b: Buffer | Uint8Array) => Buffer.from(b);
  const Client = makeGenericClientConstructor(
    {
      AttestAgent: {
        path: METHOD,
        requestStream: true,
        responseStream: true,
        requestSerialize: identity,
        requestDeserialize: identity,
        responseSerialize: identity,
        responseDeserialize: identity,
      },
    },
    'Agent',
  );
  const creds = credentials.createSsl(bundlePem, null, null, { checkServerIdentity: () => undefined });
  // Sends and receives up to 16 MiB, so a refusal of a larger message is SPIRE's, not this client's. The
  // TLS server name is a name, not the IP address (which TLS SNI does not allow); SPIRE ignores it.
  const client = new Client(address, creds, {
    'grpc.ssl_target_name_override': 'spire-server',
    'grpc.max_send_message_length': 16 << 20,
    'grpc.max_receive_message_length': 16 << 20,
  });
  const t0 = performance.now();
  const ms = () => Math.round(performance.now() - t0);
  const options = deadlineMs === undefined ? {} : { deadline: new Date(Date.now() + deadlineMs) };
  const open = (client as unknown as Record<string, (m: Metadata, o: object) => ClientDuplexStream<Buffer, Buffer>>)
    .AttestAgent;
  const call = open.call(client, new Metadata(), options);
  const events: StreamEvent[] = [];
  const waiters: ((e: StreamEvent) => void)[] = [];
  let read = 0;
  const push = (e: StreamEvent) => {
    events.push(e);
    waiters.shift()?.(e);
  };
  call.on('data', (b: Buffer) => {
    const r = decodeResponse(b);
    push(
      'challenge' in r ? { event: 'challenge', bytes: r.challenge.length, ms: ms() } : { event: 'result', ms: ms() },
    );
  });
  call.on('error', (e: ServiceError) => {
    push({ event: 'status', code: status[e.code] ?? String(e.code), details: e.details, ms: ms() });
    client.close();
  });
  call.on('status', (s: { code: number; details: string }) => {
    if (s.code === status.OK) {
      push({ event: 'status', code: 'OK', details: s.details, ms: ms() });
      client.close();
    }
  });
  return {
    send: (m) => void call.write(Buffer.from(m)),
    end: () => void call.end(),
    next: () =>
      read < events.length
        ? Promise.resolve(events[read++])
        : new Promise((resolve) => waiters.push((e) => (read++, resolve(e)))),
    events,
    cancel: () => call.cancel(),
  };
}
