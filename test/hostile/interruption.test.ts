// Exact recovery: a run killed after any number of removals, then the same
// command run again, ends exactly where the uninterrupted run ends (every
// file and every directory), with exit 0. Covers the journal of `prune` and
// `tags rm` (tags already removed are neither "missing" nor untagged-before)
// and the empty directories an interrupted removal leaves.
import { describe, expect, it } from 'vitest';
import type { Digest } from '../../src/model/digest.js';
import { forPlatform, type WritableFileSystem } from '../support/tree-builder.js';
import { runCliOn } from '../support/run-cli.js';
import { type MemFs, ROOT, V2, killedAfter, markLockHolderDead, memTree } from '../support/memfs-tree.js';

const NOW = Date.UTC(2026, 10, 23);
const DAY = 86_400_000;

function world() {
  const mem = memTree();
  const t = mem.tree;
  const kids = ['amd64', 'arm64'].map((a) => forPlatform(t.pushImage('app', { layers: ['base', `app-${a}`], format: 'oci' }), a));
  const index = t.pushIndex('app', kids);
  t.tag('app', 'v1', index.digest, NOW - 90 * DAY);
  const v2 = t.pushImage('app', { layers: ['base', 'two'], format: 'oci' });
  t.tag('app', 'v2', v2.digest, NOW - 60 * DAY);
  t.tag('app', 'v3', t.pushImage('app', { layers: ['base', 'three'] }).digest, NOW - 40 * DAY);
  t.tag('app', 'latest', t.pushImage('app', { layers: ['base', 'four'] }).digest, NOW - DAY);
  t.pushImage('app', { layers: ['sig-of-v2'], format: 'oci', subject: v2 });
  t.pushImage('app', { layers: ['untagged-before'] });
  t.tag('lib', 'old', t.pushImage('lib', { layers: ['base', 'lib-old'] }).digest, NOW - 50 * DAY);
  t.tag('lib', 'new', t.pushImage('lib', { layers: ['base', 'lib-new'] }).digest, NOW - 2 * DAY);
  t.putBlob('orphan');
  return mem;
}

/** Every file and directory under the root: what "ends where" compares. */
function state(fs: WritableFileSystem): string[] {
  const out: string[] = [];
  const walk = (dir: string, rel: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const path = `${rel}/${entry.name}`;
      out.push(entry.isDirectory() ? `${path}/` : path);
      if (entry.isDirectory()) walk(`${dir}/${entry.name}`, path);
    }
  };
  walk(ROOT, '');
  return out.sort();
}

const cli = (fs: WritableFileSystem, args: string[]) => runCliOn(fs, args, { now: NOW });

/** Each tag that stays still resolves: current link, revision link, manifest blob. */
function assertTagsResolve(fs: MemFs, tags: [string, string][]): void {
  for (const [repo, tag] of tags) {
    const digest = Buffer.from(fs.readFileSync(`${V2}/repositories/${repo}/_manifests/tags/${tag}/current/link`)).toString() as Digest;
    const hex = digest.slice(7);
    expect(() => fs.lstatSync(`${V2}/repositories/${repo}/_manifests/revisions/sha256/${hex}/link`), `${repo}:${tag}`).not.toThrow();
    expect(() => fs.lstatSync(`${V2}/blobs/sha256/${hex.slice(0, 2)}/${hex}/data`), `${repo}:${tag}`).not.toThrow();
  }
}

const COMMANDS: { args: string[]; kept: [string, string][] }[] = [
  {
    args: ['gc', '-m'],
    kept: [
      ['app', 'v1'],
      ['app', 'latest'],
      ['lib', 'new'],
    ],
  },
  {
    args: ['prune', 'app:v1', 'app:v2'],
    kept: [
      ['app', 'v3'],
      ['app', 'latest'],
      ['lib', 'new'],
    ],
  },
  {
    args: ['prune', '--older-than', '30d', '--keep-latest', '1'],
    kept: [
      ['app', 'latest'],
      ['lib', 'new'],
    ],
  },
  {
    args: ['prune', '-m', '--tag', '^v', '--older-than', '45d'],
    kept: [
      ['app', 'v3'],
      ['app', 'latest'],
      ['lib', 'new'],
    ],
  },
  {
    args: ['tags', 'rm', 'app:v1', 'app:v3', 'lib:old'],
    kept: [
      ['app', 'v2'],
      ['app', 'latest'],
      ['lib', 'new'],
    ],
  },
];

