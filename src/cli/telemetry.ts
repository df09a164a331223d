// What a scheduler alerts on: --metrics-file PATH (Prometheus' textfile
// format for node_exporter, report/render-metrics.ts, written at the end of
// every run that named a command, failed ones included: to PATH.<pid>.tmp
// beside it, then renamed over it, so the collector never reads half a file)
// and --log-format json (stderr as NDJSON events, report/log-events.ts).
// Both are the program's own options: every command takes them, before or
// after its name. The metrics file is the only thing the tool writes outside
// its own v2/_janitor/; one inside the registry's tree is refused.

import path from 'node:path';
import { type Command, Option } from 'commander';
import { JanitorError, describeError } from '../errors.js';
import type { GcResult } from '../commands/gc/index.js';
import type { PhaseListener } from '../commands/phases.js';
import { eventListener, logEvent, textEvents, warningEvents } from '../report/log-events.js';
import { type RunMetrics, lastSuccessIn, renderMetrics } from '../report/render-metrics.js';
import { packageVersion } from '../version.js';
import type { CliIo } from './cli-io.js';

/** The program's options that take a value (so a scan of the line skips it). */
const VALUE_OPTIONS = ['--metrics-file', '--log-format'];
const COMMANDS = new Set(['gc', 'garbage-collect', 'prune', 'ls', 'verify', 'untag', 'tags']);

/** A program option's value on the line (`--name VALUE` or `--name=VALUE`, the last one), before a `--`. */
function valueOf(args: readonly string[], name: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < args.length && args[i] !== '--'; i++) {
    const arg = args[i] ?? '';
    if (arg === name) value = args[i + 1];
    else if (arg.startsWith(`${name}=`)) value = arg.slice(name.length + 1);
  }
  return value;
}

/** The command the line runs (`tags rm` as tags-rm), or undefined (--help, --version, completion). */
export function commandOf(args: readonly string[]): string | undefined {
  const words: string[] = [];
  for (let i = 0; i < args.length && args[i] !== '--'; i++) {
    const arg = args[i] ?? '';
    if (VALUE_OPTIONS.includes(arg)) i++;
    else if (!arg.startsWith('-')) words.push(arg);
  }
  const [first, second] = words;
  if (first === undefined || !COMMANDS.has(first)) return undefined;
  return first === 'tags' ? `tags-${second ?? ''}` : first;
}

export function addTelemetryOptions(program: Command): Command {
  return program
    .option('--metrics-file <path>', 'write the run as Prometheus metrics (node_exporter textfile collector) to PATH, atomically, failed runs included')
    .addOption(new Option('--log-format <format>', 'stderr as text, or as NDJSON events (json)').choices(['text', 'json']).default('text'));
}

export class RunTelemetry {
  readonly logJson: boolean;
  private readonly metricsFile: string | undefined;
  private readonly command: string | undefined;
  private gc: GcResult | undefined;

  constructor(
    private readonly io: CliIo,
    args: readonly string[],
    private readonly now: () => number,
  ) {
    this.logJson = valueOf(args, '--log-format') === 'json';
    this.metricsFile = valueOf(args, '--metrics-file');
    this.command = commandOf(args);
  }

  /** An empty --metrics-file (an unset shell variable) is refused before anything runs. */
  check(): void {
    if (this.metricsFile === '') throw new JanitorError('E_USAGE', '--metrics-file is empty (an unset shell variable?): give the file to write');
  }

  /** stderr as the CLI writes it: with --log-format json, its lines become events. */
  stderr(text: string): void {
    this.io.stderr(this.logJson ? textEvents(text, this.now()) : text);
  }

  /** gc's phases: events instead of the progress line with --log-format json. */
  phases(listener: PhaseListener): PhaseListener {
    return this.logJson ? eventListener((line) => this.io.stderr(line), this.now) : listener;
  }

  /** The gc family's result, for the summary event and the metrics. */
  recordGc(result: GcResult): void {
    this.gc = result;
  }

