// The flags the commands share, their parsers, and the root they name.
// Every parser throws E_USAGE with one line naming the flag and the value.

import { availableParallelism } from 'node:os';
import { type Command, Option } from 'commander';
import { JanitorError } from '../errors.js';
import { rootFromConfigFile } from '../storage/registry-config.js';
import type { FileSystem } from '../storage/file-system.js';
import { parseDuration } from '../select/duration.js';
import { DEFAULT_PREFETCH, MAX_PREFETCH, type PrefetchSetting } from '../scan/prefetch.js';

export const DEFAULT_ROOT = '/var/lib/registry';
/** Entries a dry run lists per group (--list). */
const DEFAULT_LIST = 50;

export interface CommonFlags {
  root?: string;
  config?: string;
  json?: boolean;
  concurrency: number;
  progress?: boolean;
  quiet?: boolean;
}

/** The commands that list the blobs and the repositories (gc, garbage-collect, prune, apply, ls, verify) take --prefetch. */
export interface PrefetchFlags {
  /** --prefetch auto|N: reads kept in flight ahead of the scan (scan/prefetch.ts). */
  prefetch: PrefetchSetting;
}

export interface SafetyFlags {
  wait?: string | true;
  grace: string;
  registryUrl?: string;
  allowLive?: boolean;
}

export interface SweepFlags extends CommonFlags, PrefetchFlags, SafetyFlags, TrashFlags {
  dryRun?: boolean;
  deleteUntagged?: boolean;
  /** --verbose: the human report has a row for every repository, not only those where something changes. */
  verbose?: boolean;
  skipRepo?: string[];
  /** --free SIZE (free-target.ts) and the dry run's --list N|all. */
  free?: string;
  list?: string;
  /** --purge-uploads AGE|off and --remove-empty-repos (commands/gc/plan-housekeeping.ts). */
  purgeUploads?: string;
  removeEmptyRepos?: boolean;
}

/** --list: entries shown per group in a dry run's listing (all: every one). */
export function parseList(value: string | undefined): number {
  if (value === undefined) return DEFAULT_LIST;
  if (value === 'all') return Number.POSITIVE_INFINITY;
  if (!/^\d+$/.test(value) || Number(value) < 1)
    throw new JanitorError('E_USAGE', `--list takes a whole number above 0 or "all", not ${JSON.stringify(value)}`);
  return Number(value);
}

/** --purge-uploads AGE: the age in ms; undefined for off. */
export function parsePurgeUploads(value: string | undefined): number | undefined {
  if (value === undefined || value === 'off') return undefined;
  const usage = `--purge-uploads takes an age (a whole number and s, m, h, d or w: 168h, 7d) or off, not ${JSON.stringify(value)}`;
  if (value === '') throw new JanitorError('E_USAGE', `${usage} (an unset shell variable?)`);
  try {
    return parseDuration(value, '--purge-uploads');
  } catch {
    throw new JanitorError('E_USAGE', usage);
  }
}

/** gc's housekeeping: unfinished uploads older than AGE (default `defaultPurge`; commander shows it), repositories left empty. */
export function addHousekeepingOptions(command: Command, defaultPurge: string): Command {
  return command
    .option(
      '--purge-uploads <age>',
      'remove unfinished uploads begun longer ago than AGE (their startedat, else their newest mtime), none written within --grace; off keeps them',
      defaultPurge,
    )
    .option(
      '--remove-empty-repos',
      'remove repositories left with no tag and no revision, and their parent directories left empty: the catalog stops listing them',
    );
}

/**
 * -j's default: one reader thread per core, at least 1, at most 4 (each
 * reader thread holds its own heap: ~45 MB of RSS at 1M blobs). On this
 * project's 2-core host, warm, many-small tree, medians of 3 with -j 1 and
 * -j 2 alternated (2026-12-03): 1M blobs, `gc -d` 17.4 s against 27.0 s
 * and `gc -m -d` 24.0 s against 33.3 s; 100k, 1.9 s against 3.0 s and
 * 2.4 s against 3.8 s. An earlier series that found -j 1 faster ran the
 * default right after 2.8.2's `garbage-collect -m`, which left the page
 * cache cold for whichever command came next. More than 2 cores was not
 * measured here.
 */
export function defaultConcurrency(cores: number): number {
  return Math.max(1, Math.min(4, cores));
}

function parseConcurrency(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 64) {
    throw new JanitorError('E_USAGE', `--concurrency takes a whole number from 1 to 64, not ${JSON.stringify(value)}`);
  }
  return n;
}

