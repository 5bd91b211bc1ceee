// The agent's ek_certificate_path reader: DER or PEM (EK first, CAs after), bounded, each refusal naming
// the file. Certificates made by openssl (test/helpers/openssl-pki.ts).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readEkCertificateFile } from '../../../plugin-agent/ek-certificate-file';
import { MAX_EK_CERTIFICATE_BYTES, MAX_EK_INTERMEDIATES } from '../../../proto';
import { CA_EXT, createPki, EK_EXT_RSA, type MadeCert, type Pki } from '../../helpers/openssl-pki';

let pki: Pki;
let root: MadeCert;
let ek: MadeCert;
beforeAll(() => {
  pki = createPki();
  root = pki.make('root', { subject: 'CN=EK Root', ext: CA_EXT });
  ek = pki.make('ek', { subject: 'CN=EK', issuer: root, key: 'rsa2048', ext: EK_EXT_RSA });
});
afterAll(() => pki.cleanup());

const file = (name: string, content: string | Uint8Array) => {
  const p = join(pki.dir, name);
  writeFileSync(p, content);
  return p;
};
const pemOf = (der: Uint8Array) =>
  `-----BEGIN CERTIFICATE-----\n${Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`;

test('a DER file is the EK certificate, with no intermediates', async () => {
  const r = await readEkCertificateFile(file('ek.der', ek.der));
  expect(Buffer.from(r.certificate).equals(Buffer.from(ek.der))).toBe(true);
  expect(r.intermediates).toEqual([]);
});

test('a PEM file: the first certificate is the EK, the rest are sent as intermediates (DER)', async () => {
  const r = await readEkCertificateFile(file('chain.pem', `junk before\n${ek.pem}\n${root.pem}`));
  expect(Buffer.from(r.certificate).equals(Buffer.from(ek.der))).toBe(true);
  expect(r.intermediates.map((d) => Buffer.from(d).equals(Buffer.from(root.der)))).toEqual([true]);
});

test('a missing file is refused naming it', async () => {
  await expect(readEkCertificateFile(join(pki.dir, 'absent.pem'))).rejects.toThrow(/absent\.pem/);
});

test('a file larger than the bound is refused before it is read', async () => {
  const max = (1 + MAX_EK_INTERMEDIATES) * MAX_EK_CERTIFICATE_BYTES * 2;
  const p = file('huge.pem', Buffer.alloc(max + 1, 0x41));
  await expect(readEkCertificateFile(p)).rejects.toThrow(`${p}: ${max + 1} bytes, larger than ${max}`);
});

test('garbage (neither DER nor PEM) is refused naming the file', async () => {
  const p = file('garbage.txt', 'this is no certificate\n');
  await expect(readEkCertificateFile(p)).rejects.toThrow(`${p}: neither a DER certificate nor PEM certificates`);
});

test(`more than 1 + ${MAX_EK_INTERMEDIATES} certificates are refused; exactly that many pass`, async () => {
  const most = file('most.pem', [ek.pem, ...Array(MAX_EK_INTERMEDIATES).fill(root.pem)].join('\n'));
  expect((await readEkCertificateFile(most)).intermediates).toHaveLength(MAX_EK_INTERMEDIATES);
  const p = file('many.pem', [ek.pem, ...Array(MAX_EK_INTERMEDIATES + 1).fill(root.pem)].join('\n'));
  await expect(readEkCertificateFile(p)).rejects.toThrow(
    `${p}: ${MAX_EK_INTERMEDIATES + 2} certificates (at most ${MAX_EK_INTERMEDIATES + 1})`,
  );
});

test('a certificate over the size bound is refused naming its position', async () => {
  const big = new Uint8Array(MAX_EK_CERTIFICATE_BYTES + 1).fill(0x30);
  const p = file('big.pem', ek.pem + pemOf(big));
  await expect(readEkCertificateFile(p)).rejects.toThrow(
    `${p}: certificate 1 is ${MAX_EK_CERTIFICATE_BYTES + 1} bytes (at most ${MAX_EK_CERTIFICATE_BYTES})`,
  );
  const exact = file('exact.pem', ek.pem + pemOf(big.subarray(1)));
  expect((await readEkCertificateFile(exact)).intermediates[0]).toHaveLength(MAX_EK_CERTIFICATE_BYTES);
});
