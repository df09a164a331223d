// Colour for the human output, decided once by the CLI: on a terminal and
// without NO_COLOR. Tests and pipes get plain text.
import { Chalk } from 'chalk';
import { ALL_TAGS_REMOVED } from '../select/select-tags.js';

export interface Paint {
  warn(text: string): string;
  alarm(text: string): string;
  strong(text: string): string;
}

export function makePaint(color: boolean): Paint {
  const chalk = new Chalk({ level: color ? 1 : 0 });
  return { warn: (t) => chalk.yellow(t), alarm: (t) => chalk.bold.red(t), strong: (t) => chalk.bold(t) };
}

export const plain: Paint = makePaint(false);

/** Warnings, the loud ones (a repository left with no tag) first and red. */
export function renderWarnings(warnings: readonly string[], paint: Paint): string[] {
  if (warnings.length === 0) return [];
  const loud = warnings.filter((w) => w.startsWith(ALL_TAGS_REMOVED));
  const rest = warnings.filter((w) => !w.startsWith(ALL_TAGS_REMOVED));
  return ['', ...loud.map((w) => paint.alarm(`!!! ${w}`)), ...(rest.length > 0 ? [paint.warn(`warnings (${rest.length}):`), ...rest.map((w) => `  ${w}`)] : [])];
}
