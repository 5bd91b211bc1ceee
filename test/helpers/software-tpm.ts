// A TPM's attestation roles done in software with private keys a test holds (no TPM): ActivateCredential
// with the EK private key, and an "AK" whose public area claims TPM attributes it cannot have. Used to check
// our credential blobs independently, and to play an attacker who owns a certificate's private key.
import {
  constants,
  createDecipheriv,
  createHash,
  createHmac,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  privateDecrypt,
  sign,
  type KeyObject,
} from 'node:crypto';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  AttestationChallengeSchema,
  AttestationPayloadSchema,
  ChallengeResponseSchema,
} from '../../proto/gen/tpmquote/v1/attestation_pb';
import { akTemplate } from '../../tpm/ak/ak';
import { hashAlgId, hashInfo, type HashName } from '../../tpm/crypto/hash';
import { kdfa, kdfe } from '../../tpm/crypto/kdf';
import type { TpmtPublic } from '../../tpm/crypto/public-codec';
import { publicFromKeyObject, tpmName } from '../../tpm/crypto/public-key';
import { EK_PROFILES } from '../../tpm/ek/templates';
import { marshal, unmarshal } from '../../tpm/marshal/codec';
import * as C from '../../tpm/marshal/constants';
import { TpmsAttest } from '../../tpm/types/attest';
import { pcrSelection } from '../../tpm/types/pcr';
import { TpmsEccPoint, TpmtPublic as TpmtPublicCodec } from '../../tpm/types/public';
import { TpmtSignature } from '../../tpm/types/signature';

/**
 * ActivateCredential (TPM 2.0 Part 1, 24) in software with the EK private key: recovers the seed from
 * `secret` (RSA-OAEP or ECDH), checks the integrity HMAC over `idObject` for `name`, decrypts the credential.
 * Throws "integrity HMAC mismatch" for a blob made for another Name.
 */
export function softwareActivate(
  ek: TpmtPublic,
  ekPrivate: KeyObject,
  name: Uint8Array,
  idObject: Uint8Array,
  secret: Uint8Array,
): Uint8Array {
  const h = hashInfo(ek.nameAlg);
  const enc = secret.subarray(2);
  let seed: Uint8Array;
  if (ek.type === C.TPM_ALG_RSA) {
    seed = privateDecrypt(
      {
        key: ekPrivate,
        padding: constants.RSA_PKCS1_OAEP_PADDING,
        oaepHash: h.name,
        oaepLabel: Buffer.from('IDENTITY\0'),
      },
      enc,
    );
  } else {
    const pt = unmarshal(TpmsEccPoint, enc);
    const crv = { [C.TPM_ECC_NIST_P256]: 'P-256', [C.TPM_ECC_NIST_P384]: 'P-384' }[
      (ek as Extract<TpmtPublic, { type: 0x23 }>).parameters.curveID
    ]!;
    const eph = createPublicKey({
      key: { kty: 'EC', crv, x: Buffer.from(pt.x).toString('base64url'), y: Buffer.from(pt.y).toString('base64url') },
      format: 'jwk',
    });
    const z = diffieHellman({ privateKey: ekPrivate, publicKey: eph });
    seed = kdfe(h.name, z, 'IDENTITY', pt.x, (ek.unique as { x: Uint8Array }).x, h.size * 8);
  }
  const body = idObject.subarray(2);
  const hmacLen = (body[0] << 8) | body[1];
  const integrity = body.subarray(2, 2 + hmacLen);
  const encIdentity = body.subarray(2 + hmacLen);
  const hmacKey = kdfa(h.name, seed, 'INTEGRITY', new Uint8Array(0), new Uint8Array(0), h.size * 8);
  if (!createHmac(h.name, hmacKey).update(encIdentity).update(name).digest().equals(Buffer.from(integrity)))
    throw new Error('integrity HMAC mismatch');
  const bits = (ek.parameters as { symmetric: { keyBits?: number } }).symmetric.keyBits!;
  const symKey = kdfa(h.name, seed, 'STORAGE', name, new Uint8Array(0), bits);
  const d = createDecipheriv(`aes-${bits}-cfb`, symKey, Buffer.alloc(16));
  const plain = Buffer.concat([d.update(encIdentity), d.final()]);
  return plain.subarray(2, 2 + ((plain[0] << 8) | plain[1]));
}

/** A software-only tpm_quote agent: payload out, challenge in, response out. */
export interface SoftwareAgent {
  /** The AttestationPayload bytes carrying `ekCertificate`. */
  payload(): Uint8Array;
  /** Answers a challenge: activates the credential in software and signs its own quote of invented PCRs. */
  respond(challenge: Uint8Array): Uint8Array;
}

/**
 * An attacker's agent with no TPM: it holds the RSA private key of `ekCertificate`'s subject key and
 * presents that key as its "EK" (the RSA-2048 EK template), plus a software RSA key as an "AK" whose public
 * area carries the attributes only a TPM-made restricted key should have. Every PCR it quotes is zero.
 */
export function createSoftwareAgent(options: { ekPrivate: KeyObject; ekCertificate: Uint8Array }): SoftwareAgent {
  const ek = publicFromKeyObject(createPublicKey(options.ekPrivate), EK_PROFILES.rsa2048.template!());
  const ak = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const akPublic = publicFromKeyObject(ak.publicKey, akTemplate('rsa'));
  return {
    payload: () =>
      toBinary(
        AttestationPayloadSchema,
        create(AttestationPayloadSchema, {
          version: 1,
          ekCertificate: options.ekCertificate,
          ekPublic: marshal(TpmtPublicCodec, ek),
          akPublic: marshal(TpmtPublicCodec, akPublic),
        }),
      ),
    respond(challengeBytes) {
      const challenge = fromBinary(AttestationChallengeSchema, challengeBytes);
      const activatedSecret = softwareActivate(
        ek,
        options.ekPrivate,
        tpmName(akPublic),
        challenge.credentialBlob,
        challenge.encryptedSecret,
      );
      const pcrValues = challenge.pcrSelection.map((s) => ({
        bank: s.bank,
        values: s.pcrs.map((index) => ({
          index,
          digest: new Uint8Array(hashInfo(hashAlgId(s.bank as HashName)).size),
        })),
      }));
      const digest = createHash('sha256');
      for (const b of pcrValues) for (const v of b.values) digest.update(v.digest);
      const attest = marshal(TpmsAttest, {
        magic: C.TPM_GENERATED_VALUE,
        type: C.TPM_ST_ATTEST_QUOTE,
        qualifiedSigner: tpmName(akPublic),
        extraData: challenge.nonce,
        clockInfo: { clock: 1n, resetCount: 0, restartCount: 0, safe: true },
        firmwareVersion: 0n,
        attested: {
          pcrSelect: challenge.pcrSelection.map((s) => pcrSelection(hashAlgId(s.bank as HashName), s.pcrs)),
          pcrDigest: new Uint8Array(digest.digest()),
        },
      });
      const signature = marshal(TpmtSignature, {
        sigAlg: C.TPM_ALG_RSASSA,
        signature: { hash: C.TPM_ALG_SHA256, sig: new Uint8Array(sign('sha256', attest, ak.privateKey)) },
      });
      return toBinary(
        ChallengeResponseSchema,
        create(ChallengeResponseSchema, {
          version: 1,
          activatedSecret,
          quoteAttest: attest,
          quoteSignature: signature,
          pcrValues,
        }),
      );
    },
  };
}
