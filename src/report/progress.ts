// The phase lines on stderr (commands/phases.ts calls them as phases go).
//
//   tty   a live line per phase: items done / total where known, rate, ETA,
//         bytes freed so far; redrawn on progress, at most every 100 ms (no
//         timer, no loop: a phase that reports nothing keeps its last line);
//         cleared when the phase ends, which leaves `phase X done in N s`
//   log   (--progress without a terminal) the same line as plain text, at a
//         phase's start and at most every 5 s, for a log file
//   plain (no terminal, no --progress) only `phase X done in N s`
//   quiet (-q) nothing: errors alone reach stderr
//
// Writes go through `write`, which never throws (cli.ts: a full or closed
// stderr loses the line, not the run).

import type { ProgressListener } from '../commands/phases.js';
import { formatBytes } from './format.js';

export type ProgressMode = 'tty' | 'log' | 'plain' | 'quiet';

/** Milliseconds between two drawings of the line. */
export const REDRAW_MS: Record<'tty' | 'log', number> = { tty: 100, log: 5000 };

export function progressMode(flags: { quiet?: boolean; progress?: boolean; json?: boolean }, stderrIsTty: boolean): ProgressMode {
  if (flags.quiet) return 'quiet';
  if (flags.progress) return stderrIsTty ? 'tty' : 'log';
  // --json: stdout is for the one object, and stderr stays quiet unless --progress.
  if (flags.json) return 'quiet';
  return stderrIsTty ? 'tty' : 'plain';
}

/**
 * The listener for a mode (timePhases); `now` in ms (tests pin it).
 * `bytesVerb`: what the bytes a phase reports are (gc: freed; verify --content: read).
 */
export function progressLine(
  mode: ProgressMode,
  write: (text: string) => void,
  now: () => number = Date.now,
  bytesVerb = 'freed',
): ProgressListener & { close(): void } {
  let phase = '';
  let started = 0;
  let total: number | undefined;
  let done = 0;
  let bytes = 0;
  let drawnAt = Number.NEGATIVE_INFINITY;
  let drawn = false;
  const draw = (force: boolean): void => {
    if (mode !== 'tty' && mode !== 'log') return;
    const at = now();
    if (!force && at - drawnAt < REDRAW_MS[mode]) return;
    drawnAt = at;
    const text = describeProgress({ phase, done, total, bytes, elapsedMs: at - started, bytesVerb });
    if (mode === 'tty') {
      write(`\r\x1b[K${text}`);
      drawn = true;
    } else write(`${text}\n`);
  };
  const clear = (): void => {
    if (drawn) write('\r\x1b[K');
    drawn = false;
  };
  return {
    begin(name) {
      phase = name;
      started = now();
      total = undefined;
      done = 0;
      bytes = 0;
      draw(true);
    },
    total(items) {
      total = items;
      draw(false);
    },
    advance(items, freed = 0) {
      done += items;
      bytes += freed;
      draw(false);
    },
    end(name, ms) {
      clear();
      if (mode !== 'quiet') write(`phase ${name} done in ${(ms / 1000).toFixed(2)} s\n`);
    },
    close: clear,
  };
}

/** One progress line: `sweep-blobs 1,200/5,000 24% 410/s ETA 9 s 1.2 MB freed`. */
export function describeProgress(p: { phase: string; done: number; total: number | undefined; bytes: number; elapsedMs: number; bytesVerb?: string }): string {
  const parts = [p.phase];
  const count = p.done.toLocaleString('en-US');
  if (p.total !== undefined && p.total > 0) {
    parts.push(`${count}/${p.total.toLocaleString('en-US')}`, `${Math.floor((100 * Math.min(p.done, p.total)) / p.total)}%`);
  } else if (p.done > 0) parts.push(count);
  const seconds = p.elapsedMs / 1000;
  const rate = seconds > 0 ? p.done / seconds : 0;
  if (p.done > 0 && rate > 0) {
    parts.push(`${Math.round(rate).toLocaleString('en-US')}/s`);
    if (p.total !== undefined && p.total > p.done) parts.push(`ETA ${formatSeconds((p.total - p.done) / rate)}`);
  }
  if (p.bytes > 0) parts.push(`${formatBytes(p.bytes)} ${p.bytesVerb ?? 'freed'}`);
  if (p.done === 0) parts.push(`${formatSeconds(seconds)} elapsed`);
  return parts.join('  ');
}

function formatSeconds(seconds: number): string {
  const s = Math.ceil(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ${s % 60} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}
