// Server-side crypto against the real reference stack: swtpm (libtpms) + tpm2-tools. Each test file starts
// its own swtpm with its own local CA (test/helpers/swtpm.ts).
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { useSwtpmTools } from '../helpers/swtpm';
import { makeCredential } from '../../tpm/crypto/make-credential';
import { parseTpm2bPublic, publicToKeyObject, tpmName } from '../../tpm/crypto/public-key';
import { encodePcrBlob, parsePcrBlob, pcrBlobFromValues, pcrBlobToValues } from '../../tpm/keylime/pcr-blob';
import { encodeKeylimeQuote, parseKeylimeQuote } from '../../tpm/keylime/quote-string';
import { parsePemCertificates, verifyEkCertificate } from '../../tpm/verify/ek-cert';
import { loadCaBundle } from '../../plugin-server/trust-files';
import { TpmVerifyError } from '../../tpm/verify/errors';
import { thrown } from '../helpers/thrown';
import { verifyAkPolicy } from '../../tpm/verify/ak-policy';
import { verifyQuote } from '../../tpm/verify/quote';
import type { PcrValues } from '../../tpm/types/pcr';
import { hashSize, type HashName } from '../../tpm/crypto/hash';

const env = useSwtpmTools('verify');
const { tool, read } = env;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

// No resource manager: flush whatever a tool left loaded so the next load has room.
function flush(): void {
  tool('tpm2_flushcontext', '-t');
  tool('tpm2_flushcontext', '-s');
}
afterEach(() => flush());

/** Creates an AK under the RSA EK; returns its context file and files. */
function createAk(name: string, alg: 'rsa' | 'ecc', scheme: 'rsassa' | 'rsapss' | 'ecdsa'): void {
  tool(
    'tpm2_createak',
    '-C',
    '0x81010001',
    '-c',
    `${name}.ctx`,
    '-G',
    alg,
    '-g',
    'sha256',
    '-s',
    scheme,
    '-u',
    `${name}.pub`,
    '-n',
    `${name}.name`,
  );
  flush();
}

/** tpm2_pcrread -o writes the values concatenated in selection order. */
function pcrRead(spec: Array<[HashName, number[]]>): PcrValues {
  tool('tpm2_pcrread', spec.map(([b, idx]) => `${b}:${idx.join(',')}`).join('+'), '-o', 'pcrread.bin');
  const raw = read('pcrread.bin');
  const out: Record<string, Record<number, Uint8Array>> = {};
  let off = 0;
  for (const [bank, idx] of spec) {
    out[bank] = {};
    for (const i of idx) {
      out[bank][i] = raw.slice(off, off + hashSize(bank));
      off += hashSize(bank);
    }
  }
  expect(off).toBe(raw.length);
  return out;
}

describe('TPM Names equal tpm2-tools', () => {
  it.each([
    ['RSA-2048 EK', '0x81010001'],
    ['ECC P-384 EK', '0x81010016'],
  ])('%s at %s', (_n, handle) => {
    tool('tpm2_readpublic', '-c', handle, '-o', 'ek.pub', '-n', 'ek.name');
    expect(hex(tpmName(parseTpm2bPublic(read('ek.pub'))))).toBe(hex(read('ek.name')));
  });
  it.each([
    ['rsa', 'rsassa'],
    ['ecc', 'ecdsa'],
  ] as const)('%s AK from tpm2_createak', (alg, scheme) => {
    createAk(`name-${alg}`, alg, scheme);
    expect(hex(tpmName(parseTpm2bPublic(read(`name-${alg}.pub`))))).toBe(hex(read(`name-${alg}.name`)));
  });
});

