// TPM response codes (TPM 2.0 Part 2 section 6.6) decoded into typed errors, and the transport's
// "TPM unavailable" error. Callers branch on `is(code)` / `instanceof`, never on message text.

const NAMES = new Map<number, string>();
function rc(name: string, value: number): number {
  if (!NAMES.has(value)) NAMES.set(value, name);
  return value;
}

export const TPM_RC_SUCCESS = 0x000;
export const TPM_RC_BAD_TAG = rc('TPM_RC_BAD_TAG', 0x01e);
const RC_VER1 = 0x100;
const RC_FMT1 = 0x080;
const RC_WARN = 0x900;

// 6.6.3 format-zero errors (RC_VER1 + n)
export const TPM_RC_INITIALIZE = rc('TPM_RC_INITIALIZE', RC_VER1 + 0x000);
export const TPM_RC_FAILURE = rc('TPM_RC_FAILURE', RC_VER1 + 0x001);
export const TPM_RC_SEQUENCE = rc('TPM_RC_SEQUENCE', RC_VER1 + 0x003);
export const TPM_RC_PRIVATE = rc('TPM_RC_PRIVATE', RC_VER1 + 0x00b);
export const TPM_RC_HMAC = rc('TPM_RC_HMAC', RC_VER1 + 0x019);
export const TPM_RC_DISABLED = rc('TPM_RC_DISABLED', RC_VER1 + 0x020);
export const TPM_RC_EXCLUSIVE = rc('TPM_RC_EXCLUSIVE', RC_VER1 + 0x021);
export const TPM_RC_AUTH_TYPE = rc('TPM_RC_AUTH_TYPE', RC_VER1 + 0x024);
export const TPM_RC_AUTH_MISSING = rc('TPM_RC_AUTH_MISSING', RC_VER1 + 0x025);
export const TPM_RC_POLICY = rc('TPM_RC_POLICY', RC_VER1 + 0x026);
export const TPM_RC_PCR = rc('TPM_RC_PCR', RC_VER1 + 0x027);
export const TPM_RC_PCR_CHANGED = rc('TPM_RC_PCR_CHANGED', RC_VER1 + 0x028);
export const TPM_RC_UPGRADE = rc('TPM_RC_UPGRADE', RC_VER1 + 0x02d);
export const TPM_RC_TOO_MANY_CONTEXTS = rc('TPM_RC_TOO_MANY_CONTEXTS', RC_VER1 + 0x02e);
export const TPM_RC_AUTH_UNAVAILABLE = rc('TPM_RC_AUTH_UNAVAILABLE', RC_VER1 + 0x02f);
export const TPM_RC_REBOOT = rc('TPM_RC_REBOOT', RC_VER1 + 0x030);
export const TPM_RC_UNBALANCED = rc('TPM_RC_UNBALANCED', RC_VER1 + 0x031);
export const TPM_RC_COMMAND_SIZE = rc('TPM_RC_COMMAND_SIZE', RC_VER1 + 0x042);
export const TPM_RC_COMMAND_CODE = rc('TPM_RC_COMMAND_CODE', RC_VER1 + 0x043);
export const TPM_RC_AUTHSIZE = rc('TPM_RC_AUTHSIZE', RC_VER1 + 0x044);
export const TPM_RC_AUTH_CONTEXT = rc('TPM_RC_AUTH_CONTEXT', RC_VER1 + 0x045);
export const TPM_RC_NV_RANGE = rc('TPM_RC_NV_RANGE', RC_VER1 + 0x046);
export const TPM_RC_NV_SIZE = rc('TPM_RC_NV_SIZE', RC_VER1 + 0x047);
export const TPM_RC_NV_LOCKED = rc('TPM_RC_NV_LOCKED', RC_VER1 + 0x048);
export const TPM_RC_NV_AUTHORIZATION = rc('TPM_RC_NV_AUTHORIZATION', RC_VER1 + 0x049);
export const TPM_RC_NV_UNINITIALIZED = rc('TPM_RC_NV_UNINITIALIZED', RC_VER1 + 0x04a);
export const TPM_RC_NV_SPACE = rc('TPM_RC_NV_SPACE', RC_VER1 + 0x04b);
export const TPM_RC_NV_DEFINED = rc('TPM_RC_NV_DEFINED', RC_VER1 + 0x04c);
export const TPM_RC_BAD_CONTEXT = rc('TPM_RC_BAD_CONTEXT', RC_VER1 + 0x050);
export const TPM_RC_CPHASH = rc('TPM_RC_CPHASH', RC_VER1 + 0x051);
export const TPM_RC_PARENT = rc('TPM_RC_PARENT', RC_VER1 + 0x052);
export const TPM_RC_NEEDS_TEST = rc('TPM_RC_NEEDS_TEST', RC_VER1 + 0x053);
export const TPM_RC_NO_RESULT = rc('TPM_RC_NO_RESULT', RC_VER1 + 0x054);
export const TPM_RC_SENSITIVE = rc('TPM_RC_SENSITIVE', RC_VER1 + 0x055);

