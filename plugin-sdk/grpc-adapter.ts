// The one adapter between protobuf-es v2 service descriptors and @grpc/grpc-js:
// it builds grpc-js service definitions (binary protobuf via toBinary/fromBinary)
// and exposes both server handlers and client calls as promises / async iterables.
import { addAbortSignal, type Readable, type Writable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import {
  create,
  fromBinary,
  toBinary,
  type DescMessage,
  type DescMethod,
  type DescService,
  type MessageInitShape,
  type MessageShape,
} from '@bufbuild/protobuf';
import type { StaticMethod, StaticService } from '../proto/static-service';
import { toGrpcStatus } from './plugin-error';

/** Per-call context handed to server handlers. */
export interface CallContext {
  /** Aborted when the peer cancels the call or the server shuts down. */
  readonly signal: AbortSignal;
  /** Full method path, e.g. "/plugin.GRPCBroker/StartStream". */
  readonly method: string;
  readonly metadata: grpc.Metadata;
}

type In<M extends DescMethod> = MessageShape<M['input']>;
type InInit<M extends DescMethod> = MessageInitShape<M['input']>;
type Out<M extends DescMethod> = MessageShape<M['output']>;
type OutInit<M extends DescMethod> = MessageInitShape<M['output']>;

/** A server handler, shaped by the method kind. */
export type MethodImpl<M extends DescMethod> = M['methodKind'] extends 'unary'
  ? (request: In<M>, ctx: CallContext) => Promise<OutInit<M>>
  : M['methodKind'] extends 'server_streaming'
    ? (request: In<M>, ctx: CallContext) => AsyncIterable<OutInit<M>>
    : M['methodKind'] extends 'client_streaming'
      ? (requests: AsyncIterable<In<M>>, ctx: CallContext) => Promise<OutInit<M>>
      : (requests: AsyncIterable<In<M>>, ctx: CallContext) => AsyncIterable<OutInit<M>>;

/** The descriptor type of a service given as its descriptor or its method table. */
type DescOf<S extends DescService | StaticService> = S extends StaticService<infer D> ? D : S;

/** Implementation of every method of a service, keyed by the method's localName. */
export type ServiceImpl<S extends DescService | StaticService> = {
  [K in keyof DescOf<S>['method']]: DescOf<S>['method'][K] extends DescMethod
    ? MethodImpl<DescOf<S>['method'][K]>
    : never;
};

/** Options for calls made through a client. */
export interface CallOptions {
  signal?: AbortSignal;
  /** Milliseconds from now. */
  timeoutMs?: number;
}

/** A client method, shaped by the method kind. */
export type MethodClient<M extends DescMethod> = M['methodKind'] extends 'unary'
  ? (request: InInit<M>, options?: CallOptions) => Promise<Out<M>>
  : M['methodKind'] extends 'server_streaming'
    ? (request: InInit<M>, options?: CallOptions) => AsyncIterable<Out<M>>
    : M['methodKind'] extends 'client_streaming'
      ? (requests: AsyncIterable<InInit<M>>, options?: CallOptions) => Promise<Out<M>>
      : (requests: AsyncIterable<InInit<M>>, options?: CallOptions) => AsyncIterable<Out<M>>;

/** A typed client for every method of a service, keyed by localName. */
export type ServiceClient<S extends DescService | StaticService> = {
  [K in keyof DescOf<S>['method']]: DescOf<S>['method'][K] extends DescMethod
    ? MethodClient<DescOf<S>['method'][K]>
    : never;
};

function codec(schema: DescMessage) {
  return {
    serialize: (message: unknown): Buffer =>
      Buffer.from(toBinary(schema, create(schema, message as MessageInitShape<DescMessage>))),
    deserialize: (bytes: Buffer): unknown => fromBinary(schema, bytes),
  };
}

/**
 * A service to serve or call: its protobuf-es descriptor, or its entry in proto/gen/services.ts, which has
 * the same type name and methods and builds the descriptor only when a message is first (de)serialised.
 */
export type AnyService<S extends DescService> = S | StaticService<S>;

function descriptorOf<S extends DescService>(service: AnyService<S>): S {
  return 'load' in service ? service.load() : service;
}

function methodPath(service: { typeName: string }, method: { name: string }): string {
  return `/${service.typeName}/${method.name}`;
}

/** The codecs of one method's request and response, made from the descriptor on first use. */
function lazyCodecs(service: AnyService<DescService>, method: StaticMethod) {
  let codecs: { input: ReturnType<typeof codec>; output: ReturnType<typeof codec> } | undefined;
  const get = () => {
    if (!codecs) {
      const desc = descriptorOf(service).method[method.localName];
      if (!desc) throw new Error(`${methodPath(service, method)} is not in its service's descriptor`);
      codecs = { input: codec(desc.input), output: codec(desc.output) };
    }
    return codecs;
  };
  return {
    requestSerialize: (message: unknown) => get().input.serialize(message),
    requestDeserialize: (bytes: Buffer) => get().input.deserialize(bytes),
    responseSerialize: (message: unknown) => get().output.serialize(message),
    responseDeserialize: (bytes: Buffer) => get().output.deserialize(bytes),
  };
}

/** grpc-js service definition for a service, keyed by method localName. */
export function grpcServiceDefinition(service: AnyService<DescService>): grpc.ServiceDefinition {
  const def: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const method of service.methods) {
    def[method.localName] = {
      path: methodPath(service, method),
      requestStream: method.methodKind === 'client_streaming' || method.methodKind === 'bidi_streaming',
      responseStream: method.methodKind === 'server_streaming' || method.methodKind === 'bidi_streaming',
      ...lazyCodecs(service, method),
      originalName: method.localName,
    };
  }
  return def as grpc.ServiceDefinition;
}

