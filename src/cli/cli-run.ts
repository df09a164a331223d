// One invocation's shared state: its exit code, its stderr (with the live
// progress line), the journal fingerprint of the command, the report
// writer and the live-registry guard. The command files register their
// actions against it; none of them prints on its own.

import { createHash } from 'node:crypto';
import { JanitorError, describeError } from '../errors.js';
import { readTextFileSync } from '../storage/file-system.js';
import { makePaint } from '../report/paint.js';
import { progressLine, progressMode } from '../report/progress.js';
import type { PhaseListener } from '../commands/phases.js';
import type { GcOptions, RegistryReport } from '../commands/gc/index.js';
import { checkLiveRegistry } from '../storage/live-registry.js';
import { readRegistryFactsFile } from '../storage/registry-facts.js';
import type { SelectionFlags } from '../select/selection.js';
import type { RunStamp } from '../report/format.js';
import { packageVersion } from '../version.js';
import type { CliIo } from './cli-io.js';
import { RunTelemetry } from './telemetry.js';
import { EXIT_REPORT_LOST } from './cli-io.js';
import type { CommonFlags, SafetyFlags } from './options.js';

export class CliRun {
  exitCode = 0;
  readonly io: CliIo;
  readonly now: () => number;
  readonly paint: ReturnType<typeof makePaint>;
  private line: ReturnType<typeof progressLine> | undefined;
  readonly startedAt: number;
  /** --metrics-file and --log-format (telemetry.ts). */
  readonly telemetry: RunTelemetry;
  /** anything written to stdout yet (a failure's JSON object is written only on an empty stdout). */
  private wroteStdout = false;

  constructor(
    io: CliIo,
    readonly args: readonly string[],
  ) {
    this.now = io.now ?? Date.now;
    this.telemetry = new RunTelemetry(io, args, this.now);
    this.io = {
      ...io,
      stdout: (text) => {
        this.wroteStdout = true;
        io.stdout(text);
      },
      stderr: (text) => {
        this.telemetry.stderr(text);
      },
    };
    this.startedAt = this.now();
    this.paint = makePaint(io.color === true);
  }

  /** The version and the run's start and end, for the JSON reports. */
  stamp(): RunStamp {
    return { version: packageVersion(), startedAt: new Date(this.startedAt).toISOString(), finishedAt: new Date(this.now()).toISOString() };
  }

  /** --json on the line (before a `--`). */
  get json(): boolean {
    const end = this.args.indexOf('--');
    return (end === -1 ? this.args : this.args.slice(0, end)).includes('--json');
  }

  /**
   * With --json, a run that fails before its report (bad flags, a lock
   * held, a tree it cannot read) still prints exactly one JSON object, so a
   * consumer tells a failure from a crash: ok false, the error's code,
   * message and path. Nothing is added after a report already on stdout.
   */
  failJson(error: { code: string; message: string; path: string | null }): void {
    if (!this.json || this.wroteStdout) return;
    try {
      this.io.stdout(`${JSON.stringify({ ok: false, error, ...this.stamp() })}\n`);
    } catch {
      // stdout is gone: the exit status and stderr still say it
    }
  }

  get commandLine(): string {
    return `registry-janitor ${this.args.join(' ')}`;
  }

  /** Diagnostics never stop the work: a full or closed stderr loses the progress line, not the sweep. */
  say(text: string): void {
    try {
      this.io.stderr(text);
    } catch {
      // nowhere left to say it
    }
  }

  /** A line on stderr, after closing the live progress line. */
  diagnose(text: string): void {
    this.line?.close();
    this.say(text);
  }

  closeProgress(): void {
    this.line?.close();
  }

  /** One line per finished phase (ls, tags rm), none with --json or -q. */
  phaseLines(flags: Pick<CommonFlags, 'json' | 'quiet'>): (phase: string, ms: number) => void {
    return (phase: string, ms: number) => {
      if (!flags.json && !flags.quiet) this.diagnose(`phase ${phase} done in ${(ms / 1000).toFixed(2)} s\n`);
    };
  }

