// tpm2-tools' tpm2_eventlog as an independent parser: its YAML read back into events and replayed PCRs.
import { spawnSync } from 'node:child_process';

export interface ToolEvent {
  pcr: number;
  type: string;
  /** Digests by algorithm name as the tool prints them (`sha1`, `sha256`, ...); the Spec ID header has `header`. */
  digests: Record<string, string>;
}

export interface ToolLog {
  events: ToolEvent[];
  /** The tool's `pcrs:` section: bank -> PCR -> hex. */
  pcrs: Record<string, Record<number, string>>;
}

/** Runs `tpm2_eventlog file`; the exit status and stderr are returned when it fails (no exception). */
export function runTpm2Eventlog(
  file: string,
): { ok: true; log: ToolLog } | { ok: false; status: number | null; signal: string | null; stderr: string } {
  const r = spawnSync('tpm2_eventlog', [file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) return { ok: false, status: r.status, signal: r.signal, stderr: r.stderr };
  return { ok: true, log: parseToolYaml(r.stdout) };
}

// The tool's YAML has a fixed shape; events start at `- EventNum:` (crypto-agile) or at a top-level
// `PCRIndex:` (SHA-1 logs, which it prints without EventNum).
function parseToolYaml(yaml: string): ToolLog {
  const events: ToolEvent[] = [];
  const pcrs: ToolLog['pcrs'] = {};
  let current: ToolEvent | undefined;
  let alg: string | undefined;
  let bank: string | undefined;
  let inPcrs = false;
  let numbered = false;
  for (const line of yaml.split('\n')) {
    let m: RegExpExecArray | null;
    if (line === 'pcrs:') {
      inPcrs = true;
      continue;
    }
    if (inPcrs) {
      if ((m = /^ {2}(\w+):$/.exec(line))) pcrs[(bank = m[1])] = {};
      else if ((m = /^ {4}(\d+)\s*: 0x([0-9a-f]+)$/.exec(line)) && bank) pcrs[bank][Number(m[1])] = m[2];
      continue;
    }
    if (/^- EventNum: \d+$/.test(line)) {
      events.push((current = { pcr: -1, type: '', digests: {} }));
      numbered = true;
    } else if ((m = /^ {2}PCRIndex: (\d+)$/.exec(line))) {
      if (!numbered || !current) events.push((current = { pcr: -1, type: '', digests: {} }));
      current.pcr = Number(m[1]);
      numbered = false;
    } else if ((m = /^ {2}EventType: (\S+)$/.exec(line)) && current) current.type = m[1];
    else if ((m = /^ {2}- AlgorithmId: (\w+)$/.exec(line))) alg = m[1];
    else if ((m = /^ {4}Digest: "([0-9a-f]+)"$/.exec(line)) && current && alg) {
      current.digests[alg] = m[1];
      alg = undefined;
    } else if ((m = /^ {2}Digest: "([0-9a-f]+)"$/.exec(line)) && current) current.digests.header = m[1];
  }
  return { events, pcrs };
}