// 6.6.3 format-one errors (RC_FMT1 + n): may name a handle, session or parameter
export const TPM_RC_ASYMMETRIC = rc('TPM_RC_ASYMMETRIC', RC_FMT1 + 0x001);
export const TPM_RC_ATTRIBUTES = rc('TPM_RC_ATTRIBUTES', RC_FMT1 + 0x002);
export const TPM_RC_HASH = rc('TPM_RC_HASH', RC_FMT1 + 0x003);
export const TPM_RC_VALUE = rc('TPM_RC_VALUE', RC_FMT1 + 0x004);
export const TPM_RC_HIERARCHY = rc('TPM_RC_HIERARCHY', RC_FMT1 + 0x005);
export const TPM_RC_KEY_SIZE = rc('TPM_RC_KEY_SIZE', RC_FMT1 + 0x007);
export const TPM_RC_MGF = rc('TPM_RC_MGF', RC_FMT1 + 0x008);
export const TPM_RC_MODE = rc('TPM_RC_MODE', RC_FMT1 + 0x009);
export const TPM_RC_TYPE = rc('TPM_RC_TYPE', RC_FMT1 + 0x00a);
export const TPM_RC_HANDLE = rc('TPM_RC_HANDLE', RC_FMT1 + 0x00b);
export const TPM_RC_KDF = rc('TPM_RC_KDF', RC_FMT1 + 0x00c);
export const TPM_RC_RANGE = rc('TPM_RC_RANGE', RC_FMT1 + 0x00d);
export const TPM_RC_AUTH_FAIL = rc('TPM_RC_AUTH_FAIL', RC_FMT1 + 0x00e);
export const TPM_RC_NONCE = rc('TPM_RC_NONCE', RC_FMT1 + 0x00f);
export const TPM_RC_PP = rc('TPM_RC_PP', RC_FMT1 + 0x010);
export const TPM_RC_SCHEME = rc('TPM_RC_SCHEME', RC_FMT1 + 0x012);
export const TPM_RC_SIZE = rc('TPM_RC_SIZE', RC_FMT1 + 0x015);
export const TPM_RC_SYMMETRIC = rc('TPM_RC_SYMMETRIC', RC_FMT1 + 0x016);
export const TPM_RC_TAG = rc('TPM_RC_TAG', RC_FMT1 + 0x017);
export const TPM_RC_SELECTOR = rc('TPM_RC_SELECTOR', RC_FMT1 + 0x018);
export const TPM_RC_INSUFFICIENT = rc('TPM_RC_INSUFFICIENT', RC_FMT1 + 0x01a);
export const TPM_RC_SIGNATURE = rc('TPM_RC_SIGNATURE', RC_FMT1 + 0x01b);
export const TPM_RC_KEY = rc('TPM_RC_KEY', RC_FMT1 + 0x01c);
export const TPM_RC_POLICY_FAIL = rc('TPM_RC_POLICY_FAIL', RC_FMT1 + 0x01d);
export const TPM_RC_INTEGRITY = rc('TPM_RC_INTEGRITY', RC_FMT1 + 0x01f);
export const TPM_RC_TICKET = rc('TPM_RC_TICKET', RC_FMT1 + 0x020);
export const TPM_RC_RESERVED_BITS = rc('TPM_RC_RESERVED_BITS', RC_FMT1 + 0x021);
export const TPM_RC_BAD_AUTH = rc('TPM_RC_BAD_AUTH', RC_FMT1 + 0x022);
export const TPM_RC_EXPIRED = rc('TPM_RC_EXPIRED', RC_FMT1 + 0x023);
export const TPM_RC_POLICY_CC = rc('TPM_RC_POLICY_CC', RC_FMT1 + 0x024);
export const TPM_RC_BINDING = rc('TPM_RC_BINDING', RC_FMT1 + 0x025);
export const TPM_RC_CURVE = rc('TPM_RC_CURVE', RC_FMT1 + 0x026);
export const TPM_RC_ECC_POINT = rc('TPM_RC_ECC_POINT', RC_FMT1 + 0x027);