describe('rerunning the same command after a kill at any removal ends where the uninterrupted run ends', () => {
  for (const { args, kept } of COMMANDS) {
    it(args.join(' '), async () => {
      const clean = world();
      const uninterrupted = await cli(clean.fs, [...args, '--root', ROOT]);
      expect(uninterrupted.code, uninterrupted.stderr).toBe(0);
      const expected = state(clean.fs);
      const removals = state(world().fs).length - expected.length;
      expect(removals).toBeGreaterThan(3);
      let completedAt: number | undefined;
      for (let budget = 0; completedAt === undefined; budget++) {
        const mem = world();
        const killed = await cli(killedAfter(mem.fs, budget), [...args, '--root', ROOT]);
        if (killed.code === 0) {
          completedAt = budget;
          break;
        }
        expect(killed.code, killed.stderr).toBe(1);
        expect(killed.stderr).toMatch(/part-way/);
        assertTagsResolve(mem.fs, kept);
        markLockHolderDead(mem.fs);
        const rerun = await cli(mem.fs, [...args, '--root', ROOT]);
        expect(rerun.code, `rerun after a kill at removal ${budget}: ${rerun.stderr}`).toBe(0);
        expect(state(mem.fs), `after a kill at removal ${budget} and a rerun`).toEqual(expected);
      }
      // Every removal was a kill point: one unlink or rmdir per file and directory.
      expect(completedAt).toBeGreaterThanOrEqual(removals);
    });
  }

  it('another command leaves the journal of an interrupted prune alone and says how to finish it', async () => {
    const mem = world();
    const killed = await cli(killedAfter(mem.fs, 3), ['prune', 'app:v1', '--root', ROOT]);
    expect(killed.code).toBe(1);
    markLockHolderDead(mem.fs);
    const other = await cli(mem.fs, ['gc', '--root', ROOT, '-d']);
    expect(other.code).toBe(0);
    expect(other.stdout).toMatch(/an interrupted `registry-janitor prune app:v1 --root \/srv\/registry` .* has not finished; rerun that command/);
    expect(() => mem.fs.lstatSync(`${V2}/_janitor/journal.json`)).not.toThrow();
    const rerun = await cli(mem.fs, ['prune', 'app:v1', '--root', ROOT]);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(() => mem.fs.lstatSync(`${V2}/_janitor/journal.json`)).toThrow();
  });

  it('a tag re-pushed after the interruption is a new tag: the rerun keeps it', async () => {
    const mem = world();
    const killed = await cli(killedAfter(mem.fs, 4), ['prune', '--older-than', '30d', '--keep-latest', '1', '--root', ROOT]);
    expect(killed.code).toBe(1);
    markLockHolderDead(mem.fs);
    // app:v1 was removed first; someone pushes v1 again, now.
    mem.tree.tag('app', 'v1', mem.tree.pushImage('app', { layers: ['base', 'v1-again'] }).digest, NOW);
    const rerun = await cli(mem.fs, ['prune', '--older-than', '30d', '--keep-latest', '1', '--root', ROOT]);
    expect(rerun.code, rerun.stderr).toBe(0);
    assertTagsResolve(mem.fs, [['app', 'v1']]);
  });
});

