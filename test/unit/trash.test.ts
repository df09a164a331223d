// --trash DIR on memfs: what gc -m, prune and tags rm would delete is moved
// into DIR (one rename each, a write-ahead manifest), `trash restore` puts
// every file back as it was, `trash empty` deletes for good; each refusal.
import nodeFs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runGc } from '../../src/commands/gc/index.js';
import type { FileStats, FileSystem } from '../../src/storage/file-system.js';
import { TRASH_MANIFEST, type TrashRecord, itemNameOf } from '../../src/storage/trash-manifest.js';
import { completeInBash } from '../support/bash-completion.js';
import { type MemFs, ROOT, V2, exists, listFiles, markLockHolderDead, memTree } from '../support/memfs-tree.js';
import { runCliOn } from '../support/run-cli.js';
import { forPlatform } from '../support/tree-builder.js';

const TRASH = '/srv/trash';

function build() {
  const mem = memTree();
  const t = mem.tree;
  const kids = ['amd64', 'arm64'].map((a) => forPlatform(t.pushImage('app', { layers: ['base', `app-${a}`], format: 'oci' }), a));
  t.tag('app', 'v2', t.pushIndex('app', kids).digest);
  const oldKids = ['amd64', 'arm64'].map((a) => forPlatform(t.pushImage('app', { layers: ['base', `old-${a}`], format: 'oci' }), a));
  t.tag('app', 'v1', t.pushIndex('app', oldKids).digest);
  t.tag('lib', 'old', t.pushImage('lib', { layers: ['lib-old'] }).digest);
  // latest pushed over an older image: that one is untagged now, in latest's index history (a tag index entry -m removes).
  const before = t.pushImage('lib', { layers: ['lib-untagged'] });
  t.tag('lib', 'latest', before.digest);
  t.tag('lib', 'latest', t.pushImage('lib', { layers: ['base', 'lib'] }).digest);
  t.putBlob('orphan');
  mem.fs.mkdirSync('/srv', { recursive: true });
  return mem;
}

/** Every file under the root with its bytes: the tree as the registry serves it. */
function contents(fs: MemFs): Map<string, string> {
  const out = new Map<string, string>();
  for (const file of listFiles(fs, ROOT)) out.set(file, Buffer.from(fs.readFileSync(`${ROOT}/${file}`)).toString('hex'));
  return out;
}

/** Every directory under v2 (a restore must bring back the ones the sweep removed), _janitor/ aside. */
function directories(fs: MemFs): string[] {
  const out: string[] = [];
  const walk = (at: string): void => {
    for (const entry of fs.readdirSync(at, { withFileTypes: true })) {
      if (!entry.isDirectory() || entry.name === '_janitor') continue;
      out.push(`${at}/${entry.name}`);
      walk(`${at}/${entry.name}`);
    }
  };
  walk(V2);
  return out.sort();
}

function namesIn(fs: MemFs, dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .map((e) => e.name)
    .sort();
}

function manifestLines(fs: MemFs): string[] {
  return Buffer.from(fs.readFileSync(`${TRASH}/${TRASH_MANIFEST}`))
    .toString()
    .split('\n')
    .filter(Boolean);
}

