// NV index public area (TPM 2.0 Part 2 section 13).
import { sized, struct, u16, u32, withBytes, type CodecType } from '../marshal/codec';
import { Tpm2bDigest } from './basic';

/** 13.5 TPMS_NV_PUBLIC */
export const TpmsNvPublic = struct({
  nvIndex: u32,
  nameAlg: u16,
  attributes: u32,
  authPolicy: Tpm2bDigest,
  dataSize: u16,
});
export type TpmsNvPublic = CodecType<typeof TpmsNvPublic>;

/** 13.6 TPM2B_NV_PUBLIC (4+2+4+66+2 bytes at most) */
export const Tpm2bNvPublic = sized(TpmsNvPublic, 4 + 2 + 4 + 2 + 64 + 2);
/** 13.6 TPM2B_NV_PUBLIC keeping the exact bytes (the index Name is nameAlg || H(TPMS_NV_PUBLIC)). */
export const Tpm2bNvPublicWithBytes = sized(withBytes(TpmsNvPublic), 4 + 2 + 4 + 2 + 64 + 2);
