// `garbage-collect`, the drop-in for `registry garbage-collect`: the
// reference's flags as Go's flag parser (pflag, under cobra) reads them,
// before commander sees the line. The reference's set, 2.8 and v3 together:
// -d/--dry-run, -m/--delete-untagged and -q/--quiet (v3 only), each a
// boolean that also takes `=VALUE` (`--delete-untagged=true`, as the Helm
// charts write it; `-d=false`), the short ones combined (`-dm`), the last
// occurrence winning, and the config file as a positional anywhere on the
// line (or REGISTRY_CONFIGURATION_PATH without one).

import type { Command } from 'commander';
import { JanitorError } from '../errors.js';
import type { GcResult } from '../commands/gc/index.js';
import { renderGcHuman, renderReferenceSummary } from '../report/render-gc.js';
import type { CliRun } from './cli-run.js';

/** The reference's flags: short letter -> long name. */
const REFERENCE_FLAGS = { d: 'dry-run', m: 'delete-untagged', q: 'quiet' } as const;
type Letter = keyof typeof REFERENCE_FLAGS;
const LETTERS = Object.keys(REFERENCE_FLAGS) as Letter[];
const isLetter = (c: string): c is Letter => c in REFERENCE_FLAGS;
const LETTER_OF = new Map(LETTERS.map((l) => [REFERENCE_FLAGS[l] as string, l]));

/** strconv.ParseBool's spellings, the only values pflag takes for a boolean. */
const GO_TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const GO_FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

function goBool(letter: Letter, value: string): boolean {
  if (GO_TRUE.has(value)) return true;
  if (GO_FALSE.has(value)) return false;
  throw new JanitorError(
    'E_USAGE',
    `invalid argument ${JSON.stringify(value)} for "-${letter}, --${REFERENCE_FLAGS[letter]}" flag: not a boolean (true, false, 1, 0)`,
  );
}

/**
 * The arguments after `garbage-collect`, with the reference's three booleans
 * read as pflag reads them and put back in the one spelling commander
 * takes (`--dry-run`), once each, only when their last value is true.
 * Everything else passes through as it was; nothing after `--` is read.
 */
export function normalizeDropInArgs(args: readonly string[]): string[] {
  const set = new Map<Letter, boolean>();
  const rest: string[] = [];
  let ended = false;
  for (const arg of args) {
    const long = /^--([a-z-]+)(?:=(.*))?$/s.exec(arg);
    const longLetter = long?.[1] === undefined ? undefined : LETTER_OF.get(long[1]);
    const shortValue = /^-([dmq])=(.*)$/s.exec(arg);
    if (ended) rest.push(arg);
    else if (arg === '--') {
      ended = true;
      rest.push(arg);
    } else if (longLetter !== undefined) {
      set.set(longLetter, long?.[2] === undefined ? true : goBool(longLetter, long[2]));
    } else if (shortValue?.[1] !== undefined && isLetter(shortValue[1])) {
      set.set(shortValue[1], goBool(shortValue[1], shortValue[2] ?? ''));
    } else if (/^-[dmq]+$/.test(arg)) {
      for (const c of arg.slice(1)) if (isLetter(c)) set.set(c, true);
    } else rest.push(arg);
  }
  const on = LETTERS.filter((l) => set.get(l) === true).map((l) => `--${REFERENCE_FLAGS[l]}`);
  return [...on, ...rest];
}

/**
 * `garbage-collect --help` lists the reference's flags and nothing else;
 * the janitor's own (--json, --grace, -j, ...) still work, and the help
 * says where they are documented.
 */
export function showOnlyReferenceFlags(command: Command): Command {
  const shown = new Set(['--help', ...LETTERS.map((l) => `--${REFERENCE_FLAGS[l]}`)]);
  for (const option of command.options) {
    if (option.long === undefined || !shown.has(option.long)) option.hidden = true;
    if (option.long === '--quiet') option.description = 'silence output: no summary line and no report (errors still reach stderr)';
  }
  return command.addHelpText('after', "\nIt also takes gc's own options (--json, --grace, --wait, -j, ...): see `registry-janitor gc --help`.");
}

/** The config file: the positional, else REGISTRY_CONFIGURATION_PATH (as the reference reads it). */
export function dropInConfig(positional: string | undefined, env: NodeJS.ProcessEnv): string {
  if (positional === '') throw new JanitorError('E_USAGE', 'garbage-collect: the config file argument is empty (an unset shell variable?)');
  const config = positional ?? env.REGISTRY_CONFIGURATION_PATH;
  if (config === undefined || config === '')
    throw new JanitorError('E_USAGE', 'garbage-collect: configuration path unspecified (give the config.yml, or set REGISTRY_CONFIGURATION_PATH)');
  return config;
}

/**
 * The drop-in's report: stdout ends with the reference's summary line (the
 * one cron scripts grep); the janitor's own report goes to stderr (as
 * events with --log-format json). -q (as v3's) silences both; errors still
 * reach stderr.
 */
export function reportDropIn(run: CliRun, result: GcResult, quiet: boolean): void {
  if (quiet) return;
  // --log-format json: the summary event carries the report's counts (telemetry.ts)
  if (!run.telemetry.logJson) run.say(renderGcHuman(result, 'garbage-collect', run.paint));
  run.io.stdout(renderReferenceSummary(result));
}
