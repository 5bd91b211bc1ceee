// The decoders that read bytes from the wire or a file, each with its seed inputs (the captured fixtures of
// test/fixtures/tpm and test/fixtures/hcl, and messages built from them) and the error types its
// documentation allows. scripts/fuzz.mjs drives them with test/helpers/mutator.ts.
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  ProtocolError,
  checkResponsePcrValues,
  encodeChallenge,
  encodeChallengeResponse,
  encodePayload,
  parseChallenge,
  parseChallengeResponse,
  parsePayload,
} from '../../proto/tpmquote/protocol';
import {
  TpmCryptoError,
  TpmMarshalError,
  TpmVerifyError,
  parseEkCertificate,
  parseKeylimeQuote,
  parsePcrBlob,
  parseTpm2bPublic,
  pcrBlobToValues,
  publicToKeyObject,
  tpmName,
  verifyAkPolicy,
  verifyQuote,
} from '../../tpm';
import {
  TpmPolicyError,
  VerifierError,
  createKeylimeVerifier,
  parseTpmPolicy,
  type KeylimeVerifier,
} from '../../verifier-client';
import { HclParseError, parseConfigText } from '../../plugin-sdk/hcl';
import { EventLogError } from '../../tpm/eventlog';
import { eventLogMutator, fuzzSeed, runFuzzCase } from './eventlog-fuzz';
import { realEventLogs } from './go-testdata';
import { byteMutator, type Mutate } from './mutator';

export interface FuzzTarget {
  name: string;
  seeds: Uint8Array[];
  /** Errors the decoder documents; anything else thrown is a crash. */
  documented: (new (...args: never[]) => Error)[];
  /** Decodes one input; resolves to an outcome label ("ok" unless it throws). */
  run(input: Uint8Array): unknown;
  /** Set for a target that runs asynchronously (run returns a promise). */
  async?: boolean;
  /** Set when run returns the outcome's label itself (a decoder whose documented refusals are results). */
  labelled?: boolean;
  /** The target's own mutator (default: the byte mutator of test/helpers/mutator.ts). */
  mutator?(seed: number): Mutate;
  close?(): void;
}

const text = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');
const bytes = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf8'));

const KINDS = ['rsa', 'ecc', 'rsapss'] as const;

/** The captured fixtures under `root` (the repository). */
function fixtures(root: string) {
  const tpm = join(root, 'test/fixtures/tpm');
  const file = (name: string): Uint8Array => new Uint8Array(readFileSync(join(tpm, name)));
  return {
    root,
    file,
    hcl: join(root, 'test/fixtures/hcl'),
    nonce: Buffer.from(readFileSync(join(tpm, 'nonce.hex'), 'utf8').trim(), 'hex'),
    quotes: KINDS.map((k) => ({
      akPublic: file(`ak-${k}.pub`),
      attest: file(`quote-${k}.attest`),
      signature: file(`quote-${k}.sig`),
      pcrBlob: file(`quote-${k}.pcrs`),
    })),
  };
}
type Fixtures = ReturnType<typeof fixtures>;
const pcrsOf = (blob: Uint8Array) => pcrBlobToValues(parsePcrBlob(blob));

function payloadSeeds(f: Fixtures): Uint8Array[] {
  return (['rsa', 'ecc'] as const).map((k) =>
    encodePayload({
      ekCertificate: f.file(`ek-${k}-cert.der`),
      ekPublic: f.file(`ek-${k}.pub`).subarray(2),
      akPublic: f.file(`ak-${k}.pub`).subarray(2),
    }),
  );
}

function challengeSeeds(f: Fixtures): Uint8Array[] {
  const tpm2b = (n: number) => Uint8Array.from([n >> 8, n & 0xff, ...new Uint8Array(n).fill(0xa5)]);
  return [
    encodeChallenge({
      nonce: f.nonce,
      credentialBlob: tpm2b(68),
      encryptedSecret: tpm2b(256),
      pcrSelection: [{ bank: 'sha256', pcrs: [0, 1, 2, 3, 4, 5, 6, 7] }],
    }),
    encodeChallenge({
      nonce: f.nonce.subarray(0, 16),
      credentialBlob: tpm2b(68),
      encryptedSecret: tpm2b(66),
      pcrSelection: [
        { bank: 'sha1', pcrs: [0] },
        { bank: 'sha384', pcrs: [7, 23] },
      ],
    }),
  ];
}

