// Attestation structures: what the TPM signs in Quote, Certify, CertifyCreation (TPM 2.0 Part 2 10.12).
import {
  bool,
  select,
  sized,
  struct,
  taggedStruct,
  u16,
  u32,
  u64,
  withBytes,
  type Codec,
  type CodecType,
} from '../marshal/codec';
import * as C from '../marshal/constants';
import { Tpm2bData, Tpm2bDigest, Tpm2bMaxNvBuffer, Tpm2bName } from './basic';
import { TpmlPcrSelection } from './pcr';

/** 10.11.1 TPMS_CLOCK_INFO */
export const TpmsClockInfo = struct({
  clock: u64,
  resetCount: u32,
  restartCount: u32,
  safe: bool,
});
export type TpmsClockInfo = CodecType<typeof TpmsClockInfo>;

/** 10.11.6 TPMS_TIME_INFO */
export const TpmsTimeInfo = struct({ time: u64, clockInfo: TpmsClockInfo });

/** 10.12.2 TPMS_TIME_ATTEST_INFO */
export const TpmsTimeAttestInfo = struct({ time: TpmsTimeInfo, firmwareVersion: u64 });
export type TpmsTimeAttestInfo = CodecType<typeof TpmsTimeAttestInfo>;

/** 10.12.3 TPMS_CERTIFY_INFO */
export const TpmsCertifyInfo = struct({ name: Tpm2bName, qualifiedName: Tpm2bName });
export type TpmsCertifyInfo = CodecType<typeof TpmsCertifyInfo>;

/** 10.12.4 TPMS_QUOTE_INFO */
export const TpmsQuoteInfo = struct({ pcrSelect: TpmlPcrSelection, pcrDigest: Tpm2bDigest });
export type TpmsQuoteInfo = CodecType<typeof TpmsQuoteInfo>;

/** 10.12.5 TPMS_COMMAND_AUDIT_INFO */
export const TpmsCommandAuditInfo = struct({
  auditCounter: u64,
  digestAlg: u16,
  auditDigest: Tpm2bDigest,
  commandDigest: Tpm2bDigest,
});
export type TpmsCommandAuditInfo = CodecType<typeof TpmsCommandAuditInfo>;

/** 10.12.6 TPMS_SESSION_AUDIT_INFO */
export const TpmsSessionAuditInfo = struct({ exclusiveSession: bool, sessionDigest: Tpm2bDigest });
export type TpmsSessionAuditInfo = CodecType<typeof TpmsSessionAuditInfo>;

/** 10.12.7 TPMS_CREATION_INFO */
export const TpmsCreationInfo = struct({ objectName: Tpm2bName, creationHash: Tpm2bDigest });
export type TpmsCreationInfo = CodecType<typeof TpmsCreationInfo>;

/** 10.12.8 TPMS_NV_CERTIFY_INFO */
export const TpmsNvCertifyInfo = struct({ indexName: Tpm2bName, offset: u16, nvContents: Tpm2bMaxNvBuffer });
export type TpmsNvCertifyInfo = CodecType<typeof TpmsNvCertifyInfo>;

/** 10.12.9 TPMS_NV_DIGEST_CERTIFY_INFO */
export const TpmsNvDigestCertifyInfo = struct({ indexName: Tpm2bName, nvDigest: Tpm2bDigest });
export type TpmsNvDigestCertifyInfo = CodecType<typeof TpmsNvDigestCertifyInfo>;

type Attested =
  | TpmsQuoteInfo
  | TpmsCertifyInfo
  | TpmsCreationInfo
  | TpmsTimeAttestInfo
  | TpmsCommandAuditInfo
  | TpmsSessionAuditInfo
  | TpmsNvCertifyInfo
  | TpmsNvDigestCertifyInfo;