describe('the journal belongs to one command', () => {
  const JOURNAL = `${V2}/_janitor/journal.json`;

  it('a tag re-pushed to the same digest after the interruption is a new push: the rerun keeps it', async () => {
    const mem = world();
    const killed = await cli(killedAfter(mem.fs, 4), ['prune', '--older-than', '30d', '--keep-latest', '1', '--root', ROOT]);
    expect(killed.code).toBe(1);
    markLockHolderDead(mem.fs);
    // app:v2 was chosen but not reached yet; it is pushed again, same digest, now.
    const link = `${V2}/repositories/app/_manifests/tags/v2/current/link`;
    mem.fs.utimesSync(link, NOW / 1000, NOW / 1000);
    const rerun = await cli(mem.fs, ['prune', '--older-than', '30d', '--keep-latest', '1', '--root', ROOT]);
    expect(rerun.code, rerun.stderr).toBe(0);
    assertTagsResolve(mem.fs, [['app', 'v2']]);
  });

  it('a dry run of the same command shows what the rerun will do', async () => {
    const mem = world();
    const killed = await cli(killedAfter(mem.fs, 12), ['prune', 'app:v1', 'app:v2', '--root', ROOT]);
    expect(killed.code).toBe(1);
    expect(() => mem.fs.lstatSync(`${V2}/repositories/app/_manifests/tags/v1`)).toThrow(); // app:v1 is gone already
    markLockHolderDead(mem.fs);
    const dry = await cli(mem.fs, ['prune', 'app:v1', 'app:v2', '-d', '--root', ROOT, '--json']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout).tagsRemoved.map((t: { tag: string }) => t.tag)).toEqual(['v1', 'v2']);
  });

  it('another command that would remove tags refuses instead of replacing the pending journal', async () => {
    const mem = world();
    const killed = await cli(killedAfter(mem.fs, 3), ['tags', 'rm', 'app:v1', 'app:v3', '--root', ROOT]);
    expect(killed.code).toBe(1);
    markLockHolderDead(mem.fs);
    const before = state(mem.fs);
    const other = await cli(mem.fs, ['prune', 'lib:old', '--root', ROOT]);
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/an interrupted `registry-janitor tags rm app:v1 app:v3 --root \/srv\/registry` .* has not finished: rerun it first/);
    expect(state(mem.fs)).toEqual(before.filter((p) => !p.endsWith('/_janitor/lock')));
    const rerun = await cli(mem.fs, ['tags', 'rm', 'app:v1', 'app:v3', `--root=${ROOT}/`]);
    expect(rerun.code, rerun.stderr).toBe(0); // the root spelled differently is the same command
    expect(() => mem.fs.lstatSync(JOURNAL)).toThrow();
  });

  it('a policy edited since the interruption is another command', async () => {
    const mem = world();
    mem.fs.writeFileSync('/policy.yml', 'rules:\n  - keepLatest: 1\n');
    const killed = await cli(killedAfter(mem.fs, 3), ['prune', '--policy', '/policy.yml', '--root', ROOT]);
    expect(killed.code).toBe(1);
    markLockHolderDead(mem.fs);
    mem.fs.writeFileSync('/policy.yml', 'rules:\n  - keepLatest: 10\n');
    const edited = await cli(mem.fs, ['prune', '--policy', '/policy.yml', '--root', ROOT]);
    expect(edited.stdout + edited.stderr).toMatch(/has not finished/);
    expect(() => mem.fs.lstatSync(JOURNAL)).not.toThrow();
  });

  it('a kill before the journal is in place leaves nothing a rerun does not clear', async () => {
    const clean = world();
    expect((await cli(clean.fs, ['prune', 'app:v1', '--root', ROOT])).code).toBe(0);
    const mem = world();
    let renames = 0;
    const fs = new Proxy(mem.fs, {
      get(target, prop, receiver) {
        if (prop === 'renameSync') {
          return (from: string, to: string) => {
            if (renames++ === 0) throw Object.assign(new Error('killed'), { code: 'EIO' });
            target.renameSync(from, to);
          };
        }
        const value = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const killed = await cli(fs, ['prune', 'app:v1', '--root', ROOT]);
    expect(killed.code).toBe(1);
    expect(killed.stderr).toMatch(/cannot write the journal .* \(nothing was deleted\)/);
    markLockHolderDead(mem.fs);
    expect((await cli(mem.fs, ['prune', 'app:v1', '--root', ROOT])).code).toBe(0);
    expect(state(mem.fs)).toEqual(state(clean.fs));
  });
});
