// Authorization area entries (TPM 2.0 Part 2 section 10.13).
import { struct, u32, u8, type CodecType } from '../marshal/codec';
import { Tpm2bAuth, Tpm2bNonce } from './basic';

/** 10.13.2 TPMS_AUTH_COMMAND */
export const TpmsAuthCommand = struct({
  sessionHandle: u32,
  nonce: Tpm2bNonce,
  sessionAttributes: u8,
  hmac: Tpm2bAuth,
});
export type TpmsAuthCommand = CodecType<typeof TpmsAuthCommand>;

/** 10.13.3 TPMS_AUTH_RESPONSE */
export const TpmsAuthResponse = struct({ nonce: Tpm2bNonce, sessionAttributes: u8, hmac: Tpm2bAuth });
export type TpmsAuthResponse = CodecType<typeof TpmsAuthResponse>;
