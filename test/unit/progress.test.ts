// The progress line (report/progress.ts) on an injected clock: modes,
// throttling, rate and ETA, bytes freed.
import { describe, expect, it } from 'vitest';
import { describeProgress, progressLine, progressMode } from '../../src/report/progress.js';

function clocked(mode: Parameters<typeof progressLine>[0]) {
  let now = 1_000_000;
  const writes: string[] = [];
  const line = progressLine(
    mode,
    (text) => writes.push(text),
    () => now,
  );
  return { line, writes, tick: (ms: number) => (now += ms) };
}

describe('progress mode', () => {
  it('a terminal shows the live line; without one nothing but phase ends, unless --progress; -q and --json show none', () => {
    expect(progressMode({}, true)).toBe('tty');
    expect(progressMode({}, false)).toBe('plain');
    expect(progressMode({ progress: true }, false)).toBe('log');
    expect(progressMode({ progress: true }, true)).toBe('tty');
    expect(progressMode({ quiet: true }, true)).toBe('quiet');
    expect(progressMode({ quiet: true, progress: true }, false)).toBe('quiet');
    expect(progressMode({ json: true }, true)).toBe('quiet');
    expect(progressMode({ json: true, progress: true }, false)).toBe('log');
  });
});

describe('progress line', () => {
  it('on a terminal, redraws at most every 100 ms however often progress comes, and clears itself at the phase end', () => {
    const { line, writes, tick } = clocked('tty');
    line.begin('sweep');
    line.total(1000);
    for (let i = 0; i < 1000; i++) {
      line.advance(1);
      tick(1); // 1000 events over 1 s
    }
    const draws = writes.filter((w) => w.startsWith('\r\x1b[K') && w.length > 4);
    expect(draws.length).toBeLessThanOrEqual(11);
    expect(draws.length).toBeGreaterThanOrEqual(9);
    line.end('sweep', 1000);
    expect(writes.at(-2)).toBe('\r\x1b[K');
    expect(writes.at(-1)).toBe('phase sweep done in 1.00 s\n');
  });

  it('shows done / total, the rate, the ETA and the bytes freed', () => {
    const { line, writes, tick } = clocked('tty');
    line.begin('sweep-blobs');
    line.total(5000);
    tick(2000);
    line.advance(1000, 3 * 1024 * 1024);
    const text = writes.at(-1) ?? '';
    expect(text).toContain('1,000/5,000');
    expect(text).toContain('20%');
    expect(text).toContain('500/s');
    expect(text).toContain('ETA 8 s');
    expect(text).toMatch(/freed/);
  });

  it('--progress without a terminal: plain lines, one at the start of a phase and then at most every 5 s', () => {
    const { line, writes, tick } = clocked('log');
    line.begin('mark');
    line.total(100);
    for (let i = 0; i < 100; i++) {
      line.advance(1);
      tick(120); // 12 s in all
    }
    line.end('mark', 12_000);
    expect(writes.every((w) => w.endsWith('\n') && !w.includes('\x1b'))).toBe(true);
    expect(writes.filter((w) => w.startsWith('mark')).length).toBe(3); // 0 s, 5 s, 10 s
    expect(writes.at(-1)).toBe('phase mark done in 12.00 s\n');
  });

  it('without a terminal nor --progress: only the phase ends; -q: nothing at all', () => {
    const plain = clocked('plain');
    plain.line.begin('sweep');
    plain.line.advance(5);
    plain.line.end('sweep', 10);
    expect(plain.writes).toEqual(['phase sweep done in 0.01 s\n']);
    const quiet = clocked('quiet');
    quiet.line.begin('sweep');
    quiet.line.advance(5);
    quiet.line.end('sweep', 10);
    quiet.line.close();
    expect(quiet.writes).toEqual([]);
  });

  it('a phase with no total and nothing done yet shows its elapsed time', () => {
    expect(describeProgress({ phase: 'inventory', done: 0, total: undefined, bytes: 0, elapsedMs: 1500 })).toBe('inventory  2 s elapsed');
    expect(describeProgress({ phase: 'recheck', done: 4, total: undefined, bytes: 0, elapsedMs: 2000 })).toBe('recheck  4  2/s');
  });
});
