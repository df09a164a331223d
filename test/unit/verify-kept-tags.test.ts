// gc's phase 7 (gc-checks.ts verifyKeptTags): after the sweep every kept
// tag still has its revision link and its manifest blob, or the run fails
// naming the tag. Here something else removes what a kept tag needs while
// the sweep runs: the run must say so, never report success.
import { describe, expect, it } from 'vitest';
import { ROOT, type MemFs, exists, memTree, writeDuring } from '../support/memfs-tree.js';
import { runCliOn } from '../support/run-cli.js';

/** `fs` on which the sweep's first rmdir also removes `victim` (another deleter at work). */
function removingAlong(fs: MemFs, victim: string): MemFs {
  return writeDuring(
    fs,
    'rmdirSync',
    () => true,
    () => fs.unlinkSync(victim),
  );
}

function setUp() {
  const mem = memTree();
  const kept = mem.tree.pushImage('app', { layers: ['kept layer'] });
  mem.tree.tag('app', 'v1', kept.digest);
  mem.tree.tag('app', 'also-v1', kept.digest);
  mem.tree.pushImage('app', { layers: ['gone layer'] }); // untagged: gc -m deletes it
  return {
    mem,
    kept,
    manifestData: mem.tree.pathOf({ kind: 'blobData', digest: kept.digest }),
    revisionLink: mem.tree.pathOf({ kind: 'revisionLink', name: 'app', digest: kept.digest }),
  };
}

describe('gc verify', () => {
  it('passes when every kept tag still has its revision link and manifest blob (two tags of one digest)', async () => {
    const { mem, manifestData } = setUp();
    const run = await runCliOn(mem.fs, ['gc', '-m', '--root', ROOT, '--grace', '0s', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect((run.json as { manifestsDeleted: unknown[] }).manifestsDeleted).toHaveLength(1);
    expect(exists(mem.fs, manifestData)).toBe(true);
  });

  it("fails naming the tag when a kept manifest's blob data went during the sweep", async () => {
    const { mem, kept, manifestData } = setUp();
    const run = await runCliOn(removingAlong(mem.fs, manifestData), ['gc', '-m', '--root', ROOT, '--grace', '0s']);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(new RegExp(`verify failed: app:(also-)?v1 lost its manifest blob ${kept.digest}`));
  });

  it("fails naming the link when a kept tag's revision link went during the sweep", async () => {
    const { mem, revisionLink } = setUp();
    const run = await runCliOn(removingAlong(mem.fs, revisionLink), ['gc', '-m', '--root', ROOT, '--grace', '0s']);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain(revisionLink);
  });
});
