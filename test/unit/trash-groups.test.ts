// A trash of format 2 takes what the sweep had moved aside a quarantine
// directory at a time (one rename per blob shard, per repository's
// revisions): the records name each item inside its group, restore and
// empty find it there, and each way this can go wrong leaves nothing lost.
// memfs through the injected filesystem.
import { describe, expect, it } from 'vitest';
import type { FileSystem } from '../../src/storage/file-system.js';
import { TRASH_MANIFEST, type TrashRecord, itemNameOf } from '../../src/storage/trash-manifest.js';
import { type MemFs, ROOT, V2, exists, memTree } from '../support/memfs-tree.js';
import { withWritesTo } from '../support/manifest-writes.js';
import { runCliOn } from '../support/run-cli.js';

const TRASH = '/srv/trash';

/** Two repositories, each with a tagged image and an untagged one (-m takes it), and an orphan blob. */
function build() {
  const mem = memTree();
  const t = mem.tree;
  for (const repo of ['app', 'lib']) {
    t.tag(repo, 'v1', t.pushImage(repo, { layers: [`${repo}-base`, `${repo}-kept`] }).digest);
    t.pushImage(repo, { layers: [`${repo}-gone-1`, `${repo}-gone-2`] });
    t.pushImage(repo, { layers: [`${repo}-gone-3`] });
  }
  t.putBlob('orphan');
  mem.fs.mkdirSync('/srv', { recursive: true });
  return mem;
}

function records(fs: MemFs): TrashRecord[] {
  return Buffer.from(fs.readFileSync(`${TRASH}/${TRASH_MANIFEST}`))
    .toString()
    .split('\n')
    .filter(Boolean)
    .slice(1)
    .map((line) => JSON.parse(line) as TrashRecord);
}

function names(fs: MemFs, dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .map((entry) => entry.name)
    .sort();
}

/** The tree a direct gc -m leaves, files only. */
async function directResult(): Promise<string[]> {
  const direct = build();
  expect((await runCliOn(direct.fs, ['gc', '-m', '--root', ROOT, '--grace', '0s'])).code).toBe(0);
  return direct.files();
}

