#!/usr/bin/env node
// Server-side crypto of one attestation on one thread, as the server plugin runs it (no gRPC): payload
// decode, check 1 (EK certificate profile + chain to the CA bundle, warm), AK checks, MakeCredential
// (RSA-OAEP seed for an RSA EK, ephemeral ECDH for an ECC EK), then the response: activation compare,
// quote signature + attest parse + nonce + PCR digest, selectors. Beside it, the raw limit: the same
// node:crypto primitives alone (keys imported once), measured in the same run and process.
// Evidence: the golden vectors in test/fixtures/tpm (swtpm + tpm2-tools, remade by its remake.sh). The
// quote is bound to the fixture's nonce, so the bench injects that nonce as the server's random draw.
//
//   node scripts/bench-server-crypto.mjs [--seconds N] [--baseline REV]
//
// --baseline REV also measures the code of git revision REV (extracted to a temp dir) on the same
// evidence, rounds interleaved with this checkout's so that load from other processes hits both alike.
// Each row: attestations per CPU-second and per wall second over all its rounds, p50/p95 of one
// attestation, and the ratio to the raw limit.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTs, percentiles, repoRoot as root } from './lib/load-ts.mjs';

const args = process.argv.slice(2);
let seconds = 6;
let baseline;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--seconds') seconds = Number(args[++i]);
  else if (args[i] === '--baseline') baseline = args[++i];
  else throw new Error(`bench-server-crypto: unknown argument ${args[i]}`);
}
if (!(seconds > 0)) throw new Error('--seconds must be a positive number');
const ROUNDS = 6;

// The plugin's path, written against the modules every revision since the split plugin-server has.
const pluginEntry = `
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create, toBinary } from '@bufbuild/protobuf';
import { AttestationPayloadSchema, ChallengeResponseSchema } from './proto/gen/tpmquote/v1/attestation_pb';
import { parsePcrBlob, pcrBlobToValues } from './tpm/keylime/pcr-blob';
import { configureServer } from './plugin-server/config';
import { startAttestation } from './plugin-server/attestation-checks';
import { createInProcessVerifier } from './verifier-client/in-process';

export function setup(fixtures, cases) {
  const fx = (n) => new Uint8Array(readFileSync(join(fixtures, n)));
  const nonce = Buffer.from(readFileSync(join(fixtures, 'nonce.hex'), 'utf8').trim(), 'hex');
  const secret = new Uint8Array(32).fill(0x42);
  const dir = mkdtempSync(join(tmpdir(), 'bench-server-crypto-'));
  const verifier = createInProcessVerifier();
  try {
    writeFileSync(join(dir, 'cas.pem'), readFileSync(join(fixtures, 'ca-root.pem'), 'utf8') + readFileSync(join(fixtures, 'ca-issuer.pem'), 'utf8'));
    const out = {};
    for (const c of cases) {
      const r = configureServer({ trustDomain: 'example.org' }, 'ek_ca_path = "' + join(dir, 'cas.pem') + '"\\npcr_selection = "' + c.selection + '"\\n');
      if (!('config' in r)) throw new Error(r.notes.join('; '));
      const config = r.config;
      const payload = toBinary(AttestationPayloadSchema, create(AttestationPayloadSchema, {
        version: 1,
        ekCertificate: fx('ek-' + c.ek + '-cert.der'),
        ekPublic: fx('ek-' + c.ek + '.pub').subarray(2),
        akPublic: fx('ak-' + c.ak + '.pub').subarray(2),
      }));
      const values = pcrBlobToValues(parsePcrBlob(fx('quote-' + c.ak + '.pcrs')));
      const response = toBinary(ChallengeResponseSchema, create(ChallengeResponseSchema, {
        version: 1,
        activatedSecret: secret,
        quoteAttest: fx('quote-' + c.ak + '.attest'),
        quoteSignature: fx('quote-' + c.ak + '.sig'),
        pcrValues: Object.entries(values).map(([bank, byIndex]) => ({
          bank,
          values: Object.entries(byIndex ?? {}).map(([i, d]) => ({ index: Number(i), digest: d })),
        })),
      }));
      out[c.name] = async () => {
        const draws = [nonce, secret];
        const pending = startAttestation(config, payload, { verifier, random: () => new Uint8Array(draws.shift()) });
        const result = await pending.finish(response);
        if (!result.spiffeId.endsWith(pending.ekHash)) throw new Error('bench: unexpected agent ID');
      };
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
`;

