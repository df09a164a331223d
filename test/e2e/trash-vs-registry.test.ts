// --trash against the real registry (Debian's 2.8.2), on a tree pushed
// through it (scenario.ts: multi-arch, nested names, referrers, untagged):
// - `gc -m --trash DIR`, then `trash restore DIR`: the tree is identical to
//   before, file by file (type, size, sha256) and directory by directory,
//   and every tag and every manifest pushed by digest pulls again in full
// - `tags rm --trash` + restore: the tag pulls again
// - `trash empty --older-than` deletes the old items, keeps the young
// - hostile: DIR on a tmpfs, DIR a symlink (exit 2, nothing changed); a
//   blob pushed again into an origin before restore (refused, the rest
//   restored, exit 1); manifest lines edited to point outside the root or
//   cut short (their items stay in DIR, nothing written outside the root)
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { manifestStatus, pullFully, pushBlob, pushPristineTree, startRegistry } from '../support/registry.js';
import { type Pushed, pushScenario } from '../support/scenario.js';
import { copyTree, listContents, runJanitor, snapshot, v2Of } from '../support/tree-files.js';
import { describeWithRegistry } from '../support/with-registry.js';

/** Every tag and every manifest pushed by digest pulls in full (each blob checked against its digest). */
async function assertAllPull(root: string, pushed: Pushed, untagged = true): Promise<void> {
  const registry = await startRegistry(root);
  try {
    for (const { repo, tag } of pushed.tags) await pullFully(registry.url, repo, tag);
    if (untagged) for (const { repo, digest } of pushed.untagged) await pullFully(registry.url, repo, digest);
  } finally {
    await registry.stop();
  }
}

interface Record {
  id: string;
  kind: string;
  path: string;
  time: string;
  digest?: string;
  /** the group it went in with (a blob or revision the sweep had moved aside): its item is <in>/<hex>. */
  in?: string;
}

/** Where a record's item is in the trash. */
function itemOf(trash: string, r: Record): string {
  return r.in === undefined ? path.join(trash, r.id) : path.join(trash, r.in, (r.digest ?? '').split(':')[1] ?? '');
}

function records(trash: string): { header: string; records: Record[] } {
  const [header = '', ...lines] = fs.readFileSync(path.join(trash, 'manifest.jsonl'), 'utf8').split('\n').filter(Boolean);
  return { header, records: lines.map((l) => JSON.parse(l) as Record) };
}

function writeRecords(trash: string, header: string, lines: string[]): void {
  fs.writeFileSync(path.join(trash, 'manifest.jsonl'), `${[header, ...lines].join('\n')}\n`);
}

