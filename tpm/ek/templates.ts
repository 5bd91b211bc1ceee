// EK templates from the TCG EK Credential Profile for TPM Family 2.0 (v2.5, section 2.2.1.5: templates
// L-1, L-2 (low range), H-3 and H-6 (high range)), with their certificate NV indices (2.2.1.4); H-1 and H-2
// certificates are read too, for an EK provisioned at a persistent handle.
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

export type EkKind = 'rsa2048' | 'ecc-p256' | 'rsa2048-h' | 'ecc-p256-h' | 'ecc-p384' | 'rsa3072';

/** The EK range of persistent handles (Profile 2.2.1.3): provisioned EKs live here (0x81010001 RSA, 0x81010002 ECC, ...). */
export const EK_PERSISTENT_FIRST = 0x81010000;
export const EK_PERSISTENT_LAST = 0x810100ff;
/** NV indices of EK certificates (low and high range) and of the CA certificates that issued them (Profile 2.2.1.4). */
export const EK_CERT_NV_FIRST = 0x01c00002;
export const EK_INTERMEDIATE_NV_FIRST = 0x01c00100;
export const EK_INTERMEDIATE_NV_LAST = 0x01c001ff;

export interface EkProfile {
  kind: EkKind;
  /** Template name in the TCG EK Credential Profile. */
  profileTemplate: string;
  /** NV index of the EK certificate. */
  certIndex: number;
  /**
   * The template the TPM derives this EK from; absent for H-1 and H-2, whose PolicyB (SHA-256) this project
   * does not carry: such an EK is used only when provisioned at a persistent handle (see `shape`).
   */
  template?: () => TpmtPublic;
  /** Key type and size of the EK (what a persistent EK of this kind must have when there is no template). */
  shape: { type: 'rsa'; keyBits: number } | { type: 'ecc'; curveID: number };
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

/** The high-range SHA-384 templates (H-3, H-6): SHA-384 names, PolicyB, AES-256, userWithAuth, and an empty unique. */
const HIGH_RANGE_SHA384 = {
  nameAlg: C.TPM_ALG_SHA384,
  objectAttributes: HIGH_ATTRS,
  authPolicy: EK_POLICY_B_SHA384,
  aesKeyBits: 256,
};

/** The EK profiles this project reads, by kind: template, certificate NV index, usual persistent handle. */
export const EK_PROFILES: Record<EkKind, EkProfile> = {
  rsa2048: {
    kind: 'rsa2048',
    profileTemplate: 'L-1 (RSA 2048)',
    certIndex: 0x01c00002,
    shape: { type: 'rsa', keyBits: 2048 },
    template: () => storageKeyTemplate({ ...LOW_RANGE, key: { type: 'rsa', keyBits: 2048, uniqueBytes: 256 } }),
  },
  'ecc-p256': {
    kind: 'ecc-p256',
    profileTemplate: 'L-2 (ECC NIST P-256)',
    certIndex: 0x01c0000a,
    shape: { type: 'ecc', curveID: C.TPM_ECC_NIST_P256 },
    template: () =>
      storageKeyTemplate({ ...LOW_RANGE, key: { type: 'ecc', curveID: C.TPM_ECC_NIST_P256, uniqueBytes: 32 } }),
  },
  'ecc-p384': {
    kind: 'ecc-p384',
    profileTemplate: 'H-3 (ECC NIST P-384)',
    certIndex: 0x01c00016,
    shape: { type: 'ecc', curveID: C.TPM_ECC_NIST_P384 },
    template: () =>
      storageKeyTemplate({ ...HIGH_RANGE_SHA384, key: { type: 'ecc', curveID: C.TPM_ECC_NIST_P384, uniqueBytes: 0 } }),
  },
  'rsa2048-h': {
    kind: 'rsa2048-h',
    profileTemplate: 'H-1 (RSA 2048)',
    certIndex: 0x01c00012,
    shape: { type: 'rsa', keyBits: 2048 },
  },
  'ecc-p256-h': {
    kind: 'ecc-p256-h',
    profileTemplate: 'H-2 (ECC NIST P-256)',
    certIndex: 0x01c00014,
    shape: { type: 'ecc', curveID: C.TPM_ECC_NIST_P256 },
  },
  rsa3072: {
    kind: 'rsa3072',
    profileTemplate: 'H-6 (RSA 3072)',
    certIndex: 0x01c0001c,
    shape: { type: 'rsa', keyBits: 3072 },
    template: () => storageKeyTemplate({ ...HIGH_RANGE_SHA384, key: { type: 'rsa', keyBits: 3072, uniqueBytes: 0 } }),
  },
};

/** True when `pub` has the attributes every EK template sets (restricted decryption key, policy-administered, fixed to this TPM). */
export function hasEkAttributes(pub: TpmtPublic): boolean {
  return (pub.objectAttributes & LOW_ATTRS) === LOW_ATTRS && pub.authPolicy.length > 0;
}

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
