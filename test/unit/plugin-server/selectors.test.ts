import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { X509Certificate } from 'node:crypto';
import {
  buildSelectors,
  formatFirmwareVersion,
  issuerName,
  renderSelectorTable,
  SELECTORS,
} from '../../../plugin-server/selectors';

const cert = new X509Certificate(readFileSync(resolve(__dirname, '../../fixtures/tpm/ek-rsa-cert.der')));

describe('selectors', () => {
  test('all kinds, in table order, values without the tpm_quote: prefix', () => {
    const s = buildSelectors({
      ekHash: 'ab'.repeat(32),
      trustedCertificate: { certificate: cert, tpmManufacturer: 'id:00001014', tpmModel: 'swtpm' },
      firmwareVersion: (0x20191023n << 32n) | 0x00163636n,
      pcrs: [
        { bank: 'sha256', index: 0, digest: new Uint8Array(32) },
        { bank: 'sha256', index: 7, digest: new Uint8Array(32).fill(0xff) },
        { bank: 'sha1', index: 16, digest: new Uint8Array(20).fill(1) },
      ],
      boot: [
        'secure_boot:enabled',
        `secure_boot_pk:${'01'.repeat(32)}`,
        `secure_boot_kek:${'02'.repeat(32)}`,
        `secure_boot_db:${'03'.repeat(32)}`,
        `secure_boot_dbx:${'04'.repeat(32)}`,
        `boot_authority:${'05'.repeat(32)}`,
        `boot_app:${'06'.repeat(32)}`,
        `kernel_cmdline:${'07'.repeat(32)}`,
        `kernel:${'08'.repeat(32)}`,
        `initrd:${'09'.repeat(32)}`,
        `mok:MokList:${'0a'.repeat(32)}`,
      ],
    });
    expect(s.slice(0, 8)).toEqual([
      `ek_hash:${'ab'.repeat(32)}`,
      'ek_issuer:swtpm-localca',
      'manufacturer:id:00001014',
      'model:swtpm',
      'firmware_version:8217.4131',
      `pcr:sha256:0:${'00'.repeat(32)}`,
      `pcr:sha256:7:${'ff'.repeat(32)}`,
      `pcr:sha1:16:${'01'.repeat(20)}`,
    ]);
    // The boot selectors follow as given (tpm/eventlog's bootSelectors makes them).
    expect(s.slice(8)).toHaveLength(11);
    // Every emitted kind is documented, in the documented order.
    const kinds = [...new Set(s.map((v) => v.split(':')[0]))];
    expect(kinds).toEqual(SELECTORS.map((d) => d.name));
  });

  test('without a trusted certificate, nothing from the certificate', () => {
    const s = buildSelectors({ ekHash: '00'.repeat(32), firmwareVersion: 0n, pcrs: [] });
    expect(s).toEqual([`ek_hash:${'00'.repeat(32)}`, 'firmware_version:0.0']);
  });

  test('non-printable certificate text is replaced, and long values bounded', () => {
    const s = buildSelectors({
      ekHash: '0',
      trustedCertificate: { certificate: cert, tpmModel: `a\u0000b${'x'.repeat(300)}` },
      firmwareVersion: 0n,
      pcrs: [],
    });
    const model = s.find((v) => v.startsWith('model:'))!;
    expect(model.startsWith('model:a?b')).toBe(true);
    expect(model.length).toBe('model:'.length + 256);
  });

  test('firmware version is major.minor of TPM_PT_FIRMWARE_VERSION_1', () => {
    expect(formatFirmwareVersion(0x0007_0055_0000_0000n)).toBe('7.85');
    expect(formatFirmwareVersion(0xffff_ffff_ffff_ffffn)).toBe('65535.65535');
  });

  test('issuer name is the CN', () => {
    expect(issuerName(cert)).toBe('swtpm-localca');
  });

  test('the table lists every kind', () => {
    const table = renderSelectorTable();
    for (const d of SELECTORS) expect(table).toContain(`| \`tpm_quote:${d.name}\` |`);
  });
});