// 6.6.3 warnings (RC_WARN + n): the command did not run; many are worth a retry
export const TPM_RC_CONTEXT_GAP = rc('TPM_RC_CONTEXT_GAP', RC_WARN + 0x001);
export const TPM_RC_OBJECT_MEMORY = rc('TPM_RC_OBJECT_MEMORY', RC_WARN + 0x002);
export const TPM_RC_SESSION_MEMORY = rc('TPM_RC_SESSION_MEMORY', RC_WARN + 0x003);
export const TPM_RC_MEMORY = rc('TPM_RC_MEMORY', RC_WARN + 0x004);
export const TPM_RC_SESSION_HANDLES = rc('TPM_RC_SESSION_HANDLES', RC_WARN + 0x005);
export const TPM_RC_OBJECT_HANDLES = rc('TPM_RC_OBJECT_HANDLES', RC_WARN + 0x006);
export const TPM_RC_LOCALITY = rc('TPM_RC_LOCALITY', RC_WARN + 0x007);
export const TPM_RC_YIELDED = rc('TPM_RC_YIELDED', RC_WARN + 0x008);
export const TPM_RC_CANCELED = rc('TPM_RC_CANCELED', RC_WARN + 0x009);
export const TPM_RC_TESTING = rc('TPM_RC_TESTING', RC_WARN + 0x00a);
export const TPM_RC_REFERENCE_H0 = rc('TPM_RC_REFERENCE_H0', RC_WARN + 0x010);
export const TPM_RC_REFERENCE_S0 = rc('TPM_RC_REFERENCE_S0', RC_WARN + 0x018);
export const TPM_RC_NV_RATE = rc('TPM_RC_NV_RATE', RC_WARN + 0x020);
export const TPM_RC_LOCKOUT = rc('TPM_RC_LOCKOUT', RC_WARN + 0x021);
export const TPM_RC_RETRY = rc('TPM_RC_RETRY', RC_WARN + 0x022);
export const TPM_RC_NV_UNAVAILABLE = rc('TPM_RC_NV_UNAVAILABLE', RC_WARN + 0x023);

for (let i = 1; i <= 6; i++) {
  NAMES.set(TPM_RC_REFERENCE_H0 + i, `TPM_RC_REFERENCE_H${i}`);
  NAMES.set(TPM_RC_REFERENCE_S0 + i, `TPM_RC_REFERENCE_S${i}`);
}

/** Warnings after which the same command may simply be sent again. */
const RETRYABLE = new Set([TPM_RC_RETRY, TPM_RC_YIELDED, TPM_RC_TESTING, TPM_RC_NV_RATE, TPM_RC_CANCELED]);

/** A decoded TPM_RC: the base code, its name, and what it refers to (format-one codes only). */
export interface DecodedRc {
  /** The raw response code as received. */
  rc: number;
  /** The code without handle/session/parameter number (compare with the TPM_RC_* constants). */
  code: number;
  /** Its spec name, e.g. TPM_RC_VALUE, or TPM_RC_0x... when unknown. */
  name: string;
  format: 'zero' | 'one' | 'tpm12' | 'vendor' | 'layer';
  warning: boolean;
  /** 1-based handle / session / parameter number the error refers to (format one). */
  handle?: number;
  session?: number;
  parameter?: number;
  /** Non-zero TSS layer (e.g. 11 = a resource manager answered, not the TPM). */
  layer?: number;
}

