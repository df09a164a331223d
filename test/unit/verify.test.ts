// verify on memfs: what a pull needs, damaged link by link; an unreadable
// repository counts its tags as broken; --repo narrows; nothing is written.
import { describe, expect, it } from 'vitest';
import { ROOT, V2 } from '../support/memfs-tree.js';
import { runCliOn } from '../support/run-cli.js';
import { sampleTree } from '../support/sample-tree.js';

const hex = (digest: string): string => digest.slice('sha256:'.length);

describe('verify', () => {
  it('a clean tree: every tag pulls, exit 0, the referrer-free sample lists no referrers', async () => {
    const { fs, files } = sampleTree();
    const before = files();
    const run = await runCliOn(fs, ['verify', '--root', ROOT, '--json']);
    expect(run.code).toBe(0);
    expect(run.json).toMatchObject({ ok: true, tagsOk: 2, tagsBroken: 0, findings: [], notices: [], referrers: [] });
    expect(files()).toEqual(before);
  });

  it('a layer link naming another digest breaks the tags that need it, and only those', async () => {
    const { fs, sample } = sampleTree();
    const layer = sample.amd.layers[1]?.digest;
    if (!layer) throw new Error('sample changed');
    fs.writeFileSync(`${V2}/repositories/team/app/_layers/sha256/${hex(layer)}/link`, sample.orphan);
    const run = await runCliOn(fs, ['verify', '--root', ROOT, '--json']);
    expect(run.code).toBe(1);
    expect(run.json.repositories).toEqual([
      { name: 'team/app', tags: 1, broken: ['latest'] },
      { name: 'team/web', tags: 1, broken: [] },
    ]);
    expect(run.json.findings).toEqual([expect.objectContaining({ kind: 'missing-layer-link', repository: 'team/app', tags: ['latest'], digest: layer })]);
  });

  it('a repository whose manifest cannot be parsed is one unreadable finding; its tags count as broken', async () => {
    const { fs, sample } = sampleTree();
    fs.writeFileSync(`${V2}/blobs/sha256/${hex(sample.web.digest).slice(0, 2)}/${hex(sample.web.digest)}/data`, '{not json');
    const run = await runCliOn(fs, ['verify', '--root', ROOT, '--json']);
    expect(run.code).toBe(1);
    expect(run.json.findings).toEqual([expect.objectContaining({ kind: 'unreadable', repository: 'team/web', tags: ['v1'] })]);
    expect(run.json.tagsOk).toBe(1);
    // --repo narrows the run to what is asked: the damaged repository is not read.
    const narrowed = await runCliOn(fs, ['verify', '--root', ROOT, '--repo', 'team/app', '--json']);
    expect(narrowed.code).toBe(0);
    expect(narrowed.json.repositories.map((r: { name: string }) => r.name)).toEqual(['team/app']);
  });

  it('human output groups per repository and ends with the count of tags that would and would not pull', async () => {
    const { fs, sample } = sampleTree();
    const revision = `${V2}/repositories/team/app/_manifests/revisions/sha256/${hex(sample.arm.digest)}`;
    fs.unlinkSync(`${revision}/link`);
    fs.rmdirSync(revision);
    const run = await runCliOn(fs, ['verify', '--root', ROOT]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('team/app  (1 tag would not pull: latest)');
    expect(run.stdout).toMatch(/missing-revision\s+team\/app: manifest sha256:[0-9a-f]{64} has no revision link/);
    expect(run.stdout).toContain('1 tag would pull, 1 would not');
  });

  it('--content names the tags that need a blob whose data was altered; without it the tree looks whole', async () => {
    const { fs, sample } = sampleTree();
    const shared = sample.web.layers[0]?.digest; // 'base': team/web and team/app both use it
    if (!shared) throw new Error('sample changed');
    const data = `${V2}/blobs/sha256/${hex(shared).slice(0, 2)}/${hex(shared)}/data`;
    const bytes = Buffer.from(fs.readFileSync(data));
    bytes[0] = (bytes[0] ?? 0) ^ 0xff;
    fs.writeFileSync(data, bytes);
    expect((await runCliOn(fs, ['verify', '--root', ROOT, '--json'])).code).toBe(0);
    const run = await runCliOn(fs, ['verify', '--root', ROOT, '--content', '--json']);
    expect(run.code).toBe(1);
    expect(run.json.findings).toEqual([
      expect.objectContaining({ kind: 'digest-mismatch', repository: 'team/app', tags: ['latest'], digest: shared }),
      expect.objectContaining({ kind: 'digest-mismatch', repository: 'team/web', tags: ['v1'], digest: shared }),
    ]);
    expect(run.json.content).toMatchObject({ mismatched: 1 });
    expect(run.json.content.blobs).toBeGreaterThan(5);
  });

  it('usage errors exit 2', async () => {
    const { fs } = sampleTree();
    expect((await runCliOn(fs, ['verify', '--root', ROOT, '--repo', '[bad'])).code).toBe(2);
    expect((await runCliOn(fs, ['verify', '--root', ROOT, '--bogus'])).code).toBe(2);
  });
});
