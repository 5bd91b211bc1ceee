// Every stderr line of a plugin session is an hclog JSON object SPIRE can parse.
import { Config } from '../../proto/gen/spire/service/common/config/v1/config_pb';
import { Init } from '../../proto/gen/spire/service/private/init/v1/init_pb';
import { GRPCController } from '../../proto/gen/plugin/grpc_controller_pb';
import {
  AGENT_EXE,
  SERVER_EXE,
  exitWithin,
  hostEnv,
  logLines,
  startSession,
  validPluginData,
  waitForLog,
} from './go-plugin-host';

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const LEVELS = ['trace', 'debug', 'info', 'warn', 'error'];

describe.each([
  ['agent', AGENT_EXE],
  ['server', SERVER_EXE],
])('%s logging', (_side, exe) => {
  test('stderr lines are hclog JSON: @level, @message, @timestamp with 6 fractional digits, fields top-level', async () => {
    const s = await startSession(exe);
    try {
      await s.client(Init).init({ hostServiceNames: ['a.b.C'] });
      await s
        .client(Config)
        .configure({ coreConfiguration: { trustDomain: 'example.org' }, hclConfiguration: validPluginData(exe) });
      const configured = await waitForLog(s.proc, 'plugin configured');
      expect(configured['@level']).toBe('debug');
      expect(configured.trust_domain).toBe('example.org');
      const init = await waitForLog(s.proc, 'plugin initialised');
      expect(init.host_services).toBe('a.b.C');
      await s.client(GRPCController).shutdown({});
      await exitWithin(s.proc, 2_000);
      const lines = logLines(s.proc.stderr());
      expect(lines.length).toBeGreaterThanOrEqual(3);
      for (const line of lines) {
        expect(LEVELS).toContain(line['@level']);
        expect(typeof line['@message']).toBe('string');
        expect(line['@timestamp']).toMatch(TIMESTAMP);
        const ms = Date.parse(line['@timestamp'].replace(/(\.\d{3})\d{3}Z$/, '$1Z'));
        expect(Math.abs(Date.now() - ms)).toBeLessThan(60_000);
      }
    } finally {
      await s.dispose();
    }
  });

  test('TPM_QUOTE_LOG_LEVEL=info drops debug lines', async () => {
    const s = await startSession(exe, hostEnv({ TPM_QUOTE_LOG_LEVEL: 'info' }));
    try {
      await s
        .client(Config)
        .configure({ coreConfiguration: { trustDomain: 'example.org' }, hclConfiguration: validPluginData(exe) });
      await s.client(GRPCController).shutdown({});
      await exitWithin(s.proc, 2_000);
      const lines = logLines(s.proc.stderr());
      expect(lines.filter((l) => l['@level'] === 'debug')).toEqual([]);
      // ... while info lines still come through (a silent logger would pass the line above too).
      expect(lines.filter((l) => l['@message'] === 'plugin serving').map((l) => l['@level'])).toEqual(['info']);
    } finally {
      await s.dispose();
    }
  });

  test('log_level in plugin_data changes the level', async () => {
    const s = await startSession(exe, hostEnv({ TPM_QUOTE_LOG_LEVEL: 'debug' }));
    try {
      await s.client(Config).configure({
        coreConfiguration: { trustDomain: 'example.org' },
        hclConfiguration: validPluginData(exe) + 'log_level = "warn"\n',
      });
      const before = logLines(s.proc.stderr()).length;
      await s.client(Init).init({ hostServiceNames: [] }); // would log "plugin initialised" at debug
      await s.client(GRPCController).shutdown({});
      await exitWithin(s.proc, 2_000);
      expect(
        logLines(s.proc.stderr())
          .slice(before)
          .filter((l) => l['@level'] === 'debug'),
      ).toEqual([]);
    } finally {
      await s.dispose();
    }
  });
});
