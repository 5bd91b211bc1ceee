// Key derivation functions of TPM 2.0 Part 1, 11.4.10 (KDFa, KDFe).
import { createHash, createHmac } from 'node:crypto';
import { TpmCryptoError } from './errors';
import { HashName, hashSize } from './hash';

// A derived key larger than this is never needed by the TPM (largest: 512-bit HMAC keys); the bound keeps
// a bad `bits` argument from looping for long.
const MAX_KDF_BITS = 8 * 1024;

function u32be(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

// The spec's labels are strings whose terminating NUL is part of the input; "IDENTITY" and "IDENTITY\0" name
// the same label.
function labelBytes(label: string | Uint8Array): Buffer {
  const b = typeof label === 'string' ? Buffer.from(label, 'latin1') : Buffer.from(label);
  return b.length > 0 && b[b.length - 1] === 0 ? b : Buffer.concat([b, Buffer.alloc(1)]);
}

// The few constant labels (STORAGE, INTEGRITY, IDENTITY, ...) encoded once; hashing only reads them.
const stringLabels = new Map<string, Buffer>();
function labelOf(label: string | Uint8Array): Buffer {
  if (typeof label !== 'string') return labelBytes(label);
  let b = stringLabels.get(label);
  if (!b) {
    b = labelBytes(label);
    if (stringLabels.size < 64) stringLabels.set(label, b);
  }
  return b;
}

function checkBits(bits: number): void {
  if (!Number.isInteger(bits) || bits <= 0 || bits > MAX_KDF_BITS)
    throw new TpmCryptoError('INVALID_ARGUMENT', `KDF output size ${bits} bits is not in 1..${MAX_KDF_BITS}`);
}

// When bits is not a multiple of 8 the spec keeps the low `bits` bits: mask the first byte.
// The leading `bits` of the blocks, as a fresh copy; the blocks (key material) are zeroed.
function truncate(parts: Buffer[], bits: number): Uint8Array {
  const out = parts.length === 1 ? parts[0] : Buffer.concat(parts);
  const bytes = Math.ceil(bits / 8);
  const r = Uint8Array.prototype.slice.call(out, 0, bytes);
  if (bits % 8 !== 0) r[0] &= (1 << (bits % 8)) - 1;
  out.fill(0);
  for (const p of parts) p.fill(0);
  return r;
}

/**
 * KDFa (SP 800-108 counter mode with HMAC): `bits` of key material from `key`, a label (NUL added when
 * missing) and two context values. Used for the storage and integrity keys of MakeCredential and for session
 * keys.
 */
export function kdfa(
  hash: HashName,
  key: Uint8Array,
  label: string | Uint8Array,
  contextU: Uint8Array,
  contextV: Uint8Array,
  bits: number,
): Uint8Array {
  checkBits(bits);
  const size = hashSize(hash);
  const blocks = Math.ceil(bits / 8 / size);
  const l = labelOf(label);
  // counter || label || contextU || contextV || bits, hashed as one input (one update per block).
  const input = Buffer.allocUnsafe(4 + l.length + contextU.length + contextV.length + 4);
  input.set(l, 4);
  input.set(contextU, 4 + l.length);
  input.set(contextV, 4 + l.length + contextU.length);
  input.writeUInt32BE(bits >>> 0, input.length - 4);
  const parts: Buffer[] = [];
  for (let i = 1; i <= blocks; i++) {
    input.writeUInt32BE(i, 0);
    parts.push(createHmac(hash, key).update(input).digest());
  }
  // One whole block (the MakeCredential keys): the digest is already the fresh copy truncate would make.
  if (blocks === 1 && bits === size * 8) return parts[0];
  return truncate(parts, bits);
}

/**
 * KDFe (SP 800-56A concatenation KDF): `bits` of key material from the ECDH shared secret's x-coordinate
 * `z`, a label (NUL added when missing), and the two parties' x-coordinates (`partyU` = ephemeral key,
 * `partyV` = the static key, e.g. the EK).
 */
export function kdfe(
  hash: HashName,
  z: Uint8Array,
  label: string | Uint8Array,
  partyU: Uint8Array,
  partyV: Uint8Array,
  bits: number,
): Uint8Array {
  checkBits(bits);
  const size = hashSize(hash);
  const blocks = Math.ceil(bits / 8 / size);
  const fixed = Buffer.concat([labelOf(label), partyU, partyV]);
  const parts: Buffer[] = [];
  for (let i = 1; i <= blocks; i++) parts.push(createHash(hash).update(u32be(i)).update(z).update(fixed).digest());
  return truncate(parts, bits);
}
