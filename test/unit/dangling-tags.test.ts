// What gc sees on the way that verify reports: a tag whose revision link or
// manifest blob is missing, or that needs a missing child manifest or blob,
// is a typed warning in gc's summary (W_DANGLING_TAG, W_TAG_NEEDS_MISSING)
// and in its JSON (danglingTags); gc does not fail on it. The tags gc names
// are the ones verify finds broken.
import { describe, expect, it } from 'vitest';
import type { Digest } from '../../src/model/digest.js';
import { type MemFs, ROOT } from '../support/memfs-tree.js';
import { runCliOn } from '../support/run-cli.js';
import { type Sample, sampleTree } from '../support/sample-tree.js';
import type { TreeBuilder } from '../support/tree-builder.js';

type Damage = (fs: MemFs, tree: TreeBuilder, sample: Sample) => void;

const removeDir = (fs: MemFs, dir: string): void => {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) fs.unlinkSync(`${dir}/${entry.name}`);
  fs.rmdirSync(dir);
};
const layerOf = (image: { layers: { digest: Digest }[] }, i: number): Digest => {
  const digest = image.layers[i]?.digest;
  if (!digest) throw new Error('sample changed');
  return digest;
};

const damages: [string, Damage, string, string[]][] = [
  [
    'the tag’s revision link',
    (fs, t, s) => removeDir(fs, t.pathOf({ kind: 'revisionDir', name: 'team/web', digest: s.web.digest })),
    'W_DANGLING_TAG',
    ['team/web:v1'],
  ],
  ['the tag’s manifest blob', (fs, t, s) => removeDir(fs, t.pathOf({ kind: 'blobDir', digest: s.web.digest })), 'W_DANGLING_TAG', ['team/web:v1']],
  [
    'a child’s revision link',
    (fs, t, s) => removeDir(fs, t.pathOf({ kind: 'revisionDir', name: 'team/app', digest: s.arm.digest })),
    'W_TAG_NEEDS_MISSING',
    ['team/app:latest'],
  ],
  ['a child’s manifest blob', (fs, t, s) => removeDir(fs, t.pathOf({ kind: 'blobDir', digest: s.amd.digest })), 'W_TAG_NEEDS_MISSING', ['team/app:latest']],
  [
    'a layer both tags need',
    (fs, t, s) => removeDir(fs, t.pathOf({ kind: 'blobDir', digest: layerOf(s.web, 0) })),
    'W_TAG_NEEDS_MISSING',
    ['team/app:latest', 'team/web:v1'],
  ],
  ['a config', (fs, t, s) => removeDir(fs, t.pathOf({ kind: 'blobDir', digest: s.web.config.digest })), 'W_TAG_NEEDS_MISSING', ['team/web:v1']],
];

describe('gc reports the tags that do not pull, as warnings', () => {
  for (const [what, damage, code, broken] of damages) {
    it(`${what}: ${code} naming ${broken.join(', ')}; verify agrees; gc -m still runs, exit 0`, async () => {
      const { fs, tree, sample } = sampleTree();
      damage(fs, tree, sample);
      const dry = await runCliOn(fs, ['gc', '-m', '-d', '--root', ROOT, '--json']);
      expect(dry.code, dry.stderr).toBe(0);
      const tags = dry.json.danglingTags.map((d: { repository: string; tag: string }) => `${d.repository}:${d.tag}`).sort();
      expect(tags).toEqual(broken);
      const warnings = dry.json.warnings.filter((w: { code: string }) => w.code === code);
      expect(warnings.length, JSON.stringify(dry.json.warnings)).toBeGreaterThan(0);
      expect(warnings.map((w: { message: string }) => w.message).join('\n')).toMatch(/\((missing-revision|missing-blob)\): (tag \S+ does|tags .* do) not pull/);
      const verify = await runCliOn(fs, ['verify', '--root', ROOT, '--json']);
      const verifyBroken = verify.json.repositories.flatMap((r: { name: string; broken: string[] }) => r.broken.map((t) => `${r.name}:${t}`)).sort();
      expect(tags).toEqual(verifyBroken);
      const human = await runCliOn(fs, ['gc', '-m', '--root', ROOT]);
      expect(human.code, human.stderr).toBe(0);
      expect(human.stdout).toContain(
        broken.length === 1
          ? '1 tag does not pull: a revision, manifest or blob it needs is missing'
          : `${broken.length} tags do not pull: a revision, manifest or blob they need is missing`,
      );
    });
  }

  it('a whole tree: no dangling tag, no such warning', async () => {
    const { fs } = sampleTree();
    const run = await runCliOn(fs, ['gc', '-m', '-d', '--root', ROOT, '--json']);
    expect(run.json.danglingTags).toEqual([]);
    expect(run.json.warnings).toEqual([]);
  });
});
