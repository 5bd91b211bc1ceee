// The TPM commands this project sends, each one typed value with named handles (TPM 2.0 Part 3; section
// numbers per command). Run them with execute(); handles are passed by name, e.g. { signHandle: ak }.
import { list, struct, u16, u32, u8, withBytes, type Codec, type CodecType } from '../marshal/codec';
import * as C from '../marshal/constants';
import {
  Tpm2bAttestWithBytes,
  Tpm2bCreationData,
  Tpm2bData,
  Tpm2bDigest,
  Tpm2bEncryptedSecret,
  Tpm2bIdObject,
  Tpm2bMaxNvBuffer,
  Tpm2bName,
  Tpm2bNonce,
  Tpm2bNvPublicWithBytes,
  Tpm2bPrivate,
  Tpm2bPublic,
  Tpm2bPublicWithBytes,
  Tpm2bSensitiveCreate,
  Tpm2bTimeout,
  TpmlDigest,
  TpmlPcrSelection,
  TpmsCapabilityData,
  TpmtHa,
  TpmtSignature,
  TpmtSigScheme,
  TpmtSymDef,
  TpmtTkAuth,
  TpmtTkCreation,
  bool,
} from './codecs';
import { defineCommand } from './execute';

const empty: Codec<Record<string, never>> = struct({});

/** Part 3 30.2 TPM2_GetCapability */
export const TPM2_GetCapability = defineCommand({
  name: 'TPM2_GetCapability',
  code: C.TPM_CC_GetCapability,
  authHandles: [],
  handles: [],
  responseHandle: false,
  params: struct({ capability: u32, property: u32, propertyCount: u32 }),
  response: struct({ moreData: bool, capabilityData: TpmsCapabilityData }),
});

/** Part 3 12.4 TPM2_ReadPublic */
export const TPM2_ReadPublic = defineCommand({
  name: 'TPM2_ReadPublic',
  code: C.TPM_CC_ReadPublic,
  authHandles: [],
  handles: ['objectHandle'],
  responseHandle: false,
  params: empty,
  response: struct({ outPublic: Tpm2bPublicWithBytes, name: Tpm2bName, qualifiedName: Tpm2bName }),
});

const createParams = struct({
  inSensitive: Tpm2bSensitiveCreate,
  inPublic: Tpm2bPublic,
  outsideInfo: Tpm2bData,
  creationPCR: TpmlPcrSelection,
});
export type CreateParams = CodecType<typeof createParams>;

/** Part 3 24.1 TPM2_CreatePrimary */
export const TPM2_CreatePrimary = defineCommand({
  name: 'TPM2_CreatePrimary',
  code: C.TPM_CC_CreatePrimary,
  authHandles: ['primaryHandle'],
  handles: [],
  responseHandle: true,
  params: createParams,
  response: struct({
    outPublic: Tpm2bPublicWithBytes,
    creationData: Tpm2bCreationData,
    creationHash: Tpm2bDigest,
    creationTicket: TpmtTkCreation,
    name: Tpm2bName,
  }),
});

/** Part 3 12.1 TPM2_Create */
export const TPM2_Create = defineCommand({
  name: 'TPM2_Create',
  code: C.TPM_CC_Create,
  authHandles: ['parentHandle'],
  handles: [],
  responseHandle: false,
  params: createParams,
  response: struct({
    outPrivate: Tpm2bPrivate,
    outPublic: Tpm2bPublicWithBytes,
    creationData: Tpm2bCreationData,
    creationHash: Tpm2bDigest,
    creationTicket: TpmtTkCreation,
  }),
});

/** Part 3 12.2 TPM2_Load (inPublic passed as exact bytes so a saved blob is loaded verbatim) */
export const TPM2_Load = defineCommand({
  name: 'TPM2_Load',
  code: C.TPM_CC_Load,
  authHandles: ['parentHandle'],
  handles: [],
  responseHandle: true,
  params: struct({ inPrivate: Tpm2bPrivate, inPublic: Tpm2bPublicWithBytes }),
  response: struct({ name: Tpm2bName }),
});

/** Part 3 28.5 TPM2_EvictControl */
export const TPM2_EvictControl = defineCommand({
  name: 'TPM2_EvictControl',
  code: C.TPM_CC_EvictControl,
  authHandles: ['auth'],
  handles: ['objectHandle'],
  responseHandle: false,
  params: struct({ persistentHandle: u32 }),
  response: empty,
});

/** Part 3 28.4 TPM2_FlushContext (the handle is a parameter) */
export const TPM2_FlushContext = defineCommand({
  name: 'TPM2_FlushContext',
  code: C.TPM_CC_FlushContext,
  authHandles: [],
  handles: [],
  responseHandle: false,
  params: struct({ flushHandle: u32 }),
  response: empty,
});

/** Part 3 31.6 TPM2_NV_ReadPublic */
export const TPM2_NV_ReadPublic = defineCommand({
  name: 'TPM2_NV_ReadPublic',
  code: C.TPM_CC_NV_ReadPublic,
  authHandles: [],
  handles: ['nvIndex'],
  responseHandle: false,
  params: empty,
  response: struct({ nvPublic: Tpm2bNvPublicWithBytes, nvName: Tpm2bName }),
});

