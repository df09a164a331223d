// Sizes for --free: a number and a 1024-based unit, e.g. 500M, 50G, 1.5T.
// Strict: a unit is required (a bare `50` is more likely a slip than 50
// bytes), `GB`/`MB` are refused rather than guessed at (1000 or 1024?), and
// the value must be above zero.
import { JanitorError } from '../errors.js';

const UNIT: Readonly<Record<string, number>> = { B: 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40, P: 2 ** 50 };

/** Bytes (rounded up to a whole byte) of `500M`, `50G`, `1.5T`, `2GiB`, `512K`, `100B`. */
export function parseSize(text: string, where: string): number {
  const match = /^(\d+(?:\.\d+)?)([BKMGTP])(?:i?B)?$/i.exec(text);
  const unit = match ? UNIT[(match[2] ?? '').toUpperCase()] : undefined;
  const bytes = match && unit !== undefined ? Math.ceil(Number(match[1]) * unit) : NaN;
  const bad = (why: string): never => {
    throw new JanitorError('E_USAGE', `${where}: ${why} ${JSON.stringify(text)} (use a number and B, K, M, G, T or P, 1024-based: 500M, 50G, 1.5T)`);
  };
  if (!match || unit === undefined) return bad('invalid size');
  if (unit === 1 && /iB$/i.test(text)) return bad('invalid size');
  if (/^\d+(?:\.\d+)?[KMGTP]B$/i.test(text) && !/iB$/i.test(text)) return bad('ambiguous size (1000- or 1024-based?); write it without the B, or as GiB:');
  if (!Number.isSafeInteger(bytes)) return bad('size too large');
  if (bytes <= 0) return bad('size must be above zero:');
  return bytes;
}
