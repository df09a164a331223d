// ls's drafts (commands/ls/draft-repository.ts) grow with the repository,
// never with its tags times their blobs: many tags on one large image (a
// CI repository tagging every build of one multi-arch image) are one
// closure and one list of blobs, and what each tag alone frees comes from
// the revisions only it reaches. And a glob that matches nothing says so
// before anything under blobs/ is looked at.
import { describe, expect, it } from 'vitest';
import { BlobTally } from '../../src/commands/ls/blob-tally.js';
import { countRepository } from '../../src/commands/ls/draft-repository.js';
import { runLs } from '../../src/commands/ls/index.js';
import { scanBlobs } from '../../src/scan/scan-blobs.js';
import { scanRepository } from '../../src/scan/scan-repository.js';
import { TreeReader } from '../../src/storage/tree-reader.js';
import { ROOT, V2, memTree } from '../support/memfs-tree.js';

const LAYERS = 300;
const TAGS = 400;

describe('ls drafts', () => {
  it('hold each revision once and each closure once, however many tags share them', async () => {
    const { fs, tree } = memTree();
    const layers = Array.from({ length: LAYERS }, (_, i) => `layer ${i}`);
    const big = tree.pushImage('team/app', { layers });
    for (let t = 0; t < TAGS; t++) tree.tag('team/app', `build-${t}`, big.digest);
    // One tag alone on a small image: removing it frees that image.
    const small = tree.pushImage('team/app', { layers: ['small only'] });
    tree.tag('team/app', 'solo', small.digest);

    const reader = new TreeReader(fs, V2);
    const tally = new BlobTally(scanBlobs(reader));
    const draft = countRepository(scanRepository(reader, 'team/app'), tally, true);
    // The two revisions' blobs: manifest, config and layers, once each.
    expect(draft.marks.length).toBe(LAYERS + 2 + 3);
    // Two distinct closures of one revision each, for 401 tags.
    expect(draft.closures.length).toBe(2);
    // Only `solo` loses anything when removed alone: its image's 3 blobs, and their counts.
    expect(draft.lost.length).toBe(2 * 3);
    expect(draft.tags).toHaveLength(TAGS + 1);

    const { repositories } = await runLs(fs, ROOT, { globs: [], sort: 'name' });
    const rows = new Map(repositories[0]?.tags.map((t) => [t.tag, t]));
    const bigSize = big.size + big.config.size + big.layers.reduce((n, l) => n + l.size, 0);
    const smallSize = small.size + small.config.size + (small.layers[0]?.size ?? 0);
    expect(rows.get('build-0')).toMatchObject({ size: bigSize, frees: 0 });
    expect(rows.get(`build-${TAGS - 1}`)).toMatchObject({ size: bigSize, frees: 0 });
    expect(rows.get('solo')).toMatchObject({ size: smallSize, frees: smallSize });
    expect(repositories[0]?.size).toBe(bigSize + smallSize);
  });

  it('a glob matching nothing is E_NOT_FOUND before blobs/ is listed; without one a stray there stops ls', async () => {
    const { fs, tree } = memTree();
    const image = tree.pushImage('team/app', { layers: ['a'] });
    tree.tag('team/app', 'v1', image.digest);
    fs.writeFileSync(`${V2}/blobs/sha256/stray-file`, 'x');
    await expect(runLs(fs, ROOT, { globs: ['no/such'], sort: 'name' })).rejects.toMatchObject({ code: 'E_NOT_FOUND' });
    await expect(runLs(fs, ROOT, { globs: [], sort: 'name' })).rejects.toMatchObject({ code: 'E_STRAY' });
  });
});