describeWithRegistry('--trash against the real registry', () => {
  let work: string;
  let pristine: string;
  let pushed: Pushed;

  beforeAll(async () => {
    ({ work, pristine, pushed } = await pushPristineTree('e2e-trash', pushScenario));
  });

  afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('gc -m --trash, then trash restore: the tree is identical, and every tag and untagged manifest pulls again', async () => {
    const root = copyTree(pristine, path.join(work, 'gc'));
    const trash = path.join(work, 'gc-trash');
    const before = listContents(root);
    const run = runJanitor(['gc', '-m', '--root', root, '--trash', trash]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toContain('no space is freed until');
    const { records: moved } = records(trash);
    expect(new Set(moved.map((r) => r.kind))).toEqual(new Set(['blob', 'revision', 'layerLink', 'tagIndexEntry']));
    const after = listContents(root);
    expect(after.length).toBeLessThan(before.length);
    for (const r of moved) expect(fs.existsSync(path.join(v2Of(root), r.path)), r.path).toBe(false);

    const restored = runJanitor(['trash', 'restore', trash, '--json']);
    expect(restored.status, restored.stdout + restored.stderr).toBe(0);
    expect(restored.json).toMatchObject({ ok: true, restored: moved.length, refused: [], unnamed: [] });
    expect(listContents(root)).toEqual(before);
    expect(fs.readdirSync(trash)).toEqual(['manifest.jsonl']);
    await assertAllPull(root, pushed);
  });

  it('tags rm --trash, then trash restore: the tag pulls again', async () => {
    const root = copyTree(pristine, path.join(work, 'tags'));
    const trash = path.join(work, 'tags-trash');
    const before = listContents(root);
    const [victim] = pushed.multiArchTags;
    if (!victim) throw new Error('no multi-arch tag pushed');
    const run = runJanitor(['tags', 'rm', `${victim.repo}:${victim.tag}`, '--root', root, '--trash', trash]);
    expect(run.status, run.stderr).toBe(0);
    const registry = await startRegistry(root);
    try {
      expect(await manifestStatus(registry.url, victim.repo, victim.tag)).toBe(404);
    } finally {
      await registry.stop();
    }
    const restored = runJanitor(['trash', 'restore', trash]);
    expect(restored.status, restored.stdout).toBe(0);
    expect(listContents(root)).toEqual(before);
    await assertAllPull(root, pushed);
  });

  it('trash empty --older-than deletes the old items for good and keeps the young, which restore brings back', async () => {
    const root = copyTree(pristine, path.join(work, 'empty'));
    const trash = path.join(work, 'empty-trash');
    expect(runJanitor(['gc', '-m', '--root', root, '--trash', trash]).status).toBe(0);
    const [victim] = pushed.tags;
    if (!victim) throw new Error('no tag pushed');
    expect(runJanitor(['tags', 'rm', `${victim.repo}:${victim.tag}`, '--root', root, '--trash', trash]).status).toBe(0);
    const { header, records: all } = records(trash);
    const tag = all.at(-1);
    expect(tag?.kind).toBe('tag');
    // The sweep's items moved in two days ago; the tag just now.
    const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000).toISOString();
    writeRecords(
      trash,
      header,
      all.map((r) => JSON.stringify(r.kind === 'tag' ? r : { ...r, time: twoDaysAgo })),
    );
    const emptied = runJanitor(['trash', 'empty', trash, '--older-than', '1d', '--json']);
    expect(emptied.status, emptied.stdout + emptied.stderr).toBe(0);
    expect(emptied.json).toMatchObject({ ok: true, deleted: all.length - 1, kept: 1 });
    expect(emptied.json.bytesFreed).toBeGreaterThan(0);
    expect(fs.readdirSync(trash).sort()).toEqual([tag?.id, 'manifest.jsonl'].sort());
    expect(runJanitor(['trash', 'restore', trash]).status).toBe(0);
    const registry = await startRegistry(root);
    try {
      await pullFully(registry.url, victim.repo, victim.tag);
    } finally {
      await registry.stop();
    }
  });

  it('refuses a DIR on a tmpfs (another filesystem) and a DIR that is a symlink: one line, exit 2, nothing changed', () => {
    const root = copyTree(pristine, path.join(work, 'refusals'));
    const before = snapshot(root);
    const shm = fs.mkdtempSync('/dev/shm/rj-trash-');
    try {
      expect(fs.statSync(shm).dev).not.toBe(fs.statSync(root).dev);
      const tmpfs = runJanitor(['gc', '-m', '--root', root, '--trash', path.join(shm, 'trash')]);
      expect(tmpfs.status).toBe(2);
      expect(tmpfs.stderr.trim().split('\n')).toEqual([expect.stringMatching(/another filesystem than .*nothing was deleted/)]);
      const real = path.join(work, 'real-trash');
      fs.mkdirSync(real);
      const link = path.join(work, 'link-trash');
      fs.symlinkSync(real, link);
      const symlink = runJanitor(['tags', 'rm', `${pushed.tags[0]?.repo}:${pushed.tags[0]?.tag}`, '--root', root, '--trash', link]);
      expect(symlink.status).toBe(2);
      expect(symlink.stderr).toMatch(/symbolic link/);
      const inside = runJanitor(['gc', '--root', root, '--trash', path.join(v2Of(root), 'trash')]);
      expect(inside.status).toBe(2);
      expect(inside.stderr).toMatch(/inside the registry tree/);
      expect(snapshot(root)).toEqual(before);
      expect(fs.readdirSync(real)).toEqual([]);
    } finally {
      fs.rmSync(shm, { recursive: true, force: true });
    }
  });

  it('restore after a blob was pushed again into its origin, with manifest lines edited outside the root or cut short: those are left, the rest restored', async () => {
    const root = copyTree(pristine, path.join(work, 'hostile'));
    const trash = path.join(work, 'hostile-trash');
    const before = listContents(root);
    expect(runJanitor(['gc', '-m', '--root', root, '--trash', trash]).status).toBe(0);
    const { header, records: moved } = records(trash);
    // The orphan blob, pushed again while it is in the trash: the registry writes its origin.
    const orphan = moved.find((r) => r.kind === 'blob' && r.path.endsWith(pushed.orphanBlob.slice('sha256:'.length)));
    if (!orphan) throw new Error('the orphan blob is not in the trash');
    const orphanBytes = fs.readFileSync(path.join(itemOf(trash, orphan), 'data'));
    const registry = await startRegistry(root);
    try {
      await pushBlob(registry.url, 'library/alpine', orphanBytes);
    } finally {
      await registry.stop();
    }
    // Two layer links' records: one pointed outside the root, one cut short.
    const links = moved.filter((r) => r.kind === 'layerLink');
    const [escaped, cut] = links;
    if (!escaped || !cut) throw new Error('fewer than two layer links in the trash');
    writeRecords(
      trash,
      header,
      moved.map((r) =>
        r === escaped ? JSON.stringify({ ...r, path: '../../../../../etc/rj-escape' }) : r === cut ? JSON.stringify(r).slice(0, 50) : JSON.stringify(r),
      ),
    );
    const restoredRun = runJanitor(['trash', 'restore', trash, '--json']);
    expect(restoredRun.status).toBe(1);
    const restored = { json: JSON.parse(restoredRun.stdout) as { refused: unknown[]; unnamed: string[]; restored: number; warnings: { code: string }[] } };
    // The push wrote the blob and its layer link in library/alpine again: both refused, both as the registry wrote them.
    const rewritten = moved.filter((r) => r === orphan || r.path === `repositories/library/alpine/_layers/${pushed.orphanBlob.replace(':', '/')}`);
    expect(rewritten.length).toBeGreaterThanOrEqual(1);
    expect(restored.json.refused).toHaveLength(rewritten.length);
    expect(restored.json.refused).toEqual(
      expect.arrayContaining(rewritten.map((r) => ({ path: r.path, reason: expect.stringContaining('exists again') as unknown }))),
    );
    expect(restored.json.unnamed.sort()).toEqual([escaped.id, cut.id].sort());
    expect(restored.json.restored).toBe(moved.length - 2 - rewritten.length);
    expect(restored.json.warnings.map((w) => w.code)).toEqual(['W_TRASH_LINE', 'W_TRASH_LINE']);
    expect(fs.existsSync('/etc/rj-escape')).toBe(false);
    for (const r of [...rewritten, escaped, cut]) expect(fs.existsSync(itemOf(trash, r)), r.path).toBe(true);
    // Everything but the two links left in the trash is back as it was (the orphan, pushed again, with the same bytes).
    const missing = new Set([escaped.path, cut.path].map((p) => `d ${p}`));
    const linkFiles = new Set([escaped.path, cut.path].map((p) => `${p}/link`));
    expect(listContents(root)).toEqual(before.filter((l) => !missing.has(l) && !linkFiles.has(l.split(' ')[1] ?? '')));
    // Every tag pulls (the untagged manifests that needed the two links left in the trash would not).
    await assertAllPull(root, pushed, false);
  });
});
