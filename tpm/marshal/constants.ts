// TPM 2.0 constants (TPM 2.0 Library Part 2: Structures, rev 1.59, sections 6-8), named as the spec names them.

// 6.2 TPM_GENERATED: the magic at the start of every TPMS_ATTEST the TPM signs.
export const TPM_GENERATED_VALUE = 0xff544347;

// 6.3 TPM_ALG_ID
export const TPM_ALG_ERROR = 0x0000;
export const TPM_ALG_RSA = 0x0001;
export const TPM_ALG_TDES = 0x0003;
export const TPM_ALG_SHA1 = 0x0004;
export const TPM_ALG_HMAC = 0x0005;
export const TPM_ALG_AES = 0x0006;
export const TPM_ALG_MGF1 = 0x0007;
export const TPM_ALG_KEYEDHASH = 0x0008;
export const TPM_ALG_XOR = 0x000a;
export const TPM_ALG_SHA256 = 0x000b;
export const TPM_ALG_SHA384 = 0x000c;
export const TPM_ALG_SHA512 = 0x000d;
export const TPM_ALG_NULL = 0x0010;
export const TPM_ALG_SM3_256 = 0x0012;
export const TPM_ALG_SM4 = 0x0013;
export const TPM_ALG_RSASSA = 0x0014;
export const TPM_ALG_RSAES = 0x0015;
export const TPM_ALG_RSAPSS = 0x0016;
export const TPM_ALG_OAEP = 0x0017;
export const TPM_ALG_ECDSA = 0x0018;
export const TPM_ALG_ECDH = 0x0019;
export const TPM_ALG_ECDAA = 0x001a;
export const TPM_ALG_SM2 = 0x001b;
export const TPM_ALG_ECSCHNORR = 0x001c;
export const TPM_ALG_ECMQV = 0x001d;
export const TPM_ALG_KDF1_SP800_56A = 0x0020;
export const TPM_ALG_KDF2 = 0x0021;
export const TPM_ALG_KDF1_SP800_108 = 0x0022;
export const TPM_ALG_ECC = 0x0023;
export const TPM_ALG_SYMCIPHER = 0x0025;
export const TPM_ALG_CAMELLIA = 0x0026;
export const TPM_ALG_SHA3_256 = 0x0027;
export const TPM_ALG_SHA3_384 = 0x0028;
export const TPM_ALG_SHA3_512 = 0x0029;
export const TPM_ALG_CTR = 0x0040;
export const TPM_ALG_OFB = 0x0041;
export const TPM_ALG_CBC = 0x0042;
export const TPM_ALG_CFB = 0x0043;
export const TPM_ALG_ECB = 0x0044;

// 6.4 TPM_ECC_CURVE
export const TPM_ECC_NONE = 0x0000;
export const TPM_ECC_NIST_P192 = 0x0001;
export const TPM_ECC_NIST_P224 = 0x0002;
export const TPM_ECC_NIST_P256 = 0x0003;
export const TPM_ECC_NIST_P384 = 0x0004;
export const TPM_ECC_NIST_P521 = 0x0005;
export const TPM_ECC_BN_P256 = 0x0010;
export const TPM_ECC_BN_P638 = 0x0011;
export const TPM_ECC_SM2_P256 = 0x0020;