  /**
   * gc's and verify's phases: a live line on a terminal, lines every 5 s
   * with --progress, none with -q (report/progress.ts); `bytesVerb`: what
   * the bytes counted are (freed, read).
   */
  progressOf(flags: CommonFlags, bytesVerb?: string): PhaseListener {
    this.line = progressLine(
      progressMode(flags, this.io.stderrIsTty === true),
      (text) => {
        this.say(text);
      },
      this.io.clock,
      bytesVerb,
    );
    return this.line;
  }

  /**
   * The journal recognises a rerun of the same command by what it selects:
   * REPO:TAGs, selection flags, the policy's content (not its path), -m and
   * --grace; not how the root is spelled, -d (a dry run shows what the
   * rerun would do; --plan FILE, a dry run that writes it, previews the resume
   * too), --json, -j, the guard flags, --trash or the housekeeping ones
   * (--purge-uploads, --remove-empty-repos: they decide no tag).
   */
  journalOf(command: string, tags: string[], flags: object): { fingerprint: string; command: string } {
    const ignored = new Set([
      'root',
      'config',
      'dryRun',
      'json',
      'concurrency',
      'prefetch',
      'wait',
      'allowLive',
      'registryUrl',
      'policy',
      'free',
      'list',
      'trash',
      'plan',
    ]);
    for (const housekeeping of ['purgeUploads', 'removeEmptyRepos']) ignored.add(housekeeping);
    const selection = Object.entries(flags as Record<string, unknown>).filter(([key]) => !ignored.has(key));
    const policyFile = (flags as SelectionFlags).policy;
    const policy = policyFile === undefined ? null : createHash('sha256').update(readTextFileSync(this.io.fs, policyFile)).digest('hex');
    return { fingerprint: JSON.stringify({ command, tags: [...tags].sort(), selection: selection.sort(), policy }), command: this.commandLine };
  }

  /**
   * Writes the report. A report that cannot be written after deletions
   * must not read as "nothing deleted" (exit 1): one line says what was
   * done, and the exit status is EXIT_REPORT_LOST.
   */
  report(write: () => void, deleted: string | undefined): void {
    try {
      write();
    } catch (cause) {
      if (deleted === undefined) throw cause;
      this.diagnose(`registry-janitor: error: the run completed (${deleted}) but its report could not be written: ${describeError(cause)}\n`);
      this.exitCode = EXIT_REPORT_LOST;
    }
  }

  workersFor(flags: CommonFlags): GcOptions['makeWorkers'] {
    const make = this.io.makeWorkers;
    return make && ((reader) => make(reader, flags.concurrency));
  }

  /**
   * The live-registry guard (storage/live-registry.ts), before anything is
   * read for deletion: with the registry's config (or --registry-url), a
   * registry that answers and is not read-only refuses the run unless
   * --allow-live. Dry runs only report the config's read-only setting.
   */
  async guardLive(configFile: string | undefined, flags: SafetyFlags & { dryRun?: boolean }): Promise<RegistryReport | undefined> {
    const facts = configFile === undefined ? undefined : readRegistryFactsFile(this.io.fs, configFile, this.io.env);
    const report: RegistryReport = { config: configFile ?? null, readOnly: facts ? facts.readOnly : null, live: null };
    if (flags.dryRun || (facts === undefined && flags.registryUrl === undefined)) return facts ? report : undefined;
    const check = await checkLiveRegistry(facts, flags.registryUrl);
    report.live = check.live?.url ?? false;
    if (check.refusal && !flags.allowLive) throw new JanitorError('E_LIVE', check.refusal);
    if (check.live)
      this.diagnose(
        `registry-janitor: warning: a registry answers at ${check.live.url}${facts?.readOnly ? ' (configured read-only)' : ''}; going on (${flags.allowLive ? '--allow-live' : 'read-only'}): the grace window and revalidation protect fresh writes\n`,
      );
    return report;
  }
}
