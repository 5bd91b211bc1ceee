// Keylime measured-boot reference states: the checker (what Keylime's example policy needs of a state) and the
// writer (a state from a log), on test-made logs. Agreement with Keylime's own tool and policy on real logs is
// test/swtpm/keylime-mb-refstate-differential.test.ts.
import {
  keylimeMbRefstateFromLog,
  keylimeUnreadableDevicePath,
  MbRefstateError,
  parseKeylimeMbRefstate,
} from '../../../../tpm';
import { EV, parseEventLog, encodeEventLog, createEventLog } from '../../../../tpm/eventlog';
import { makeBootLog } from '../../../helpers/boot-log';

const hex = (b: string) => `0x${b.repeat(32)}`;
const KERNEL = {
  shim_authcode_sha256: hex('03'),
  grub_authcode_sha256: hex('04'),
  kernel_authcode_sha256: hex('05'),
  initrd_plain_sha256: hex('06'),
  kernel_cmdline: 'ro',
};
const STATE = {
  scrtm_and_bios: [{ scrtm: { sha256: hex('01') }, platform_firmware: [{ sha256: hex('07') }] }],
  pk: [],
  kek: [],
  db: [{ SignatureOwner: '77fa9abd-0359-4d32-bd60-28f4e78f784b', SignatureData: hex('02') }],
  dbx: [],
  mokdig: [{ sha256: hex('08') }],
  mokxdig: [],
  kernels: [KERNEL],
};

