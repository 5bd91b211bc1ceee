// Sized buffers (TPM 2.0 Part 2 section 10.4) and small shared structures.
import { fixedBytes, none, select, struct, tpm2b, u16, u32, u8, type Codec, type CodecType } from '../marshal/codec';
import * as C from '../marshal/constants';
import { DIGEST_SIZES } from '../crypto/hash';

/** 10.4.2 TPM2B_DIGEST */
export const Tpm2bDigest = tpm2b(C.MAX_DIGEST_SIZE);
/** 10.4.3 TPM2B_DATA (sizeof(TPMT_HA)) */
export const Tpm2bData = tpm2b(2 + C.MAX_DIGEST_SIZE);
/** 10.4.4 TPM2B_NONCE */
export const Tpm2bNonce = Tpm2bDigest;
/** 10.4.5 TPM2B_AUTH */
export const Tpm2bAuth = Tpm2bDigest;
/** 10.4.6 TPM2B_OPERAND */
export const Tpm2bOperand = Tpm2bDigest;
/** 10.4.7 TPM2B_EVENT (1024) */
export const Tpm2bEvent = tpm2b(1024);
/** 10.4.8 TPM2B_MAX_BUFFER */
export const Tpm2bMaxBuffer = tpm2b(C.MAX_DIGEST_BUFFER);
/** 10.4.9 TPM2B_MAX_NV_BUFFER */
export const Tpm2bMaxNvBuffer = tpm2b(C.MAX_NV_BUFFER_SIZE);
/** 10.4.10 TPM2B_TIMEOUT (sizeof(UINT64)) */
export const Tpm2bTimeout = tpm2b(8);
/** 10.4.11 TPM2B_IV */
export const Tpm2bIv = tpm2b(16);
/** 10.5.3 TPM2B_NAME (sizeof(TPMU_NAME)) */
export const Tpm2bName = tpm2b(2 + C.MAX_DIGEST_SIZE);
/** 11.2.5.1 TPM2B_ECC_PARAMETER */
export const Tpm2bEccParameter = tpm2b(C.MAX_ECC_KEY_BYTES);
/** 11.2.4.5 TPM2B_PUBLIC_KEY_RSA */
export const Tpm2bPublicKeyRsa = tpm2b(C.MAX_RSA_KEY_BYTES);
/** 11.2.4.7 TPM2B_PRIVATE_KEY_RSA (MAX_RSA_KEY_BYTES/2 * 5) */
export const Tpm2bPrivateKeyRsa = tpm2b((C.MAX_RSA_KEY_BYTES / 2) * 5);
/** 11.1.14 TPM2B_SENSITIVE_DATA (max(MAX_SYM_DATA, sizeof(TPMS_DERIVE))) */
export const Tpm2bSensitiveData = tpm2b(C.MAX_SYM_DATA);
/** 11.1.8 TPM2B_SYM_KEY */
export const Tpm2bSymKey = tpm2b(C.MAX_SYM_KEY_BYTES);
/** 12.3.7 TPM2B_PRIVATE (opaque to the caller) */
export const Tpm2bPrivate = tpm2b(C.MAX_PRIVATE_SIZE);
/** 12.4.3 TPM2B_ID_OBJECT (opaque credential blob from MakeCredential) */
export const Tpm2bIdObject = tpm2b(C.MAX_ID_OBJECT_SIZE);
/** 11.4.33 TPM2B_ENCRYPTED_SECRET */
export const Tpm2bEncryptedSecret = tpm2b(C.MAX_ENCRYPTED_SECRET_SIZE);
/** 14.1 TPM2B_CONTEXT_DATA (opaque saved context) */
export const Tpm2bContextData = tpm2b(C.MAX_CONTEXT_SIZE);

/** 10.3.1 TPMU_HA: for each hash algorithm, a digest of exactly its size. */
const digestOfHash: Record<number, Codec<Uint8Array>> = Object.fromEntries(
  [...DIGEST_SIZES].map(([alg, size]) => [alg, fixedBytes(size)]),
);

/** 10.3.2 TPMT_HA: a hash algorithm and a digest of exactly that algorithm's size. */
export const TpmtHa = struct({
  hashAlg: u16,
  digest: select<Uint8Array | undefined>('hashAlg', { ...digestOfHash, [C.TPM_ALG_NULL]: none }),
});
export type TpmtHa = CodecType<typeof TpmtHa>;

/** 7.1 TPM_HANDLE */
export const TpmHandle = u32;

/** 8.4 TPMA_SESSION as a byte. */
export const TpmaSession = u8;
