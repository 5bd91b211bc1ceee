// EK templates from the TCG EK Credential Profile for TPM Family 2.0 (v2.5, section 2.2.1.5: templates
// L-1, L-2 (low range) and H-3 (high range)), with their certificate NV indices and conventional handles.
import * as C from '../marshal/constants';
import type { TpmtPublic } from '../types';

/** PolicySecret(TPM_RH_ENDORSEMENT) with SHA-256 (Profile 2.2.1.5.1, "PolicyA" for SHA-256 templates). */
export const EK_POLICY_A_SHA256 = Buffer.from(
  '837197674484b3f81a90cc8d46a5d724fd52d76e06520b64f2a1da1b331469aa',
  'hex',
);
/** PolicyOR(PolicyA, PolicyC) digest with SHA-384 ("PolicyB" for SHA-384 high-range templates). */
export const EK_POLICY_B_SHA384 = Buffer.from(
  'b26e7d28d11a50bc53d882bcf5fd3a1a074148bb35d3b4e4cb1c0ad9bde419cacb47ba09699646150f9fc000f3f80e12',
  'hex',
);

const LOW_ATTRS =
  C.TPMA_OBJECT_fixedTPM |
  C.TPMA_OBJECT_fixedParent |
  C.TPMA_OBJECT_sensitiveDataOrigin |
  C.TPMA_OBJECT_adminWithPolicy |
  C.TPMA_OBJECT_restricted |
  C.TPMA_OBJECT_decrypt;
const HIGH_ATTRS = LOW_ATTRS | C.TPMA_OBJECT_userWithAuth;

export type EkKind = 'rsa2048' | 'ecc-p256' | 'ecc-p384';

export interface EkProfile {
  kind: EkKind;
  /** Template name in the TCG EK Credential Profile. */
  profileTemplate: string;
  /** NV index of the EK certificate. */
  certIndex: number;
  /** Handles where a provisioned EK of this kind is usually persisted. */
  persistentHandles: number[];
  template(): TpmtPublic;
}

/** What sets one restricted decryption key template apart from another (the rest is fixed below). */
interface StorageKeyShape {
  nameAlg: number;
  objectAttributes: number;
  authPolicy: Uint8Array;
  /** AES-CFB key size of the symmetric (storage) algorithm. */
  aesKeyBits: number;
  /** RSA (exponent 0 = 65537) or ECC; `uniqueBytes` zero bytes in `unique` (per coordinate for ECC). */
  key: { type: 'rsa'; keyBits: number; uniqueBytes: number } | { type: 'ecc'; curveID: number; uniqueBytes: number };
}

// EK and SRK templates are all restricted decryption keys (Part 2 12.2.4 TPMT_PUBLIC): AES-CFB symmetric,
// TPM_ALG_NULL scheme (and KDF for ECC). Each call returns fresh objects the caller may change.
function storageKeyTemplate(o: StorageKeyShape): TpmtPublic {
  const symmetric = { algorithm: C.TPM_ALG_AES, keyBits: o.aesKeyBits, mode: C.TPM_ALG_CFB };
  const scheme = { scheme: C.TPM_ALG_NULL, details: undefined };
  const common = { nameAlg: o.nameAlg, objectAttributes: o.objectAttributes, authPolicy: new Uint8Array(o.authPolicy) };
  if (o.key.type === 'rsa') {
    return {
      type: C.TPM_ALG_RSA,
      ...common,
      parameters: { symmetric, scheme, keyBits: o.key.keyBits, exponent: 0 },
      unique: new Uint8Array(o.key.uniqueBytes),
    };
  }
  return {
    type: C.TPM_ALG_ECC,
    ...common,
    parameters: { symmetric, scheme, curveID: o.key.curveID, kdf: { scheme: C.TPM_ALG_NULL, details: undefined } },
    unique: { x: new Uint8Array(o.key.uniqueBytes), y: new Uint8Array(o.key.uniqueBytes) },
  };
}

/** The low-range (L-*) templates: SHA-256 names, PolicyA, AES-128. */
const LOW_RANGE = {
  nameAlg: C.TPM_ALG_SHA256,
  objectAttributes: LOW_ATTRS,
  authPolicy: EK_POLICY_A_SHA256,
  aesKeyBits: 128,
};

/** The EK profiles this project reads, by kind: template, certificate NV index, usual persistent handle. */
export const EK_PROFILES: Record<EkKind, EkProfile> = {
  rsa2048: {
    kind: 'rsa2048',
    profileTemplate: 'L-1 (RSA 2048)',
    certIndex: 0x01c00002,
    persistentHandles: [0x81010001],
    template: () => storageKeyTemplate({ ...LOW_RANGE, key: { type: 'rsa', keyBits: 2048, uniqueBytes: 256 } }),
  },
  'ecc-p256': {
    kind: 'ecc-p256',
    profileTemplate: 'L-2 (ECC NIST P-256)',
    certIndex: 0x01c0000a,
    persistentHandles: [0x81010002],
    template: () =>
      storageKeyTemplate({ ...LOW_RANGE, key: { type: 'ecc', curveID: C.TPM_ECC_NIST_P256, uniqueBytes: 32 } }),
  },
  'ecc-p384': {
    kind: 'ecc-p384',
    profileTemplate: 'H-3 (ECC NIST P-384)',
    certIndex: 0x01c00016,
    persistentHandles: [0x81010016],
    // High range: SHA-384 names, PolicyB, AES-256, userWithAuth, and an empty unique.
    template: () =>
      storageKeyTemplate({
        nameAlg: C.TPM_ALG_SHA384,
        objectAttributes: HIGH_ATTRS,
        authPolicy: EK_POLICY_B_SHA384,
        aesKeyBits: 256,
        key: { type: 'ecc', curveID: C.TPM_ECC_NIST_P384, uniqueBytes: 0 },
      }),
  },
};

const SRK_ATTRS =
  C.TPMA_OBJECT_fixedTPM |
  C.TPMA_OBJECT_fixedParent |
  C.TPMA_OBJECT_sensitiveDataOrigin |
  C.TPMA_OBJECT_userWithAuth |
  C.TPMA_OBJECT_noDA |
  C.TPMA_OBJECT_restricted |
  C.TPMA_OBJECT_decrypt;

/** Storage root key templates (TCG TPM v2.0 Provisioning Guidance 7.5.1), used as the AK parent. */
export function srkTemplate(alg: 'rsa' | 'ecc'): TpmtPublic {
  return storageKeyTemplate({
    nameAlg: C.TPM_ALG_SHA256,
    objectAttributes: SRK_ATTRS,
    authPolicy: new Uint8Array(),
    aesKeyBits: 128,
    key:
      alg === 'rsa'
        ? { type: 'rsa', keyBits: 2048, uniqueBytes: 256 }
        : { type: 'ecc', curveID: C.TPM_ECC_NIST_P256, uniqueBytes: 32 },
  });
}