// 6.5.2 TPM_CC (the commands this project sends, plus neighbours useful in tests)
export const TPM_CC_NV_UndefineSpaceSpecial = 0x0000011f;
export const TPM_CC_EvictControl = 0x00000120;
export const TPM_CC_HierarchyControl = 0x00000121;
export const TPM_CC_NV_UndefineSpace = 0x00000122;
export const TPM_CC_Clear = 0x00000126;
export const TPM_CC_NV_DefineSpace = 0x0000012a;
export const TPM_CC_CreatePrimary = 0x00000131;
export const TPM_CC_NV_Write = 0x00000137;
export const TPM_CC_PCR_Reset = 0x0000013d;
export const TPM_CC_SelfTest = 0x00000143;
export const TPM_CC_Startup = 0x00000144;
export const TPM_CC_Shutdown = 0x00000145;
export const TPM_CC_ActivateCredential = 0x00000147;
export const TPM_CC_Certify = 0x00000148;
export const TPM_CC_CertifyCreation = 0x0000014a;
export const TPM_CC_NV_Read = 0x0000014e;
export const TPM_CC_NV_ReadLock = 0x0000014f;
export const TPM_CC_PolicySecret = 0x00000151;
export const TPM_CC_Create = 0x00000153;
export const TPM_CC_HMAC = 0x00000155;
export const TPM_CC_Import = 0x00000156;
export const TPM_CC_Load = 0x00000157;
export const TPM_CC_Quote = 0x00000158;
export const TPM_CC_Sign = 0x0000015d;
export const TPM_CC_PolicySigned = 0x00000160;
export const TPM_CC_ContextLoad = 0x00000161;
export const TPM_CC_ContextSave = 0x00000162;
export const TPM_CC_FlushContext = 0x00000165;
export const TPM_CC_LoadExternal = 0x00000167;
export const TPM_CC_MakeCredential = 0x00000168;
export const TPM_CC_NV_ReadPublic = 0x00000169;
export const TPM_CC_PolicyAuthValue = 0x0000016b;
export const TPM_CC_PolicyCommandCode = 0x0000016c;
export const TPM_CC_PolicyOR = 0x00000171;
export const TPM_CC_ReadPublic = 0x00000173;
export const TPM_CC_StartAuthSession = 0x00000176;
export const TPM_CC_VerifySignature = 0x00000177;
export const TPM_CC_GetCapability = 0x0000017a;
export const TPM_CC_GetRandom = 0x0000017b;
export const TPM_CC_GetTestResult = 0x0000017c;
export const TPM_CC_PCR_Read = 0x0000017e;
export const TPM_CC_PolicyPCR = 0x0000017f;
export const TPM_CC_PolicyRestart = 0x00000180;
export const TPM_CC_ReadClock = 0x00000181;
export const TPM_CC_PCR_Extend = 0x00000182;
export const TPM_CC_PolicyGetDigest = 0x00000189;
export const TPM_CC_PolicyPassword = 0x0000018c;
export const TPM_CC_CreateLoaded = 0x00000191;

// 6.9 TPM_ST
export const TPM_ST_RSP_COMMAND = 0x00c4;
export const TPM_ST_NULL = 0x8000;
export const TPM_ST_NO_SESSIONS = 0x8001;
export const TPM_ST_SESSIONS = 0x8002;
export const TPM_ST_ATTEST_NV = 0x8014;
export const TPM_ST_ATTEST_COMMAND_AUDIT = 0x8015;
export const TPM_ST_ATTEST_SESSION_AUDIT = 0x8016;
export const TPM_ST_ATTEST_CERTIFY = 0x8017;
export const TPM_ST_ATTEST_QUOTE = 0x8018;
export const TPM_ST_ATTEST_TIME = 0x8019;
export const TPM_ST_ATTEST_CREATION = 0x801a;
export const TPM_ST_ATTEST_NV_DIGEST = 0x801c;
export const TPM_ST_CREATION = 0x8021;
export const TPM_ST_VERIFIED = 0x8022;
export const TPM_ST_AUTH_SECRET = 0x8023;
export const TPM_ST_HASHCHECK = 0x8024;
export const TPM_ST_AUTH_SIGNED = 0x8025;

// 6.10 TPM_SU
export const TPM_SU_CLEAR = 0x0000;
export const TPM_SU_STATE = 0x0001;

// 6.11 TPM_SE
export const TPM_SE_HMAC = 0x00;
export const TPM_SE_POLICY = 0x01;
export const TPM_SE_TRIAL = 0x03;

// 6.12 TPM_CAP
export const TPM_CAP_ALGS = 0x00000000;
export const TPM_CAP_HANDLES = 0x00000001;
export const TPM_CAP_COMMANDS = 0x00000002;
export const TPM_CAP_PP_COMMANDS = 0x00000003;
export const TPM_CAP_AUDIT_COMMANDS = 0x00000004;
export const TPM_CAP_PCRS = 0x00000005;
export const TPM_CAP_TPM_PROPERTIES = 0x00000006;
export const TPM_CAP_PCR_PROPERTIES = 0x00000007;
export const TPM_CAP_ECC_CURVES = 0x00000008;

