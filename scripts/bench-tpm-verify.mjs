#!/usr/bin/env node
// Server-side TPM verification throughput on one core: quote verification and MakeCredential (our code,
// bundled in memory from TypeScript with esbuild) beside Node's raw RSA-2048 verify rate.
// Inputs are the golden vectors in test/fixtures/tpm (real tpm2_quote output from swtpm).
// Usage: node scripts/bench-tpm-verify.mjs [seconds per measurement, default 2]
import { cpus } from 'node:os';
import { loadTs, repoRoot as root } from './lib/load-ts.mjs';

const seconds = Number(process.argv[2] ?? 2);

const entry = `
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { verify as cryptoVerify, constants, createPublicKey, randomBytes } from 'node:crypto';
import { verifyQuote } from './tpm/verify/quote';
import { verifyAkPolicy } from './tpm/verify/ak-policy';
import { makeCredential } from './tpm/crypto/make-credential';
import { parseTpm2bPublic, publicToKeyObject, tpmName } from './tpm/crypto/public-key';
import { keylimeQuoteString, parseKeylimeQuote } from './tpm/keylime/quote-string';
import { parsePcrBlob, pcrBlobToValues } from './tpm/keylime/pcr-blob';
import { parseEkCertificate, parsePemCertificates, verifyEkCertificate } from './tpm/verify/ek-cert';
import { verifyEkCertificateProfile } from './tpm/verify/ek-profile';
export function setup(root) {
  const f = (n) => new Uint8Array(readFileSync(join(root, 'test/fixtures/tpm', n)));
  const nonce = Buffer.from(readFileSync(join(root, 'test/fixtures/tpm/nonce.hex'), 'utf8'), 'hex');
  const q = (n) => ({ akPublic: f('ak-' + n + '.pub'), attest: f('quote-' + n + '.attest'), signature: f('quote-' + n + '.sig'), nonce, pcrs: pcrBlobToValues(parsePcrBlob(f('quote-' + n + '.pcrs'))) });
  const rsa = q('rsa'), ecc = q('ecc');
  const ekRsa = parseTpm2bPublic(f('ek-rsa.pub')).value;
  const ekEcc = parseTpm2bPublic(f('ek-ecc.pub')).value;
  const akName = tpmName(parseTpm2bPublic(rsa.akPublic));
  const akKey = publicToKeyObject(parseTpm2bPublic(rsa.akPublic).value);
  const akJwk = akKey.export({ format: 'jwk' });
  const rawSig = f('quote-rsa.sig').subarray(6);
  const keylime = keylimeQuoteString(rsa.attest, rsa.signature, f('quote-rsa.pcrs'));
  const ekCert = f('ek-rsa-cert.der');
  const swtpmCas = parsePemCertificates(readFileSync(join(root, 'test/fixtures/tpm/ca-root.pem'), 'utf8') + readFileSync(join(root, 'test/fixtures/tpm/ca-issuer.pem'), 'utf8'));
  return {
    'Node raw RSA-2048 PKCS#1 v1.5 verify (SHA-256)': () => { if (!cryptoVerify('sha256', rsa.attest, { key: akKey, padding: constants.RSA_PKCS1_PADDING }, rawSig)) throw new Error('raw verify'); },
    'Node raw RSA-2048 verify, key imported per call (as for each new AK)': () => { if (!cryptoVerify('sha256', rsa.attest, { key: createPublicKey({ key: akJwk, format: 'jwk' }), padding: constants.RSA_PKCS1_PADDING }, rawSig)) throw new Error('raw verify'); },
    'verifyQuote, RSA-2048 RSASSA AK (6 PCRs, 2 banks)': () => verifyQuote(rsa),
    'verifyQuote, ECC P-256 ECDSA AK (11 PCRs)': () => verifyQuote(ecc),
    'verifyQuote from a Keylime quote string (parse + verify, RSA)': () => { const k = parseKeylimeQuote(keylime); verifyQuote({ ...rsa, attest: k.attest, signature: k.signature, pcrs: pcrBlobToValues(k.pcrBlob) }); },
    'EK certificate profile only (swtpm RSA EK certificate, parsed)': ((ek) => () => verifyEkCertificateProfile(ek.certificate))(parseEkCertificate(ekCert)),
    'verifyEkCertificate: parse + profile + path (swtpm RSA EK, RSA-3072 issuer)': () => verifyEkCertificate({ certificate: ekCert, trusted: swtpmCas }),
    'makeCredential, RSA-2048 EK': () => makeCredential({ ekPublic: ekRsa, objectName: akName, credential: randomBytes(16) }),
    'makeCredential, ECC P-384 EK': () => makeCredential({ ekPublic: ekEcc, objectName: akName, credential: randomBytes(16) }),
    'server attestation = verifyAkPolicy + verifyQuote + makeCredential (RSA EK, RSA AK)': () => { verifyAkPolicy(rsa.akPublic); verifyQuote(rsa); makeCredential({ ekPublic: ekRsa, objectName: akName, credential: randomBytes(16) }); },
  };
}
`;

const { setup } = await loadTs(entry);

function measure(fn) {
  for (let i = 0; i < 50; i++) fn(); // warm-up
  const deadline = process.hrtime.bigint() + BigInt(Math.round(seconds * 1e9));
  let n = 0;
  const start = process.hrtime.bigint();
  let now = start;
  while (now < deadline) {
    for (let i = 0; i < 20; i++) fn();
    n += 20;
    now = process.hrtime.bigint();
  }
  return n / (Number(now - start) / 1e9);
}

const cases = setup(root);
console.log(`node ${process.version}, ${cpus()[0]?.model ?? 'cpu'}, one thread, ${seconds}s per row`);
let base;
const rows = [];
for (const [name, fn] of Object.entries(cases)) {
  const rate = measure(fn);
  base ??= rate;
  rows.push([name, rate]);
  console.log(`${rate.toFixed(0).padStart(9)} /s  ${(rate / base).toFixed(3).padStart(6)} x raw  ${name}`);
}
