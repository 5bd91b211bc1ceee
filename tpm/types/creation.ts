// Object creation inputs and outputs (TPM 2.0 Part 2 sections 11.1.15-16, 15).
import { sized, struct, u16, u8, type CodecType } from '../marshal/codec';
import * as C from '../marshal/constants';
import { Tpm2bAuth, Tpm2bData, Tpm2bDigest, Tpm2bName, Tpm2bSensitiveData } from './basic';
import { TpmlPcrSelection } from './pcr';

/** 11.1.15 TPMS_SENSITIVE_CREATE */
export const TpmsSensitiveCreate = struct({ userAuth: Tpm2bAuth, data: Tpm2bSensitiveData });
export type TpmsSensitiveCreate = CodecType<typeof TpmsSensitiveCreate>;
/** 11.1.16 TPM2B_SENSITIVE_CREATE */
export const Tpm2bSensitiveCreate = sized(TpmsSensitiveCreate, 2 + C.MAX_DIGEST_SIZE + 2 + C.MAX_SYM_DATA);

/** 15.1 TPMS_CREATION_DATA */
export const TpmsCreationData = struct({
  pcrSelect: TpmlPcrSelection,
  pcrDigest: Tpm2bDigest,
  locality: u8,
  parentNameAlg: u16,
  parentName: Tpm2bName,
  parentQualifiedName: Tpm2bName,
  outsideInfo: Tpm2bData,
});
export type TpmsCreationData = CodecType<typeof TpmsCreationData>;
/** 15.2 TPM2B_CREATION_DATA */
export const Tpm2bCreationData = sized(TpmsCreationData, 4096);