// 6.13 TPM_PT (PT_FIXED = 0x100, PT_VAR = 0x200)
export const TPM_PT_FAMILY_INDICATOR = 0x100;
export const TPM_PT_LEVEL = 0x101;
export const TPM_PT_REVISION = 0x102;
export const TPM_PT_DAY_OF_YEAR = 0x103;
export const TPM_PT_YEAR = 0x104;
export const TPM_PT_MANUFACTURER = 0x105;
export const TPM_PT_VENDOR_STRING_1 = 0x106;
export const TPM_PT_VENDOR_STRING_2 = 0x107;
export const TPM_PT_VENDOR_STRING_3 = 0x108;
export const TPM_PT_VENDOR_STRING_4 = 0x109;
export const TPM_PT_VENDOR_TPM_TYPE = 0x10a;
export const TPM_PT_FIRMWARE_VERSION_1 = 0x10b;
export const TPM_PT_FIRMWARE_VERSION_2 = 0x10c;
export const TPM_PT_INPUT_BUFFER = 0x10d;
export const TPM_PT_HR_TRANSIENT_MIN = 0x10e;
export const TPM_PT_HR_PERSISTENT_MIN = 0x10f;
export const TPM_PT_HR_LOADED_MIN = 0x110;
export const TPM_PT_ACTIVE_SESSIONS_MAX = 0x111;
export const TPM_PT_PCR_COUNT = 0x112;
export const TPM_PT_PCR_SELECT_MIN = 0x113;
export const TPM_PT_CONTEXT_GAP_MAX = 0x114;
export const TPM_PT_NV_COUNTERS_MAX = 0x116;
export const TPM_PT_NV_INDEX_MAX = 0x117;
export const TPM_PT_MEMORY = 0x118;
export const TPM_PT_CLOCK_UPDATE = 0x119;
export const TPM_PT_CONTEXT_HASH = 0x11a;
export const TPM_PT_CONTEXT_SYM = 0x11b;
export const TPM_PT_CONTEXT_SYM_SIZE = 0x11c;
export const TPM_PT_ORDERLY_COUNT = 0x11d;
export const TPM_PT_MAX_COMMAND_SIZE = 0x11e;
export const TPM_PT_MAX_RESPONSE_SIZE = 0x11f;
export const TPM_PT_MAX_DIGEST = 0x120;
export const TPM_PT_MAX_OBJECT_CONTEXT = 0x121;
export const TPM_PT_MAX_SESSION_CONTEXT = 0x122;
export const TPM_PT_PS_FAMILY_INDICATOR = 0x123;
export const TPM_PT_SPLIT_MAX = 0x128;
export const TPM_PT_TOTAL_COMMANDS = 0x129;
export const TPM_PT_LIBRARY_COMMANDS = 0x12a;
export const TPM_PT_VENDOR_COMMANDS = 0x12b;
export const TPM_PT_NV_BUFFER_MAX = 0x12c;
export const TPM_PT_MODES = 0x12d;
export const TPM_PT_MAX_CAP_BUFFER = 0x12e;
export const TPM_PT_PERMANENT = 0x200;
export const TPM_PT_STARTUP_CLEAR = 0x201;
export const TPM_PT_HR_NV_INDEX = 0x202;
export const TPM_PT_HR_LOADED = 0x203;
export const TPM_PT_HR_LOADED_AVAIL = 0x204;
export const TPM_PT_HR_ACTIVE = 0x205;
export const TPM_PT_HR_ACTIVE_AVAIL = 0x206;
export const TPM_PT_HR_TRANSIENT_AVAIL = 0x207;
export const TPM_PT_HR_PERSISTENT = 0x208;
export const TPM_PT_HR_PERSISTENT_AVAIL = 0x209;
export const TPM_PT_NV_COUNTERS = 0x20a;
export const TPM_PT_NV_COUNTERS_AVAIL = 0x20b;
export const TPM_PT_ALGORITHM_SET = 0x20c;
export const TPM_PT_LOADED_CURVES = 0x20d;
export const TPM_PT_LOCKOUT_COUNTER = 0x20e;
export const TPM_PT_MAX_AUTH_FAIL = 0x20f;
export const TPM_PT_LOCKOUT_INTERVAL = 0x210;
export const TPM_PT_LOCKOUT_RECOVERY = 0x211;