  /**
   * The end of a run: with --log-format json its warnings and a summary
   * event; with --metrics-file the metrics. Returns the exit status: a
   * metrics file that cannot be written fails a run that had not failed.
   */
  finish(exitStatus: number, startedMs: number): number {
    const endedMs = this.now();
    const gc = this.gc;
    if (this.logJson && this.command !== undefined) {
      if (gc) this.io.stderr(warningEvents(gc.warnings, endedMs));
      const counts = gc ? gcCounts(gc) : {};
      this.io.stderr(logEvent(endedMs, exitStatus === 0 ? 'info' : 'error', 'summary', { command: this.command, exitStatus, ...counts }));
    }
    if (this.metricsFile === undefined || this.metricsFile === '' || this.command === undefined) return exitStatus;
    try {
      this.writeMetrics({
        command: this.command,
        version: packageVersion(),
        startedMs,
        endedMs,
        exitStatus,
        dryRun: gc?.dryRun ?? false,
        phases: gc?.phases ?? [],
        deleted: gc ? deletedOf(gc) : {},
        bytesFreed: gc ? (gc.sweepError && gc.swept ? gc.swept.bytes : gc.bytesFreed) : undefined,
        keptByGrace: gc ? { ...gc.keptByGrace } : {},
        keptByGraceBytes: gc?.keptByGraceBytes,
        warnings: gc?.warnings ?? [],
        lastSuccessMs: undefined,
      });
      return exitStatus;
    } catch (error) {
      this.stderr(`registry-janitor: error: --metrics-file ${this.metricsFile}: not written: ${describeError(error)}\n`);
      return exitStatus === 0 ? 1 : exitStatus;
    }
  }

  private writeMetrics(metrics: RunMetrics): void {
    const file = path.resolve(this.metricsFile ?? '');
    const v2 = this.gc?.v2;
    if (v2 !== undefined && (file === v2 || file.startsWith(`${v2}/`))) throw new JanitorError('E_USAGE', `it is inside the registry's tree ${v2}`);
    let previous = '';
    try {
      previous = this.io.fs.readFileSync(file, 'utf8');
    } catch {
      // no previous file (the first run): no earlier success to carry over
    }
    const lastSuccessMs = metrics.exitStatus === 0 ? metrics.endedMs : lastSuccessIn(previous, metrics.command);
    const staging = `${file}.${process.pid}.tmp`;
    this.io.fs.writeFileSync(staging, renderMetrics({ ...metrics, lastSuccessMs }));
    try {
      this.io.fs.renameSync(staging, file);
    } catch (error) {
      try {
        this.io.fs.unlinkSync(staging);
      } catch {
        // nothing more to do: the rename's error is the one to report
      }
      throw error;
    }
  }
}

/** What a gc, garbage-collect or prune run deleted (a dry run: would delete); part-way: what it did. */
function deletedOf(gc: GcResult): Record<string, number> {
  const sum = (pick: (o: GcResult['repositories'][number]) => number): number => gc.repositories.reduce((n, o) => n + pick(o), 0);
  // gc's housekeeping (--purge-uploads, --remove-empty-repos)
  const housekeeping = { uploads: gc.housekeeping.uploadsPurged.length, repositories: gc.housekeeping.repositoriesRemoved.length };
  if (gc.sweepError && gc.swept)
    return { blobs: gc.swept.blobs, manifests: gc.swept.manifests, layer_links: gc.swept.layerLinks, tags: gc.swept.tags, ...housekeeping };
  return {
    blobs: gc.blobsDeletedCount,
    manifests: sum((o) => o.manifestsDeleted.length),
    layer_links: sum((o) => o.layerLinksDeleted.length),
    tags: sum((o) => o.tagsRemoved.length),
    ...housekeeping,
  };
}

function gcCounts(gc: GcResult): object {
  const deleted = deletedOf(gc);
  return {
    dryRun: gc.dryRun,
    blobsMarked: gc.blobsMarked,
    blobsDeleted: deleted.blobs,
    manifestsDeleted: deleted.manifests,
    layerLinksDeleted: deleted.layer_links,
    tagsRemoved: deleted.tags,
    uploadsPurged: deleted.uploads,
    repositoriesRemoved: deleted.repositories,
    bytesFreed: gc.sweepError && gc.swept ? gc.swept.bytes : gc.bytesFreed,
    keptByGrace: gc.keptByGrace,
    warnings: gc.warnings.length,
    error: gc.sweepError ? { code: gc.sweepError.code, message: gc.sweepError.message, path: gc.sweepError.path ?? null } : null,
  };
}
