// Signatures (TPM 2.0 Part 2 section 11.3).
import { none, select, struct, taggedStruct, u16, type Codec, type CodecType } from '../marshal/codec';
import * as C from '../marshal/constants';
import { Tpm2bEccParameter, Tpm2bPublicKeyRsa, TpmtHa } from './basic';
import { SIG_SCHEME_DETAILS, TpmsSchemeHash } from './public';

/** 11.3.1 TPMS_SIGNATURE_RSA (RSASSA and RSAPSS) */
export const TpmsSignatureRsa = struct({ hash: u16, sig: Tpm2bPublicKeyRsa });
export type TpmsSignatureRsa = CodecType<typeof TpmsSignatureRsa>;

/** 11.3.2 TPMS_SIGNATURE_ECC (ECDSA, ECDAA, SM2, ECSCHNORR) */
export const TpmsSignatureEcc = struct({ hash: u16, signatureR: Tpm2bEccParameter, signatureS: Tpm2bEccParameter });
export type TpmsSignatureEcc = CodecType<typeof TpmsSignatureEcc>;

/** 11.3.4 TPMT_SIGNATURE */
export const TpmtSignature: Codec<TpmtSignature> = taggedStruct({
  sigAlg: u16,
  signature: select<TpmsSignatureRsa | TpmsSignatureEcc | TpmtHa | undefined>('sigAlg', {
    [C.TPM_ALG_RSASSA]: TpmsSignatureRsa,
    [C.TPM_ALG_RSAPSS]: TpmsSignatureRsa,
    [C.TPM_ALG_ECDSA]: TpmsSignatureEcc,
    [C.TPM_ALG_ECDAA]: TpmsSignatureEcc,
    [C.TPM_ALG_SM2]: TpmsSignatureEcc,
    [C.TPM_ALG_ECSCHNORR]: TpmsSignatureEcc,
    [C.TPM_ALG_HMAC]: TpmtHa,
    [C.TPM_ALG_NULL]: none,
  }),
});

// 11.3.3 TPMU_SIGNATURE: one TPMT_SIGNATURE variant per signature algorithm (grouped by member).
export type TpmtSignatureRsa = {
  sigAlg: typeof C.TPM_ALG_RSASSA | typeof C.TPM_ALG_RSAPSS;
  signature: TpmsSignatureRsa;
};
export type TpmtSignatureEcc = {
  sigAlg: typeof C.TPM_ALG_ECDSA | typeof C.TPM_ALG_ECDAA | typeof C.TPM_ALG_SM2 | typeof C.TPM_ALG_ECSCHNORR;
  signature: TpmsSignatureEcc;
};
export type TpmtSignatureHmac = { sigAlg: typeof C.TPM_ALG_HMAC; signature: TpmtHa };
export type TpmtSignatureNull = { sigAlg: typeof C.TPM_ALG_NULL; signature: undefined };
/** 11.3.4 TPMT_SIGNATURE, discriminated by `sigAlg`. */
export type TpmtSignature = TpmtSignatureRsa | TpmtSignatureEcc | TpmtSignatureHmac | TpmtSignatureNull;

/** 11.2.3.5 TPMT_SIG_SCHEME (the inScheme of Quote/Certify/Sign): scheme + hash, or TPM_ALG_NULL. */
export const TpmtSigScheme = struct({
  scheme: u16,
  details: select<{ hashAlg: number; count?: number } | undefined>('scheme', {
    ...SIG_SCHEME_DETAILS,
    [C.TPM_ALG_HMAC]: TpmsSchemeHash,
    [C.TPM_ALG_NULL]: none,
  }),
});
export type TpmtSigScheme = CodecType<typeof TpmtSigScheme>;