/** Decodes a TPM_RC per Part 2 6.6 (format zero vs one; warning; vendor; TPM 1.2; TSS layer). */
export function decodeRc(rawRc: number): DecodedRc {
  const rc = rawRc >>> 0;
  const layer = rc >>> 16;
  const low = rc & 0xffff;
  const hex = `0x${rc.toString(16)}`;
  if (layer !== 0) {
    const inner = decodeRc(low);
    return { ...inner, rc, format: 'layer', layer, name: `${inner.name} (TSS layer ${layer})` };
  }
  if (low & RC_FMT1) {
    const code = RC_FMT1 + (low & 0x3f);
    const n = (low >> 8) & 0xf;
    const out: DecodedRc = { rc, code, name: NAMES.get(code) ?? `TPM_RC_${hex}`, format: 'one', warning: false };
    if (low & 0x40) out.parameter = n;
    else if (n & 0x8) out.session = n & 0x7;
    else if (n !== 0) out.handle = n;
    return out;
  }
  if (!(low & RC_VER1)) {
    const name = low === 0 ? 'TPM_RC_SUCCESS' : low === TPM_RC_BAD_TAG ? 'TPM_RC_BAD_TAG' : `TPM1.2 error ${hex}`;
    return { rc, code: low, name, format: 'tpm12', warning: false };
  }
  if (low & 0x400) return { rc, code: low, name: `TPM vendor error ${hex}`, format: 'vendor', warning: false };
  const code = low & 0xf7f;
  const warning = (low & 0x800) !== 0;
  return { rc, code, name: NAMES.get(code) ?? `TPM_RC_${hex}`, format: 'zero', warning };
}

/** The name of a TPM_RC base code, e.g. tpmRcName(TPM_RC_VALUE) === 'TPM_RC_VALUE'. */
export function tpmRcName(code: number): string {
  return decodeRc(code).name;
}

/** The TPM answered a command with a non-success response code. */
export class TpmError extends Error {
  override readonly name = 'TpmError';
  /** For plugin-sdk's error mapper (read structurally): a TPM refusal, FailedPrecondition. */
  readonly failureClass = 'tpm_refused';
  readonly rc: number;
  readonly code: number;
  readonly codeName: string;
  readonly warning: boolean;
  readonly handle?: number;
  readonly session?: number;
  readonly parameter?: number;
  /** The command that failed, e.g. TPM2_Quote. */
  readonly command: string;

  /**
   * `names` (optional) labels the command's handles and parameters, so the message can say
   * "on handle 2 (keyHandle)" instead of only the number.
   */
  constructor(rc: number, command: string, names: { handles?: readonly string[]; params?: readonly string[] } = {}) {
    const d = decodeRc(rc);
    const label = (list: readonly string[] | undefined, n: number) => (list?.[n - 1] ? ` (${list[n - 1]})` : '');
    const where =
      d.parameter !== undefined
        ? ` on parameter ${d.parameter}${label(names.params, d.parameter)}`
        : d.session !== undefined
          ? ` on session ${d.session}`
          : d.handle !== undefined
            ? ` on handle ${d.handle}${label(names.handles, d.handle)}`
            : '';
    super(`${command}: ${d.name} (0x${d.rc.toString(16)})${where}`);
    this.rc = d.rc;
    this.code = d.code;
    this.codeName = d.name;
    this.warning = d.warning;
    this.handle = d.handle;
    this.session = d.session;
    this.parameter = d.parameter;
    this.command = command;
  }

  /** True when this error's base code is `code` (a TPM_RC_* constant), whatever it refers to. */
  is(code: number): boolean {
    return this.code === code;
  }

  /** True for warnings after which the same command can be sent again (RETRY, YIELDED, TESTING, ...). */
  get retryable(): boolean {
    return RETRYABLE.has(this.code);
  }
}

/** The TPM could not be reached or did not answer in time; `transport` names it (e.g. swtpm:host=...). */
export class TpmUnavailableError extends Error {
  override readonly name = 'TpmUnavailableError';
  /** For plugin-sdk's error mapper (read structurally): Unavailable. */
  readonly failureClass = 'unavailable';
  constructor(
    readonly transport: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`TPM ${transport} unavailable: ${message}`, options);
  }
}

/**
 * The TPM's response was malformed (bad header, size out of bounds, unparsable parameters). `handle` is the
 * response handle when the TPM reported success and the handle was read before the parameters failed (the
 * object or session exists in the TPM; execute() flushes it).
 */
export class TpmResponseError extends Error {
  override readonly name = 'TpmResponseError';
  /** For plugin-sdk's error mapper (read structurally): a TPM that answers garbage counts as unavailable. */
  readonly failureClass = 'tpm_bad_response';
  readonly handle?: number;
  constructor(
    readonly command: string,
    message: string,
    options?: { cause?: unknown; handle?: number },
  ) {
    super(`${command}: malformed TPM response: ${message}`, options);
    this.handle = options?.handle;
  }
}
