// Differential: tpm-quote's Keylime reference state writer (keylimeMbRefstateFromLog) and checker
// (parseKeylimeMbRefstate) against Keylime 7.14.3's own `keylime-policy create measured-boot` and its `example`
// policy's refstate_to_test, on the test-made Keylime-shaped logs and on every real log of go-eventlog v0.0.2 /
// go-attestation v0.6.1 (fetched at test time). Keylime's tool also writes states its own policy cannot load
// (a kernel entry without initrd or command line); so: our checker accepts exactly the states Keylime's policy
// loads, and where Keylime writes a loadable state ours is the same JSON, else ours refuses to write one.
// Needs scripts/install-keylime.sh to have run.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keylimeMbRefstateFromLog, parseKeylimeMbRefstate } from '../../tpm';
import { encodeEventLog, parseEventLog } from '../../tpm/eventlog';
import { makeBootLog } from '../helpers/boot-log';
import { realEventLogs } from '../helpers/go-testdata';

jest.setTimeout(120_000);

const VENV_BIN = join(__dirname, '..', '..', '.tools', 'keylime-venv', 'bin');
const TOOL = join(VENV_BIN, 'keylime-policy');
const dir = mkdtempSync(join(tmpdir(), 'keylime-refstate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Keylime's state for the log, or undefined when its tool writes none. `-i` lets it take Secure Boot off logs. */
function keylimeState(name: string, bytes: Uint8Array): unknown {
  const file = join(dir, `${name.replace(/[^\w.-]/g, '_')}`);
  const out = `${file}.json`;
  writeFileSync(file, bytes);
  const r = spawnSync(TOOL, ['create', 'measured-boot', '-i', '-e', file, '-o', out], { encoding: 'utf8' });
  expect(r.signal).toBeNull();
  return existsSync(out) ? JSON.parse(readFileSync(out, 'utf8')) : undefined;
}

function ours(bytes: Uint8Array): unknown {
  try {
    return keylimeMbRefstateFromLog(parseEventLog(bytes));
  } catch {
    return undefined;
  }
}

const logs: (readonly [string, Uint8Array])[] = [
  ['test-made Keylime-shaped log', encodeEventLog(makeBootLog({ banks: ['sha256'], firmwareShapes: true }).log)],
  [
    'test-made Keylime-shaped log, Secure Boot off',
    encodeEventLog(makeBootLog({ banks: ['sha256'], firmwareShapes: true, secureBoot: false }).log),
  ],
  ...realEventLogs().map((l) => [l.name, l.bytes] as const),
];

/** For each state, whether Keylime's example policy loads it (refstate_to_test), as '' or its exception. */
function exampleLoads(states: unknown[]): string[] {
  const py = [
    'import json, sys',
    'from keylime.mba.elchecking import example, policies',
    'out = []',
    'for s in json.load(sys.stdin):',
    '    try:',
    '        policies.get_policy("example").refstate_to_test(s)',
    '        out.append("")',
    '    except Exception as e:',
    '        out.append(str(e) or type(e).__name__)',
    'print(json.dumps(out))',
  ].join('\n');
  const r = spawnSync(join(VENV_BIN, 'python'), ['-c', py], { input: JSON.stringify(states), encoding: 'utf8' });
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as string[];
}

const agreed: string[] = [];
afterAll(() => {
  // Printed so a run shows the figures docs/keylime.md quotes.
  console.log(
    `of ${logs.length} logs keylime-policy wrote a state for ${[...theirs.values()].filter((t) => t !== undefined).length}, ` +
      `its example policy loads ${[...loads.values()].filter((w) => w === '').length}; ours equal for ${agreed.length}: ${agreed.join(', ')}`,
  );
});

const theirs = new Map<string, unknown>();
const loads = new Map<string, string>();
beforeAll(() => {
  for (const [name, bytes] of logs) theirs.set(name, keylimeState(name, bytes));
  const written = [...theirs].filter(([, s]) => s !== undefined);
  exampleLoads(written.map(([, s]) => s)).forEach((why, i) => loads.set(written[i][0], why));
});

const checks = (state: unknown): boolean => {
  try {
    parseKeylimeMbRefstate(JSON.stringify(state));
    return true;
  } catch {
    return false;
  }
};

test.each(logs)('%s: same state as keylime-policy where its example policy loads it', (name, bytes) => {
  const state = theirs.get(name);
  const usable = state !== undefined && loads.get(name) === '';
  // Our checker and Keylime's policy agree on Keylime's state.
  if (state !== undefined) expect(checks(state)).toBe(usable);
  const mine = ours(bytes);
  if (usable) {
    expect(mine).toEqual(state);
    agreed.push(name);
  } else expect(mine).toBeUndefined();
});

test('the Keylime-shaped test log makes a state on both sides', () => {
  expect(agreed).toContain('test-made Keylime-shaped log');
});