describe('tpm2_quote output passes verifyQuote', () => {
  const spec: Array<[HashName, number[]]> = [
    ['sha256', [0, 1, 2, 3, 7, 16]],
    ['sha1', [16]],
  ];
  const list = spec.map(([b, i]) => `${b}:${i.join(',')}`).join('+');

  it.each([
    ['rsa', 'rsassa'],
    ['rsa', 'rsapss'],
    ['ecc', 'ecdsa'],
  ] as const)('%s %s AK', (alg, scheme) => {
    const ak = `q-${alg}-${scheme}`;
    createAk(ak, alg, scheme);
    expect(verifyAkPolicy(read(`${ak}.pub`)).objectAttributes).toBeGreaterThan(0);
    tool('tpm2_pcrextend', `16:sha256=${randomBytes(32).toString('hex')},sha1=${randomBytes(20).toString('hex')}`);
    const nonce = randomBytes(20);
    tool(
      'tpm2_quote',
      '-c',
      `${ak}.ctx`,
      '-l',
      list,
      '-q',
      nonce.toString('hex'),
      '-g',
      'sha256',
      '--scheme',
      scheme,
      '-m',
      'q.attest',
      '-s',
      'q.sig',
      '-o',
      'q.pcrs',
    );
    flush();
    const values = pcrRead(spec);
    // the pcrblob tpm2-tools wrote is byte for byte what we build from tpm2_pcrread's values
    expect(hex(encodePcrBlob(pcrBlobFromValues(values)))).toBe(hex(read('q.pcrs')));
    const opts = {
      akPublic: read(`${ak}.pub`),
      attest: read('q.attest'),
      signature: read('q.sig'),
      nonce,
      pcrs: values,
    };
    const r = verifyQuote(opts);
    expect(r.safe).toBe(true);
    expect(hex(r.attest.extraData)).toBe(nonce.toString('hex'));
    // the same evidence through a Keylime quote string
    const q = parseKeylimeQuote(
      encodeKeylimeQuote({ attest: opts.attest, signature: opts.signature, pcrBlob: parsePcrBlob(read('q.pcrs')) }),
    );
    expect(
      verifyQuote({ ...opts, attest: q.attest, signature: q.signature, pcrs: pcrBlobToValues(q.pcrBlob) }).clock,
    ).toBe(r.clock);
    // and the same quote is refused with another nonce, and after the PCR moves on
    expect(thrown(TpmVerifyError, () => verifyQuote({ ...opts, nonce: randomBytes(20) })).code).toBe('NONCE_MISMATCH');
    tool('tpm2_pcrextend', `16:sha256=${randomBytes(32).toString('hex')}`);
    expect(thrown(TpmVerifyError, () => verifyQuote({ ...opts, pcrs: pcrRead(spec) })).code).toBe(
      'PCR_DIGEST_MISMATCH',
    );
  });
});

