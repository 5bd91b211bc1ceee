// Public areas of objects: TPMT_PUBLIC and its parameters (TPM 2.0 Part 2 sections 11-12).
import {
  none,
  select,
  sized,
  struct,
  taggedStruct,
  u16,
  u32,
  withBytes,
  type Codec,
  type CodecType,
} from '../marshal/codec';
import * as C from '../marshal/constants';
import { Tpm2bDigest, Tpm2bEccParameter, Tpm2bPublicKeyRsa } from './basic';

// TPMU_SYM_KEY_BITS and TPMU_SYM_MODE (11.1.3, 11.1.4) for the block ciphers: a u16 each.
const BLOCK_CIPHERS = { [C.TPM_ALG_AES]: u16, [C.TPM_ALG_SM4]: u16, [C.TPM_ALG_CAMELLIA]: u16 };
/** Block cipher or TPM_ALG_NULL: the keyBits and mode of a TPMT_SYM_DEF_OBJECT alike. */
const blockCipherOrNull = select<number | undefined>('algorithm', { ...BLOCK_CIPHERS, [C.TPM_ALG_NULL]: none });

/** 11.1.7 TPMT_SYM_DEF_OBJECT: algorithm, then keyBits and mode unless the algorithm is TPM_ALG_NULL. */
export const TpmtSymDefObject = struct({ algorithm: u16, keyBits: blockCipherOrNull, mode: blockCipherOrNull });
export type TpmtSymDefObject = CodecType<typeof TpmtSymDefObject>;

/** 11.1.6 TPMT_SYM_DEF (session symmetric): as TPMT_SYM_DEF_OBJECT plus XOR (keyBits = hash, no mode). */
export const TpmtSymDef = struct({
  algorithm: u16,
  keyBits: select<number | undefined>('algorithm', { ...BLOCK_CIPHERS, [C.TPM_ALG_XOR]: u16, [C.TPM_ALG_NULL]: none }),
  mode: select<number | undefined>('algorithm', { ...BLOCK_CIPHERS, [C.TPM_ALG_XOR]: none, [C.TPM_ALG_NULL]: none }),
});
export type TpmtSymDef = CodecType<typeof TpmtSymDef>;

/** 11.1.17 TPMS_SCHEME_HASH */
export const TpmsSchemeHash = struct({ hashAlg: u16 });
/** 11.2.3.2 TPMS_SCHEME_ECDAA */
export const TpmsSchemeEcdaa = struct({ hashAlg: u16, count: u16 });
/** 11.1.20 TPMS_SCHEME_XOR */
export const TpmsSchemeXor = struct({ hashAlg: u16, kdf: u16 });
export interface TpmsSchemeHash {
  hashAlg: number;
  count?: number;
}

/** The signing schemes' details (TPMS_SIG_SCHEME_*): members of both TPMU_ASYM_SCHEME and TPMU_SIG_SCHEME. */
export const SIG_SCHEME_DETAILS = {
  [C.TPM_ALG_RSASSA]: TpmsSchemeHash,
  [C.TPM_ALG_RSAPSS]: TpmsSchemeHash,
  [C.TPM_ALG_ECDSA]: TpmsSchemeHash,
  [C.TPM_ALG_ECDAA]: TpmsSchemeEcdaa as Codec<TpmsSchemeHash>,
  [C.TPM_ALG_SM2]: TpmsSchemeHash,
  [C.TPM_ALG_ECSCHNORR]: TpmsSchemeHash,
} as const;

/** 11.2.3.5 TPMU_ASYM_SCHEME members for a scheme selector (signing and encryption schemes). */
const asymSchemeDetails = select<TpmsSchemeHash | undefined>('scheme', {
  ...SIG_SCHEME_DETAILS,
  [C.TPM_ALG_OAEP]: TpmsSchemeHash,
  [C.TPM_ALG_ECDH]: TpmsSchemeHash,
  [C.TPM_ALG_ECMQV]: TpmsSchemeHash,
  [C.TPM_ALG_RSAES]: none,
  [C.TPM_ALG_NULL]: none,
});

/** 11.2.4.2 TPMT_RSA_SCHEME */
export const TpmtRsaScheme = struct({ scheme: u16, details: asymSchemeDetails });
export type TpmtRsaScheme = CodecType<typeof TpmtRsaScheme>;
/** 11.2.5.6 TPMT_ECC_SCHEME */
export const TpmtEccScheme = TpmtRsaScheme;
export type TpmtEccScheme = TpmtRsaScheme;

/** 11.2.3.4 TPMT_KDF_SCHEME */
export const TpmtKdfScheme = struct({
  scheme: u16,
  details: select<TpmsSchemeHash | undefined>('scheme', {
    [C.TPM_ALG_MGF1]: TpmsSchemeHash,
    [C.TPM_ALG_KDF1_SP800_56A]: TpmsSchemeHash,
    [C.TPM_ALG_KDF2]: TpmsSchemeHash,
    [C.TPM_ALG_KDF1_SP800_108]: TpmsSchemeHash,
    [C.TPM_ALG_NULL]: none,
  }),
});
export type TpmtKdfScheme = CodecType<typeof TpmtKdfScheme>;

/** 11.1.23 TPMT_KEYEDHASH_SCHEME */
export const TpmtKeyedHashScheme = struct({
  scheme: u16,
  details: select<{ hashAlg: number; kdf?: number } | undefined>('scheme', {
    [C.TPM_ALG_HMAC]: TpmsSchemeHash,
    [C.TPM_ALG_XOR]: TpmsSchemeXor,
    [C.TPM_ALG_NULL]: none,
  }),
});
export type TpmtKeyedHashScheme = CodecType<typeof TpmtKeyedHashScheme>;

