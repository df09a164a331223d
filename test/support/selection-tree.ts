// The memfs tree and the checks the hostile tag-selection suites share
// (test/hostile/selection-rules.test.ts and selection-matching.test.ts):
// tags pushed a known number of days before a pinned clock, the CLI run at
// that clock, and a refusal that must change nothing.
import { expect } from 'vitest';
import type { WritableFileSystem } from './tree-builder.js';
import { memTree } from './memfs-tree.js';
import { runCliOn } from './run-cli.js';

export const NOW = Date.UTC(2026, 10, 23, 12);
export const DAY = 86_400_000;

/** team/app (v1, v1.2.3, build-9, ci-7, latest) and lib/base (v1), each tag pushed its age in days before NOW. */
export function tree() {
  const mem = memTree();
  const { tree: t } = mem;
  const push = (repo: string, tag: string, ageDays: number) => {
    const d = t.pushImage(repo, { layers: ['base', `${repo}-${tag}`] });
    t.tag(repo, tag, d.digest, NOW - ageDays * DAY);
  };
  push('team/app', 'v1', 90);
  push('team/app', 'v1.2.3', 80);
  push('team/app', 'build-9', 35);
  push('team/app', 'ci-7', 20);
  push('team/app', 'latest', 1);
  push('lib/base', 'v1', 100);
  return mem;
}

export const cli = (fs: WritableFileSystem, args: string[]) => runCliOn(fs, args, { now: NOW });

/** The tags a --json run of tags rm or prune removed, as sorted `repository:tag`. */
export const removed = (json: { tagsRemoved: { repository: string; tag: string }[] }): string[] =>
  json.tagsRemoved.map((t) => `${t.repository}:${t.tag}`).sort();

/** Runs `args` on both selecting commands; expects one error line matching `message`, exit `code`, nothing changed. */
export async function expectRefused(args: string[], code: number, message: RegExp, setup?: (fs: ReturnType<typeof tree>['fs']) => void) {
  for (const command of [['tags', 'rm'], ['prune']]) {
    const mem = tree();
    setup?.(mem.fs);
    const before = mem.files();
    const run = await cli(mem.fs, [...command, ...args]);
    expect(run.code, `${command.join(' ')} ${args.join(' ')}: ${run.stderr}`).toBe(code);
    const errors = run.stderr.split('\n').filter((line) => line.startsWith('registry-janitor: error:'));
    expect(errors, run.stderr).toHaveLength(1);
    expect(errors[0]).toMatch(message);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(mem.files()).toEqual(before);
  }
}
