// gc --plan, prune --plan, plan show and apply, on memfs: the plan file's
// format (round trip, truncated, edited, another version, another root,
// hostile names), each kind of change since the plan re-reading exactly
// its repository, apply on an unchanged tree ending where a direct run
// ends, and an interrupted apply finished by applying again.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runGc } from '../../src/commands/gc/index.js';
import { PlanApplication } from '../../src/commands/gc/apply-plan.js';
import type { Digest } from '../../src/model/digest.js';
import { completeInBash } from '../support/bash-completion.js';
import { runCliOn } from '../support/run-cli.js';
import { TreeBuilder } from '../support/tree-builder.js';
import { type MemFs, ROOT, V2, killedAfter, markLockHolderDead, memTree } from '../support/memfs-tree.js';

const NOW = Date.UTC(2026, 10, 23);
const PLAN = '/plans/plan.jsonl';
// The nastiest names the registry accepts: a nested repository of every
// allowed separator, and a 128-character tag of every allowed character.
const HOSTILE_REPO = 'a0/b.c_d__e-f---g/h.i';
const HOSTILE_TAG = `_${'Az09_.-'.repeat(18)}X`.slice(0, 128);

function world() {
  const mem = memTree();
  const t = mem.tree;
  mem.fs.mkdirSync('/plans', { recursive: true });
  const v1 = t.pushImage('app', { layers: ['base', 'app-1'] });
  t.tag('app', 'v1', v1.digest);
  const v2 = t.pushImage('app', { layers: ['base', 'app-2'] });
  t.tag('app', 'v2', v2.digest);
  const old = t.pushImage('app', { layers: ['base', 'app-old'] });
  const lib = t.pushImage('lib', { layers: ['base', 'lib'] });
  t.tag('lib', 'latest', lib.digest);
  const libOld = t.pushImage('lib', { layers: ['lib-old'] });
  const hostile = t.pushImage(HOSTILE_REPO, { layers: ['h-1'] });
  t.tag(HOSTILE_REPO, HOSTILE_TAG, hostile.digest);
  const hostileOld = t.pushImage(HOSTILE_REPO, { layers: ['h-old'] });
  for (let i = 0; i < 3; i++) t.tag(`quiet-${i}`, 'latest', t.pushImage(`quiet-${i}`, { layers: ['base', `quiet-${i}`] }).digest);
  t.putBlob('orphan');
  return { mem, t, v1, v2, old, lib, libOld, hostile, hostileOld };
}

/** memfs's recursive removal (a client deleting a tag through the API removes its directory so). */
const removeTree = (fs: MemFs, path: string): void => (fs as unknown as { rmSync(p: string, o: { recursive: true }): void }).rmSync(path, { recursive: true });

const cli = (fs: MemFs, args: string[]) => runCliOn(fs, args, { now: NOW });

async function planAndApply(fs: MemFs, planArgs: string[] = ['gc', '-m']) {
  const plan = await cli(fs, [...planArgs, '--root', ROOT, '--plan', PLAN, '--json']);
  expect(plan.code, plan.stderr).toBe(0);
  return plan;
}

const apply = async (fs: MemFs, extra: string[] = []) => cli(fs, ['apply', PLAN, '--json', ...extra]);
const lines = (fs: MemFs): string[] => Buffer.from(fs.readFileSync(PLAN)).toString().split('\n').filter(Boolean);
const underRoot = (mem: ReturnType<typeof world>['mem']): string[] => mem.files().filter((f) => !f.startsWith('plans/'));