/** `fs` with renameSync replaced where `hook` returns a function for (from, to). */
function withRename(fs: MemFs, hook: (from: string, to: string, rename: () => void) => void): FileSystem {
  return new Proxy(fs, {
    get(target, prop, receiver) {
      if (prop === 'renameSync') return (from: string, to: string) => hook(from, to, () => target.renameSync(from, to));
      const value = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

describe('a trash that takes quarantine directories whole', () => {
  it('moves each quarantine directory with one rename; every item is named inside its group; restore gives the tree back', async () => {
    const mem = build();
    const before = mem.files();
    const renames: string[] = [];
    const fs = withRename(mem.fs, (from, to, rename) => {
      if (to.startsWith(`${TRASH}/`)) renames.push(from);
      rename();
    });
    expect((await runCliOn(fs, ['gc', '-m', '--root', ROOT, '--grace', '0s', '--trash', TRASH])).code).toBe(0);
    expect(mem.files()).toEqual(await directResult());
    const trashed = records(mem.fs);
    const grouped = trashed.filter((r) => r.in !== undefined);
    const groups = new Set(grouped.map((r) => r.in));
    // Every blob the sweep deletes went aside, so into a group; so did the 4 untagged revisions of the 2 repositories.
    const dry = await runCliOn(build().fs, ['gc', '-m', '--root', ROOT, '--grace', '0s', '--dry-run', '--json']);
    expect(grouped.filter((r) => r.kind === 'revision')).toHaveLength(4);
    expect(grouped.filter((r) => r.kind === 'blob')).toHaveLength((dry.json.blobsDeleted as string[]).length);
    // One rename per group (quarantine directories only), one per other item.
    expect(renames.filter((from) => from.includes('/_janitor/'))).toHaveLength(groups.size);
    expect(renames).toHaveLength(groups.size + trashed.length - grouped.length);
    expect(groups.size).toBeLessThan(grouped.length);
    for (const r of trashed) expect(exists(mem.fs, `${TRASH}/${itemNameOf(r)}`), r.path).toBe(true);
    // The quarantine is gone with them.
    expect(exists(mem.fs, `${V2}/_janitor/quarantine`)).toBe(false);
    expect(exists(mem.fs, `${V2}/_janitor/quarantine-revisions`)).toBe(false);

    const restored = await runCliOn(mem.fs, ['trash', 'restore', TRASH, '--json']);
    expect(restored.code).toBe(0);
    expect(restored.json).toMatchObject({ ok: true, restored: trashed.length, refused: [], unnamed: [] });
    expect(mem.files().filter((f) => !f.includes('_janitor/'))).toEqual(before);
    expect(names(mem.fs, TRASH)).toEqual([TRASH_MANIFEST]);
  });

  it('a quarantine directory holding anything else goes one item at a time; the stranger stays where it is', async () => {
    const mem = build();
    const before = mem.files();
    let planted = '';
    const fs = withRename(mem.fs, (_from, to, rename) => {
      rename();
      // Something not of this run appears in the first shard a blob goes aside into.
      if (planted === '' && to.includes('/_janitor/quarantine/sha256/')) {
        planted = `${to.slice(0, to.lastIndexOf('/'))}/stranger`;
        mem.fs.mkdirSync(planted, { recursive: true });
      }
    });
    const run = await runCliOn(fs, ['gc', '-m', '--root', ROOT, '--grace', '0s', '--trash', TRASH]);
    expect(run.code).toBe(0);
    expect(planted).not.toBe('');
    expect(exists(mem.fs, planted)).toBe(true);
    const shard = planted.slice(0, planted.lastIndexOf('/'));
    expect(names(mem.fs, shard)).toEqual(['stranger']);
    // The blobs of that shard went one by one (no group), the others in theirs; none is lost.
    const trashed = records(mem.fs);
    const shardName = shard.slice(shard.lastIndexOf('/') + 1);
    const ofShard = trashed.filter((r) => r.kind === 'blob' && r.path.startsWith(`blobs/sha256/${shardName}/`));
    expect(ofShard.length).toBeGreaterThan(0);
    for (const r of ofShard) expect(r.in).toBeUndefined();
    expect(trashed.some((r) => r.in !== undefined)).toBe(true);
    const direct = await directResult();
    expect(mem.files().filter((f) => !f.includes('_janitor/'))).toEqual(direct);
    expect((await runCliOn(mem.fs, ['trash', 'restore', TRASH])).code).toBe(0);
    expect(mem.files().filter((f) => !f.includes('_janitor/'))).toEqual(before);
  });

  it('an I/O error between the records and the rename: the run stops, what was aside goes back, the rerun ends where a direct run ends, and restore after it gives the tree back', async () => {
    const mem = build();
    const before = mem.files();
    let failed = 0;
    let failedFrom = '';
    const fs = withRename(mem.fs, (from, to, rename) => {
      if (failed === 0 && from.includes('/_janitor/quarantine/') && to.startsWith(`${TRASH}/`)) {
        failed++;
        failedFrom = from;
        throw Object.assign(new Error('EIO: i/o error, rename'), { code: 'EIO' });
      }
      rename();
    });
    const run = await runCliOn(fs, ['gc', '-m', '--root', ROOT, '--grace', '0s', '--trash', TRASH]);
    expect(failed).toBe(1);
    // It was a whole shard's rename, its records written first.
    expect(failedFrom).toMatch(/\/_janitor\/quarantine\/sha256\/[0-9a-f]{2}$/);
    expect(records(mem.fs).filter((r) => r.in !== undefined).length).toBeGreaterThan(0);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('EIO');
    expect(run.stderr).not.toMatch(/\n\s+at /);
    // Every kept tag's files are in place; the records of the group that did not move name nothing.
    const rerun = await runCliOn(mem.fs, ['gc', '-m', '--root', ROOT, '--grace', '0s', '--trash', TRASH]);
    expect(rerun.code).toBe(0);
    expect(mem.files().filter((f) => !f.includes('_janitor/'))).toEqual(await directResult());
    const restored = await runCliOn(mem.fs, ['trash', 'restore', TRASH, '--json']);
    expect(restored.code).toBe(0);
    expect(restored.json.absent).toBeGreaterThan(0);
    expect(mem.files().filter((f) => !f.includes('_janitor/'))).toEqual(before);
  });

  it('a group replaced by a symbolic link: restore and empty refuse its items, and nothing is moved or deleted through it', async () => {
    const mem = build();
    expect((await runCliOn(mem.fs, ['gc', '-m', '--root', ROOT, '--grace', '0s', '--trash', TRASH])).code).toBe(0);
    const victim = records(mem.fs).find((r) => r.kind === 'blob' && r.in !== undefined);
    if (!victim?.in) throw new Error('no group');
    // The group's directory swapped for a link to a kept blob shard holding a blob of the same name.
    const decoy = `${V2}/blobs/sha256/${itemNameOf(victim).split('/')[1]?.slice(0, 2)}`;
    mem.fs.renameSync(`${TRASH}/${victim.in}`, '/srv/away');
    mem.fs.mkdirSync(`${decoy}/${itemNameOf(victim).split('/')[1]}`, { recursive: true });
    mem.fs.writeFileSync(`${decoy}/${itemNameOf(victim).split('/')[1]}/data`, 'kept');
    mem.fs.symlinkSync(decoy, `${TRASH}/${victim.in}`);
    const files = mem.files();
    for (const action of ['restore', 'empty']) {
      const result = await runCliOn(mem.fs, ['trash', action, TRASH, '--json']);
      expect(result.code).toBe(1);
      expect(result.json.refused.length).toBeGreaterThan(0);
      for (const refusal of result.json.refused as { path: string; reason: string }[]) expect(refusal.reason).toContain('symbolic link');
    }
    // The decoy is untouched; what the others were is restored, then nothing deleted through the link.
    expect(Buffer.from(mem.fs.readFileSync(`${decoy}/${itemNameOf(victim).split('/')[1]}/data`)).toString()).toBe('kept');
    expect(mem.files().filter((f) => f.includes(decoy.slice(ROOT.length + 1)))).toEqual(files.filter((f) => f.includes(decoy.slice(ROOT.length + 1))));
  });
});

describe('what is left in a group', () => {
  it('an entry no record names, in a group kept for an item refused, is reported; the refused item stays named', async () => {
    const mem = build();
    expect((await runCliOn(mem.fs, ['gc', '-m', '--root', ROOT, '--grace', '0s', '--trash', TRASH])).code).toBe(0);
    const victim = records(mem.fs).find((r) => r.kind === 'blob' && r.in !== undefined);
    if (!victim?.in) throw new Error('no group');
    // Its blob pushed again (restore refuses to overwrite it), and a stranger in its group.
    mem.fs.mkdirSync(`${V2}/${victim.path}`, { recursive: true });
    mem.fs.writeFileSync(`${V2}/${victim.path}/data`, 'pushed again');
    mem.fs.mkdirSync(`${TRASH}/${victim.in}/stranger`, { recursive: true });
    const restored = await runCliOn(mem.fs, ['trash', 'restore', TRASH, '--json']);
    expect(restored.code).toBe(1);
    expect(restored.json.refused).toEqual([{ path: victim.path, reason: expect.stringContaining('exists again') }]);
    expect(restored.json.unnamed).toEqual([`${victim.in}/stranger`]);
    expect(names(mem.fs, `${TRASH}/${victim.in}`)).toEqual([itemNameOf(victim).split('/')[1], 'stranger'].sort());
  });

  it('a record write cut short (a full disk): the run stops before the rename, nothing moves in without its record, and what was aside goes back', async () => {
    const mem = build();
    const before = mem.files();
    // The header goes in whole; of the first records, up to the first record's first comma: a cut line.
    const short = withWritesTo(mem.fs, `${TRASH}/${TRASH_MANIFEST}`, (n, data, pass) => pass(n > 1 ? data.slice(0, data.indexOf(',') + 1) : data));
    const run = await runCliOn(short, ['gc', '-m', '--root', ROOT, '--grace', '0s', '--trash', TRASH]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/cannot write .*manifest\.jsonl: ENOSPC \(\d+ of \d+ bytes written\)/);
    expect(names(mem.fs, TRASH)).toEqual([TRASH_MANIFEST]);
    expect(mem.files().filter((f) => !f.includes('_janitor/'))).toEqual(before);
    // The next run ends the cut line and finishes; the cut line is reported, the rest restores.
    expect((await runCliOn(mem.fs, ['gc', '-m', '--root', ROOT, '--grace', '0s', '--trash', TRASH])).code).toBe(0);
    expect(mem.files().filter((f) => !f.includes('_janitor/'))).toEqual(await directResult());
    const restored = await runCliOn(mem.fs, ['trash', 'restore', TRASH, '--json']);
    expect(restored.json.warnings.map((w: { code: string }) => w.code)).toEqual(['W_TRASH_LINE']);
    expect(mem.files().filter((f) => !f.includes('_janitor/'))).toEqual(before);
  });
});

describe('formats', () => {
  it('a trash of format 1 (an older version made it) keeps taking items one by one, and restores whole', async () => {
    const mem = build();
    const before = mem.files();
    mem.fs.mkdirSync(TRASH, { recursive: true });
    mem.fs.writeFileSync(`${TRASH}/${TRASH_MANIFEST}`, `${JSON.stringify({ registryJanitorTrash: 1, v2: V2, createdAt: new Date().toISOString() })}\n`);
    expect((await runCliOn(mem.fs, ['gc', '-m', '--root', ROOT, '--grace', '0s', '--trash', TRASH])).code).toBe(0);
    const trashed = records(mem.fs);
    expect(trashed.length).toBeGreaterThan(10);
    for (const r of trashed) expect(r.in).toBeUndefined();
    expect(names(mem.fs, TRASH)).toEqual([...trashed.map((r) => r.id), TRASH_MANIFEST].sort());
    expect((await runCliOn(mem.fs, ['trash', 'restore', TRASH])).code).toBe(0);
    expect(mem.files().filter((f) => !f.includes('_janitor/'))).toEqual(before);
  });

  it('a trash of a newer format is refused whole, in one line, by every command, with nothing touched', async () => {
    const mem = build();
    mem.fs.mkdirSync(TRASH, { recursive: true });
    mem.fs.writeFileSync(`${TRASH}/${TRASH_MANIFEST}`, `${JSON.stringify({ registryJanitorTrash: 3, v2: V2, createdAt: new Date().toISOString() })}\n`);
    const before = mem.files();
    for (const argv of [
      ['gc', '-m', '--root', ROOT, '--trash', TRASH],
      ['trash', 'restore', TRASH],
      ['trash', 'empty', TRASH],
    ]) {
      const run = await runCliOn(mem.fs, argv);
      expect(run.code, argv.join(' ')).toBe(2);
      expect(run.stderr).toContain('a newer registry-janitor made this trash (format 3');
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(mem.files()).toEqual(before);
  });

  it('a record naming a group is refused for a kind that never goes in one, or a group id no run makes', async () => {
    const { checkRecord } = await import('../../src/storage/trash-manifest.js');
    const hex = 'a'.repeat(64);
    const base = { id: 'm1-2-abcdef-3', path: `blobs/sha256/aa/${hex}`, kind: 'blob', digest: `sha256:${hex}`, size: 1, time: new Date().toISOString() };
    expect(checkRecord({ ...base, in: 'm1-2-abcdef-2' })).toBeDefined();
    expect(checkRecord({ ...base, in: '../../etc' })).toBeUndefined();
    expect(checkRecord({ ...base, in: 7 })).toBeUndefined();
    const tag = { id: 'm1-2-abcdef-3', path: 'repositories/app/_manifests/tags/v1', kind: 'tag', repository: 'app', tag: 'v1', size: 0, time: base.time };
    expect(checkRecord({ ...tag, in: 'm1-2-abcdef-2' })).toBeUndefined();
  });
});
