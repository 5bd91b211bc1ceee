// The one generic command runner (TPM 2.0 Part 1 section 18, Part 3 section 5): command header, handle
// area, authorization area, parameters; then the response header, handles, parameterSize, parameters and
// the response authorization area.
import { list, marshal, Reader, u32, Writer, TpmMarshalError, type Codec, type StructCodec } from '../marshal/codec';
import { TPM_CC_FlushContext, TPM_RS_PW, TPM_ST_NO_SESSIONS, TPM_ST_SESSIONS } from '../marshal/constants';
import { TpmError, TpmResponseError } from '../errors';
import type { TpmTransport } from '../transport/transport';
import { TpmsAuthCommand, TpmsAuthResponse } from '../types/session';

/**
 * One TPM command, declared once (go-tpm style): code, named handles, codecs. Handles that carry an
 * authorization (marked @ in the Part 3 tables) come first on the wire, so they are declared apart from
 * the others; a call names every handle, so a missing, misspelt or foreign handle name does not compile.
 */
export interface CommandDef<A extends string, H extends string, P, R, RH extends boolean = boolean> {
  /** Spec name, e.g. TPM2_Quote (used in errors). */
  readonly name: string;
  readonly code: number;
  /** Names of the handles that need an authorization, in order (they come first in the handle area). */
  readonly authHandles: readonly A[];
  /** Names of the other input handles, in order (after the authorized ones). */
  readonly handles: readonly H[];
  /** True when the response starts with one handle (CreatePrimary, Load, StartAuthSession). */
  readonly responseHandle: RH;
  readonly params: Codec<P>;
  /** Parameter names, for error messages naming parameter N. */
  readonly paramNames: readonly string[];
  readonly response: Codec<R>;
}

/**
 * Declares a command (fixes the type parameters). `paramNames` defaults to the field names of a `struct()`
 * params codec, so the parameters are named once; give it only for a params codec that is not a struct.
 */
export function defineCommand<
  A extends string = never,
  H extends string = never,
  P = unknown,
  R = unknown,
  RH extends boolean = false,
>(
  def: Omit<CommandDef<A, H, P, R, RH>, 'paramNames'> & { paramNames?: readonly string[] },
): CommandDef<A, H, P, R, RH> {
  return { ...def, paramNames: def.paramNames ?? (def.params as Partial<StructCodec<P>>).fieldNames ?? [] };
}

/** Options every TPM call takes. */
export interface CallOptions {
  signal?: AbortSignal;
}

/** One authorization for one handle: a password session (TPM_RS_PW) or a started session handle. */
export interface AuthSession {
  handle: number;
  nonceCaller?: Uint8Array;
  /** TPMA_SESSION bits. */
  attributes?: number;
  /** The password for TPM_RS_PW; the HMAC for a session (empty for a policy session without auth value). */
  hmac?: Uint8Array;
}

/** A password authorization (empty password by default). */
export function passwordAuth(password: Uint8Array = new Uint8Array()): AuthSession {
  return { handle: TPM_RS_PW, hmac: password };
}

/** A policy-session authorization with an empty HMAC (unbound, unsalted session; no PolicyAuthValue). */
export function policyAuth(sessionHandle: number, attributes = 0x01): AuthSession {
  return { handle: sessionHandle, attributes };
}

/** An authorized handle with its authorization (go-tpm's AuthHandle); a bare handle means an empty password. */
export interface AuthHandle {
  handle: number;
  auth: AuthSession;
}

/** A command's handles by name: each authorized one a handle or an AuthHandle, the others a handle. */
export type NamedHandles<A extends string, H extends string> = { readonly [K in A]: number | AuthHandle } & {
  readonly [K in H]: number;
};

export type ExecuteInput<A extends string, H extends string, P> = ([A | H] extends [never]
  ? { handles?: undefined }
  : { handles: NamedHandles<A, H> }) & {
  params: P;
  signal?: AbortSignal;
  /** Times to re-send on TPM_RC_RETRY / YIELDED / TESTING / NV_RATE (default 5). */
  retries?: number;
};

/** A response: its parameters, and the response handle for a command that returns one (typed by the definition). */
export type ExecuteOutput<R, RH extends boolean = boolean> = { params: R } & (RH extends true
  ? { handle: number }
  : { handle?: undefined });

const authArea = list(TpmsAuthCommand, 3);

/** All handle names of `def` in wire order (authorized first), for messages naming handle N. */
export function handleNames(def: {
  readonly authHandles: readonly string[];
  readonly handles: readonly string[];
}): readonly string[] {
  return [...def.authHandles, ...def.handles];
}

