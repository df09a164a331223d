// What the reports of a --trash run say (memfs): the human report of gc,
// prune, tags rm and apply says what went was moved to the trash DIR and
// that nothing was freed, never "deleted" or "freed"; the JSON's `trash`
// field names DIR and counts, kind by kind, exactly the items DIR holds.
import { describe, expect, it } from 'vitest';
import { TRASH_MANIFEST, type TrashRecord, itemNameOf } from '../../src/storage/trash-manifest.js';
import { type MemFs, ROOT, exists, listFiles, memTree } from '../support/memfs-tree.js';
import { runCliOn } from '../support/run-cli.js';

const TRASH = '/srv/trash';
const PLAN = '/srv/plan.jsonl';

function build(): MemFs {
  const mem = memTree();
  const t = mem.tree;
  t.tag('app', 'v1', t.pushImage('app', { layers: ['base', 'app-v1'] }).digest);
  t.tag('app', 'v2', t.pushImage('app', { layers: ['base', 'app-v2'] }).digest);
  t.tag('lib', 'old', t.pushImage('lib', { layers: ['lib-old'] }).digest);
  // latest pushed over an older image: that one is untagged now (-m takes it).
  t.tag('lib', 'latest', t.pushImage('lib', { layers: ['lib-untagged'] }).digest);
  t.tag('lib', 'latest', t.pushImage('lib', { layers: ['base', 'lib'] }).digest);
  t.putBlob('orphan');
  mem.fs.mkdirSync('/srv', { recursive: true });
  return mem.fs;
}

interface Record {
  id: string;
  kind: string;
  in?: string;
  size: number;
}

/** The records of items actually in DIR (a directory record names no item), counted by kind, and their bytes. */
function inTrash(fs: MemFs): { items: number; bytes: number; byKind: { [kind: string]: number } } {
  const names = new Set(fs.readdirSync(TRASH, { withFileTypes: true }).map((e) => e.name));
  const records = Buffer.from(fs.readFileSync(`${TRASH}/${TRASH_MANIFEST}`))
    .toString()
    .split('\n')
    .slice(1)
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record)
    .filter((r) => r.kind !== 'directory' && exists(fs, `${TRASH}/${itemNameOf(r as TrashRecord)}`));
  // every item or its group, and the manifest; and every group holds only its items
  expect([...names].sort()).toEqual([...new Set(records.map((r) => r.in ?? r.id)), TRASH_MANIFEST].sort());
  for (const group of new Set(records.map((r) => r.in).filter((g) => g !== undefined)))
    expect(fs.readdirSync(`${TRASH}/${group}`, { withFileTypes: true }).length).toBe(records.filter((r) => r.in === group).length);
  const byKind: { [kind: string]: number } = {};
  for (const r of records) byKind[r.kind] = (byKind[r.kind] ?? 0) + 1;
  return { items: records.length, bytes: records.reduce((n, r) => n + r.size, 0), byKind };
}

/** The human report says where things went and that nothing was freed; none of its lines says deleted or freed. */
function expectTrashWording(stdout: string): void {
  expect(stdout).toContain(`moved to the trash ${TRASH}`);
  for (const line of stdout.split('\n')) {
    expect(line).not.toMatch(/\bdeleted\b|\bpurged\b/);
    if (/\bfreed\b/.test(line)) expect(line).toContain(`nothing is freed until \`registry-janitor trash empty ${TRASH}\``);
  }
}