/** Called with every error a handler throws, before it becomes a status. */
export type ErrorObserver = (method: string, err: unknown) => void;

function contextFor(
  call: { on(event: 'cancelled', listener: () => void): unknown; metadata: grpc.Metadata },
  method: string,
): { ctx: CallContext; abort: () => void } {
  const controller = new AbortController();
  const abort = () => controller.abort();
  call.on('cancelled', abort);
  return { ctx: { signal: controller.signal, method, metadata: call.metadata }, abort };
}

/**
 * Messages from a readable call as an async iterable that ends (throws) when `signal`
 * aborts. The iterator must not destroy the call when the peer half-closes: a bidi
 * handler still writes its answers (and the status) after the requests end.
 */
function incoming<T>(stream: Readable, signal: AbortSignal): AsyncIterable<T> {
  addAbortSignal(signal, stream);
  return {
    [Symbol.asyncIterator]: () =>
      stream.iterator({ destroyOnReturn: false })[Symbol.asyncIterator]() as AsyncIterator<T>,
  };
}

async function writeAll(call: Writable, messages: AsyncIterable<unknown>, signal: AbortSignal): Promise<void> {
  for await (const message of messages) {
    if (signal.aborted) return;
    if (!call.write(message)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          call.off('drain', done);
          signal.removeEventListener('abort', done);
          resolve();
        };
        call.once('drain', done);
        signal.addEventListener('abort', done, { once: true });
      });
    }
  }
}

/**
 * grpc-js handlers for a service implementation. Every thrown error becomes a gRPC
 * status through toGrpcStatus (the single conversion point); `onError` sees the
 * original first (for logging). Cancelled calls are not answered. `impl` may be a
 * function that makes the implementation: it is called on the first call, so that the
 * code behind it needs not load before the go-plugin handshake.
 */
export function grpcHandlers<S extends DescService>(
  service: AnyService<S>,
  impl: ServiceImpl<S> | (() => ServiceImpl<S>),
  onError: ErrorObserver = () => {},
): grpc.UntypedServiceImplementation {
  type Table = Record<string, (...args: unknown[]) => unknown>;
  const complete = (candidate: ServiceImpl<S>): Table => {
    const table = candidate as unknown as Table;
    for (const method of service.methods) {
      if (typeof table[method.localName] !== 'function') {
        throw new Error(`no implementation for ${methodPath(service, method)}`);
      }
    }
    return table;
  };
  let table = typeof impl === 'function' ? undefined : complete(impl);
  const implementation = (): Table => (table ??= complete((impl as () => ServiceImpl<S>)()));
  const handlers: grpc.UntypedServiceImplementation = {};
  for (const method of service.methods) {
    const path = methodPath(service, method);
    const invoke = (...args: unknown[]) => implementation()[method.localName](...args);
    const fail = (err: unknown) => {
      onError(path, err);
      return toGrpcStatus(err);
    };
    switch (method.methodKind) {
      case 'unary':
        handlers[method.localName] = (
          call: grpc.ServerUnaryCall<unknown, unknown>,
          callback: grpc.sendUnaryData<unknown>,
        ) => {
          const { ctx } = contextFor(call, path);
          Promise.resolve()
            .then(() => invoke(call.request, ctx) as Promise<unknown>)
            .then(
              (response) => callback(null, response),
              (err) => callback(fail(err)),
            );
        };
        break;
      case 'client_streaming':
        handlers[method.localName] = (
          call: grpc.ServerReadableStream<unknown, unknown>,
          callback: grpc.sendUnaryData<unknown>,
        ) => {
          const { ctx } = contextFor(call, path);
          Promise.resolve()
            .then(() => invoke(incoming(call, ctx.signal), ctx) as Promise<unknown>)
            .then(
              (response) => callback(null, response),
              (err) => {
                if (!ctx.signal.aborted) callback(fail(err));
              },
            );
        };
        break;
      case 'server_streaming':
      case 'bidi_streaming':
        handlers[method.localName] = (
          call: grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>,
        ) => {
          const { ctx } = contextFor(call, path);
          const run = async () => {
            const source =
              method.methodKind === 'server_streaming'
                ? invoke((call as grpc.ServerWritableStream<unknown, unknown>).request, ctx)
                : invoke(incoming(call as grpc.ServerDuplexStream<unknown, unknown>, ctx.signal), ctx);
            await writeAll(call, source as AsyncIterable<unknown>, ctx.signal);
          };
          run().then(
            () => {
              if (!ctx.signal.aborted) call.end();
            },
            (err) => {
              if (!ctx.signal.aborted) call.emit('error', fail(err));
            },
          );
        };
        break;
    }
  }
  return handlers;
}

