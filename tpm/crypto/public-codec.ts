// Re-exports of tpm/types used here, so the crypto helpers name one import site.
import { withBytes } from '../marshal/codec';
import { TpmtPublic } from '../types/public';

export { Tpm2bPublicWithBytes, TpmtPublic } from '../types/public';
export type { TpmtPublicEcc, TpmtPublicRsa } from '../types/public';
/** A bare TPMT_PUBLIC keeping its exact bytes. */
export const withBytesTpmtPublic = withBytes(TpmtPublic);
