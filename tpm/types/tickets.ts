// Tickets (TPM 2.0 Part 2 section 10.7): proofs the TPM issues to itself.
import { struct, u16, u32, type CodecType } from '../marshal/codec';
import { Tpm2bDigest } from './basic';

const ticket = () => struct({ tag: u16, hierarchy: u32, digest: Tpm2bDigest });

/** 10.7.3 TPMT_TK_CREATION (tag TPM_ST_CREATION) */
export const TpmtTkCreation = ticket();
export type TpmtTkCreation = CodecType<typeof TpmtTkCreation>;
/** 10.7.4 TPMT_TK_VERIFIED (tag TPM_ST_VERIFIED) */
export const TpmtTkVerified = ticket();
export type TpmtTkVerified = TpmtTkCreation;
/** 10.7.5 TPMT_TK_AUTH (tag TPM_ST_AUTH_SIGNED / TPM_ST_AUTH_SECRET) */
export const TpmtTkAuth = ticket();
export type TpmtTkAuth = TpmtTkCreation;
/** 10.7.6 TPMT_TK_HASHCHECK (tag TPM_ST_HASHCHECK) */
export const TpmtTkHashcheck = ticket();
export type TpmtTkHashcheck = TpmtTkCreation;
