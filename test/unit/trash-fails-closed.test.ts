// --trash fails closed as a deleting run does: the plan's full check of
// every target (vacuum.ts vet) is where a layer link's content is read, and
// a link naming another digest than its path (Distribution writes such
// alias links, e.g. _layers/sha512/X naming sha256:Y) stops the run before
// anything moves. Without that check the blob it names could go into the
// trash and out with `trash empty` while a kept tag needs it. A full disk
// while the manifest is written stops the run too, with one line, and
// everything moved aside goes back.
import { describe, expect, it } from 'vitest';
import { ROOT, exists, memTree } from '../support/memfs-tree.js';
import { withWritesTo } from '../support/manifest-writes.js';
import { runCliOn } from '../support/run-cli.js';

const TRASH = '/srv/trash';

describe('--trash and a layer link naming another digest', () => {
  for (const command of [
    ['gc', '-m'],
    ['gc', '-m', '-d'],
  ]) {
    it(`${command.join(' ')} --trash stops with E_LINK_MISMATCH, names the link, moves nothing`, async () => {
      const mem = memTree();
      const image = mem.tree.pushImage('app', { layers: ['base'] });
      mem.tree.tag('app', 'v1', image.digest);
      const kept = image.layers[0]?.digest;
      if (!kept) throw new Error('no layer');
      const orphan = mem.tree.putBlob('an orphan');
      // The orphan's link in app names the kept layer.
      mem.tree.write({ kind: 'layerLink', name: 'app', digest: orphan }, kept);
      mem.fs.mkdirSync('/srv', { recursive: true });
      const before = mem.files();
      const run = await runCliOn(mem.fs, [...command, '--root', ROOT, '--trash', TRASH]);
      if (command.includes('-d')) {
        // A dry run deletes nothing and vets lightly: it plans, and moves nothing either.
        expect(run.code, run.stderr).toBe(0);
      } else {
        expect(run.code).not.toBe(0);
        expect(run.stderr).toMatch(/E_LINK_MISMATCH|names? .*sha256/);
        expect(run.stderr).toContain(orphan.slice('sha256:'.length));
      }
      expect(mem.files()).toEqual(before);
      const inTrash = exists(mem.fs, TRASH) ? mem.fs.readdirSync(TRASH, { withFileTypes: true }).map((entry) => entry.name) : [];
      expect(inTrash.filter((name) => name !== 'manifest.jsonl')).toEqual([]);
    });
  }
});

describe('trash empty and an item replaced by a symbolic link', () => {
  it('refuses it, and nothing is deleted through it: the kept blob it points at stays', async () => {
    const mem = memTree();
    const image = mem.tree.pushImage('app', { layers: ['base'] });
    mem.tree.tag('app', 'v1', image.digest);
    mem.tree.putBlob('an orphan');
    mem.fs.mkdirSync('/srv', { recursive: true });
    expect((await runCliOn(mem.fs, ['gc', '-m', '--root', ROOT, '--trash', TRASH])).code).toBe(0);
    const item = mem.fs
      .readdirSync(TRASH, { withFileTypes: true })
      .map((entry) => entry.name)
      .find((name) => name !== 'manifest.jsonl');
    if (!item) throw new Error('nothing trashed');
    const layer = image.layers[0]?.digest.slice('sha256:'.length) ?? '';
    const keptDir = `${ROOT}/docker/registry/v2/blobs/sha256/${layer.slice(0, 2)}/${layer}`;
    mem.fs.renameSync(`${TRASH}/${item}`, '/srv/moved-away');
    mem.fs.symlinkSync(keptDir, `${TRASH}/${item}`);
    const before = mem.files();
    const emptied = await runCliOn(mem.fs, ['trash', 'empty', TRASH, '--json']);
    expect(emptied.code).toBe(1);
    expect(emptied.json.refused).toEqual([{ path: expect.any(String), reason: expect.stringContaining('symbolic link') }]);
    expect(mem.files()).toEqual(before);
    expect(exists(mem.fs, `${keptDir}/data`)).toBe(true);
  });
});

describe('a full disk while the trash records what moves', () => {
  it('stops with one line naming the manifest, and everything moved aside goes back: nothing hidden, nothing lost', async () => {
    const mem = memTree();
    const kept = mem.tree.pushImage('app', { layers: ['base'] });
    mem.tree.tag('app', 'v1', kept.digest);
    // Untagged: its revision and blobs go aside first (no trash record), then into the trash after the recheck.
    const gone = mem.tree.pushImage('app', { layers: ['gone'] });
    mem.fs.mkdirSync('/srv', { recursive: true });
    const before = mem.files();
    let writes = 0;
    const full = withWritesTo(mem.fs, `${TRASH}/manifest.jsonl`, (n, data, pass) => {
      writes = n;
      // The header goes in; the first record does not.
      if (n > 1) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
      return pass(data);
    });
    const run = await runCliOn(full, ['gc', '-m', '--root', ROOT, '--grace', '0s', '--trash', TRASH]);
    expect(writes).toBeGreaterThan(1);
    expect(mem.files().filter((file) => !file.includes('_janitor/'))).toEqual(before);
    for (const digest of [gone.digest, gone.layers[0]?.digest ?? '', kept.digest]) {
      const hex = digest.slice('sha256:'.length);
      expect(exists(mem.fs, `${ROOT}/docker/registry/v2/blobs/sha256/${hex.slice(0, 2)}/${hex}/data`), digest).toBe(true);
    }
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`cannot write ${TRASH}/manifest.jsonl: ENOSPC`);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});