/** 12.2.3.5 TPMS_RSA_PARMS (exponent 0 means 65537) */
export const TpmsRsaParms = struct({
  symmetric: TpmtSymDefObject,
  scheme: TpmtRsaScheme,
  keyBits: u16,
  exponent: u32,
});
export type TpmsRsaParms = CodecType<typeof TpmsRsaParms>;

/** 12.2.3.6 TPMS_ECC_PARMS */
export const TpmsEccParms = struct({
  symmetric: TpmtSymDefObject,
  scheme: TpmtEccScheme,
  curveID: u16,
  kdf: TpmtKdfScheme,
});
export type TpmsEccParms = CodecType<typeof TpmsEccParms>;

/** 12.2.3.3 TPMS_KEYEDHASH_PARMS */
export const TpmsKeyedHashParms = struct({ scheme: TpmtKeyedHashScheme });
export type TpmsKeyedHashParms = CodecType<typeof TpmsKeyedHashParms>;

/** 12.2.3.2 TPMS_SYMCIPHER_PARMS */
export const TpmsSymCipherParms = struct({ sym: TpmtSymDefObject });
export type TpmsSymCipherParms = CodecType<typeof TpmsSymCipherParms>;

/** 11.2.5.2 TPMS_ECC_POINT */
export const TpmsEccPoint = struct({ x: Tpm2bEccParameter, y: Tpm2bEccParameter });
export type TpmsEccPoint = CodecType<typeof TpmsEccPoint>;

/** 11.2.5.3 TPM2B_ECC_POINT */
export const Tpm2bEccPoint = sized(TpmsEccPoint, 2 * (2 + C.MAX_ECC_KEY_BYTES));

type PublicParms = TpmsRsaParms | TpmsEccParms | TpmsKeyedHashParms | TpmsSymCipherParms;
type PublicId = Uint8Array | TpmsEccPoint;

/** 12.2.3.7 TPMU_PUBLIC_PARMS, selected by the object `type` (in TPMT_PUBLIC and TPMT_PUBLIC_PARMS alike). */
const publicParms = select<PublicParms>('type', {
  [C.TPM_ALG_RSA]: TpmsRsaParms,
  [C.TPM_ALG_ECC]: TpmsEccParms,
  [C.TPM_ALG_KEYEDHASH]: TpmsKeyedHashParms,
  [C.TPM_ALG_SYMCIPHER]: TpmsSymCipherParms,
});

/** 12.2.4 TPMT_PUBLIC */
export const TpmtPublic: Codec<TpmtPublic> = taggedStruct({
  type: u16,
  nameAlg: u16,
  objectAttributes: u32,
  authPolicy: Tpm2bDigest,
  parameters: publicParms,
  unique: select<PublicId>('type', {
    [C.TPM_ALG_RSA]: Tpm2bPublicKeyRsa,
    [C.TPM_ALG_ECC]: TpmsEccPoint,
    [C.TPM_ALG_KEYEDHASH]: Tpm2bDigest,
    [C.TPM_ALG_SYMCIPHER]: Tpm2bDigest,
  }),
});

interface TpmtPublicCommon {
  nameAlg: number;
  objectAttributes: number;
  authPolicy: Uint8Array;
}
// 12.2.3.7 TPMU_PUBLIC_PARMS and TPMU_PUBLIC_ID: one TPMT_PUBLIC variant per object `type`.
export interface TpmtPublicRsa extends TpmtPublicCommon {
  type: typeof C.TPM_ALG_RSA;
  parameters: TpmsRsaParms;
  /** The modulus. */
  unique: Uint8Array;
}
export interface TpmtPublicEcc extends TpmtPublicCommon {
  type: typeof C.TPM_ALG_ECC;
  parameters: TpmsEccParms;
  unique: TpmsEccPoint;
}
export interface TpmtPublicKeyedHash extends TpmtPublicCommon {
  type: typeof C.TPM_ALG_KEYEDHASH;
  parameters: TpmsKeyedHashParms;
  unique: Uint8Array;
}
export interface TpmtPublicSymCipher extends TpmtPublicCommon {
  type: typeof C.TPM_ALG_SYMCIPHER;
  parameters: TpmsSymCipherParms;
  unique: Uint8Array;
}
/** 12.2.4 TPMT_PUBLIC, discriminated by `type` (the codec enforces that parameters/unique match it). */
export type TpmtPublic = TpmtPublicRsa | TpmtPublicEcc | TpmtPublicKeyedHash | TpmtPublicSymCipher;

/** 12.2.5 TPM2B_PUBLIC */
export const Tpm2bPublic = sized(TpmtPublic, C.MAX_PUBLIC_SIZE);

/** 12.2.5 TPM2B_PUBLIC keeping the exact TPMT_PUBLIC bytes received (its Name is a hash of them). */
export const Tpm2bPublicWithBytes = sized(withBytes(TpmtPublic), C.MAX_PUBLIC_SIZE);
export type PublicWithBytes = CodecType<typeof Tpm2bPublicWithBytes>;

/** 12.2.3.8 TPMT_PUBLIC_PARMS (for TestParms) */
export const TpmtPublicParms = struct({ type: u16, parameters: publicParms });

/** TPMA_OBJECT helper: true when every bit of `bits` is set in `attrs`. */
export function hasAttributes(attrs: number, bits: number): boolean {
  return ((attrs >>> 0) & bits) >>> 0 === bits >>> 0;
}