describe('--trash', () => {
  it('gc -m --trash deletes what gc -m deletes from the tree, frees nothing, and trash restore gives back every file and directory', async () => {
    const direct = build();
    await runGc(direct.fs, ROOT, { dryRun: false, deleteUntagged: true });
    const mem = build();
    const before = contents(mem.fs);
    const dirsBefore = directories(mem.fs);
    const run = await runCliOn(mem.fs, ['gc', '-m', '--root', ROOT, '--trash', TRASH]);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('no space is freed until');
    // The tree as a direct run leaves it; what went is in the trash, one directory per item.
    expect(listFiles(mem.fs, V2)).toEqual(listFiles(direct.fs, V2));
    const records = manifestLines(mem.fs)
      .slice(1)
      .map((l) => JSON.parse(l) as TrashRecord);
    expect(records.length).toBeGreaterThan(5);
    for (const r of records) expect(exists(mem.fs, `${TRASH}/${itemNameOf(r)}`), r.path).toBe(true);
    // What the sweep had moved aside went in with its quarantine directory: a group each, one rename.
    expect(records.filter((r) => r.in !== undefined).map((r) => r.kind)).toEqual(expect.arrayContaining(['blob', 'revision']));
    expect(records.filter((r) => r.in !== undefined).every((r) => r.kind === 'blob' || r.kind === 'revision')).toBe(true);
    expect(namesIn(mem.fs, TRASH)).toEqual([...new Set(records.map((r) => r.in ?? r.id)), TRASH_MANIFEST].sort());
    expect(new Set(records.map((r) => r.kind))).toEqual(new Set(['blob', 'revision', 'layerLink', 'tagIndexEntry']));
    // Quarantined items are recorded where they were before the sweep moved them aside.
    expect(records.every((r) => !r.path.startsWith('_janitor'))).toBe(true);

    const restored = await runCliOn(mem.fs, ['trash', 'restore', TRASH]);
    expect(restored.stderr).not.toMatch(/error|warning/);
    expect(restored.code).toBe(0);
    expect(restored.stdout).toContain(`${records.length} items restored`);
    expect(contents(mem.fs)).toEqual(before);
    expect(directories(mem.fs)).toEqual(dirsBefore);
    // Idempotent: a rerun finds nothing left to do; the manifest keeps only its header.
    expect(manifestLines(mem.fs)).toHaveLength(1);
    const again = await runCliOn(mem.fs, ['trash', 'restore', TRASH, '--json']);
    expect(again.code).toBe(0);
    expect(again.json).toMatchObject({ ok: true, restored: 0, refused: [], unnamed: [] });
    expect(contents(mem.fs)).toEqual(before);
  });

  it('tags rm --trash, prune --trash and --remove-empty-repos: restore brings back the tag directories and the emptied repository', async () => {
    const mem = build();
    const before = contents(mem.fs);
    const dirsBefore = directories(mem.fs);
    expect((await runCliOn(mem.fs, ['tags', 'rm', 'lib:old', '--root', ROOT, '--trash', TRASH])).code).toBe(0);
    expect(exists(mem.fs, `${V2}/repositories/lib/_manifests/tags/old`)).toBe(false);
    const prune = await runCliOn(mem.fs, ['prune', 'app:v1', 'app:v2', '-m', '--remove-empty-repos', '--root', ROOT, '--trash', TRASH]);
    expect(prune.code).toBe(0);
    expect(exists(mem.fs, `${V2}/repositories/app`)).toBe(false);
    const kinds = manifestLines(mem.fs)
      .slice(1)
      .map((l) => (JSON.parse(l) as { kind: string }).kind);
    expect(kinds).toContain('tag');
    expect(kinds).toContain('directory');
    const restored = await runCliOn(mem.fs, ['trash', 'restore', TRASH]);
    expect(restored.code).toBe(0);
    expect(contents(mem.fs)).toEqual(before);
    expect(directories(mem.fs)).toEqual(dirsBefore);
  });

  it('trash restore refuses to overwrite what reappeared, restores the rest, and exits 1', async () => {
    const mem = build();
    const before = contents(mem.fs);
    await runCliOn(mem.fs, ['gc', '-m', '--root', ROOT, '--trash', TRASH]);
    const blob = manifestLines(mem.fs)
      .slice(1)
      .map((l) => JSON.parse(l) as { kind: string; path: string })
      .find((r) => r.kind === 'blob');
    if (!blob) throw new Error('no blob trashed');
    mem.fs.mkdirSync(`${V2}/${blob.path}`, { recursive: true });
    mem.fs.writeFileSync(`${V2}/${blob.path}/data`, 'pushed again');
    const restored = await runCliOn(mem.fs, ['trash', 'restore', TRASH, '--json']);
    expect(restored.code).toBe(1);
    expect(restored.json.refused).toEqual([{ path: blob.path, reason: expect.stringContaining('exists again') }]);
    expect(Buffer.from(mem.fs.readFileSync(`${V2}/${blob.path}/data`)).toString()).toBe('pushed again');
    const now = contents(mem.fs);
    for (const [file, bytes] of before) if (!file.startsWith(`docker/registry/v2/${blob.path}`)) expect(now.get(file), file).toBe(bytes);
    // The refused item stays in the trash, named by the manifest.
    expect(manifestLines(mem.fs)).toHaveLength(2);
  });

  it('a record edited to point outside the root, cut short or given an inherited kind, restores nothing out of place: its item stays, the rest come back', async () => {
    const mem = build();
    await runCliOn(mem.fs, ['gc', '-m', '--root', ROOT, '--trash', TRASH]);
    const lines = manifestLines(mem.fs);
    const records = lines.slice(1).map((l) => JSON.parse(l) as TrashRecord);
    const [first, second, third] = records;
    if (!first || !second || !third) throw new Error('fewer than three items trashed');
    // What an edited record's item leaves unnamed: the item, in its group when another record names the group, else the group whole.
    const leftBy = (r: TrashRecord): string => (r.in === undefined ? r.id : records.slice(3).some((o) => o.in === r.in) ? itemNameOf(r) : r.in);
    lines[1] = JSON.stringify({ ...first, path: '../../etc' });
    lines[2] = (lines[2] ?? '').slice(0, 40);
    // A name every object inherits: not a kind (a lookup in an object would find a function).
    lines[3] = JSON.stringify({ ...third, kind: 'constructor' });
    mem.fs.writeFileSync(`${TRASH}/${TRASH_MANIFEST}`, `${lines.join('\n')}\n`);
    const restored = await runCliOn(mem.fs, ['trash', 'restore', TRASH, '--json']);
    expect(restored.code).toBe(1);
    expect(restored.json.unnamed.sort()).toEqual([...new Set([first, second, third].map(leftBy))].sort());
    expect(restored.json.restored).toBe(lines.length - 4);
    expect(restored.json.warnings.map((w: { code: string }) => w.code)).toEqual(['W_TRASH_LINE', 'W_TRASH_LINE', 'W_TRASH_LINE']);
    expect(exists(mem.fs, '/etc')).toBe(false);
    expect(exists(mem.fs, `${TRASH}/${itemNameOf(first)}`)).toBe(true);
    expect(exists(mem.fs, `${TRASH}/${itemNameOf(second)}`)).toBe(true);
    // trash empty deletes none of them either (never unknown content).
    const emptied = await runCliOn(mem.fs, ['trash', 'empty', TRASH, '--json']);
    expect(emptied.code).toBe(1);
    expect(exists(mem.fs, `${TRASH}/${itemNameOf(first)}`)).toBe(true);
  });

  it('trash empty --older-than deletes the old items for good and keeps the young; a rerun does nothing more', async () => {
    const mem = build();
    await runCliOn(mem.fs, ['tags', 'rm', 'lib:old', '--root', ROOT, '--trash', TRASH]);
    await runCliOn(mem.fs, ['gc', '-m', '--root', ROOT, '--trash', TRASH]);
    const lines = manifestLines(mem.fs);
    const day = 86_400_000;
    // The tag went "two days ago", the sweep's items now.
    const tag = JSON.parse(lines[1] ?? '') as { id: string; kind: string; time: string };
    expect(tag.kind).toBe('tag');
    lines[1] = JSON.stringify({ ...tag, time: new Date(Date.now() - 2 * day).toISOString() });
    mem.fs.writeFileSync(`${TRASH}/${TRASH_MANIFEST}`, `${lines.join('\n')}\n`);
    const emptied = await runCliOn(mem.fs, ['trash', 'empty', TRASH, '--older-than', '1d', '--json']);
    expect(emptied.code).toBe(0);
    expect(emptied.json).toMatchObject({ ok: true, deleted: 1, kept: lines.length - 2 });
    expect(exists(mem.fs, `${TRASH}/${tag.id}`)).toBe(false);
    expect(manifestLines(mem.fs)).toHaveLength(lines.length - 1);
    const all = await runCliOn(mem.fs, ['trash', 'empty', TRASH, '--json']);
    expect(all.json).toMatchObject({ ok: true, deleted: lines.length - 2, kept: 0 });
    expect(all.json.bytesFreed).toBeGreaterThan(0);
    expect(namesIn(mem.fs, TRASH)).toEqual([TRASH_MANIFEST]);
  });

  it("trash empty refuses an item whose content is not its kind's shape, deletes the rest", async () => {
    const mem = build();
    await runCliOn(mem.fs, ['gc', '-m', '--root', ROOT, '--trash', TRASH]);
    const lines = manifestLines(mem.fs);
    const blob = lines
      .slice(1)
      .map((l) => JSON.parse(l) as TrashRecord)
      .find((r) => r.kind === 'blob');
    if (!blob) throw new Error('no blob trashed');
    mem.fs.writeFileSync(`${TRASH}/${itemNameOf(blob)}/precious`, "not the registry's");
    const emptied = await runCliOn(mem.fs, ['trash', 'empty', TRASH, '--json']);
    expect(emptied.code).toBe(1);
    expect(emptied.json.refused).toHaveLength(1);
    expect(Buffer.from(mem.fs.readFileSync(`${TRASH}/${itemNameOf(blob)}/precious`)).toString()).toBe("not the registry's");
    expect(exists(mem.fs, `${TRASH}/${itemNameOf(blob)}/data`)).toBe(true);
    // Its group keeps it alone; every other item and group is gone.
    expect(namesIn(mem.fs, TRASH)).toEqual([blob.in ?? blob.id, TRASH_MANIFEST].sort());
    if (blob.in !== undefined) expect(namesIn(mem.fs, `${TRASH}/${blob.in}`)).toEqual([itemNameOf(blob).split('/')[1]]);
  });

  describe('refuses a DIR, with one line, exit 2 and nothing deleted', () => {
    const refusal = async (setup: (fs: MemFs) => FileSystem, dir: string, message: RegExp): Promise<void> => {
      const mem = build();
      const fs = setup(mem.fs);
      const before = contents(mem.fs);
      const run = await runCliOn(fs, ['gc', '-m', '--root', ROOT, '--trash', dir]);
      expect(run.code).toBe(2);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(run.stderr).toMatch(message);
      expect(contents(mem.fs)).toEqual(before);
    };
    it('inside docker/registry/v2', () => refusal((fs) => fs, `${V2}/trash`, /inside the registry tree/));
    it('v2 itself', () => refusal((fs) => fs, V2, /inside the registry tree/));
    it('the root, which holds v2', () => refusal((fs) => fs, ROOT, /holds the registry tree/));
    it('a symbolic link', () =>
      refusal(
        (fs) => {
          fs.mkdirSync('/srv/real-trash', { recursive: true });
          fs.symlinkSync('/srv/real-trash', TRASH);
          return fs;
        },
        TRASH,
        /symbolic link/,
      ));
    it('a file', () =>
      refusal(
        (fs) => {
          fs.writeFileSync(TRASH, 'x');
          return fs;
        },
        TRASH,
        /not a directory/,
      ));
    it('a directory with something else in it', () =>
      refusal(
        (fs) => {
          fs.mkdirSync(TRASH, { recursive: true });
          fs.writeFileSync(`${TRASH}/notes.txt`, 'mine');
          return fs;
        },
        TRASH,
        /not empty and not a registry-janitor trash/,
      ));
    it('the trash of another tree', () =>
      refusal(
        (fs) => {
          fs.mkdirSync(TRASH, { recursive: true });
          fs.writeFileSync(
            `${TRASH}/${TRASH_MANIFEST}`,
            '{"registryJanitorTrash":1,"v2":"/elsewhere/docker/registry/v2","createdAt":"2026-01-01T00:00:00Z"}\n',
          );
          return fs;
        },
        TRASH,
        /trash of another tree/,
      ));
    it('a missing parent', () => refusal((fs) => fs, '/nowhere/trash', /parent directory .* does not exist/));
    it('another filesystem (st_dev)', () =>
      refusal(
        (fs) => {
          fs.mkdirSync('/mnt/other', { recursive: true });
          // /mnt is another device, as a tmpfs would be.
          return new Proxy(fs, {
            get(target, prop, receiver) {
              if (prop === 'lstatSync')
                return (p: string): FileStats => {
                  const stats = target.lstatSync(p);
                  return p.startsWith('/mnt') ? Object.assign(Object.create(Object.getPrototypeOf(stats) as object) as FileStats, stats, { dev: 99 }) : stats;
                };
              const value = Reflect.get(target, prop, receiver);
              return typeof value === 'function' ? value.bind(target) : value;
            },
          });
        },
        '/mnt/other/trash',
        /another filesystem/,
      ));
    it('an empty value', () => refusal((fs) => fs, '', /empty/));
  });
});