/** Part 3 31.13 TPM2_NV_Read */
export const TPM2_NV_Read = defineCommand({
  name: 'TPM2_NV_Read',
  code: C.TPM_CC_NV_Read,
  authHandles: ['authHandle'],
  handles: ['nvIndex'],
  responseHandle: false,
  params: struct({ size: u16, offset: u16 }),
  response: struct({ data: Tpm2bMaxNvBuffer }),
});

/** Part 3 11.1 TPM2_StartAuthSession */
export const TPM2_StartAuthSession = defineCommand({
  name: 'TPM2_StartAuthSession',
  code: C.TPM_CC_StartAuthSession,
  authHandles: [],
  handles: ['tpmKey', 'bind'],
  responseHandle: true,
  params: struct({
    nonceCaller: Tpm2bNonce,
    encryptedSalt: Tpm2bEncryptedSecret,
    sessionType: u8,
    symmetric: TpmtSymDef,
    authHash: u16,
  }),
  response: struct({ nonceTPM: Tpm2bNonce }),
});

/** Part 3 23.4 TPM2_PolicySecret */
export const TPM2_PolicySecret = defineCommand({
  name: 'TPM2_PolicySecret',
  code: C.TPM_CC_PolicySecret,
  authHandles: ['authHandle'],
  handles: ['policySession'],
  responseHandle: false,
  params: struct({ nonceTPM: Tpm2bNonce, cpHashA: Tpm2bDigest, policyRef: Tpm2bNonce, expiration: u32 }),
  response: struct({ timeout: Tpm2bTimeout, policyTicket: TpmtTkAuth }),
});

/** Part 3 23.19 TPM2_PolicyGetDigest */
export const TPM2_PolicyGetDigest = defineCommand({
  name: 'TPM2_PolicyGetDigest',
  code: C.TPM_CC_PolicyGetDigest,
  authHandles: [],
  handles: ['policySession'],
  responseHandle: false,
  params: empty,
  response: struct({ policyDigest: Tpm2bDigest }),
});

/** Part 3 12.5 TPM2_ActivateCredential */
export const TPM2_ActivateCredential = defineCommand({
  name: 'TPM2_ActivateCredential',
  code: C.TPM_CC_ActivateCredential,
  authHandles: ['activateHandle', 'keyHandle'],
  handles: [],
  responseHandle: false,
  params: struct({ credentialBlob: Tpm2bIdObject, secret: Tpm2bEncryptedSecret }),
  response: struct({ certInfo: Tpm2bDigest }),
});

/** Part 3 18.4 TPM2_Quote */
export const TPM2_Quote = defineCommand({
  name: 'TPM2_Quote',
  code: C.TPM_CC_Quote,
  authHandles: ['signHandle'],
  handles: [],
  responseHandle: false,
  params: struct({ qualifyingData: Tpm2bData, inScheme: TpmtSigScheme, PCRselect: TpmlPcrSelection }),
  response: struct({ quoted: Tpm2bAttestWithBytes, signature: withBytes(TpmtSignature) }),
});

/** Part 3 18.2 TPM2_Certify */
export const TPM2_Certify = defineCommand({
  name: 'TPM2_Certify',
  code: C.TPM_CC_Certify,
  authHandles: ['objectHandle', 'signHandle'],
  handles: [],
  responseHandle: false,
  params: struct({ qualifyingData: Tpm2bData, inScheme: TpmtSigScheme }),
  response: struct({ certifyInfo: Tpm2bAttestWithBytes, signature: withBytes(TpmtSignature) }),
});

/** Part 3 22.4 TPM2_PCR_Read */
export const TPM2_PCR_Read = defineCommand({
  name: 'TPM2_PCR_Read',
  code: C.TPM_CC_PCR_Read,
  authHandles: [],
  handles: [],
  responseHandle: false,
  params: struct({ pcrSelectionIn: TpmlPcrSelection }),
  response: struct({ pcrUpdateCounter: u32, pcrSelectionOut: TpmlPcrSelection, pcrValues: TpmlDigest }),
});

/** Part 3 22.2 TPM2_PCR_Extend (TPML_DIGEST_VALUES: one digest per bank) */
export const TPM2_PCR_Extend = defineCommand({
  name: 'TPM2_PCR_Extend',
  code: C.TPM_CC_PCR_Extend,
  authHandles: ['pcrHandle'],
  handles: [],
  responseHandle: false,
  params: struct({ digests: list(TpmtHa, C.HASH_COUNT) }),
  response: empty,
});

/** Part 3 16.1 TPM2_GetRandom */
export const TPM2_GetRandom = defineCommand({
  name: 'TPM2_GetRandom',
  code: C.TPM_CC_GetRandom,
  authHandles: [],
  handles: [],
  responseHandle: false,
  params: struct({ bytesRequested: u16 }),
  response: struct({ randomBytes: Tpm2bDigest }),
});
