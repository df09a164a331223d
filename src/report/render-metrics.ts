// --metrics-file: the run in Prometheus' text exposition format, for
// node_exporter's textfile collector (one file per scheduled command; the
// CLI writes it atomically, cli/telemetry.ts). Every series is labelled
// with the command; all are gauges about the last run, except the last
// success, carried over from the previous file when this run failed.

import type { Warning } from '../errors.js';

export interface RunMetrics {
  /** the command as run: gc, garbage-collect, prune, ls, verify, tags-rm, ... */
  command: string;
  version: string;
  startedMs: number;
  endedMs: number;
  exitStatus: number;
  dryRun: boolean;
  phases: readonly { name: string; ms: number }[];
  /** what the run deleted (a dry run: would delete), by kind; empty for a command that deletes nothing. */
  deleted: Readonly<Record<string, number>>;
  bytesFreed: number | undefined;
  /** what the grace window spared, by kind. */
  keptByGrace: Readonly<Record<string, number>>;
  /** the data bytes of the blobs it spared (undefined: a command without a grace window). */
  keptByGraceBytes: number | undefined;
  warnings: readonly Warning[];
  /** the last successful run's end (this one's when it succeeded), if any is known. */
  lastSuccessMs: number | undefined;
}

const PREFIX = 'registry_janitor_';
const LAST_SUCCESS = `${PREFIX}last_success_timestamp_seconds`;

const escapeLabel = (value: string): string => value.replaceAll('\\', '\\\\').replaceAll('\n', '\\n').replaceAll('"', '\\"');
const labels = (pairs: Record<string, string>): string =>
  `{${Object.entries(pairs)
    .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
    .join(',')}}`;
/** Milliseconds as seconds, to the millisecond. */
const seconds = (ms: number): string => String(Math.round(ms) / 1000);
/** layerLinks -> layer_links: Prometheus' label values as the other kinds are spelled. */
const snake = (name: string): string => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** The last success recorded for `command` in a previous metrics file, in ms. */
export function lastSuccessIn(previous: string, command: string): number | undefined {
  const line = previous.split('\n').find((l) => l.startsWith(`${LAST_SUCCESS}${labels({ command })} `));
  const value = line === undefined ? NaN : Number(line.slice(line.lastIndexOf(' ') + 1));
  return Number.isFinite(value) ? value * 1000 : undefined;
}

export function renderMetrics(m: RunMetrics): string {
  const out: string[] = [];
  const command = { command: m.command };
  const gauge = (name: string, help: string, samples: [Record<string, string>, string | number][]): void => {
    if (samples.length === 0) return;
    out.push(`# HELP ${PREFIX}${name} ${help}`, `# TYPE ${PREFIX}${name} gauge`);
    for (const [extra, value] of samples) out.push(`${PREFIX}${name}${labels({ ...command, ...extra })} ${value}`);
  };
  gauge('last_run_start_timestamp_seconds', 'Unix time the last run started.', [[{}, seconds(m.startedMs)]]);
  gauge('last_run_end_timestamp_seconds', 'Unix time the last run ended.', [[{}, seconds(m.endedMs)]]);
  gauge('last_run_success', '1 if the last run exited 0, else 0.', [[{}, m.exitStatus === 0 ? 1 : 0]]);
  gauge('last_run_exit_status', 'Exit status of the last run (0 ok, 1 failure, 2 usage, 3 report lost, 4 --free short, 130/143 interrupted).', [
    [{}, m.exitStatus],
  ]);
  if (m.lastSuccessMs !== undefined) gauge('last_success_timestamp_seconds', 'Unix time the last successful run ended.', [[{}, seconds(m.lastSuccessMs)]]);
  gauge('last_run_dry_run', '1 if the last run was a dry run (its counts are what a real run would delete).', [[{}, m.dryRun ? 1 : 0]]);
  gauge('last_run_duration_seconds', 'Wall time of the last run.', [[{}, seconds(m.endedMs - m.startedMs)]]);
  gauge(
    'last_run_phase_duration_seconds',
    'Wall time of each phase of the last run.',
    m.phases.map((p) => [{ phase: p.name }, seconds(p.ms)]),
  );
  gauge(
    'last_run_deleted',
    'What the last run deleted (a dry run: would delete), by kind (uploads: unfinished uploads purged; repositories: empty ones removed).',
    Object.entries(m.deleted).map(([kind, n]) => [{ kind: snake(kind) }, n]),
  );
  if (m.bytesFreed !== undefined) gauge('last_run_freed_bytes', 'Bytes the last run freed (a dry run: would free).', [[{}, m.bytesFreed]]);
  gauge(
    'last_run_kept_by_grace',
    'What the grace window kept in the last run (written within it), by kind.',
    Object.entries(m.keptByGrace).map(([kind, n]) => [{ kind: snake(kind) }, n]),
  );
  if (m.keptByGraceBytes !== undefined)
    gauge('last_run_kept_by_grace_bytes', 'Data bytes of the blobs the grace window kept in the last run.', [[{}, m.keptByGraceBytes]]);
  const byCode = new Map<string, number>();
  for (const w of m.warnings) byCode.set(w.code, (byCode.get(w.code) ?? 0) + 1);
  gauge('last_run_warning_count', 'Warnings of the last run, all codes.', [[{}, m.warnings.length]]);
  gauge(
    'last_run_warnings',
    'Warnings of the last run, by code.',
    [...byCode].sort().map(([code, n]) => [{ code }, n]),
  );
  gauge('version_info', "The tool's version that wrote this file.", [[{ version: m.version }, 1]]);
  return `${out.join('\n')}\n`;
}