/** Throws like a killed process after `budget` renames and manifest appends: nothing more is moved or written. */
function killedAfterMoves(fs: MemFs, budget: number): MemFs {
  let left = budget;
  return new Proxy(fs, {
    get(target, prop, receiver) {
      if (prop === 'renameSync' || prop === 'writeSync') {
        return (...args: unknown[]) => {
          if (left-- <= 0) throw Object.assign(new Error('killed'), { code: 'EIO' });
          return (target[prop] as (...a: unknown[]) => unknown)(...args);
        };
      }
      const value = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

describe('--trash interrupted', () => {
  it('at every point: the rerun ends where a direct run ends, and restore gives back the tree as it was', async () => {
    const direct = build();
    await runGc(direct.fs, ROOT, { dryRun: false, deleteUntagged: true });
    const expected = listFiles(direct.fs, V2);
    const pristine = build();
    const before = contents(pristine.fs);
    let completedAt: number | undefined;
    for (let budget = 0; budget < 200 && completedAt === undefined; budget++) {
      const mem = build();
      // Killed before the sweep (the lock's write, the trash's header) it throws; in the sweep it reports.
      const first = await runGc(killedAfterMoves(mem.fs, budget), ROOT, { dryRun: false, deleteUntagged: true, trash: TRASH }).catch(() => undefined);
      if (first !== undefined && first.sweepError === undefined) completedAt = budget;
      markLockHolderDead(mem.fs);
      const rerun = await runCliOn(mem.fs, ['gc', '-m', '--root', ROOT, '--trash', TRASH]);
      expect(rerun.code, `budget ${budget}: ${rerun.stderr}`).toBe(0);
      expect(listFiles(mem.fs, V2), `budget ${budget}`).toEqual(expected);
      const restored = await runCliOn(mem.fs, ['trash', 'restore', TRASH]);
      expect(restored.code, `budget ${budget}: ${restored.stdout}`).toBe(0);
      expect(contents(mem.fs), `budget ${budget}`).toEqual(before);
    }
    expect(completedAt).toBeGreaterThan(10);
  });
});

describe('completion of the trash commands', () => {
  it('bash completes trash restore|empty, their flags, and a directory for --trash', async () => {
    const run = await runCliOn(memTree().fs, ['completion', 'bash']);
    expect(run.code).toBe(0);
    const dir = nodeFs.mkdtempSync(path.join(os.tmpdir(), 'rj-trash-completion-'));
    const file = path.join(dir, 'registry-janitor.bash');
    nodeFs.writeFileSync(file, run.stdout);
    nodeFs.mkdirSync(path.join(dir, 'trash-here'));
    const complete = (line: string): string[] => completeInBash(file, line).sort();
    try {
      expect(complete('registry-janitor tr')).toEqual(['trash']);
      expect(complete('registry-janitor trash ')).toEqual(expect.arrayContaining(['empty', 'restore']));
      expect(complete('registry-janitor trash empty --ol')).toEqual(['--older-than']);
      expect(complete('registry-janitor trash restore --w')).toEqual(['--wait']);
      expect(complete('registry-janitor gc --tra')).toEqual(['--trash']);
      expect(complete('registry-janitor tags rm --tra')).toEqual(['--trash']);
      expect(complete(`registry-janitor gc --trash ${dir}/trash-h`)).toEqual([path.join(dir, 'trash-here')]);
    } finally {
      nodeFs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