// The raw limit: the primitives one attestation needs, nothing else (keys imported once, no parsing).
const rawEntry = `
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { constants, createCipheriv, createHash, createHmac, diffieHellman, generateKeyPairSync, publicEncrypt, randomFillSync, verify } from 'node:crypto';
import { parseTpm2bPublic, publicToKeyObject, publicToPkixDer } from './tpm/crypto/public-key';
import { parsePcrBlob, pcrBlobToValues } from './tpm/keylime/pcr-blob';
import { unmarshal } from './tpm/marshal/codec';
import { TpmtSignature } from './tpm/types/signature';

export function setup(fixtures, cases) {
  const fx = (n) => new Uint8Array(readFileSync(join(fixtures, n)));
  const label = Buffer.from('IDENTITY\\0', 'latin1');
  const out = {};
  for (const c of cases) {
    const ek = parseTpm2bPublic(fx('ek-' + c.ek + '.pub'));
    const ak = parseTpm2bPublic(fx('ak-' + c.ak + '.pub'));
    const ekKey = publicToKeyObject(ek.value);
    const akKey = publicToKeyObject(ak.value);
    const ekDer = publicToPkixDer(ek.value);
    const ekHash = ek.value.nameAlg === 0x000b ? 'sha256' : 'sha384';
    const attest = fx('quote-' + c.ak + '.attest');
    const sig = unmarshal(TpmtSignature, fx('quote-' + c.ak + '.sig')).signature;
    const rs = sig.sig ?? Buffer.concat([sig.signatureR, sig.signatureS]);
    const values = Object.values(pcrBlobToValues(parsePcrBlob(fx('quote-' + c.ak + '.pcrs')))).flatMap((b) => Object.values(b));
    const seed = new Uint8Array(ekHash === 'sha256' ? 32 : 48).fill(7);
    const curve = c.ek === 'ecc' ? 'secp384r1' : undefined;
    out[c.name] = () => {
      createHash('sha256').update(ekDer).digest(); // agent ID
      createHash('sha256').update(ak.bytes).digest(); // AK Name
      if (curve) {
        const eph = generateKeyPairSync('ec', { namedCurve: curve });
        eph.publicKey.export({ format: 'jwk' });
        const z = diffieHellman({ privateKey: eph.privateKey, publicKey: ekKey });
        createHash(ekHash).update(z).digest(); // KDFe
      } else {
        randomFillSync(seed);
        publicEncrypt({ key: ekKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: ekHash, oaepLabel: label }, seed);
      }
      const storage = createHmac(ekHash, seed).update(label).digest(); // KDFa STORAGE
      createCipheriv(curve ? 'aes-256-cfb' : 'aes-128-cfb', storage.subarray(0, curve ? 32 : 16), Buffer.alloc(16)).update(seed);
      const integrity = createHmac(ekHash, seed).update(label).digest(); // KDFa INTEGRITY
      createHmac(ekHash, integrity).update(seed).digest(); // outer HMAC
      const ok = c.ak === 'ecc'
        ? verify('sha256', attest, { key: akKey, dsaEncoding: 'ieee-p1363' }, rs)
        : verify('sha256', attest, { key: akKey, padding: constants.RSA_PKCS1_PADDING }, rs);
      if (!ok) throw new Error('raw verify failed');
      const d = createHash('sha256');
      for (const v of values) d.update(v);
      d.digest(); // PCR digest
    };
  }
  return out;
}
`;

