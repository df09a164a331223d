// tags rm --plan FILE and apply FILE of such a plan, on memfs: the plan
// round trip (hostile names, plan show), apply on an unchanged tree
// removing exactly what tags rm removes, a tag moved, re-pushed or removed
// since the plan left alone, another root refused, and an interrupted
// apply finished by applying again.
import { describe, expect, it } from 'vitest';
import { runTagsRm } from '../../src/commands/tags-rm/index.js';
import { TagsRmApplication } from '../../src/commands/tags-rm/tags-plan.js';
import { runCliOn } from '../support/run-cli.js';
import { TreeBuilder } from '../support/tree-builder.js';
import { type MemFs, ROOT, killedAfter, markLockHolderDead, memTree } from '../support/memfs-tree.js';

const NOW = Date.UTC(2026, 10, 23);
const PLAN = '/plans/tags.jsonl';
const HOSTILE_REPO = 'a0/b.c_d__e-f---g/h.i';
const HOSTILE_TAG = `_${'Az09_.-'.repeat(18)}X`.slice(0, 128);
const DAY = 86_400_000;

function world() {
  const mem = memTree();
  const t = mem.tree;
  mem.fs.mkdirSync('/plans', { recursive: true });
  const a = t.pushImage('app', { layers: ['base', 'a'] });
  const b = t.pushImage('app', { layers: ['base', 'b'] });
  // Pushed 10, 9, ... days ago: --keep-latest has an order to keep.
  ['v1', 'v2', 'v3', 'v4'].forEach((tag, i) => t.tag('app', tag, i % 2 === 0 ? a.digest : b.digest, Date.now() - (10 - i) * DAY));
  const h = t.pushImage(HOSTILE_REPO, { layers: ['h'] });
  t.tag(HOSTILE_REPO, HOSTILE_TAG, h.digest, Date.now() - 10 * DAY);
  t.tag(HOSTILE_REPO, 'keep', h.digest, Date.now() - 10 * DAY);
  return { mem, t, a, b, h };
}

const cli = (fs: MemFs, args: string[]) => runCliOn(fs, args, { now: NOW });
const underRoot = (mem: ReturnType<typeof world>['mem']): string[] => mem.files().filter((f) => !f.startsWith('plans/'));
const tagDir = (repo: string, tag: string): string => `docker/registry/v2/repositories/${repo}/_manifests/tags/${tag}/current/link`;
const SELECTIONS = [
  ['app:v1', `${HOSTILE_REPO}:${HOSTILE_TAG}`],
  ['--repo', 'app', '--tag', '^v', '--keep-latest', '1'],
];

async function plan(fs: MemFs, selection: string[]) {
  const run = await cli(fs, ['tags', 'rm', ...selection, '--root', ROOT, '--plan', PLAN, '--json']);
  expect(run.code, run.stderr).toBe(0);
  return run;
}

