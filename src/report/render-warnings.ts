// Warnings as text. Each warning is a typed value (errors.ts: a code, the
// message, the repository or path it is about); the renderer decides how
// loud each code is: a repository left with no tag first, in red.

import type { Warning, WarningCode } from '../errors.js';
import type { Paint } from './paint.js';

const LOUD: ReadonlySet<WarningCode> = new Set(['W_ALL_TAGS_REMOVED']);

export function renderWarnings(warnings: readonly Warning[], paint: Paint): string[] {
  if (warnings.length === 0) return [];
  const loud = warnings.filter((w) => LOUD.has(w.code));
  const rest = warnings.filter((w) => !LOUD.has(w.code));
  return [
    '',
    ...loud.map((w) => paint.alarm(`!!! ${w.message}`)),
    ...(rest.length > 0 ? [paint.warn(`warnings (${rest.length}):`), ...rest.map((w) => `  ${w.message}`)] : []),
  ];
}