describe('our MakeCredential blob is activated by tpm2_activatecredential', () => {
  beforeAll(() => {
    createAk('act', 'rsa', 'rsassa');
    createAk('other', 'ecc', 'ecdsa');
  });

  // ek: a handle or a context file; policy: whether the EK needs PolicySecret(endorsement)
  function activate(
    ek: string,
    ekPub: Uint8Array,
    policy: boolean,
    boundTo: string,
  ): { ok: boolean; secret?: Buffer; credential: Buffer } {
    const credential = randomBytes(16);
    const m = makeCredential({
      ekPublic: parseTpm2bPublic(ekPub).value,
      objectName: read(`${boundTo}.name`),
      credential,
    });
    // tpm2-tools' credential file: magic 0xBADCC0DE, version 1, TPM2B_ID_OBJECT, TPM2B_ENCRYPTED_SECRET
    writeFileSync(
      join(env.dir, 'cred.blob'),
      Buffer.concat([Buffer.from('badcc0de00000001', 'hex'), m.idObject, m.encryptedSecret]),
    );
    const auth: string[] = [];
    if (policy) {
      tool('tpm2_startauthsession', '--policy-session', '-S', 'session.ctx');
      tool('tpm2_policysecret', '-S', 'session.ctx', '-c', 'e');
      auth.push('-P', 'session:session.ctx');
    }
    try {
      tool('tpm2_activatecredential', '-c', 'act.ctx', '-C', ek, '-i', 'cred.blob', '-o', 'got.secret', ...auth);
      return { ok: true, secret: readFileSync(join(env.dir, 'got.secret')), credential };
    } catch {
      return { ok: false, credential };
    } finally {
      flush();
    }
  }

  it('RSA-2048 EK (persistent 0x81010001, policy session)', () => {
    tool('tpm2_readpublic', '-c', '0x81010001', '-o', 'ek-rsa.pub');
    const r = activate('0x81010001', read('ek-rsa.pub'), true, 'act');
    expect(r.ok).toBe(true);
    expect(r.secret!.equals(r.credential)).toBe(true);
    expect(activate('0x81010001', read('ek-rsa.pub'), true, 'other').ok).toBe(false); // bound to another Name
  });

  it('ECC P-384 EK (persistent 0x81010016, SHA-384 nameAlg, AES-256, userWithAuth)', () => {
    tool('tpm2_readpublic', '-c', '0x81010016', '-o', 'ek-ecc.pub');
    const r = activate('0x81010016', read('ek-ecc.pub'), false, 'act');
    expect(r.ok).toBe(true);
    expect(r.secret!.equals(r.credential)).toBe(true);
    expect(activate('0x81010016', read('ek-ecc.pub'), false, 'other').ok).toBe(false);
  });

  it('ECC P-256 EK (TCG template from tpm2_createek -G ecc, policy session)', () => {
    tool('tpm2_createek', '-c', 'ek256.ctx', '-G', 'ecc', '-u', 'ek256.pub');
    // createek leaves nothing loaded; the context file reloads it per command
    const r = activate('ek256.ctx', read('ek256.pub'), true, 'act');
    expect(r.ok).toBe(true);
    expect(r.secret!.equals(r.credential)).toBe(true);
  });
});

describe('EK certificates from swtpm NV chain to its local CA', () => {
  it.each([
    ['RSA', '0x01c00002', '0x81010001'],
    ['ECC P-384', '0x01c00016', '0x81010016'],
  ])('%s EK certificate (NV %s)', (_n, nv, handle) => {
    tool('tpm2_nvread', nv, '-o', 'ekcert.der');
    tool('tpm2_readpublic', '-c', handle, '-o', 'ekpub.pub');
    const caDir = join(env.dir, 'ca-bundle');
    mkdirSync(caDir, { recursive: true });
    copyFileSync(env.swtpm.caRoot, join(caDir, 'root.pem'));
    copyFileSync(env.swtpm.caIssuer, join(caDir, 'issuer.pem'));
    const v = verifyEkCertificate({ certificate: read('ekcert.der'), trusted: loadCaBundle(caDir) });
    expect(v.issuer).toBe('CN=swtpm-localca');
    expect(v.ek.tpmModel).toBe('swtpm');
    // the certified key is the EK the TPM holds
    expect(v.publicKey.equals(publicToKeyObject(parseTpm2bPublic(read('ekpub.pub')).value))).toBe(true);
    // root only + the issuer as an untrusted intermediate also chains
    expect(
      verifyEkCertificate({
        certificate: read('ekcert.der'),
        trusted: loadCaBundle(env.swtpm.caRoot),
        intermediates: loadCaBundle(env.swtpm.caIssuer),
      }).chain,
    ).toHaveLength(3);
    // another CA (the golden vectors' swtpm CAs) is refused
    const others = ['ca-root.pem', 'ca-issuer.pem', 'other-ca-root.pem', 'other-ca-issuer.pem'].flatMap((f) =>
      parsePemCertificates(readFileSync(join(__dirname, '..', 'fixtures', 'tpm', f), 'utf8')),
    );
    const e = thrown(TpmVerifyError, () => verifyEkCertificate({ certificate: read('ekcert.der'), trusted: others }));
    expect(e.code).toBe('EK_CERT_UNTRUSTED');
    expect(e.message).toContain('is not in the CA bundle or does not verify');
  });
});
