// Agent plugin configuration: defaults, and every bad key reported with its name.
import { configureAgent, DEFAULT_AK_DATA_DIR } from '../../../plugin-agent/config';
import { DEFAULT_EVENT_LOG_PATH } from '../../../plugin-agent/event-log';

const build = (hcl: string) => configureAgent({ trustDomain: 'example.org' }, hcl);

describe('agent config', () => {
  test('defaults', () => {
    const r = build('');
    expect('config' in r && r.config).toEqual({
      trustDomain: 'example.org',
      logLevel: undefined,
      tpm: 'device:/dev/tpmrm0',
      ekAlgorithm: 'auto',
      akAlgorithm: 'rsa',
      akDataDir: DEFAULT_AK_DATA_DIR,
      eventLogPath: DEFAULT_EVENT_LOG_PATH,
      identityCacheMaxAgeMs: 3_600_000,
    });
    expect(DEFAULT_EVENT_LOG_PATH).toBe('/sys/kernel/security/tpm0/binary_bios_measurements');
  });

  test.each(['/tmp/log.bin', ''])('event_log_path = %j is taken as written ("" = never send a log)', (path) => {
    const r = build(`event_log_path = ${JSON.stringify(path)}\n`);
    expect('config' in r && r.config.eventLogPath).toBe(path);
  });

  test.each([
    ['0s', 0],
    ['10m', 600_000],
    ['24h', 86_400_000],
  ])('identity_cache_max_age = %j -> %i ms ("0s" = no cache)', (text, ms) => {
    const r = build(`identity_cache_max_age = "${text}"\n`);
    expect('config' in r && r.config.identityCacheMaxAgeMs).toBe(ms);
  });

  test('everything set', () => {
    const r = build(
      'tpm = "swtpm:host=127.0.0.1,port=2321"\nek_algorithm = "ecc"\nak_algorithm = "ecc"\nak_data_dir = "/var/lib/x"\nlog_level = "warn"\n',
    );
    expect('config' in r && r.config).toMatchObject({
      tpm: 'swtpm:host=127.0.0.1,port=2321',
      ekAlgorithm: 'ecc',
      akAlgorithm: 'ecc',
      akDataDir: '/var/lib/x',
      logLevel: 'warn',
    });
  });

  test.each([
    [
      'tpm = "serial:/dev/ttyS0"\n',
      /^key "tpm": expected "device:<path>", "swtpm:host=<h>,port=<p>" or "swtpm:path=<socket>", got "serial:\/dev\/ttyS0"/,
    ],
    ['tpm = "swtpm:port=99999"\n', /^key "tpm": .*bad port/],
    ['tpm = ""\n', /^key "tpm": expected a non-empty string, got ""$/],
    [
      'ek_algorithm = "dsa"\n',
      /^key "ek_algorithm": expected one of "auto", "rsa", "ecc", "rsa2048", "ecc-p256", "ecc-p384", "rsa3072", got "dsa"$/,
    ],
    ['ak_algorithm = "auto"\n', /^key "ak_algorithm": expected one of "rsa", "ecc", got "auto"$/],
    ['ak_data_dir = "relative/dir"\n', /^key "ak_data_dir": expected an absolute directory path, got "relative\/dir"$/],
    [
      'identity_cache_max_age = "25h"\n',
      /^key "identity_cache_max_age": expected a duration of at most 24h like "30s" or "1m30s", got 25h/,
    ],
    ['event_log_path = "log.bin"\n', /^key "event_log_path": expected an absolute file path or "", got "log.bin"$/],
    [
      'ak_dir = "/x"\n',
      /^unknown key "ak_dir" \(known keys: tpm, ek_algorithm, ek_certificate_path, ak_handle, ak_algorithm, ak_data_dir, event_log_path, identity_cache_max_age, log_level/,
    ],
  ])('%j -> a note naming the key', (hcl, note) => {
    const r = build(hcl);
    expect('notes' in r && r.notes).toHaveLength(1);
    expect('notes' in r && r.notes[0]).toMatch(note);
  });
});
