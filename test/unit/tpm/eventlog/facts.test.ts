// Boot facts on test-made logs (test/helpers/boot-log.ts) for what real logs in the tests do not show:
// each event that makes Secure Boot meaningless, and the facts of grub on RHEL and Fedora CoreOS real logs.
import { randomBytes } from 'node:crypto';
import {
  bootSelectors,
  EFI_GLOBAL_VARIABLE,
  EFI_IMAGE_SECURITY_DATABASE,
  encodeEventLog,
  EV,
  extractBootFacts,
  parseEventLog,
  replayEventLog,
  verifyEventLog,
  type NewEvent,
} from '../../../../tpm/eventlog';
import { makeBootLog, variable } from '../../../helpers/boot-log';
import { realEventLog } from '../../../helpers/go-testdata';

function factsOf(options: Parameters<typeof makeBootLog>[0]) {
  const log = parseEventLog(encodeEventLog(makeBootLog(options).log));
  return extractBootFacts(verifyEventLog({ log, pcrs: replayEventLog(log) }));
}
const action = (s: string): NewEvent => ({
  pcr: 7,
  type: EV.EV_EFI_ACTION,
  data: new Uint8Array(Buffer.from(s, 'latin1')),
});

test('the plain test boot: enabled, nothing weakening it', () => {
  const f = factsOf({ banks: ['sha256'] });
  expect(f.secureBoot).toMatchObject({ state: 'enabled', secureBootVariable: true, weakened: [] });
  expect(bootSelectors(f)).toContain('secure_boot:enabled');
});

test('SecureBoot measured as 0: disabled', () => {
  const f = factsOf({ banks: ['sha256'], secureBoot: false });
  expect(f.secureBoot).toMatchObject({ state: 'disabled', secureBootVariable: false, weakened: [] });
  expect(bootSelectors(f)).toContain('secure_boot:disabled');
});

test.each<[string, Parameters<typeof makeBootLog>[0], RegExp]>([
  ['UEFI Debug Mode', { banks: ['sha256'], beforeSeparator: [action('UEFI Debug Mode')] }, /^UEFI Debug Mode$/],
  [
    'DMA Protection Disabled',
    { banks: ['sha256'], beforeSeparator: [action('DMA Protection Disabled')] },
    /^DMA Protection Disabled$/,
  ],
  [
    'a variable after the separator',
    {
      banks: ['sha256'],
      afterSeparator: [
        {
          pcr: 7,
          type: EV.EV_EFI_VARIABLE_DRIVER_CONFIG,
          data: variable(EFI_IMAGE_SECURITY_DATABASE, 'db', randomBytes(50)),
        },
      ],
    },
    /^db measured after the separator \(event \d+\)$/,
  ],
  [
    'SecureBoot measured twice, differently',
    {
      banks: ['sha256'],
      beforeSeparator: [
        {
          pcr: 7,
          type: EV.EV_EFI_VARIABLE_DRIVER_CONFIG,
          data: variable(EFI_GLOBAL_VARIABLE, 'SecureBoot', Uint8Array.of(0)),
        },
      ],
    },
    /^SecureBoot measured twice with different values/,
  ],
  [
    'a second separator',
    { banks: ['sha256'], afterSeparator: [{ pcr: 7, type: EV.EV_SEPARATOR, data: new Uint8Array(4) }] },
    /^second separator \(event \d+\)$/,
  ],
  [
    'an error separator',
    { banks: ['sha256'], beforeSeparator: [{ pcr: 7, type: EV.EV_SEPARATOR, data: Uint8Array.of(1, 0, 0, 0) }] },
    /^error separator \(event \d+\)$/,
  ],
  [
    'an unexpected event type',
    {
      banks: ['sha256'],
      beforeSeparator: [{ pcr: 7, type: EV.EV_EFI_PLATFORM_FIRMWARE_BLOB, data: new Uint8Array(16) }],
    },
    /^unexpected EV_EFI_PLATFORM_FIRMWARE_BLOB \(event \d+\)$/,
  ],
])('%s in PCR 7 makes Secure Boot disabled (secure_boot:disabled)', (name, options, reason) => {
  const f = factsOf(options);
  // SecureBoot itself was measured as 1 (except where it is the second, 0, measurement under test).
  if (!name.startsWith('SecureBoot')) expect(f.secureBoot!.secureBootVariable).toBe(true);
  expect(f.secureBoot!.state).toBe('disabled');
  expect(f.secureBoot!.weakened[0]).toMatch(reason);
  expect(bootSelectors(f)).toContain('secure_boot:disabled');
  expect(bootSelectors(f)).not.toContain('secure_boot:enabled');
});

test.each([
  [
    'rhel8-uefi.bin',
    '/boot/vmlinuz-4.18.0-240.22.1.el8_3.x86_64',
    ['/boot/initramfs-4.18.0-240.22.1.el8_3.x86_64.img'],
  ],
  [
    'coreos_36_shielded_vm_no_secure_boot_eventlog',
    /\/vmlinuz-5\.18\.13-200\.fc36\.x86_64$/,
    [expect.stringMatching(/\/initramfs-5\.18\.13-200\.fc36\.x86_64\.img$/)],
  ],
  ['ubuntu-1804-amd-sev.bin', '/boot/vmlinuz-5.4.0-1046-gcp', ['/boot/initrd.img-5.4.0-1046-gcp']],
])('%s: kernel and initrd grub loaded (RHEL logs them as grub_linuxefi Kernel/Initrd)', (name, kernel, initrds) => {
  const log = parseEventLog(realEventLog(name).bytes);
  const f = extractBootFacts(verifyEventLog({ log, pcrs: replayEventLog(log) }));
  expect(f.kernel!.path).toEqual(typeof kernel === 'string' ? kernel : expect.stringMatching(kernel));
  expect(f.initrds!.map((i) => i.path)).toEqual(initrds);
  expect(f.kernel!.digests.sha256).toMatch(/^[0-9a-f]{64}$/);
  expect(f.initrds![0].eventIndex).toBeGreaterThan(f.kernel!.eventIndex);
});