/** Registers a service implementation on a grpc-js server. */
export function addService<S extends DescService>(
  server: grpc.Server,
  service: AnyService<S>,
  impl: ServiceImpl<S> | (() => ServiceImpl<S>),
  onError?: ErrorObserver,
): void {
  server.addService(grpcServiceDefinition(service), grpcHandlers(service, impl, onError));
}

/** Default channel options: go-plugin's host uses authority "unused" and no size limit. */
export const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.default_authority': 'unused',
  'grpc.max_receive_message_length': -1,
  'grpc.max_send_message_length': -1,
};

/** A grpc-js target for a go-plugin ConnInfo network/address pair. */
export function grpcTarget(network: string, address: string): string {
  if (network === 'unix') return `unix:${address}`;
  if (network === 'tcp') return address;
  throw new Error(`unsupported network ${JSON.stringify(network)}`);
}

function callOptions(options?: CallOptions): grpc.CallOptions {
  return options?.timeoutMs !== undefined ? { deadline: Date.now() + options.timeoutMs } : {};
}

function cancelOn(signal: AbortSignal | undefined, call: { cancel(): void }): void {
  if (!signal) return;
  if (signal.aborted) call.cancel();
  else signal.addEventListener('abort', () => call.cancel(), { once: true });
}

async function pump(call: grpc.ClientWritableStream<unknown>, requests: AsyncIterable<unknown>): Promise<void> {
  try {
    for await (const request of requests) {
      if (!call.write(request)) await new Promise((resolve) => call.once('drain', resolve));
    }
    call.end();
  } catch {
    call.cancel();
  }
}

/**
 * A typed client for `service` over an existing grpc-js client/channel. Unary calls
 * return promises; streams are async iterables; a CallOptions.signal cancels the call.
 */
export function createServiceClient<S extends DescService>(
  service: AnyService<S>,
  client: grpc.Client,
): ServiceClient<S> {
  const out: Record<string, unknown> = {};
  for (const method of descriptorOf(service).methods) {
    const path = methodPath(method.parent, method);
    const input = codec(method.input);
    const output = codec(method.output);
    switch (method.methodKind) {
      case 'unary':
        out[method.localName] = (request: unknown, options?: CallOptions) =>
          new Promise((resolve, reject) => {
            const call = client.makeUnaryRequest(
              path,
              input.serialize,
              output.deserialize,
              request,
              new grpc.Metadata(),
              callOptions(options),
              (err, response) => (err ? reject(err) : resolve(response)),
            );
            cancelOn(options?.signal, call);
          });
        break;
      case 'server_streaming':
        out[method.localName] = (request: unknown, options?: CallOptions) => {
          const call = client.makeServerStreamRequest(
            path,
            input.serialize,
            output.deserialize,
            request,
            new grpc.Metadata(),
            callOptions(options),
          );
          cancelOn(options?.signal, call);
          return call as AsyncIterable<unknown>;
        };
        break;
      case 'client_streaming':
        out[method.localName] = (requests: AsyncIterable<unknown>, options?: CallOptions) =>
          new Promise((resolve, reject) => {
            const call = client.makeClientStreamRequest(
              path,
              input.serialize,
              output.deserialize,
              new grpc.Metadata(),
              callOptions(options),
              (err, response) => (err ? reject(err) : resolve(response)),
            );
            cancelOn(options?.signal, call);
            void pump(call, requests);
          });
        break;
      case 'bidi_streaming':
        out[method.localName] = (requests: AsyncIterable<unknown>, options?: CallOptions) => {
          const call = client.makeBidiStreamRequest(
            path,
            input.serialize,
            output.deserialize,
            new grpc.Metadata(),
            callOptions(options),
          );
          cancelOn(options?.signal, call);
          void pump(call, requests);
          return call as AsyncIterable<unknown>;
        };
        break;
    }
  }
  return out as ServiceClient<S>;
}

/** Dials `target` (e.g. "unix:/path") without TLS and returns the grpc-js client. */
export function dialInsecure(target: string): grpc.Client {
  return new grpc.Client(target, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
}