/** 10.12.12 TPMS_ATTEST */
export const TpmsAttest: Codec<TpmsAttest> = taggedStruct({
  magic: u32,
  type: u16,
  qualifiedSigner: Tpm2bName,
  extraData: Tpm2bData,
  clockInfo: TpmsClockInfo,
  firmwareVersion: u64,
  attested: select<Attested | undefined>('type', {
    [C.TPM_ST_ATTEST_QUOTE]: TpmsQuoteInfo,
    [C.TPM_ST_ATTEST_CERTIFY]: TpmsCertifyInfo,
    [C.TPM_ST_ATTEST_CREATION]: TpmsCreationInfo,
    [C.TPM_ST_ATTEST_TIME]: TpmsTimeAttestInfo,
    [C.TPM_ST_ATTEST_COMMAND_AUDIT]: TpmsCommandAuditInfo,
    [C.TPM_ST_ATTEST_SESSION_AUDIT]: TpmsSessionAuditInfo,
    [C.TPM_ST_ATTEST_NV]: TpmsNvCertifyInfo,
    [C.TPM_ST_ATTEST_NV_DIGEST]: TpmsNvDigestCertifyInfo,
  }),
});

interface TpmsAttestCommon {
  /** Must be TPM_GENERATED_VALUE for a TPM-generated structure; decoding does not check it (verifiers do). */
  magic: number;
  qualifiedSigner: Uint8Array;
  extraData: Uint8Array;
  clockInfo: TpmsClockInfo;
  firmwareVersion: bigint;
}
// 10.12.11 TPMU_ATTEST: one TPMS_ATTEST variant per TPMI_ST_ATTEST value of `type` (10.12.10).
export type TpmsAttestQuote = TpmsAttestCommon & { type: typeof C.TPM_ST_ATTEST_QUOTE; attested: TpmsQuoteInfo };
export type TpmsAttestCertify = TpmsAttestCommon & { type: typeof C.TPM_ST_ATTEST_CERTIFY; attested: TpmsCertifyInfo };
export type TpmsAttestCreation = TpmsAttestCommon & {
  type: typeof C.TPM_ST_ATTEST_CREATION;
  attested: TpmsCreationInfo;
};
export type TpmsAttestTime = TpmsAttestCommon & { type: typeof C.TPM_ST_ATTEST_TIME; attested: TpmsTimeAttestInfo };
export type TpmsAttestCommandAudit = TpmsAttestCommon & {
  type: typeof C.TPM_ST_ATTEST_COMMAND_AUDIT;
  attested: TpmsCommandAuditInfo;
};
export type TpmsAttestSessionAudit = TpmsAttestCommon & {
  type: typeof C.TPM_ST_ATTEST_SESSION_AUDIT;
  attested: TpmsSessionAuditInfo;
};
export type TpmsAttestNv = TpmsAttestCommon & { type: typeof C.TPM_ST_ATTEST_NV; attested: TpmsNvCertifyInfo };
export type TpmsAttestNvDigest = TpmsAttestCommon & {
  type: typeof C.TPM_ST_ATTEST_NV_DIGEST;
  attested: TpmsNvDigestCertifyInfo;
};
/** 10.12.12 TPMS_ATTEST, discriminated by `type` (TPMI_ST_ATTEST selects TPMU_ATTEST). */
export type TpmsAttest =
  | TpmsAttestQuote
  | TpmsAttestCertify
  | TpmsAttestCreation
  | TpmsAttestTime
  | TpmsAttestCommandAudit
  | TpmsAttestSessionAudit
  | TpmsAttestNv
  | TpmsAttestNvDigest;

/** 10.12.13 TPM2B_ATTEST */
export const Tpm2bAttest = sized(TpmsAttest, C.MAX_ATTEST_SIZE);
/** 10.12.13 TPM2B_ATTEST keeping the signed bytes exactly as received. */
export const Tpm2bAttestWithBytes = sized(withBytes(TpmsAttest), C.MAX_ATTEST_SIZE);