const CASES = [
  { name: 'RSA-2048 EK, RSA-2048 AK (RSASSA)', ek: 'rsa', ak: 'rsa', selection: 'sha256:0,1,2,3,16+sha1:16' },
  { name: 'RSA-2048 EK, ECC P-256 AK (ECDSA)', ek: 'rsa', ak: 'ecc', selection: 'sha256:0-9,16' },
  { name: 'ECC P-384 EK, RSA-2048 AK (RSASSA)', ek: 'ecc', ak: 'rsa', selection: 'sha256:0,1,2,3,16+sha1:16' },
];
const fixtures = join(root, 'test/fixtures/tpm');

const variants = [{ label: 'raw node:crypto', cases: (await loadTs(rawEntry)).setup(fixtures, CASES) }];
let baselineDir;
if (baseline) {
  baselineDir = mkdtempSync(join(tmpdir(), 'bench-baseline-'));
  process.on('exit', () => rmSync(baselineDir, { recursive: true, force: true }));
  const rev = execFileSync('git', ['rev-parse', '--short', baseline], { cwd: root, encoding: 'utf8' }).trim();
  execFileSync('bash', ['-c', `git archive ${rev} | tar -x -C "${baselineDir}"`], { cwd: root });
  variants.push({ label: `before (${rev})`, cases: (await loadTs(pluginEntry, baselineDir)).setup(fixtures, CASES) });
}
const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: root, encoding: 'utf8' });
variants.push({
  label: `${baseline ? 'after' : 'plugin'} (${head}${dirty ? '+changes' : ''})`,
  cases: (await loadTs(pluginEntry)).setup(fixtures, CASES),
});

// Runs fn for `ms`, timing each call; returns the count, the elapsed wall and CPU time (ns; CPU time of the
// whole process, so garbage collection on helper threads counts) and the per-call wall times (µs).
async function run(fn, ms) {
  const times = [];
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(Math.round(ms * 1e6));
  let t = start;
  while (t < deadline) {
    const r = fn();
    if (r) await r;
    const t2 = process.hrtime.bigint();
    times.push(Number(t2 - t) / 1e3);
    t = t2;
  }
  const used = process.cpuUsage(cpu);
  return { n: times.length, ns: Number(t - start), cpuNs: (used.user + used.system) * 1e3, times };
}

console.log(
  `node ${process.version}, ${cpus()[0]?.model ?? 'cpu'}, load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}; one thread; ${seconds}s per row in ${ROUNDS} interleaved rounds`,
);
console.log('/CPU-s: attestations per second of CPU time used by this process (steady when other processes compete);');
console.log("/s: per second of wall time; p50/p95: one attestation, wall time; x raw: /CPU-s over the raw row's.");
const pad = (s, n) => String(s).padEnd(n);
const num = (v, n, d = 0) => v.toFixed(d).padStart(n);
for (const c of CASES) {
  // Warm-up: JIT, the server's per-configuration caches, the EK chain cache.
  for (const v of variants) for (let i = 0; i < 300; i++) await v.cases[c.name]();
  const acc = variants.map(() => ({ n: 0, ns: 0, cpuNs: 0, times: [] }));
  for (let r = 0; r < ROUNDS; r++) {
    for (let i = 0; i < variants.length; i++) {
      const m = await run(variants[i].cases[c.name], (seconds * 1000) / ROUNDS);
      acc[i].n += m.n;
      acc[i].ns += m.ns;
      acc[i].cpuNs += m.cpuNs;
      for (const x of m.times) acc[i].times.push(x);
    }
  }
  console.log(`\n${c.name}`);
  console.log(
    `  ${pad('code', 28)} ${'/CPU-s'.padStart(8)} ${'/s'.padStart(8)} ${'p50 µs'.padStart(8)} ${'p95 µs'.padStart(8)}  x raw`,
  );
  const rawRate = acc[0].n / (acc[0].cpuNs / 1e9);
  acc.forEach((a, i) => {
    const perCpu = a.n / (a.cpuNs / 1e9);
    const { p50, p95 } = percentiles(a.times);
    console.log(
      `  ${pad(variants[i].label, 28)} ${num(perCpu, 8)} ${num(a.n / (a.ns / 1e9), 8)} ${num(p50, 8, 1)} ${num(p95, 8, 1)}  ${num(perCpu / rawRate, 5, 2)}`,
    );
  });
}