describe('the plan file', () => {
  it('is written by a plan run that writes nothing under the root, and reads back in plan show', async () => {
    const { mem, old, libOld, hostileOld } = world();
    const before = underRoot(mem);
    const plan = await planAndApply(mem.fs);
    expect(underRoot(mem)).toEqual(before);
    expect(plan.json.dryRun).toBe(true);
    const records = lines(mem.fs).map((l) => JSON.parse(l));
    expect(records[0]).toMatchObject({ type: 'header', format: 'registry-janitor-plan', formatVersion: 1, command: 'gc', v2: V2 });
    expect(records[0].options).toMatchObject({ deleteUntagged: true, graceMs: 3_600_000 });
    expect(records.at(-1)).toMatchObject({ type: 'end', records: records.length - 1 });
    const revisions = records.filter((r) => r.kind === 'revision').map((r) => r.digest);
    expect(revisions.sort()).toEqual([old.digest, libOld.digest, hostileOld.digest].sort());
    expect(records.filter((r) => r.type === 'repository').map((r) => r.name)).toContain(HOSTILE_REPO);
    expect(records.find((r) => r.type === 'repository' && r.name === HOSTILE_REPO).keptTags[0][0]).toBe(HOSTILE_TAG);
    expect(mem.files()).not.toContain('plans/plan.jsonl.tmp');

    const show = await cli(mem.fs, ['plan', 'show', PLAN, '--json']);
    expect(show.code, show.stderr).toBe(0);
    expect(show.json.header.totals.manifests).toBe(3);
    const blobs = show.json.groups.find((g: { kind: string }) => g.kind === 'blob');
    expect(blobs.count).toBe(records[0].totals.blobs);
    const sizes = show.json.largest.map((t: { size: number }) => t.size);
    expect(sizes).toEqual([...sizes].sort((a, b) => b - a));
    const human = await cli(mem.fs, ['plan', 'show', PLAN]);
    expect(human.stdout).toContain(HOSTILE_REPO);
  });

  it('refuses a truncated, edited, empty or foreign file, another format version and another root, in one line, deleting nothing', async () => {
    const { mem } = world();
    await planAndApply(mem.fs);
    const text = Buffer.from(mem.fs.readFileSync(PLAN)).toString();
    const before = underRoot(mem);
    const cases: [string, string, string][] = [
      ['truncated', text.slice(0, text.lastIndexOf('\n', text.length - 2) + 1), 'no end record'],
      ['cut mid-line', text.slice(0, text.length - 10), 'cut short'],
      ['edited', text.replace('"reason":"no manifest that stays references it"', '"reason":"x"'), 'checksum'],
      [
        'a line dropped',
        text
          .split('\n')
          .filter((_, i) => i !== 2)
          .join('\n'),
        'counts',
      ],
      ['empty', '', 'empty'],
      ['foreign', '{"hello":1}\n', 'not a registry-janitor-plan'],
      ['version 2', text.replace('"formatVersion":1', '"formatVersion":2'), 'reads version 1 only'],
    ];
    for (const [what, content, message] of cases) {
      mem.fs.writeFileSync(PLAN, content);
      const run = await apply(mem.fs);
      expect(run.code, what).toBe(1);
      expect(run.stderr.trim().split('\n'), what).toHaveLength(1);
      expect(run.stderr, what).toContain(message);
      expect(underRoot(mem), what).toEqual(before);
    }
    mem.fs.writeFileSync(PLAN, text);
    // Another registry on the same host.
    const other = new TreeBuilder(mem.fs, '/elsewhere/docker/registry/v2');
    other.tag('x', 'y', other.pushImage('x', { layers: ['z'] }).digest);
    const elsewhere = await runCliOn(mem.fs, ['apply', PLAN, '--root', '/elsewhere']);
    expect(elsewhere.code).toBe(1);
    expect(elsewhere.stderr).toMatch(/made for .* not/);
    expect(underRoot(mem)).toEqual(before);
    const inside = await cli(mem.fs, ['gc', '--root', ROOT, '--plan', `${ROOT}/plan.jsonl`]);
    expect(inside.code).toBe(2);
  });
});