// 7.2 TPM_HT: the high byte of a handle
export const TPM_HT_PCR = 0x00;
export const TPM_HT_NV_INDEX = 0x01;
export const TPM_HT_HMAC_SESSION = 0x02;
export const TPM_HT_LOADED_SESSION = 0x02;
export const TPM_HT_POLICY_SESSION = 0x03;
export const TPM_HT_SAVED_SESSION = 0x03;
export const TPM_HT_PERMANENT = 0x40;
export const TPM_HT_TRANSIENT = 0x80;
export const TPM_HT_PERSISTENT = 0x81;

// 7.3 first handle of each range (for GetCapability(TPM_CAP_HANDLES, property = range start))
export const HR_PCR = 0x00000000;
export const HR_NV_INDEX = 0x01000000;
export const HR_HMAC_SESSION = 0x02000000;
export const HR_LOADED_SESSION = 0x02000000;
export const HR_POLICY_SESSION = 0x03000000;
export const HR_PERMANENT = 0x40000000;
export const HR_TRANSIENT = 0x80000000;
export const HR_PERSISTENT = 0x81000000;

// 7.4 TPM_RH / TPM_RS
export const TPM_RH_SRK = 0x40000000;
export const TPM_RH_OWNER = 0x40000001;
export const TPM_RH_NULL = 0x40000007;
export const TPM_RH_UNASSIGNED = 0x40000008;
export const TPM_RS_PW = 0x40000009;
export const TPM_RH_LOCKOUT = 0x4000000a;
export const TPM_RH_ENDORSEMENT = 0x4000000b;
export const TPM_RH_PLATFORM = 0x4000000c;
export const TPM_RH_PLATFORM_NV = 0x4000000d;

// 8.3 TPMA_OBJECT bits
export const TPMA_OBJECT_fixedTPM = 1 << 1;
export const TPMA_OBJECT_stClear = 1 << 2;
export const TPMA_OBJECT_fixedParent = 1 << 4;
export const TPMA_OBJECT_sensitiveDataOrigin = 1 << 5;
export const TPMA_OBJECT_userWithAuth = 1 << 6;
export const TPMA_OBJECT_adminWithPolicy = 1 << 7;
export const TPMA_OBJECT_noDA = 1 << 10;
export const TPMA_OBJECT_encryptedDuplication = 1 << 11;
export const TPMA_OBJECT_restricted = 1 << 16;
export const TPMA_OBJECT_decrypt = 1 << 17;
export const TPMA_OBJECT_sign = 1 << 18;
export const TPMA_OBJECT_x509sign = 1 << 19;

// 8.4 TPMA_SESSION bits
export const TPMA_SESSION_continueSession = 0x01;
export const TPMA_SESSION_auditExclusive = 0x02;
export const TPMA_SESSION_auditReset = 0x04;
export const TPMA_SESSION_decrypt = 0x20;
export const TPMA_SESSION_encrypt = 0x40;
export const TPMA_SESSION_audit = 0x80;