/** Marshals a command (exported for tests and for capturing command bytes). */
export function marshalCommand<A extends string, H extends string, P>(
  def: CommandDef<A, H, P, unknown>,
  input: ExecuteInput<A, H, P>,
): Uint8Array {
  const given = (input.handles ?? {}) as Record<string, number | AuthHandle | undefined>;
  const handleOf = (name: string): number | AuthHandle => {
    const h = given[name];
    if (h === undefined) throw new TypeError(`${def.name}: handle ${name} is missing`);
    return h;
  };
  const extra = Object.keys(given).filter((k) => !(handleNames(def) as readonly string[]).includes(k));
  if (extra.length)
    throw new TypeError(
      `${def.name}: no handle named ${extra.join(', ')} (expects ${handleNames(def).join(', ') || 'none'})`,
    );
  const authorized = def.authHandles.map(handleOf);
  const others = def.handles.map(handleOf);
  if (others.some((h) => typeof h !== 'number'))
    throw new TypeError(`${def.name}: only ${def.authHandles.join(', ') || 'no handle'} takes an authorization`);
  const sessions = authorized.map((h) => (typeof h === 'number' ? passwordAuth() : h.auth));
  const handles = [...authorized, ...others].map((h) => (typeof h === 'number' ? h : h.handle));
  const params = marshal(def.params, input.params);
  const w = new Writer();
  w.u16(sessions.length ? TPM_ST_SESSIONS : TPM_ST_NO_SESSIONS);
  w.u32(0); // size, patched below
  w.u32(def.code);
  for (const h of handles) u32.encode(w, h);
  if (sessions.length) {
    const auth = marshal(
      authArea,
      sessions.map((s) => ({
        sessionHandle: s.handle,
        nonce: s.nonceCaller ?? new Uint8Array(),
        sessionAttributes: s.attributes ?? 0,
        hmac: s.hmac ?? new Uint8Array(),
      })),
    );
    // authorizationSize counts the sessions only: drop the list codec's u32 count and write the byte size.
    w.u32(auth.length - 4);
    w.bytes(auth.subarray(4));
  }
  w.bytes(params);
  const out = w.finish();
  new DataView(out.buffer, out.byteOffset).setUint32(2, out.length);
  return out;
}

/**
 * Parses a response for `def` (exported for tests). `sessionCount` defaults to the command's authorized
 * handles. Throws TpmError for a non-success code.
 */
export function unmarshalResponse<R, RH extends boolean>(
  def: CommandDef<string, string, unknown, R, RH>,
  bytes: Uint8Array,
  sessionCount = def.authHandles.length,
): ExecuteOutput<R, RH> {
  const r = new Reader(bytes);
  let handle: number | undefined;
  try {
    const tag = r.u16();
    const size = r.u32();
    const rc = r.u32();
    if (size !== bytes.length) r.fail(`responseSize ${size} but ${bytes.length} bytes received`);
    if (rc !== 0) {
      if (r.remaining !== 0) r.fail(`error response with ${r.remaining} extra bytes`);
      throw new TpmError(rc, def.name, { handles: handleNames(def), params: def.paramNames });
    }
    const expectTag = sessionCount ? TPM_ST_SESSIONS : TPM_ST_NO_SESSIONS;
    if (tag !== expectTag) r.fail(`tag 0x${tag.toString(16)}, expected 0x${expectTag.toString(16)}`);
    handle = def.responseHandle ? r.u32() : undefined;
    let params: R;
    if (sessionCount) {
      const paramSize = r.u32();
      if (paramSize > r.remaining) r.fail(`parameterSize ${paramSize} exceeds the ${r.remaining} bytes left`);
      const p = r.sub(paramSize);
      p.path.push('parameters');
      params = def.response.decode(p);
      if (p.remaining) p.fail(`${p.remaining} trailing parameter bytes`);
      for (let i = 0; i < sessionCount; i++) TpmsAuthResponse.decode(r);
    } else {
      r.path.push('parameters');
      params = def.response.decode(r);
      r.path.pop();
    }
    if (r.remaining) r.fail(`${r.remaining} trailing bytes`);
    return { handle, params } as ExecuteOutput<R, RH>;
  } catch (e) {
    if (e instanceof TpmMarshalError) throw new TpmResponseError(def.name, e.message, { cause: e, handle });
    throw e;
  }
}

// Transient objects (0x80), HMAC (0x02) and policy (0x03) sessions: what FlushContext releases (Part 2, 7.2).
const FLUSHABLE_HANDLE_TYPES = new Set([0x80, 0x02, 0x03]);

// TPM2_FlushContext (Part 3, 28.4) marshalled by hand: definitions.ts builds on this module, and this path
// must not depend on the codecs that just failed.
function flushCommand(handle: number): Uint8Array {
  const w = new Writer();
  w.u16(TPM_ST_NO_SESSIONS);
  w.u32(14);
  w.u32(TPM_CC_FlushContext);
  w.u32(handle);
  return w.finish();
}

/** What running a command needs of a transport: `send(bytes) -> bytes`. */
export type TpmSender = Pick<TpmTransport, 'send'>;

/**
 * Runs one command: marshals it, sends it through the transport (which serialises per TPM), and parses the
 * response. A TPM error becomes TpmError naming the command and the handle/session/parameter; retryable
 * warnings are re-sent a few times first. A malformed response (TpmResponseError) that still carried a
 * transient object or session handle has that handle flushed before the error is thrown.
 */
export async function execute<A extends string, H extends string, P, R, RH extends boolean>(
  t: TpmSender,
  def: CommandDef<A, H, P, R, RH>,
  input: ExecuteInput<A, H, P>,
): Promise<ExecuteOutput<R, RH>> {
  const command = marshalCommand(def, input);
  const sessionCount = def.authHandles.length;
  let retries = input.retries ?? 5;
  for (;;) {
    const response = await t.send(command, { signal: input.signal });
    try {
      return unmarshalResponse(def, response, sessionCount);
    } catch (e) {
      // A success code with a handle and unreadable parameters: the object or session exists in the TPM and
      // nobody else knows its handle, so release it here (best effort; the parse error is what matters).
      if (e instanceof TpmResponseError && e.handle !== undefined && FLUSHABLE_HANDLE_TYPES.has(e.handle >>> 24)) {
        await t.send(flushCommand(e.handle)).catch(() => undefined);
      }
      if (e instanceof TpmError && e.retryable && retries-- > 0) {
        await new Promise((res) => setTimeout(res, 20));
        continue;
      }
      throw e;
    }
  }
}
