// Server plugin configuration in Keylime mode (verifier = "keylime" + the keylime block): every problem is a
// note naming its key; the TLS material is read and checked at Configure.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { configureServer } from '../../../plugin-server/config';

const VC = resolve(__dirname, '../verifier-client/fixtures');
let dir: string;
let hashes: string;
let policy: string;
const H = 'ab'.repeat(32);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tpmq-unit-cfg-kl-'));
  hashes = join(dir, 'hashes.txt');
  writeFileSync(hashes, `${H}\n`);
  policy = join(dir, 'policy.json');
  writeFileSync(policy, JSON.stringify({ 0: ['00'.repeat(32)], 7: ['11'.repeat(32)] }));
  writeFileSync(join(dir, 'not-pem.txt'), 'hello\n');
  writeFileSync(join(dir, 'bad-cert.pem'), '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
  writeFileSync(join(dir, 'refstate.json'), JSON.stringify(REFSTATE));
  writeFileSync(join(dir, 'refstate-empty.json'), '{}');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const REFSTATE = {
  has_secureboot: true,
  scrtm_and_bios: [{ scrtm: { sha256: `0x${'01'.repeat(32)}` }, platform_firmware: [] }],
  pk: [],
  kek: [],
  db: [{ SignatureOwner: '77fa9abd-0359-4d32-bd60-28f4e78f784b', SignatureData: `0x${'02'.repeat(32)}` }],
  dbx: [],
  mokdig: [],
  mokxdig: [],
  kernels: [
    {
      shim_authcode_sha256: `0x${'03'.repeat(32)}`,
      grub_authcode_sha256: `0x${'04'.repeat(32)}`,
      kernel_authcode_sha256: `0x${'05'.repeat(32)}`,
      initrd_plain_sha256: `0x${'06'.repeat(32)}`,
      kernel_cmdline: 'ro\\ quiet',
    },
  ],
};
const MB = 'pcr_policy_path = "POLICY"\nevent_log = "required"\npcr_selection = "sha256:0-9,14"\n';

const build = (hcl: string) => configureServer({ trustDomain: 'example.org' }, hcl);

/** A Keylime-mode config; `block` is the keylime block's body, `extra` adds top-level keys. Placeholders "H",
 * "POLICY", "NOTPEM" and "BADCERT" are replaced by `fill` once the files exist. */
function hcl(block: string, extra = 'pcr_policy_path = "POLICY"\n'): string {
  return `ek_hash_path = "H"\nverifier = "keylime"\n${extra}keylime {\n${block}\n}\n`;
}
const fill = (text: string): string =>
  text
    .replace('"H"', JSON.stringify(hashes))
    .replace('"POLICY"', JSON.stringify(policy))
    .replace('"NOTPEM"', JSON.stringify(join(dir, 'not-pem.txt')))
    .replace('"BADCERT"', JSON.stringify(join(dir, 'bad-cert.pem')))
    .replace('"REFSTATE"', JSON.stringify(join(dir, 'refstate.json')))
    .replace('"EMPTYSTATE"', JSON.stringify(join(dir, 'refstate-empty.json')));
const CA = join(VC, 'ca.crt');
const CERT = join(VC, 'server.crt');
const KEY = join(VC, 'server.key');

describe('server config, Keylime mode', () => {
  test('url + CA + client pair + timeout + api_version -> Keylime options with the PEMs read', () => {
    const r = build(
      fill(
        hcl(
          `url = "https://127.0.0.1:8881"\nca_path = "${CA}"\nclient_cert_path = "${CERT}"\nclient_key_path = "${KEY}"\ntimeout = "3s"\napi_version = "2.6"`,
        ),
      ),
    );
    if (!('config' in r)) throw new Error(r.notes.join('; '));
    expect(r.config.verifier).toBe('keylime');
    expect(r.config.keylime).toMatchObject({ url: 'https://127.0.0.1:8881', timeoutMs: 3000, apiVersion: '2.6' });
    expect(String(r.config.keylime!.caPem)).toBe(readFileSync(CA, 'utf8'));
    expect(String(r.config.keylime!.clientKeyPem)).toBe(readFileSync(KEY, 'utf8'));
    expect([...r.config.pcrPolicy!.pcrs.keys()]).toEqual([0, 7]);
  });

  test('defaults: timeout 10s, API version discovered, no client certificate', () => {
    const r = build(fill(hcl(`url = "https://verifier.example:8881"\nca_path = "${CA}"`)));
    if (!('config' in r)) throw new Error(r.notes.join('; '));
    expect(r.config.keylime).toMatchObject({
      timeoutMs: 10_000,
      apiVersion: undefined,
      clientCertPem: undefined,
      clientKeyPem: undefined,
    });
  });

  test('mb_refstate_path: the state is read and checked, sent as JSON text; its path kept for the log', () => {
    const path = join(dir, 'refstate.json');
    const r = build(fill(hcl(`url = "https://k:1"\nca_path = "${CA}"\nmb_refstate_path = "${path}"`, MB)));
    if (!('config' in r)) throw new Error(r.notes.join('; '));
    expect(JSON.parse(r.config.keylime!.mbRefstate!)).toEqual({ ...REFSTATE, vendor_db: [] });
    expect(r.config.keylimeMbRefstatePath).toBe(path);
  });

  test.each([
    [
      'mb_refstate_path with event_log optional',
      hcl(
        `url = "https://k:1"\nca_path = "${CA}"\nmb_refstate_path = "REFSTATE"`,
        MB.replace('"required"', '"optional"'),
      ),
      [/^key "keylime.mb_refstate_path": needs event_log = "required" \(event_log is "optional"\)$/],
    ],
    [
      'mb_refstate_path without PCRs 8, 9, 14 quoted',
      hcl(`url = "https://k:1"\nca_path = "${CA}"\nmb_refstate_path = "REFSTATE"`, MB.replace('0-9,14', '0-7')),
      [
        /^key "keylime.mb_refstate_path": Keylime's example policy reads PCR 8, 9, 14, which pcr_selection \("sha256:0,1,2,3,4,5,6,7"\) does not quote$/,
      ],
    ],
    [
      'mb_refstate_path naming a missing file',
      hcl(`url = "https://k:1"\nca_path = "${CA}"\nmb_refstate_path = "/nonexistent/refstate.json"`, MB),
      [/^key "keylime.mb_refstate_path": .*\/nonexistent\/refstate.json/],
    ],
    [
      'mb_refstate_path naming {} (Keylime would accept anything)',
      hcl(`url = "https://k:1"\nca_path = "${CA}"\nmb_refstate_path = "EMPTYSTATE"`, MB),
      [/^key "keylime.mb_refstate_path": .*refstate-empty.json: \$.scrtm_and_bios: is required$/],
    ],
    [
      'no keylime block',
      `ek_hash_path = "H"\nverifier = "keylime"\npcr_policy_path = "POLICY"\n`,
      [/^key "keylime": required when verifier = "keylime"/],
    ],
    [
      'no policy',
      hcl(`url = "https://k:1"\nca_path = "${CA}"`, ''),
      [/^key "pcr_policy_path": required when verifier = "keylime"/],
    ],
    [
      'two banks',
      hcl(
        `url = "https://k:1"\nca_path = "${CA}"`,
        `pcr_policy_path = "POLICY"\npcr_selection = ["sha256:0-7", "sha1:0"]\n`,
      ),
      [
        /^key "pcr_selection": with verifier = "keylime" it must select one bank, sha256 .*got "sha256:0,1,2,3,4,5,6,7\+sha1:0"$/,
      ],
    ],
    [
      'sha1 bank',
      hcl(`url = "https://k:1"\nca_path = "${CA}"`, `pcr_policy_path = "POLICY"\npcr_selection = "sha1:0-7"\n`),
      [
        /^key "pcr_selection": with verifier = "keylime" it must select one bank, sha256/,
        /^key "pcr_policy_path": the policy is for the sha256 bank, which pcr_selection/,
      ],
    ],
    [
      'PCR 10 quoted',
      hcl(`url = "https://k:1"\nca_path = "${CA}"`, `pcr_policy_path = "POLICY"\npcr_selection = "sha256:0-10"\n`),
      [/^key "pcr_selection": with verifier = "keylime" it must not include PCR 10 /],
    ],
    [
      'http url',
      hcl(`url = "http://k:1"\nca_path = "${CA}"`),
      [/^key "keylime.url": expected an https URL \(the Keylime verifier serves TLS only\), got "http:\/\/k:1"$/],
    ],
    ['not a url', hcl(`url = "k:1:x"\nca_path = "${CA}"`), [/^key "keylime.url": expected an https URL/]],
    [
      'url with a query',
      hcl(`url = "https://k:1/?a=b"\nca_path = "${CA}"`),
      [/^key "keylime.url": expected an https URL without credentials, query or fragment$/],
    ],
    ['no url', hcl(`ca_path = "${CA}"`), [/^missing required key "keylime.url"/]],
    ['no ca_path', hcl(`url = "https://k:1"`), [/^missing required key "keylime.ca_path"/]],
    [
      'CA file missing',
      hcl(`url = "https://k:1"\nca_path = "/nonexistent/ca.pem"`),
      [/^key "keylime.ca_path": cannot read \/nonexistent\/ca.pem: ENOENT$/],
    ],
    [
      'CA file not PEM',
      hcl(`url = "https://k:1"\nca_path = "NOTPEM"`),
      [/^key "keylime.ca_path": .*not-pem.txt holds no PEM block$/],
    ],
    [
      'CA certificate garbage',
      hcl(`url = "https://k:1"\nca_path = "BADCERT"`),
      [/^key "keylime.ca_path": .*bad-cert.pem: certificate 1 does not parse: /],
    ],
    [
      'client cert without key',
      hcl(`url = "https://k:1"\nca_path = "${CA}"\nclient_cert_path = "${CERT}"`),
      [
        /^keys "keylime.client_cert_path" and "keylime.client_key_path": set both or neither \(got only client_cert_path\)$/,
      ],
    ],
    [
      'client key file not PEM',
      hcl(`url = "https://k:1"\nca_path = "${CA}"\nclient_cert_path = "${CERT}"\nclient_key_path = "NOTPEM"`),
      [/^key "keylime.client_key_path": .*holds no PEM block$/],
    ],
    [
      'client pair mismatch',
      hcl(`url = "https://k:1"\nca_path = "${CA}"\nclient_cert_path = "${CA}"\nclient_key_path = "${KEY}"`),
      [
        /^keys "keylime.client_cert_path" and "keylime.client_key_path": .* are not a usable certificate and key pair: /,
      ],
    ],
    [
      'timeout too short',
      hcl(`url = "https://k:1"\nca_path = "${CA}"\ntimeout = "10ms"`),
      [/^key "keylime.timeout": expected a duration from 100ms to 5m/],
    ],
    [
      'bad api_version',
      hcl(`url = "https://k:1"\nca_path = "${CA}"\napi_version = "3.0"`),
      [/^key "keylime.api_version": expected a "2.<minor>" API version/],
    ],
    [
      'unknown key in the block',
      hcl(`url = "https://k:1"\nca_path = "${CA}"\ncert_path = "x"`),
      [/^unknown key "keylime.cert_path"/],
    ],
    [
      'keylime block with in_process',
      `ek_hash_path = "H"\nkeylime {\nurl = "https://k:1"\nca_path = "${CA}"\n}\n`,
      [/^key "keylime": only used with verifier = "keylime" \(verifier is "in_process"\)$/],
    ],
  ])('%s -> notes naming the key', (_name, text, expected) => {
    const r = build(fill(text));
    const notes = 'notes' in r ? r.notes : [];
    expect(notes).toHaveLength(expected.length);
    expected.forEach((re, i) => expect(notes[i]).toMatch(re));
  });
});
