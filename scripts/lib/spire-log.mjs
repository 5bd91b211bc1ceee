// Reading SPIRE's JSON logs (log_format = "json", which also carry the plugins' lines) for the benchmarks.
import fs from 'node:fs';

/** Every JSON object line of FILE (other lines skipped). */
export function jsonLines(file) {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .flatMap((l) => {
      try {
        const e = JSON.parse(l);
        return e && typeof e === 'object' ? [e] : [];
      } catch {
        return [];
      }
    });
}

/** SPIRE's "time" (RFC 3339 with nanoseconds) in milliseconds since the epoch, sub-millisecond kept. */
export function spireTimeMs(t) {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(String(t));
  if (!m) throw new Error(`not a SPIRE log time: ${t}`);
  return Date.parse(m[1] + 'Z') + Number('0.' + (m[2] || '0')) * 1000;
}

/** The P-th percentile (nearest rank) of XS; NaN when XS is empty. */
export function percentile(xs, p) {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}
