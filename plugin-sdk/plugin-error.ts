import { status as GrpcStatus, Metadata, type StatusObject } from '@grpc/grpc-js';

/** gRPC status codes, re-exported so plugin code need not import grpc-js. */
export const Code = GrpcStatus;
export type Code = GrpcStatus;

/**
 * The one error type plugin code throws on purpose. It carries the gRPC code the
 * host should see and keeps its `cause`. The message goes to SPIRE verbatim (SPIRE
 * prefixes it with `nodeattestor(<name>): `), so it names the thing that failed and
 * never contains a stack trace.
 */
export class PluginError extends Error {
  override readonly name = 'PluginError';
  readonly code: Code;

  constructor(code: Code, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }

  /** Malformed input from the wire or the configuration. */
  static invalidArgument(message: string, cause?: unknown): PluginError {
    return new PluginError(Code.INVALID_ARGUMENT, message, { cause });
  }
  /** Evidence failed a check (signature, nonce, PCR, chain, verdict). */
  static permissionDenied(message: string, cause?: unknown): PluginError {
    return new PluginError(Code.PERMISSION_DENIED, message, { cause });
  }
  /** The plugin is not (yet) configured, or a precondition is not met. */
  static failedPrecondition(message: string, cause?: unknown): PluginError {
    return new PluginError(Code.FAILED_PRECONDITION, message, { cause });
  }
  /** A dependency (TPM, verifier, host service) cannot be reached. */
  static unavailable(message: string, cause?: unknown): PluginError {
    return new PluginError(Code.UNAVAILABLE, message, { cause });
  }
  /** The RPC is not implemented by this plugin. */
  static unimplemented(message: string): PluginError {
    return new PluginError(Code.UNIMPLEMENTED, message);
  }
  /** Our own bug. */
  static internal(message: string, cause?: unknown): PluginError {
    return new PluginError(Code.INTERNAL, message, { cause });
  }
}

/** The first line of a message, so multi-line text (e.g. a stack) never reaches the wire. */
function firstLine(text: string): string {
  const i = text.indexOf('\n');
  return i < 0 ? text : text.slice(0, i);
}

/**
 * Converts anything thrown by plugin code into the gRPC status sent to the host.
 * This is the only place where errors become statuses. A PluginError keeps its code
 * and message; anything else is our bug: Internal, with only the first line of its
 * message. Callers log the original error themselves.
 */
export function toGrpcStatus(err: unknown): StatusObject {
  if (err instanceof PluginError) {
    return { code: err.code, details: firstLine(err.message), metadata: new Metadata() };
  }
  const message = err instanceof Error ? err.message : String(err);
  return {
    code: Code.INTERNAL,
    details: `internal error: ${firstLine(message) || 'unknown'}`,
    metadata: new Metadata(),
  };
}
