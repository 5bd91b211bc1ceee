// The table of scripts/bench-nodes.sh: reads each mode's logs and measurements and prints one column per
// mode. Exit status 1 when a node did not attest or a failure was counted (unless ALLOW_FAILURES=1).
//
//   node scripts/lib/bench-nodes-report.mjs RESULTS_DIR MODE...
// RESULTS_DIR/MODE/ holds: meta.env (KEY=VALUE: N, WINDOW_S, T_START_MS, T_WINDOW_MS, CPU_PLUGIN_TICKS,
// CPU_TOTAL_TICKS, CLK_TCK, WALL_MS, T_STOP_MS, SERVERS), rss.tsv (node, then VmRSS and PSS in KiB of
// agent, plugin, swtpm), server-*.log, agent-*.log.
import fs from 'node:fs';
import path from 'node:path';
import { jsonLines, percentile, spireTimeMs } from './spire-log.mjs';

const [dir, ...modes] = process.argv.slice(2);
// A failure: an error line, or a warning about attestation (a refused or failed (re-)attestation, retries),
// logged before the agents were stopped (stopping cuts short whatever is in flight).
const failureBefore = (tStop) => (e) =>
  (e.level === 'error' || (e.level === 'warning' && /attest/i.test(`${e.msg} ${e.error ?? ''}`))) &&
  spireTimeMs(e.time) < tStop;
const readEnv = (f) =>
  Object.fromEntries(
    fs
      .readFileSync(f, 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split('='))
      .map(([k, ...v]) => [k, v.join('=')]),
  );

function measure(mode) {
  const d = path.join(dir, mode);
  const m = readEnv(path.join(d, 'meta.env'));
  const n = Number(m.N);
  const windowMs = Number(m.WINDOW_S) * 1000;
  const tWindow = Number(m.T_WINDOW_MS);
  const isFailure = failureBefore(Number(m.T_STOP_MS));
  const attest = [];
  const reattest = [];
  let attested = 0;
  let lastAttestMs = 0;
  let reattestsInWindow = 0;
  let agentErrors = 0;
  for (let i = 1; i <= n; i++) {
    const f = path.join(d, `agent-${i}.log`);
    if (!fs.existsSync(f)) continue;
    let from;
    let refrom;
    for (const e of jsonLines(f)) {
      if (isFailure(e)) agentErrors++;
      if (e.msg === 'SVID is not found. Starting node attestation') from = spireTimeMs(e.time);
      else if (e.msg === 'Node attestation was successful') {
        attested++;
        const t = spireTimeMs(e.time);
        lastAttestMs = Math.max(lastAttestMs, t);
        if (from !== undefined) attest.push(t - from);
      } else if (e.msg === 'Reattesting node') refrom = spireTimeMs(e.time);
      else if (e.msg === 'Successfully reattested node') {
        const t = spireTimeMs(e.time);
        if (t >= tWindow && t < tWindow + windowMs) {
          reattestsInWindow++;
          if (refrom !== undefined) reattest.push(t - refrom);
        }
        refrom = undefined;
      }
    }
  }
  // The servers: attestations their tpm_quote approved, failure lines.
  const perServer = [];
  let serverErrors = 0;
  for (const s of m.SERVERS.split(',')) {
    const es = jsonLines(path.join(d, `${s}.log`));
    perServer.push(es.filter((e) => e.plugin_name === 'tpm_quote' && e.msg === 'agent attested').length);
    serverErrors += es.filter(isFailure).length;
  }
  const rss = fs
    .readFileSync(path.join(d, 'rss.tsv'), 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(/\s+/).map(Number));
  const mean = (k) => rss.reduce((a, r) => a + r[k], 0) / Math.max(1, rss.length) / 1024;
  const ticks = Number(m.CLK_TCK);
  const pluginS = Number(m.CPU_PLUGIN_TICKS) / ticks;
  const totalS = Number(m.CPU_TOTAL_TICKS) / ticks;
  const failures = n - attested + agentErrors + serverErrors;
  return {
    n,
    failures,
    rows: [
      ['nodes attested / N', `${attested}/${n}`],
      [
        'attestations/s (all N, start -> last)',
        ((attested * 1000) / Math.max(1, lastAttestMs - Number(m.T_START_MS))).toFixed(2),
      ],
      ['attestation p50 / p95 ms', `${percentile(attest, 50).toFixed(0)} / ${percentile(attest, 95).toFixed(0)}`],
      [`re-attestations in ${m.WINDOW_S} s`, String(reattestsInWindow)],
      ['re-attestations/s', (reattestsInWindow / (windowMs / 1000)).toFixed(2)],
      [
        're-attestation p50 / p95 ms',
        `${percentile(reattest, 50).toFixed(0)} / ${percentile(reattest, 95).toFixed(0)}`,
      ],
      ['approved per server', perServer.join(' + ')],
      ['failures (unattested+agent+server)', `${failures} (${n - attested}+${agentErrors}+${serverErrors})`],
      [
        'server plugin CPU s (% of 1 core)',
        `${pluginS.toFixed(1)} (${((pluginS * 100000) / Number(m.WALL_MS)).toFixed(1)}%)`,
      ],
      [
        'server plugin share of bench CPU',
        `${((pluginS * 100) / Math.max(totalS, 1e-9)).toFixed(1)}% of ${totalS.toFixed(0)} s`,
      ],
      [
        'RSS/node MiB agent+plugin+swtpm',
        `${mean(1).toFixed(0)}+${mean(2).toFixed(0)}+${mean(3).toFixed(0)} = ${(mean(1) + mean(2) + mean(3)).toFixed(0)}`,
      ],
      [
        'PSS/node MiB agent+plugin+swtpm',
        `${mean(4).toFixed(0)}+${mean(5).toFixed(0)}+${mean(6).toFixed(0)} = ${(mean(4) + mean(5) + mean(6)).toFixed(0)}`,
      ],
    ],
  };
}

const results = modes.map(measure);
const w0 = Math.max(...results[0].rows.map((r) => r[0].length));
const widths = modes.map((mo, j) => Math.max(mo.length, ...results[j].rows.map((r) => r[1].length)));
console.log(`${'measure'.padEnd(w0)}  ${modes.map((mo, j) => mo.padStart(widths[j])).join('  ')}`);
for (let i = 0; i < results[0].rows.length; i++) {
  console.log(
    `${results[0].rows[i][0].padEnd(w0)}  ${results.map((r, j) => r.rows[i][1].padStart(widths[j])).join('  ')}`,
  );
}
const bad = results.some((r) => r.failures > 0);
if (bad) console.error('bench-nodes: failures counted (goal 0)');
process.exit(bad && process.env.ALLOW_FAILURES !== '1' ? 1 : 0);