describe('apply', () => {
  it('on an unchanged tree deletes exactly what the same command run directly deletes (gc -m, prune)', async () => {
    for (const args of [
      ['gc', '-m'],
      ['prune', 'app:v1'],
      ['prune', '-m', '--tag', '^v', '--keep-latest', '1'],
    ]) {
      const direct = world();
      const run = await cli(direct.mem.fs, [...args, '--root', ROOT, '--json']);
      expect(run.code, run.stderr).toBe(0);
      const planned = world();
      await planAndApply(planned.mem.fs, args);
      const applied = await apply(planned.mem.fs);
      expect(applied.code, applied.stderr).toBe(0);
      expect(applied.json.apply.repositoriesReread, args.join(' ')).toBe(0);
      expect(applied.json.apply.dropped).toEqual([]);
      expect(underRoot(planned.mem), args.join(' ')).toEqual(underRoot(direct.mem));
      expect(applied.json.bytesFreed).toBe(run.json.bytesFreed);
    }
  });

  const changes: [string, string, (w: ReturnType<typeof world>) => Digest | undefined][] = [
    ['a new revision', 'app', (w) => void w.t.pushImage('app', { layers: ['base', 'new'] })],
    ['a new tag on a planned manifest', 'app', (w) => (w.t.tag('app', 'rescued', w.old.digest), w.old.digest)],
    ['a moved tag', 'lib', (w) => (w.t.tag('lib', 'latest', w.libOld.digest, NOW - 3_600_000 * 30), w.libOld.digest)],
    [
      'a removed tag',
      'app',
      (w) => {
        removeTree(w.mem.fs, w.t.pathOf({ kind: 'tagDir', name: 'app', tag: 'v1' }));
        return undefined;
      },
    ],
    ['a new layer link to a planned blob', 'lib', (w) => w.t.pushBlob('lib', 'app-old', 'application/octet-stream').digest],
    [
      'a new repository reusing planned blobs',
      'fresh/repo',
      (w) => {
        const image = w.t.pushImage('fresh/repo', { layers: ['base', 'app-old'] });
        w.t.tag('fresh/repo', 'v1', image.digest);
        return image.layers[1]?.digest;
      },
    ],
  ];
  for (const [what, repository, change] of changes) {
    it(`after ${what} reads that repository again, only it, and keeps what it needs`, async () => {
      const w = world();
      await planAndApply(w.mem.fs);
      const kept = change(w);
      const run = await apply(w.mem.fs);
      expect(run.code, run.stderr).toBe(0);
      expect(run.json.apply.repositoriesReread).toBe(1);
      expect(run.json.apply.reread).toEqual([repository]);
      if (kept) {
        expect(w.mem.files()).toContain(`docker/registry/v2/blobs/sha256/${kept.slice(7, 9)}/${kept.slice(7)}/data`);
        expect(run.json.apply.dropped.some((d: { digest: string | null; reason: string }) => d.digest === kept && d.reason === 'needed')).toBe(true);
      }
      // Whatever else changed, the tree verifies: every tag still pulls.
      const verify = await cli(w.mem.fs, ['verify', '--root', ROOT, '--json']);
      expect(verify.json.tagsBroken, verify.stdout).toBe(0);
    });
  }

  it('a tag pushed onto a planned manifest, its revision link written again (as the registry does): the revision is dropped as needed, not as fresh', async () => {
    const w = world();
    await planAndApply(w.mem.fs);
    w.t.tag('app', 'rescued', w.old.digest);
    const link = `${V2}/repositories/app/_manifests/revisions/sha256/${w.old.digest.slice(7)}/link`;
    const now = Date.now() / 1000;
    // The revisions/sha256 directory too, as a push of any new manifest into app since leaves it (the scan looks no deeper otherwise).
    for (const at of [link, `${V2}/repositories/app/_manifests/revisions/sha256`]) w.mem.fs.utimesSync(at, now, now);
    const run = await apply(w.mem.fs);
    expect(run.code, run.stderr).toBe(0);
    expect(run.json.apply.dropped).toContainEqual({ kind: 'revision', repository: 'app', digest: w.old.digest, tag: null, reason: 'needed' });
    expect(w.mem.files()).toContain(link.slice(ROOT.length + 1));
  });

  it('--trash DIR (the trash feature): apply moves what it deletes there, and trash restore gives back the tree as planned', async () => {
    const direct = world();
    await cli(direct.mem.fs, ['gc', '-m', '--root', ROOT]);
    const w = world();
    const before = underRoot(w.mem);
    await planAndApply(w.mem.fs);
    const run = await apply(w.mem.fs, ['--trash', '/srv/trash']);
    expect(run.code, run.stderr).toBe(0);
    expect(underRoot(w.mem).filter((f) => !f.startsWith('srv/trash/'))).toEqual(underRoot(direct.mem));
    const restored = await cli(w.mem.fs, ['trash', 'restore', '/srv/trash']);
    expect(restored.code, restored.stderr).toBe(0);
    expect(underRoot(w.mem).filter((f) => !f.startsWith('srv/trash/'))).toEqual(before);
  });

  it('a prune plan whose tag was pushed again since keeps that tag and what it needs', async () => {
    const w = world();
    await planAndApply(w.mem.fs, ['prune', 'app:v1']);
    w.t.tag('app', 'v1', w.old.digest, NOW - 1000);
    const run = await apply(w.mem.fs);
    expect(run.code, run.stderr).toBe(0);
    expect(run.json.apply.dropped).toContainEqual({ kind: 'tag', repository: 'app', digest: null, tag: 'v1', reason: 'repushed' });
    expect(w.mem.files()).toContain('docker/registry/v2/repositories/app/_manifests/tags/v1/current/link');
    const verify = await cli(w.mem.fs, ['verify', '--root', ROOT, '--json']);
    expect(verify.json.tagsBroken).toBe(0);
  });

  it('interrupted at any point, is finished by applying the same plan again', async () => {
    for (const args of [
      ['gc', '-m'],
      ['prune', 'app:v1'],
    ]) {
      const direct = world();
      await cli(direct.mem.fs, [...args, '--root', ROOT]);
      const expected = underRoot(direct.mem);
      const removals = underRoot(world().mem).length - expected.length;
      let completed = false;
      for (let budget = 0; budget < removals * 4 && !completed; budget++) {
        const w = world();
        await planAndApply(w.mem.fs, args);
        const first = await runGc(killedAfter(w.mem.fs, budget), ROOT, {
          dryRun: false,
          deleteUntagged: args.includes('-m'),
          graceMs: 3_600_000,
          apply: new PlanApplication(w.mem.fs, PLAN),
          ...(args[0] === 'prune' ? { journal: { fingerprint: 'apply test', command: 'apply' } } : {}),
        });
        if (!first.sweepError) {
          completed = true;
          // The budget ran out on the lock's or the journal's own removal at most (a rerun takes them over).
          expect(underRoot(w.mem).filter((f) => !f.includes('/_janitor/'))).toEqual(expected);
          continue;
        }
        markLockHolderDead(w.mem.fs);
        const rerun = await runGc(w.mem.fs, ROOT, {
          dryRun: false,
          deleteUntagged: args.includes('-m'),
          graceMs: 3_600_000,
          apply: new PlanApplication(w.mem.fs, PLAN),
          ...(args[0] === 'prune' ? { journal: { fingerprint: 'apply test', command: 'apply' } } : {}),
        });
        expect(rerun.sweepError, `${args.join(' ')}: budget ${budget}`).toBeUndefined();
        expect(underRoot(w.mem), `${args.join(' ')}: after a crash at removal ${budget} and a rerun`).toEqual(expected);
      }
      expect(completed, args.join(' ')).toBe(true);
    }
  });
});

describe('completion', () => {
  it('bash completes plan show, apply and --plan', async () => {
    const { mem } = world();
    const run = await cli(mem.fs, ['completion', 'bash']);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rj-plan-completion-'));
    const file = path.join(dir, 'registry-janitor.bash');
    fs.writeFileSync(file, run.stdout);
    const complete = (line: string): string[] => completeInBash(file, line);
    expect(complete('registry-janitor pl')).toEqual(['plan']);
    expect(complete('registry-janitor plan ')).toEqual(['show', '--help']);
    expect(complete('registry-janitor plan show --j')).toEqual(['--json']);
    expect(complete('registry-janitor apply --allow')).toEqual(['--allow-live']);
    expect(complete('registry-janitor gc --pla')).toEqual(['--plan']);
    expect(complete('registry-janitor prune --pla')).toEqual(['--plan']);
    fs.writeFileSync(path.join(dir, 'p.jsonl'), '');
    expect(complete(`registry-janitor gc --plan ${dir}/p.js`)).toEqual([`${dir}/p.jsonl`]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