function responseSeeds(f: Fixtures): Uint8Array[] {
  return f.quotes.map((q) => {
    const values = pcrsOf(q.pcrBlob);
    return encodeChallengeResponse({
      activatedSecret: new Uint8Array(32).fill(7),
      quoteAttest: q.attest,
      quoteSignature: q.signature,
      pcrValues: Object.entries(values).map(([bank, m]) => ({
        bank,
        values: Object.entries(m ?? {}).map(([index, digest]) => ({ index: Number(index), digest })),
      })),
    });
  });
}

/** verifyQuote on the captured quote with one part replaced by the input. */
function quoteTarget(f: Fixtures, name: string, part: 'attest' | 'signature'): FuzzTarget {
  return {
    name,
    seeds: f.quotes.map((q) => q[part]),
    documented: [TpmVerifyError],
    run(input) {
      const q = f.quotes[input.length % f.quotes.length];
      return verifyQuote({
        akPublic: q.akPublic,
        attest: q.attest,
        signature: q.signature,
        nonce: f.nonce,
        pcrs: pcrsOf(q.pcrBlob),
        [part]: input,
      });
    },
  };
}

function hclSeeds(f: Fixtures): Uint8Array[] {
  const dirs = [f.hcl, join(f.hcl, 'input')];
  return dirs.flatMap((d) =>
    readdirSync(d, { withFileTypes: true })
      .filter((e) => e.isFile() && !e.name.endsWith('.md') && !e.name.endsWith('.js') && !e.name.endsWith('.sh'))
      .map((e) => new Uint8Array(readFileSync(join(d, e.name)))),
  );
}

/**
 * Keylime's /verify/evidence answer (HTTP 200 with the input as body) read by the real Keylime client.
 * The server is a FAKE (a Node HTTPS server on 127.0.0.1, the test certificates of
 * test/unit/verifier-client/fixtures): the real verifier cannot be made to send arbitrary bodies.
 */
async function keylimeTarget(f: Fixtures): Promise<FuzzTarget> {
  const fix = join(f.root, 'test/unit/verifier-client/fixtures');
  let body: Uint8Array = new Uint8Array();
  const server: Server = createServer(
    { cert: readFileSync(join(fix, 'server.crt')), key: readFileSync(join(fix, 'server.key')) },
    (req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': body.length });
        res.end(body);
      });
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const client: KeylimeVerifier = createKeylimeVerifier({
    url: `https://127.0.0.1:${port}`,
    caPem: readFileSync(join(fix, 'ca.crt')),
    apiVersion: '2.6',
    timeoutMs: 5000,
  });
  const q = f.quotes[0];
  const evidence = {
    attest: q.attest,
    signature: q.signature,
    pcrBlob: q.pcrBlob,
    nonce: f.nonce,
    hashAlg: 'sha256' as const,
    akPublic: q.akPublic,
    ekPublic: f.file('ek-rsa.pub'),
  };
  const policy = parseTpmPolicy(JSON.stringify({ 0: ['00'.repeat(32)] }));
  const verdicts = [
    { code: 200, status: 'Success', results: { valid: true, claims: { hash_alg: 'sha256' }, failures: [] } },
    {
      code: 200,
      status: 'Success',
      results: { valid: false, failures: [{ type: 'quote_validation', context: { message: 'bad', error: 'x' } }] },
    },
    { code: 200, results: { valid: false, failures: [{ type: 'pcr', context: { context: 'PCR 0', got: 'ab' } }] } },
  ];
  return {
    name: 'keylime_response',
    seeds: verdicts.map((v) => bytes(JSON.stringify(v))),
    documented: [VerifierError],
    async: true,
    async run(input) {
      body = input;
      return client.verify(evidence, policy);
    },
    close() {
      client.close();
      server.close();
    },
  };
}