describe('parseKeylimeMbRefstate', () => {
  test('a complete state: has_secureboot defaults to true, vendor_db to []', () => {
    expect(parseKeylimeMbRefstate(JSON.stringify(STATE))).toEqual({ ...STATE, has_secureboot: true, vendor_db: [] });
  });

  test('without Secure Boot a kernel entry needs vmlinuz_plain_sha256 instead of kernel_authcode_sha256', () => {
    const { kernel_authcode_sha256: _, ...noSb } = KERNEL;
    const state = { ...STATE, has_secureboot: false, kernels: [{ ...noSb, vmlinuz_plain_sha256: hex('09') }] };
    expect(parseKeylimeMbRefstate(JSON.stringify(state)).kernels[0].vmlinuz_plain_sha256).toBe(hex('09'));
    expect(() => parseKeylimeMbRefstate(JSON.stringify({ ...state, kernels: [noSb] }))).toThrow(
      '$.kernels[0].vmlinuz_plain_sha256: must be "0x" followed by lowercase hex digits',
    );
  });

  test.each<[string, unknown, string]>([
    ['not JSON', '{', '$: not JSON'],
    ['{} (Keylime: accept-all)', {}, '$.scrtm_and_bios: is required'],
    ['a list', [], '$: must be an object'],
    ['has_secureboot a string', { ...STATE, has_secureboot: 'yes' }, '$.has_secureboot: must be true or false'],
    ['no kernels key', { ...STATE, kernels: undefined }, '$.kernels: is required'],
    ['no boot chain', { ...STATE, kernels: [] }, '$.kernels: lists no boot chain (no node could pass)'],
    ['no firmware', { ...STATE, scrtm_and_bios: [] }, '$.scrtm_and_bios: lists no firmware (no node could pass)'],
    [
      'uppercase hex',
      { ...STATE, kernels: [{ ...KERNEL, initrd_plain_sha256: `0x${'AB'.repeat(32)}` }] },
      '$.kernels[0].initrd_plain_sha256: must be "0x" followed by lowercase hex digits',
    ],
    [
      'hex without 0x',
      { ...STATE, db: [{ SignatureOwner: STATE.db[0].SignatureOwner, SignatureData: '02'.repeat(32) }] },
      '$.db[0].SignatureData: must be "0x" followed by lowercase hex digits',
    ],
    [
      'owner not a GUID',
      { ...STATE, db: [{ SignatureOwner: 'me', SignatureData: hex('02') }] },
      '$.db[0].SignatureOwner: must be a lowercase GUID',
    ],
    [
      'kernel_cmdline missing',
      { ...STATE, kernels: [{ ...KERNEL, kernel_cmdline: 1 }] },
      '$.kernels[0].kernel_cmdline: must be a string',
    ],
    ['a digest with no algorithm', { ...STATE, mokdig: [{}] }, '$.mokdig[0]: names no digest'],
    ['dbx not a list', { ...STATE, dbx: {} }, '$.dbx: must be a list'],
  ])('%s -> MbRefstateError naming the JSON path', (_name, doc, message) => {
    const text = typeof doc === 'string' ? doc : JSON.stringify(doc);
    let err: unknown;
    try {
      parseKeylimeMbRefstate(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MbRefstateError);
    expect((err as Error).message.startsWith(message)).toBe(true);
  });
});

describe('keylimeMbRefstateFromLog', () => {
  const stateOf = (o: Parameters<typeof makeBootLog>[0]) => {
    const boot = makeBootLog(o);
    return { boot, state: keylimeMbRefstateFromLog(parseEventLog(encodeEventLog(boot.log))) };
  };

  test('Secure Boot log: the three boot applications, initrd, escaped command line; the state passes the checker', () => {
    const { boot, state } = stateOf({
      banks: ['sha1', 'sha256'],
      firmwareShapes: true,
      cmdline: '/vmlinuz-5.15 root=UUID=ab-cd ro quiet',
    });
    expect(state.has_secureboot).toBe(true);
    const [shim, grub, kernel] = boot.expect.bootApps.map((d) => `0x${d}`);
    expect(state.kernels).toEqual([
      expect.objectContaining({
        shim_authcode_sha256: shim,
        grub_authcode_sha256: grub,
        kernel_authcode_sha256: kernel,
        // Python's re.escape: '-', '.', ' ' escaped; '=' and '/' kept.
        kernel_cmdline: '/vmlinuz\\-5\\.15\\ root=UUID=ab\\-cd\\ ro\\ quiet',
      }),
    ]);
    expect(state.db).toHaveLength(1);
    expect(state.mokdig).toHaveLength(1);
    expect(parseKeylimeMbRefstate(JSON.stringify(state))).toEqual(state);
  });

  test('Secure Boot off: two boot applications and the vmlinuz digest', () => {
    const { boot, state } = stateOf({ banks: ['sha256'], firmwareShapes: true, secureBoot: false });
    expect(state.has_secureboot).toBe(false);
    expect(state.kernels[0].vmlinuz_plain_sha256).toBe(`0x${boot.expect.kernel}`);
    expect(state.kernels[0].kernel_authcode_sha256).toBeUndefined();
  });

  test.each<[string, () => Uint8Array, RegExp]>([
    [
      'a sha1-only log',
      () =>
        encodeEventLog(
          createEventLog({
            banks: ['sha1'],
            events: [{ pcr: 0, type: EV.EV_S_CRTM_VERSION, data: new Uint8Array(4) }],
          }),
        ),
      /no sha256 digests/,
    ],
    [
      'Secure Boot off with three boot applications',
      () =>
        encodeEventLog(
          makeBootLog({
            banks: ['sha256'],
            firmwareShapes: true,
            secureBoot: false,
            afterSeparator: [
              {
                pcr: 4,
                type: EV.EV_EFI_BOOT_SERVICES_APPLICATION,
                data: new Uint8Array(40),
                digests: { sha256: new Uint8Array(32) },
              },
            ],
          }).log,
        ),
      /3 boot applications; Keylime expects 2 \(shim, grub\)/,
    ],
    [
      'a PK that is no EFI_SIGNATURE_LIST',
      () => encodeEventLog(makeBootLog({ banks: ['sha256'] }).log),
      /^event 3 \(EV_EFI_VARIABLE_DRIVER_CONFIG, PCR 7\): EFI_SIGNATURE_LIST at byte 0: /,
    ],
    [
      'no S-CRTM event',
      () =>
        encodeEventLog(
          createEventLog({
            banks: ['sha256'],
            events: [{ pcr: 0, type: EV.EV_SEPARATOR, data: new Uint8Array(4) }],
          }),
        ),
      /no EV_S_CRTM_VERSION/,
    ],
  ])('%s -> refused naming what is missing', (_name, bytes, message) => {
    expect(() => keylimeMbRefstateFromLog(parseEventLog(bytes()))).toThrow(message);
  });
});

describe('keylimeUnreadableDevicePath', () => {
  const END = [0x7f, 0xff, 4, 0];
  // A UEFI_IMAGE_LOAD_EVENT whose header claims `claimed` device path bytes, followed by `path`.
  const imageLoad = (path: number[], claimed = path.length): Uint8Array => {
    const head = Buffer.alloc(32);
    head.writeBigUInt64LE(BigInt(claimed), 24);
    return new Uint8Array(Buffer.concat([head, Buffer.from(path)]));
  };
  const logWith = (data: Uint8Array) =>
    parseEventLog(
      encodeEventLog(
        createEventLog({
          banks: ['sha256'],
          events: [
            { pcr: 4, type: EV.EV_EFI_BOOT_SERVICES_APPLICATION, data, digests: { sha256: new Uint8Array(32) } },
          ],
        }),
      ),
    );

  test('the firmware-shaped test log reads safely', () => {
    const log = parseEventLog(encodeEventLog(makeBootLog({ banks: ['sha256'], firmwareShapes: true }).log));
    expect(keylimeUnreadableDevicePath(log)).toBeUndefined();
  });

  test.each<[string, Uint8Array, string | undefined]>([
    ['a file node then the end node', imageLoad([4, 4, 6, 0, 0x41, 0, ...END]), undefined],
    ['only the end node', imageLoad(END), undefined],
    [
      'a claimed length past the event',
      imageLoad(END, 4096),
      'LengthOfDevicePath 4096 but the event holds 4 bytes of device path',
    ],
    ['a header cut short', new Uint8Array(20), 'UEFI_IMAGE_LOAD_EVENT of 20 bytes is truncated'],
    ['a node of length 2', imageLoad([4, 4, 2, 0, ...END]), 'device path: node at byte 0 claims 2 bytes'],
    ['a node past the path', imageLoad([4, 4, 40, 0, ...END]), 'device path: node at byte 0 claims 40 bytes'],
    ['no end node', imageLoad([4, 4, 4, 0]), 'device path: no End Entire Device Path node'],
    ['bytes after the end node', imageLoad([...END, 1, 2]), 'device path: 2 bytes follow the end node'],
  ])('%s', (_name, data, problem) => {
    expect(keylimeUnreadableDevicePath(logWith(data))).toBe(
      problem && `event 1 (EV_EFI_BOOT_SERVICES_APPLICATION, PCR 4): ${problem}`,
    );
  });
});
