// Parameter values this project always sends the same way, so each call site states only what differs.
import { randomBytes } from 'node:crypto';
import * as C from '../marshal/constants';
import type { TpmtPublic, TpmtSigScheme } from '../types';
import type { CreateParams } from './definitions';

/**
 * TPM2_Create / TPM2_CreatePrimary parameters for `template`: an empty TPM2B_SENSITIVE_CREATE (no userAuth,
 * no data: the TPM generates the key), no outsideInfo, no creation PCRs.
 */
export function keyCreateParams(template: TpmtPublic): CreateParams {
  return {
    inSensitive: { userAuth: new Uint8Array(), data: new Uint8Array() },
    inPublic: template,
    outsideInfo: new Uint8Array(),
    creationPCR: [],
  };
}

/** TPMT_SIG_SCHEME TPM_ALG_NULL: sign with the key's own scheme (Quote, Certify). */
export const NULL_SIG_SCHEME: TpmtSigScheme = { scheme: C.TPM_ALG_NULL, details: undefined };

/**
 * TPM2_StartAuthSession parameters for an unbound, unsalted policy session (a trial one when `trial`),
 * SHA-256 unless `hashAlg`, with a fresh 16-byte nonceCaller. Its handles are { tpmKey: TPM_RH_NULL,
 * bind: TPM_RH_NULL }; the caller flushes the session.
 */
export function policySessionParams(o: { hashAlg?: number; trial?: boolean } = {}) {
  return {
    nonceCaller: randomBytes(16),
    encryptedSalt: new Uint8Array(),
    sessionType: o.trial ? C.TPM_SE_TRIAL : C.TPM_SE_POLICY,
    symmetric: { algorithm: C.TPM_ALG_NULL, keyBits: undefined, mode: undefined },
    authHash: o.hashAlg ?? C.TPM_ALG_SHA256,
  };
}

/** The handles of an unbound, unsalted session (TPM2_StartAuthSession). */
export const UNBOUND_SESSION = { tpmKey: C.TPM_RH_NULL, bind: C.TPM_RH_NULL } as const;

/** TPM2_PolicySecret parameters with no nonce, cpHash, policyRef or expiration. */
export const POLICY_SECRET_PARAMS = {
  nonceTPM: new Uint8Array(),
  cpHashA: new Uint8Array(),
  policyRef: new Uint8Array(),
  expiration: 0,
} as const;
