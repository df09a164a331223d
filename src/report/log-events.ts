// --log-format json: stderr as NDJSON, one event a line, each with its time
// (ISO 8601), level and kind: phase-begin, phase-end, progress (the
// deletions and reads of a running phase, at most one a second), warning,
// summary, error, and message for any other line the CLI says.

import type { PhaseProgress, ProgressListener } from '../commands/phases.js';
import type { Warning } from '../errors.js';

type Level = 'info' | 'warning' | 'error';
type Write = (line: string) => void;

/** One event line. */
export function logEvent(nowMs: number, level: Level, event: string, fields: object = {}): string {
  return `${JSON.stringify({ time: new Date(nowMs).toISOString(), level, event, ...fields })}\n`;
}

/** Text the CLI writes to stderr, as events: its `error:` and `warning:` lines keep their level. */
export function textEvents(text: string, nowMs: number): string {
  let out = '';
  for (const raw of text.split(/\r|\n/)) {
    // eslint-disable-next-line no-control-regex -- a terminal's erase-line sequence is no part of a message
    const line = raw.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').trim();
    if (line === '') continue;
    const error = /^(?:registry-janitor: )?error: (.*)$/s.exec(line);
    const warning = /^registry-janitor: warning: (.*)$/s.exec(line);
    if (error) out += logEvent(nowMs, 'error', 'error', { message: error[1] });
    else if (warning) out += logEvent(nowMs, 'warning', 'message', { message: warning[1] });
    else out += logEvent(nowMs, 'info', 'message', { message: line.replace(/^registry-janitor: /, '') });
  }
  return out;
}

export function warningEvents(warnings: readonly Warning[], nowMs: number): string {
  return warnings
    .map((w) => logEvent(nowMs, 'warning', 'warning', { code: w.code, message: w.message, repository: w.repository ?? null, path: w.path ?? null }))
    .join('');
}

/** Progress events are at most this far apart per phase (and one at its end). */
const PROGRESS_EVERY_MS = 1000;

/** A phase listener that writes events: begin, progress (throttled), end. */
export function eventListener(write: Write, now: () => number): ProgressListener {
  let phase = '';
  let done = 0;
  let bytes = 0;
  let total: number | undefined;
  let reported = 0;
  let lastMs = 0;
  const progress = (force: boolean): void => {
    const at = now();
    if (done === reported || (!force && at - lastMs < PROGRESS_EVERY_MS)) return;
    lastMs = at;
    reported = done;
    write(logEvent(at, 'info', 'progress', { phase, done, total: total ?? null, bytes }));
  };
  const counts: PhaseProgress = {
    total(items) {
      total = items;
    },
    advance(items, more = 0) {
      done += items;
      bytes += more;
      progress(false);
    },
  };
  return {
    ...counts,
    begin(name) {
      phase = name;
      done = 0;
      bytes = 0;
      total = undefined;
      reported = 0;
      lastMs = now();
      write(logEvent(lastMs, 'info', 'phase-begin', { phase }));
    },
    end(name, ms) {
      progress(true);
      write(logEvent(now(), 'info', 'phase-end', { phase: name, seconds: Math.round(ms) / 1000, done, bytes }));
    },
  };
}