describe('tags rm --plan', () => {
  it('writes a plan and nothing under the root; plan show reads it; apply on an unchanged tree removes exactly what tags rm removes', async () => {
    for (const selection of SELECTIONS) {
      const direct = world();
      const run = await cli(direct.mem.fs, ['tags', 'rm', ...selection, '--root', ROOT, '--json']);
      expect(run.code, run.stderr).toBe(0);
      const w = world();
      const before = underRoot(w.mem);
      const planned = await plan(w.mem.fs, selection);
      expect(planned.json.dryRun).toBe(true);
      expect(planned.json.plan.totals.tags).toBe(run.json.tagsRemoved.length);
      expect(underRoot(w.mem)).toEqual(before);
      const records = Buffer.from(w.mem.fs.readFileSync(PLAN))
        .toString()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { type: string; command?: string; tag?: string });
      expect(records[0]).toMatchObject({ type: 'header', command: 'tags rm' });
      expect(records.filter((r) => r.type === 'target').map((r) => r.tag)).toEqual(run.json.tagsRemoved.map((d: { tag: string }) => d.tag));
      const show = await cli(w.mem.fs, ['plan', 'show', PLAN, '--json']);
      expect(show.code, show.stderr).toBe(0);
      expect(show.json.groups).toContainEqual(expect.objectContaining({ kind: 'tag', repository: 'app' }));

      const applied = await cli(w.mem.fs, ['apply', PLAN, '--json']);
      expect(applied.code, applied.stderr).toBe(0);
      expect(applied.json.dryRun).toBe(false);
      expect(applied.json.tagsRemoved.map((d: { tag: string }) => d.tag)).toEqual(run.json.tagsRemoved.map((d: { tag: string }) => d.tag));
      expect(applied.json.apply).toMatchObject({ command: 'tags rm', repositoriesReread: 0, dropped: [], droppedCounts: [] });
      expect(underRoot(w.mem), selection.join(' ')).toEqual(underRoot(direct.mem));
      const human = await cli(w.mem.fs, ['apply', PLAN]);
      expect(human.code, human.stderr).toBe(0);
      expect(human.stdout).toContain('applied the plan');
    }
  });

  it('apply leaves a tag moved, re-pushed to the same digest or removed since the plan, and removes the rest', async () => {
    const w = world();
    await plan(w.mem.fs, ['app:v1', 'app:v2', 'app:v3', `${HOSTILE_REPO}:${HOSTILE_TAG}`]);
    w.t.tag('app', 'v1', w.b.digest, Date.now() - 60_000); // moved to another manifest
    w.t.tag('app', 'v2', w.b.digest, Date.now() - 60_000); // pushed again, same manifest
    // Removed through the API: the registry removes the tag's directory.
    (w.mem.fs as unknown as { rmSync(p: string, o: { recursive: true }): void }).rmSync(
      `${ROOT}/docker/registry/v2/repositories/${HOSTILE_REPO}/_manifests/tags/${HOSTILE_TAG}`,
      { recursive: true },
    );
    const run = await cli(w.mem.fs, ['apply', PLAN, '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.json.tagsRemoved.map((d: { tag: string }) => d.tag)).toEqual(['v3']);
    expect(run.json.apply.dropped).toEqual([
      { kind: 'tag', repository: 'app', digest: w.a.digest, tag: 'v1', reason: 'repushed' },
      { kind: 'tag', repository: 'app', digest: w.b.digest, tag: 'v2', reason: 'repushed' },
    ]);
    expect(run.json.apply.droppedCounts).toHaveLength(2);
    expect(run.json.apply.droppedCounts).toEqual(
      expect.arrayContaining([
        { kind: 'tag', reason: 'repushed', count: 2 },
        { kind: 'tag', reason: 'gone', count: 1 },
      ]),
    );
    expect(run.json.apply.reread).toEqual([HOSTILE_REPO, 'app'].sort());
    const files = w.mem.files();
    for (const tag of ['v1', 'v2', 'v4']) expect(files).toContain(tagDir('app', tag));
    expect(files).not.toContain(tagDir('app', 'v3'));
    expect(files).toContain(tagDir(HOSTILE_REPO, 'keep'));
  });

  it('apply refuses a plan made for another root, and a gc plan given to TagsRmApplication, deleting nothing', async () => {
    const w = world();
    await plan(w.mem.fs, ['app:v1']);
    const other = new TreeBuilder(w.mem.fs, '/elsewhere/docker/registry/v2');
    other.tag('app', 'v1', other.pushImage('app', { layers: ['z'] }).digest);
    const before = w.mem.files();
    const elsewhere = await cli(w.mem.fs, ['apply', PLAN, '--root', '/elsewhere']);
    expect(elsewhere.code).toBe(1);
    expect(elsewhere.stderr).toMatch(/made for .* not/);
    expect(w.mem.files()).toEqual(before);
    expect((await cli(w.mem.fs, ['gc', '--root', ROOT, '--plan', '/plans/gc.jsonl'])).code).toBe(0);
    expect(() => new TagsRmApplication(w.mem.fs, '/plans/gc.jsonl')).toThrow(/is a gc plan, not a tags rm plan/);
    const inside = await cli(w.mem.fs, ['tags', 'rm', 'app:v1', '--root', ROOT, '--plan', `${ROOT}/p.jsonl`]);
    expect(inside.code).toBe(2);
  });

  it('an apply interrupted at any point is finished by applying the same plan again', async () => {
    const selection = SELECTIONS[1] ?? [];
    const direct = world();
    await cli(direct.mem.fs, ['tags', 'rm', ...selection, '--root', ROOT]);
    const expected = underRoot(direct.mem);
    const options = (fs: MemFs) => ({
      dryRun: false,
      selector: undefined,
      apply: new TagsRmApplication(fs, PLAN),
      journal: { fingerprint: 'apply test', command: 'apply' },
    });
    let completed = false;
    for (let budget = 0; budget < 40 && !completed; budget++) {
      const w = world();
      await plan(w.mem.fs, selection);
      const first = await runTagsRm(killedAfter(w.mem.fs, budget), ROOT, options(w.mem.fs));
      if (!first.sweepError) {
        completed = true;
        continue;
      }
      markLockHolderDead(w.mem.fs);
      const rerun = await runTagsRm(w.mem.fs, ROOT, options(w.mem.fs));
      expect(rerun.sweepError, `budget ${budget}`).toBeUndefined();
      expect(underRoot(w.mem), `after a crash at removal ${budget} and a rerun`).toEqual(expected);
    }
    expect(completed).toBe(true);
  });
});