describe('the reports of a --trash run', () => {
  it('gc -m --trash: the human report says moved to the trash DIR, nothing freed', async () => {
    const fs = build();
    const run = await runCliOn(fs, ['gc', '-m', '--root', ROOT, '--trash', TRASH]);
    expect(run.code).toBe(0);
    expectTrashWording(run.stdout);
    expect(run.stdout).toMatch(/\d+ blobs and \d+ manifests moved to the trash\n/);
    expect(inTrash(fs).items).toBeGreaterThan(5);
    // Without --trash the same run still says deleted and freed.
    const direct = await runCliOn(build(), ['gc', '-m', '--root', ROOT]);
    expect(direct.stdout).toMatch(/manifests deleted\n/);
    expect(direct.stdout).not.toContain('trash');
  });

  it('gc -m --trash --json: `trash` names DIR and counts exactly the items in it, by kind, with their bytes', async () => {
    const fs = build();
    const run = await runCliOn(fs, ['gc', '-m', '--root', ROOT, '--trash', TRASH, '--json']);
    expect(run.code).toBe(0);
    const held = inTrash(fs);
    expect(run.json.trash).toEqual({ dir: TRASH, ...held });
    expect(held.byKind).toMatchObject({ blob: run.json.blobsDeleted.length, revision: run.json.manifestsDeleted.length });
    expect(run.json.trash.bytes).toBe(run.json.bytesFreed);
    // The blobs moved are as many bytes as a run without --trash frees (they pass through the quarantine first).
    const direct = (await runCliOn(build(), ['gc', '-m', '--root', ROOT, '--json'])).json;
    expect(direct.bytesFreed).toBeGreaterThan(0);
    expect(run.json.trash.bytes).toBe(direct.bytesFreed);
    // No --trash: no such field.
    expect(direct).not.toHaveProperty('trash');
  });

  it('a dry run with --trash moves nothing: the JSON counts 0, the report says what would be moved', async () => {
    const fs = build();
    const json = await runCliOn(fs, ['gc', '-m', '-d', '--root', ROOT, '--trash', TRASH, '--json']);
    expect(json.json.trash).toEqual({ dir: TRASH, items: 0, bytes: 0, byKind: {} });
    const human = await runCliOn(fs, ['gc', '-m', '-d', '--root', ROOT, '--trash', TRASH]);
    expect(human.stdout).toContain(`would be moved to the trash ${TRASH}: nothing is freed until`);
    expect(exists(fs, TRASH)).toBe(false);
  });

  it('prune --trash and tags rm --trash: human and JSON', async () => {
    const fs = build();
    const tags = await runCliOn(fs, ['tags', 'rm', 'lib:old', '--root', ROOT, '--trash', TRASH]);
    expect(tags.code).toBe(0);
    expect(tags.stdout).toContain(`1 tag moved to the trash ${TRASH} (\`registry-janitor trash restore ${TRASH}\` puts them back)`);
    const tagsJson = await runCliOn(fs, ['tags', 'rm', 'app:v1', '--root', ROOT, '--trash', TRASH, '--json']);
    expect(tagsJson.json.trash).toEqual({ dir: TRASH, items: 1, bytes: 0, byKind: { tag: 1 } });

    const prune = await runCliOn(fs, ['prune', 'app:v2', '-m', '--root', ROOT, '--trash', TRASH]);
    expect(prune.code).toBe(0);
    expectTrashWording(prune.stdout);
    const before = inTrash(fs);
    const pruneJson = await runCliOn(fs, ['prune', 'lib:latest', '-m', '--root', ROOT, '--trash', TRASH, '--json']);
    expect(pruneJson.code).toBe(0);
    const after = inTrash(fs);
    // This run's items alone: what DIR holds now less what it held before.
    const byKind = Object.fromEntries(
      Object.entries(after.byKind)
        .map(([k, n]) => [k, n - (before.byKind[k] ?? 0)])
        .filter(([, n]) => n !== 0),
    );
    expect(pruneJson.json.trash).toEqual({ dir: TRASH, items: after.items - before.items, bytes: after.bytes - before.bytes, byKind });
    expect(byKind.tag).toBe(1);
  });

  it('apply FILE --trash: human and JSON', async () => {
    const fs = build();
    expect((await runCliOn(fs, ['gc', '-m', '--root', ROOT, '--plan', PLAN])).code).toBe(0);
    const human = await runCliOn(fs, ['apply', PLAN, '--trash', TRASH]);
    expect(human.code).toBe(0);
    expectTrashWording(human.stdout);
    const fresh = build();
    expect((await runCliOn(fresh, ['gc', '-m', '--root', ROOT, '--plan', PLAN])).code).toBe(0);
    const json = await runCliOn(fresh, ['apply', PLAN, '--trash', TRASH, '--json']);
    expect(json.code).toBe(0);
    expect(json.json.trash).toEqual({ dir: TRASH, ...inTrash(fresh) });
    expect(json.json.trash.items).toBeGreaterThan(5);
  });

  it('--free with --trash is refused in one line, exit 2, nothing moved or deleted (the trash frees nothing)', async () => {
    for (const args of [
      ['gc', '-m', '--free', '1K'],
      ['prune', '--tag', 'old', '--free', '1K'],
      ['gc', '-m', '-d', '--free', '1K'],
    ]) {
      const fs = build();
      fs.mkdirSync(TRASH, { recursive: true });
      const before = listFiles(fs, '/srv');
      const run = await runCliOn(fs, [...args, '--root', ROOT, '--trash', TRASH]);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr.trim().split('\n')).toEqual([expect.stringMatching(/--free and --trash: the trash frees no space until `trash empty`/)]);
      expect(listFiles(fs, '/srv')).toEqual(before);
    }
  });
});
