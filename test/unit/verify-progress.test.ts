// verify --content draws gc's progress line (report/progress.ts): the check
// counts repositories, the content phase blobs and the bytes read; with
// --progress and no terminal, as log lines; with --json, nothing on stderr.
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/index.js';
import { ROOT } from '../support/memfs-tree.js';
import { sampleTree } from '../support/sample-tree.js';

async function verify(args: string[], options: { tty?: boolean } = {}) {
  const { fs } = sampleTree();
  let stdout = '';
  let stderr = '';
  let clock = 0;
  const code = await runCli(['verify', '--root', ROOT, ...args], {
    fs,
    env: {},
    stdout: (s) => void (stdout += s),
    stderr: (s) => void (stderr += s),
    stderrIsTty: options.tty === true,
    // Six seconds a reading: every drawing is due, in both modes.
    clock: () => (clock += 6000),
  });
  return { code, stdout, stderr };
}

describe('verify --content progress', () => {
  it('with --progress (no terminal): log lines of the check (repositories) and the content (blobs, bytes read)', async () => {
    const run = await verify(['--content', '--progress']);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stderr.split('\n');
    expect(lines.filter((l) => l.startsWith('check  ')).at(-1)).toMatch(/^check {2}2\/2 {2}100%/);
    const content = lines.filter((l) => l.startsWith('content  '));
    expect(content.length).toBeGreaterThan(1);
    expect(content.at(-1)).toMatch(/^content {2}(\d+)\/\1 {2}100% .* \d+(\.\d)? (B|KiB) read$/);
    expect(lines.filter((l) => l.startsWith('phase content done in '))).toEqual([expect.stringMatching(/^phase content done in \d+\.\d\d s$/)]);
  });

  it('on a terminal: a live line redrawn in place and cleared at the end of each phase', async () => {
    const run = await verify(['--content'], { tty: true });
    expect(run.code).toBe(0);
    const CLEAR = '\r\x1b[K';
    const draws = run.stderr.split(CLEAR);
    expect(draws.some((d) => /^content {2}\d+\/\d+ {2}\d+%/.test(d))).toBe(true);
    // The last drawing of the content phase is cleared before its phase line.
    expect(draws.find((d) => d.startsWith('phase content done in'))).toBeDefined();
    expect(draws[draws.findIndex((d) => d.startsWith('phase content done in')) - 1]).toMatch(/read$/);
  });

  it('without a terminal or --progress: phase lines only; with --json: nothing', async () => {
    const plain = await verify(['--content']);
    expect(plain.stderr.split('\n').filter(Boolean)).toEqual(
      ['inventory', 'check', 'content'].map((p) => expect.stringMatching(new RegExp(`^phase ${p} done in`))),
    );
    const json = await verify(['--content', '--json']);
    expect(json.stderr).toBe('');
    expect(JSON.parse(json.stdout).content.blobs).toBeGreaterThan(5);
  });
});
