// Colour for the human output, decided once by the CLI: on a terminal and
// without NO_COLOR. Tests and pipes get plain text.
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