// 13.4 TPMA_NV bits (the ones EK-certificate handling looks at)
export const TPMA_NV_PPWRITE = 1 << 0;
export const TPMA_NV_OWNERWRITE = 1 << 1;
export const TPMA_NV_AUTHWRITE = 1 << 2;
export const TPMA_NV_POLICYWRITE = 1 << 3;
export const TPMA_NV_POLICY_DELETE = 1 << 10;
export const TPMA_NV_WRITELOCKED = 1 << 11;
export const TPMA_NV_WRITEALL = 1 << 12;
export const TPMA_NV_WRITEDEFINE = 1 << 13;
export const TPMA_NV_WRITE_STCLEAR = 1 << 14;
export const TPMA_NV_GLOBALLOCK = 1 << 15;
export const TPMA_NV_PPREAD = 1 << 16;
export const TPMA_NV_OWNERREAD = 1 << 17;
export const TPMA_NV_AUTHREAD = 1 << 18;
export const TPMA_NV_POLICYREAD = 1 << 19;
export const TPMA_NV_NO_DA = 1 << 25;
export const TPMA_NV_ORDERLY = 1 << 26;
export const TPMA_NV_CLEAR_STCLEAR = 1 << 27;
export const TPMA_NV_READLOCKED = 1 << 28;
export const TPMA_NV_WRITTEN = 1 << 29;
export const TPMA_NV_PLATFORMCREATE = 1 << 30;
export const TPMA_NV_READ_STCLEAR = 2 ** 31;

// Implementation bounds used as the spec's "sizeof(...)" maxima (Part 2 10-12; values of the reference
// implementation / tpm2-tss, generous enough for every conformant TPM).
export const MAX_DIGEST_SIZE = 64; // sizeof(TPMU_HA), SHA-512
export const MAX_SYM_DATA = 128;
export const MAX_DIGEST_BUFFER = 1024;
export const MAX_NV_BUFFER_SIZE = 2048;
export const MAX_RSA_KEY_BYTES = 512; // RSA-4096
export const MAX_ECC_KEY_BYTES = 128; // covers P-521 (66) and BN-638 (80)
export const MAX_SYM_KEY_BYTES = 32;
export const MAX_CAP_BUFFER = 1024;
export const MAX_CAP_DATA = MAX_CAP_BUFFER - 4 - 4;
export const HASH_COUNT = 16; // TPML_PCR_SELECTION / TPML_DIGEST_VALUES count bound
export const PCR_SELECT_MAX = 4; // 32 PCRs
export const MAX_CONTEXT_SIZE = 5120;
/** sizeof(TPMT_PUBLIC) bound: type+nameAlg+attrs+authPolicy+largest parms (ECC, 12) + largest unique. */
export const MAX_PUBLIC_SIZE =
  2 + 2 + 4 + (2 + MAX_DIGEST_SIZE) + 12 + Math.max(2 + MAX_RSA_KEY_BYTES, 2 * (2 + MAX_ECC_KEY_BYTES));
/** sizeof(_PRIVATE) bound: two outer/inner integrity digests + TPM2B_SENSITIVE holding an RSA-4096 private part. */
export const MAX_PRIVATE_SIZE =
  2 + MAX_DIGEST_SIZE + 2 + MAX_DIGEST_SIZE + 2 + (2 + 2 + MAX_DIGEST_SIZE + 2 + 32 + 2 + (5 * MAX_RSA_KEY_BYTES) / 2);
/** sizeof(TPMS_ID_OBJECT): integrityHMAC TPM2B_DIGEST + encIdentity TPM2B_DIGEST. */
export const MAX_ID_OBJECT_SIZE = 2 * (2 + MAX_DIGEST_SIZE);
/** sizeof(TPMU_ENCRYPTED_SECRET): max(RSA key bytes, ECC point). */
export const MAX_ENCRYPTED_SECRET_SIZE = Math.max(MAX_RSA_KEY_BYTES, 2 * (2 + MAX_ECC_KEY_BYTES));
/** sizeof(TPMS_ATTEST) bound: header fields + the largest TPMU_ATTEST member (TPMS_NV_CERTIFY_INFO). */
export const MAX_ATTEST_SIZE =
  4 + 2 + (2 + 2 + MAX_DIGEST_SIZE) * 2 + 17 + 8 + (2 + 2 + MAX_DIGEST_SIZE) + 2 + 2 + MAX_NV_BUFFER_SIZE;
/** Bounded TPM response/command size (TPM_PT_MAX_RESPONSE_SIZE is 4096 on swtpm and most TPMs). */
export const MAX_RESPONSE_SIZE = 8192;
