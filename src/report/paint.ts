// Colour for the human output, decided once by the process entry (main.ts,
// colorWanted) and handed to the CLI. Tests and pipes get plain text.
import { Chalk } from 'chalk';

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

/**
 * Whether to colour stdout, by the rules Node's own tty.getColorDepth
 * applies: FORCE_COLOR first ('', 1, 2, 3 or true: colour; any other value,
 * 0 and false among them: none), then NO_COLOR or NODE_DISABLE_COLORS set
 * (no-color.org: to any non-empty value) or TERM=dumb (none), then whether
 * stdout is a terminal.
 */
export function colorWanted(env: NodeJS.ProcessEnv, stdoutIsTty: boolean): boolean {
  const force = env.FORCE_COLOR;
  if (force !== undefined) return ['', '1', '2', '3', 'true'].includes(force);
  if (env.NO_COLOR || env.NODE_DISABLE_COLORS || env.TERM === 'dumb') return false;
  return stdoutIsTty;
}
