// EK templates from the TCG EK Credential Profile for TPM Family 2.0 (v2.5, section 2.2.1.5: templates
// L-1, L-2 (low range) and H-3 (high range)), with their certificate NV indices and conventional handles.
import * as C from '../marshal/constants';
import type { TpmtPublic } from '../types';

/** PolicySecret(TPM_RH_ENDORSEMENT) with SHA-256 (Profile 2.2.1.5.1, "PolicyA" for SHA-256 templates). */
export const EK_POLICY_A_SHA256 = Buffer.from('837197674484b3f81a90cc8d46a5d724fd52d76e06520b64f2a1da1b331469aa', 'hex');
/** PolicyOR(PolicyA, PolicyC) digest with SHA-384 ("PolicyB" for SHA-384 high-range templates). */
export const EK_POLICY_B_SHA384 = Buffer.from(
  'b26e7d28d11a50bc53d882bcf5fd3a1a074148bb35d3b4e4cb1c0ad9bde419cacb47ba09699646150f9fc000f3f80e12',
  'hex',
);

const LOW_ATTRS =
  C.TPMA_OBJECT_fixedTPM | C.TPMA_OBJECT_fixedParent | C.TPMA_OBJECT_sensitiveDataOrigin | C.TPMA_OBJECT_adminWithPolicy | C.TPMA_OBJECT_restricted | C.TPMA_OBJECT_decrypt;
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

export const EK_PROFILES: Record<EkKind, EkProfile> = {
  rsa2048: {
    kind: 'rsa2048',
    profileTemplate: 'L-1 (RSA 2048)',
    certIndex: 0x01c00002,
    persistentHandles: [0x81010001],
    template: () => ({
      type: C.TPM_ALG_RSA,
      nameAlg: C.TPM_ALG_SHA256,
      objectAttributes: LOW_ATTRS,
      authPolicy: new Uint8Array(EK_POLICY_A_SHA256),
      parameters: {
        symmetric: { algorithm: C.TPM_ALG_AES, keyBits: 128, mode: C.TPM_ALG_CFB },
        scheme: { scheme: C.TPM_ALG_NULL, details: undefined },
        keyBits: 2048,
        exponent: 0,
      },
      unique: new Uint8Array(256),
    }),
  },
  'ecc-p256': {
    kind: 'ecc-p256',
    profileTemplate: 'L-2 (ECC NIST P-256)',
    certIndex: 0x01c0000a,
    persistentHandles: [0x81010002],
    template: () => ({
      type: C.TPM_ALG_ECC,
      nameAlg: C.TPM_ALG_SHA256,
      objectAttributes: LOW_ATTRS,
      authPolicy: new Uint8Array(EK_POLICY_A_SHA256),
      parameters: {
        symmetric: { algorithm: C.TPM_ALG_AES, keyBits: 128, mode: C.TPM_ALG_CFB },
        scheme: { scheme: C.TPM_ALG_NULL, details: undefined },
        curveID: C.TPM_ECC_NIST_P256,
        kdf: { scheme: C.TPM_ALG_NULL, details: undefined },
      },
      unique: { x: new Uint8Array(32), y: new Uint8Array(32) },
    }),
  },
  'ecc-p384': {
    kind: 'ecc-p384',
    profileTemplate: 'H-3 (ECC NIST P-384)',
    certIndex: 0x01c00016,
    persistentHandles: [0x81010016],
    template: () => ({
      type: C.TPM_ALG_ECC,
      nameAlg: C.TPM_ALG_SHA384,
      objectAttributes: HIGH_ATTRS,
      authPolicy: new Uint8Array(EK_POLICY_B_SHA384),
      parameters: {
        symmetric: { algorithm: C.TPM_ALG_AES, keyBits: 256, mode: C.TPM_ALG_CFB },
        scheme: { scheme: C.TPM_ALG_NULL, details: undefined },
        curveID: C.TPM_ECC_NIST_P384,
        kdf: { scheme: C.TPM_ALG_NULL, details: undefined },
      },
      unique: { x: new Uint8Array(), y: new Uint8Array() },
    }),
  },
};

/** Storage root key templates (TCG TPM v2.0 Provisioning Guidance 7.5.1), used as the AK parent. */
export function srkTemplate(alg: 'rsa' | 'ecc'): TpmtPublic {
  const attrs =
    C.TPMA_OBJECT_fixedTPM | C.TPMA_OBJECT_fixedParent | C.TPMA_OBJECT_sensitiveDataOrigin | C.TPMA_OBJECT_userWithAuth | C.TPMA_OBJECT_noDA | C.TPMA_OBJECT_restricted | C.TPMA_OBJECT_decrypt;
  const symmetric = { algorithm: C.TPM_ALG_AES, keyBits: 128, mode: C.TPM_ALG_CFB };
  const scheme = { scheme: C.TPM_ALG_NULL, details: undefined };
  if (alg === 'rsa') {
    return { type: C.TPM_ALG_RSA, nameAlg: C.TPM_ALG_SHA256, objectAttributes: attrs, authPolicy: new Uint8Array(), parameters: { symmetric, scheme, keyBits: 2048, exponent: 0 }, unique: new Uint8Array(256) };
  }
  return {
    type: C.TPM_ALG_ECC,
    nameAlg: C.TPM_ALG_SHA256,
    objectAttributes: attrs,
    authPolicy: new Uint8Array(),
    parameters: { symmetric, scheme, curveID: C.TPM_ECC_NIST_P256, kdf: { scheme: C.TPM_ALG_NULL, details: undefined } },
    unique: { x: new Uint8Array(32), y: new Uint8Array(32) },
  };
}
