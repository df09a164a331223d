// --trash moves each target whole after the light checks (no mount, no
// symbolic link above, a blob's data a regular file on v2's device): a
// file that is not the registry's inside a target's directory stops a
// deleting run (nothing deleted), but with --trash it moves with its
// directory, `trash empty` refuses that item (it walks every item as its
// kind's shape) and `trash restore` gives back the tree byte for byte.
import { describe, expect, it } from 'vitest';
import { TRASH_MANIFEST } from '../../src/storage/trash-manifest.js';
import { type MemFs, ROOT, V2, exists, listFiles, memTree } from '../support/memfs-tree.js';
import { runCliOn } from '../support/run-cli.js';

const TRASH = '/srv/trash';

/** A kept image, an orphan blob and an orphan layer link, each holding a file that is not the registry's. */
function build() {
  const mem = memTree();
  const t = mem.tree;
  t.tag('app', 'v1', t.pushImage('app', { layers: ['base'] }).digest);
  const layer = t.pushBlob('app', 'a layer no manifest names', 'application/octet-stream');
  const orphan = t.putBlob('an orphan');
  const hex = (d: string): string => d.slice('sha256:'.length);
  const layerDir = `${V2}/repositories/app/_layers/sha256/${hex(layer.digest)}`;
  const blobDir = `${V2}/blobs/sha256/${hex(orphan).slice(0, 2)}/${hex(orphan)}`;
  mem.fs.writeFileSync(`${layerDir}/notes.txt`, 'an admin left this');
  mem.fs.writeFileSync(`${blobDir}/notes.txt`, 'and this');
  mem.fs.mkdirSync('/srv', { recursive: true });
  return { mem, layerDir, blobDir };
}

function contents(fs: MemFs): Map<string, string> {
  const out = new Map<string, string>();
  for (const file of listFiles(fs, ROOT)) out.set(file, Buffer.from(fs.readFileSync(`${ROOT}/${file}`)).toString('hex'));
  return out;
}

describe('--trash and what is not the registry', () => {
  it('without --trash the run stops on it, nothing deleted', async () => {
    const { mem } = build();
    const before = contents(mem.fs);
    const run = await runCliOn(mem.fs, ['gc', '-m', '--root', ROOT]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/notes\.txt/);
    expect(contents(mem.fs)).toEqual(before);
  });

  it('with --trash it moves with its directory; trash empty refuses those items; restore gives back every byte', async () => {
    const { mem, layerDir, blobDir } = build();
    const before = contents(mem.fs);
    const run = await runCliOn(mem.fs, ['gc', '-m', '--root', ROOT, '--trash', TRASH, '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(exists(mem.fs, layerDir)).toBe(false);
    expect(exists(mem.fs, blobDir)).toBe(false);
    expect(run.json.trash.items).toBeGreaterThanOrEqual(2);

    const restored = await runCliOn(mem.fs, ['trash', 'restore', TRASH, '--json']);
    expect(restored.code, restored.stderr).toBe(0);
    expect(contents(mem.fs)).toEqual(before);

    // Again, then emptied: the two items holding a foreign file stay, whole; the rest is deleted for good.
    expect((await runCliOn(mem.fs, ['gc', '-m', '--root', ROOT, '--trash', TRASH])).code).toBe(0);
    const emptied = await runCliOn(mem.fs, ['trash', 'empty', TRASH, '--json']);
    expect(emptied.code).toBe(1);
    expect(emptied.json.refused).toHaveLength(2);
    const left = (mem.fs.readdirSync(TRASH) as string[]).filter((name) => name !== TRASH_MANIFEST);
    expect(left).toHaveLength(2);
    const notes = left.map((id) => Buffer.from(mem.fs.readFileSync(`${TRASH}/${id}/notes.txt`)).toString()).sort();
    expect(notes).toEqual(['an admin left this', 'and this']);
  });
});
