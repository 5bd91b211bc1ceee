// Capability data returned by TPM2_GetCapability (TPM 2.0 Part 2 sections 10.8-10.10).
import {
  list,
  select,
  sizedU8Bytes,
  struct,
  taggedStruct,
  u16,
  u32,
  type Codec,
  type CodecType,
} from '../marshal/codec';
import * as C from '../marshal/constants';
import { TpmlPcrSelection } from './pcr';

/** 10.8.1 TPMS_ALG_PROPERTY */
export const TpmsAlgProperty = struct({ alg: u16, algProperties: u32 });
/** 10.8.2 TPMS_TAGGED_PROPERTY */
export const TpmsTaggedProperty = struct({ property: u32, value: u32 });
export type TpmsTaggedProperty = CodecType<typeof TpmsTaggedProperty>;
/** 10.8.3 TPMS_TAGGED_PCR_SELECT */
export const TpmsTaggedPcrSelect = struct({ tag: u32, pcrSelect: sizedU8Bytes(C.PCR_SELECT_MAX) });

/** 10.9.3 TPML_CC / TPML_CCA (command codes / attributes as u32) */
export const TpmlCca = list(u32, C.MAX_CAP_DATA / 4);
/** 10.9.4 TPML_HANDLE */
export const TpmlHandle = list(u32, C.MAX_CAP_DATA / 4);
/** 10.9.8 TPML_ALG_PROPERTY */
export const TpmlAlgProperty = list(TpmsAlgProperty, Math.floor(C.MAX_CAP_DATA / 6));
/** 10.9.9 TPML_TAGGED_TPM_PROPERTY */
export const TpmlTaggedTpmProperty = list(TpmsTaggedProperty, C.MAX_CAP_DATA / 8);
/** 10.9.10 TPML_TAGGED_PCR_PROPERTY */
export const TpmlTaggedPcrProperty = list(TpmsTaggedPcrSelect, Math.floor(C.MAX_CAP_DATA / 5));
/** 10.9.11 TPML_ECC_CURVE */
export const TpmlEccCurve = list(u16, C.MAX_CAP_DATA / 2);

/** 10.10.2 TPMS_CAPABILITY_DATA decoded: 10.10.1 TPMU_CAPABILITIES member by `capability`. */
export type CapabilityData =
  | { capability: typeof C.TPM_CAP_ALGS; data: CodecType<typeof TpmlAlgProperty> }
  | { capability: typeof C.TPM_CAP_HANDLES; data: number[] }
  | { capability: typeof C.TPM_CAP_COMMANDS; data: number[] }
  | { capability: typeof C.TPM_CAP_PCRS; data: TpmlPcrSelection }
  | { capability: typeof C.TPM_CAP_TPM_PROPERTIES; data: TpmsTaggedProperty[] }
  | { capability: typeof C.TPM_CAP_PCR_PROPERTIES; data: CodecType<typeof TpmlTaggedPcrProperty> }
  | { capability: typeof C.TPM_CAP_ECC_CURVES; data: number[] };

/** 10.10.2 TPMS_CAPABILITY_DATA (TPMU_CAPABILITIES selected by `capability`) */
export const TpmsCapabilityData: Codec<CapabilityData> = taggedStruct({
  capability: u32,
  data: select<unknown>('capability', {
    [C.TPM_CAP_ALGS]: TpmlAlgProperty,
    [C.TPM_CAP_HANDLES]: TpmlHandle,
    [C.TPM_CAP_COMMANDS]: TpmlCca,
    [C.TPM_CAP_PCRS]: TpmlPcrSelection,
    [C.TPM_CAP_TPM_PROPERTIES]: TpmlTaggedTpmProperty,
    [C.TPM_CAP_PCR_PROPERTIES]: TpmlTaggedPcrProperty,
    [C.TPM_CAP_ECC_CURVES]: TpmlEccCurve,
  } as Record<number, Codec<unknown>>),
});