/** --prefetch auto (the default: DEFAULT_PREFETCH reads, only on a cold cache) or N (always N; 0: never). */
function parsePrefetch(value: string): PrefetchSetting {
  if (value === 'auto') return { width: DEFAULT_PREFETCH, probe: true };
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > MAX_PREFETCH) {
    throw new JanitorError('E_USAGE', `--prefetch takes auto or a whole number from 0 to ${MAX_PREFETCH}, not ${JSON.stringify(value)}`);
  }
  return { width: n, probe: false };
}

export function resolveRoot(fs: FileSystem, flags: CommonFlags, env: NodeJS.ProcessEnv): string {
  if (flags.root !== undefined && flags.config !== undefined) {
    throw new JanitorError('E_USAGE', '--root and --config name the same thing: give one of them');
  }
  // An unset shell variable (--root "$ROOT") must not mean the current directory.
  if (flags.root === '') throw new JanitorError('E_USAGE', '--root is empty (an unset shell variable?): give the registry root directory');
  if (flags.config === '') throw new JanitorError('E_USAGE', "--config is empty (an unset shell variable?): give the registry's config.yml");
  if (flags.config !== undefined) return rootFromConfigFile(fs, flags.config, env);
  return flags.root ?? DEFAULT_ROOT;
}

export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export function addRootOptions(command: Command): Command {
  return command
    .option('--root <dir>', `the filesystem driver's rootdirectory, or its docker/registry/v2 (default ${DEFAULT_ROOT})`)
    .option('--config <file>', "read the rootdirectory from the registry's config.yml")
    .option('--json', 'print exactly one JSON object on stdout')
    .option('--progress', 'progress lines on stderr even without a terminal (one every 5 s, for logs)')
    .option('-q, --quiet', 'print only errors on stderr (no phase or progress lines)')
    .addOption(
      new Option('-j, --concurrency <n>', 'reader threads (this one included)').argParser(parseConcurrency).default(defaultConcurrency(availableParallelism())),
    );
}

/**
 * --prefetch, on every command that lists the blobs and the repositories
 * (all but tags rm, which reads only tags: it used to accept the option and
 * start nothing).
 */
export function addPrefetchOption(command: Command): Command {
  return command.addOption(
    new Option(
      '--prefetch <n>',
      'reads kept in flight ahead of the scan to warm a cold cache: auto (32 when a probe finds the cache cold), N (always), 0 (never)',
    )
      .argParser(parsePrefetch)
      .default({ width: DEFAULT_PREFETCH, probe: true }, 'auto'),
  );
}

/** --wait[=DURATION]: without a value, wait as long as it takes. */
export function parseWait(value: string | true | undefined): number {
  if (value === undefined) return 0;
  if (value === true) return Number.POSITIVE_INFINITY;
  return parseDuration(value, '--wait');
}

/** The options of every command that can delete: the lock, the grace window, the live-registry guard. */
export function addSafetyOptions(command: Command, defaultGrace: string): Command {
  return command
    .option('--wait [duration]', "wait for another run's lock (as long as it takes, or DURATION: 10m) instead of refusing")
    .option('--grace <duration>', `never delete what was written within this window (blobs, revisions, layer links; default ${defaultGrace})`, defaultGrace)
    .option('--registry-url <url>', 'also probe this registry URL before deleting (refused if a registry answers)')
    .option('--allow-live', 'delete even if a registry answers (the grace window and revalidation protect fresh writes)');
}

/** --trash DIR (gc, prune, tags rm, apply): what the run would delete for good is moved into DIR (storage/trash.ts checks DIR). */
export interface TrashFlags {
  trash?: string;
}

export function addTrashOption(command: Command): Command {
  return command.option(
    '--trash <dir>',
    'move what would be deleted into DIR instead (same filesystem, outside docker/registry/v2; one rename each): `trash restore DIR` puts it back, `trash empty DIR` deletes it; nothing is freed until then',
  );
}

/** The line a real run with --trash ends with: the space is not freed yet. */
export function trashNote(dir: string): string {
  return `registry-janitor: moved into the trash ${dir}, not deleted: no space is freed until \`registry-janitor trash empty ${dir}\` (\`trash restore ${dir}\` puts it all back)\n`;
}

export function addSelectionOptions(command: Command): Command {
  return command
    .argument('[REPO:TAG...]', 'tags to remove, by name')
    .option('--repo <glob>', 'only repositories matching (repeatable; * within a path component, ** across)', collect)
    .option('--exclude-repo <glob>', 'never these repositories (repeatable)', collect)
    .option('--tag <regex>', 'candidates: tags whose name matches')
    .option('--keep-tag <regex>', 'keep candidates whose name matches (repeatable)', collect)
    .option('--keep-latest <n>', 'keep the N most recently pushed candidates of each repository')
    .option('--older-than <duration>', 'keep candidates pushed more recently than this (30d, 12h, 90m)')
    .option('--policy <file>', 'rules from a YAML or JSON policy file');
}