/**
 * The TCG event log (parse, replay, verify against the seed's replay, boot facts), seeded with the real logs
 * of the Go module cache. A real log is mutated by the structure-aware mutator of eventlog-fuzz.ts (record
 * sizes, digest counts, PCR indexes); an input that joined the pool by the byte mutator.
 */
function eventLogTarget(): FuzzTarget {
  const seeds = realEventLogs().map((l) => fuzzSeed(l.name, l.bytes));
  const bySeed = new Map(seeds.map((s) => [s.bytes, s]));
  return {
    name: 'tcg_event_log',
    seeds: seeds.map((s) => s.bytes),
    documented: [EventLogError],
    labelled: true,
    run: (b) => runFuzzCase(b, (bySeed.get(b) ?? seeds[b.length % seeds.length]).pcrs).outcome,
    mutator(seed) {
      const structured = eventLogMutator(seed);
      const bytewise = byteMutator(seed, 1 << 20);
      return (input, pool) => {
        const real = bySeed.get(input);
        return real ? structured(real) : bytewise(input, pool);
      };
    },
  };
}

/** Every decoder target; the Keylime one starts its loopback server. */
export async function fuzzTargets(root: string): Promise<FuzzTarget[]> {
  const f = fixtures(root);
  return [
    { name: 'payload', seeds: payloadSeeds(f), documented: [ProtocolError], run: parsePayload },
    { name: 'challenge', seeds: challengeSeeds(f), documented: [ProtocolError], run: parseChallenge },
    {
      name: 'challenge_response',
      seeds: responseSeeds(f),
      documented: [ProtocolError],
      run: (b) => checkResponsePcrValues(parseChallengeResponse(b)),
    },
    {
      name: 'tpmt_public',
      seeds: [...KINDS.map((k) => f.file(`ak-${k}.pub`)), f.file('ek-rsa.pub'), f.file('ek-ecc.pub')],
      documented: [TpmMarshalError, TpmCryptoError, TpmVerifyError],
      run(b) {
        const pub = parseTpm2bPublic(b);
        publicToKeyObject(pub.value);
        tpmName(pub);
        return verifyAkPolicy(pub.value);
      },
    },
    quoteTarget(f, 'tpms_attest', 'attest'),
    quoteTarget(f, 'tpmt_signature', 'signature'),
    {
      name: 'ek_certificate_der',
      seeds: [f.file('ek-rsa-cert.der'), f.file('ek-ecc-cert.der')],
      documented: [TpmVerifyError],
      run: parseEkCertificate,
    },
    {
      name: 'keylime_quote_string',
      seeds: f.quotes.map((q) =>
        bytes(
          `r${Buffer.from(q.attest).toString('base64')}:${Buffer.from(q.signature).toString('base64')}:${Buffer.from(q.pcrBlob).toString('base64')}`,
        ),
      ),
      documented: [TpmVerifyError],
      run: (b) => parseKeylimeQuote(text(b)),
    },
    await keylimeTarget(f),
    {
      name: 'pcr_policy_file',
      seeds: [
        bytes(JSON.stringify({ 0: ['00'.repeat(32)], 7: ['11'.repeat(32), '22'.repeat(32)] })),
        bytes(JSON.stringify({ 23: ['ab'.repeat(48)] })),
      ],
      documented: [TpmPolicyError],
      run: (b) => parseTpmPolicy(text(b)),
    },
    { name: 'hcl', seeds: hclSeeds(f), documented: [HclParseError], run: (b) => parseConfigText(text(b)) },
    eventLogTarget(),
  ];
}

/** The label of a documented error: its class and code, or else its field (if any) and its text's first word. */
export function outcomeOf(e: unknown): string {
  const err = e as { name?: string; code?: unknown; field?: unknown; detail?: unknown; message?: string };
  const words = String(err.detail ?? err.message ?? '')
    .replace(/^\d+:\d+: /, '')
    .split(/[\s:,(]+/)
    .filter((w) => /^[a-z]/i.test(w));
  if (err.code !== undefined) return `${err.name}:${String(err.code)}`;
  return [err.name, err.field, words[0]].filter((x) => x !== undefined).join(':');
}
