// Runs one of the bash fixtures beside this file (`<script> <command> <dir>`) and returns the KEY=VALUE lines
// it prints, so the jest helpers and the integration suites share one implementation of each fixture.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export function runFixtureScript(
  script: string,
  command: string,
  dir: string,
  env?: Record<string, string>,
): Record<string, string> {
  const out = execFileSync('bash', [join(__dirname, script), command, dir], {
    encoding: 'utf8',
    ...(env ? { env: { ...process.env, ...env } } : {}),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const vars: Record<string, string> = {};
  for (const line of out.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) vars[line.slice(0, i)] = line.slice(i + 1);
  }
  return vars;
}
