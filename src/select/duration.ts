// Durations for --older-than: a whole number and a unit, e.g. 30d, 12h, 90m.
import { JanitorError } from '../errors.js';

const UNIT_MS: Readonly<Record<string, number>> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

export function parseDuration(text: string, where: string): number {
  const match = /^(\d+)([smhdw])$/.exec(text);
  const unitMs = match ? UNIT_MS[match[2] ?? ''] : undefined;
  if (!match || unitMs === undefined) {
    throw new JanitorError('E_USAGE', `${where}: invalid duration ${JSON.stringify(text)} (use a whole number and s, m, h, d or w: 30d, 12h, 90m)`);
  }
  return Number(match[1]) * unitMs;
}
