// Go duration strings (time.ParseDuration's grammar): "300ms", "1.5h", "2h45m", "0". No negatives here:
// every duration a plugin is configured with is a timeout or an interval.

const UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, μs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
const PART = /^([0-9]*)(?:\.([0-9]*))?(ns|us|µs|μs|ms|s|m|h)/;
const MAX_NS = 2 ** 63 - 1;

/**
 * Parses a Go duration string into milliseconds (fractional below 1 ms). Returns undefined when the
 * text is not a valid non-negative Go duration or exceeds Go's range (about 292 years).
 */
export function parseGoDuration(text: string): number | undefined {
  let s = text.startsWith('+') ? text.slice(1) : text;
  if (s === '0') return 0;
  if (s === '' || s.length > 100) return undefined;
  let ns = 0;
  while (s !== '') {
    const m = PART.exec(s);
    if (!m) return undefined;
    const whole = m[1];
    const frac = m[2] ?? '';
    if (whole === '' && frac === '') return undefined;
    ns += Number(`${whole || '0'}.${frac || '0'}`) * UNIT_NS[m[3]];
    s = s.slice(m[0].length);
  }
  if (!Number.isFinite(ns) || ns > MAX_NS) return undefined;
  return ns / 1e6;
}

/** Formats milliseconds the way Go prints a time.Duration for common values ("1m30s", "250ms"). */
export function formatDurationMs(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${ms}ms`;
  let rest = ms / 1000;
  const h = Math.floor(rest / 3600);
  rest -= h * 3600;
  const m = Math.floor(rest / 60);
  rest -= m * 60;
  const sec = Math.round(rest * 1000) / 1000;
  return `${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${sec}s`;
}
