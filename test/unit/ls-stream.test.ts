// ls streams its rows: each repository is accounted (from its draft) and
// handed on before the next one's account starts, the human output written
// a block at a time is the whole-result rendering, and --sort size still
// orders the repositories, handed on at the end.
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/index.js';
import { type LsRepo, type LsResult, runLs } from '../../src/commands/ls/index.js';
import type { Digest } from '../../src/model/digest.js';
import { formatBytes } from '../../src/report/format.js';
import { renderLsFooterHuman, renderLsRepositoryHuman } from '../../src/report/render-ls.js';
import { ROOT, memTree } from '../support/memfs-tree.js';
import { type ImageDescriptor, type WritableFileSystem, forPlatform, sha256 } from '../support/tree-builder.js';

/** The whole human output of a result that holds its rows: the blocks, then the footer (what the CLI writes in pieces). */
function renderLsHuman(result: LsResult): string {
  return result.repositories.map(renderLsRepositoryHuman).join('') + renderLsFooterHuman(result);
}

const T0 = Date.UTC(2026, 0, 1);

function world() {
  const mem = memTree();
  const t = mem.tree;
  // a/base, b/app and c/tool share the layer `shared`.
  const base = t.pushImage('a/base', { layers: ['shared', 'a-only'] });
  t.tag('a/base', 'v1', base.digest, T0);
  // b/app: a multi-arch index (children by digest), an image of its own, an untagged revision.
  const amd = t.pushImage('b/app', { layers: ['shared', 'amd-only'], format: 'oci' });
  const arm = t.pushImage('b/app', { layers: ['shared', 'arm-only'], format: 'oci' });
  const index = t.pushIndex('b/app', [forPlatform(amd, 'amd64'), forPlatform(arm, 'arm64')]);
  t.tag('b/app', 'latest', index.digest, T0 + 2000);
  const solo = t.pushImage('b/app', { layers: ['b-solo-layer-with-more-bytes'] });
  t.tag('b/app', 'solo', solo.digest, T0 + 1000);
  const old = t.pushImage('b/app', { layers: ['old'] });
  // c/tool: two tags on one image (neither alone frees anything), and a
  // revision link whose manifest blob is missing (a warning).
  const tool = t.pushImage('c/tool', { layers: ['shared', 'c-only, and longer than a-only'] });
  t.tag('c/tool', 't1', tool.digest, T0 + 3000);
  t.tag('c/tool', 't2', tool.digest, T0 + 4000);
  const lost = sha256('a manifest nobody wrote');
  t.write({ kind: 'revisionLink', name: 'c/tool', digest: lost }, lost);
  return { mem, base, amd, arm, index, solo, old, tool };
}

/** What an image alone holds: its manifest, its config and the layers not named in `except`. */
function ownBytes(image: ImageDescriptor, except: Digest[] = []): number {
  const layers = image.layers.filter((l) => !except.includes(l.digest));
  return image.size + image.config.size + layers.reduce((n, l) => n + l.size, 0);
}

const shared = (w: ReturnType<typeof world>): Digest => w.base.layers[0]?.digest as Digest;

async function streamLs(fs: WritableFileSystem, sort: 'name' | 'size' | 'age') {
  const events: string[] = [];
  const rows: LsRepo[] = [];
  const result = await runLs(fs, ROOT, {
    globs: [],
    sort,
    onAccount: (name) => events.push(`account ${name}`),
    onRepository: (repo) => {
      events.push(`row ${repo.name}`);
      rows.push(repo);
    },
  });
  return { events, rows, result };
}

describe('ls streams its rows', () => {
  it('--sort name: each repository is handed on, in name order, before the next is accounted, and renders as the whole result did', async () => {
    const w = world();
    const { events, rows, result } = await streamLs(w.mem.fs, 'name');
    expect(events).toEqual(['account a/base', 'row a/base', 'account b/app', 'row b/app', 'account c/tool', 'row c/tool']);
    expect(result.repositories).toEqual([]);
    expect(result.repositoryCount).toBe(3);
    expect(result.tagCount).toBe(5);

    // frees, by hand: `shared` is marked by other repositories' kept revisions, never freed.
    const common = shared(w);
    const frees = Object.fromEntries(rows.flatMap((r) => r.tags.map((t) => [`${r.name}:${t.tag}`, t.frees])));
    expect(frees).toEqual({
      'a/base:v1': ownBytes(w.base, [common]),
      'b/app:latest': w.index.size + ownBytes(w.amd, [common]) + ownBytes(w.arm, [common]),
      'b/app:solo': ownBytes(w.solo),
      'c/tool:t1': 0,
      'c/tool:t2': 0,
    });
    const app = rows[1];
    expect(app?.tags.map((t) => [t.tag, t.platforms])).toEqual([
      ['latest', ['linux/amd64', 'linux/arm64']],
      ['solo', []],
    ]);
    expect(app?.tags[0]?.size).toBe(w.index.size + ownBytes(w.amd) + ownBytes(w.arm, [common]));
    expect(app?.untagged).toEqual([{ digest: w.old.digest, mediaType: w.old.mediaType, size: w.old.size }]);
    expect(app?.size).toBe(w.index.size + ownBytes(w.amd) + ownBytes(w.arm, [common]) + ownBytes(w.solo) + ownBytes(w.old));
    // every distinct blob of the three repositories once: `shared` counted once.
    const distinct = ownBytes(w.base, [common]) + (app?.size ?? 0) + ownBytes(w.tool, [common]);
    expect(result.totalSize).toBe(distinct);
    expect(result.warnings.length).toBeGreaterThan(0);

    // The blocks written one by one, then the footer, are the rendering of the whole result (rows held).
    const whole = await runLs(w.mem.fs, ROOT, { globs: [], sort: 'name' });
    expect(whole.repositories).toEqual(rows);
    const streamed = rows.map(renderLsRepositoryHuman).join('') + renderLsFooterHuman(result);
    expect(streamed).toBe(renderLsHuman(whole));
    expect(streamed).toContain(`3 repositories, 5 tags, ${formatBytes(distinct)} in all\n`);
    expect(streamed.indexOf('warning')).toBeGreaterThan(streamed.indexOf(' in all\n'));
  });

  it('the CLI writes a block per repository as it goes, then the footer; --json keeps its keys in order', async () => {
    const { mem } = world();
    const chunks: string[] = [];
    const io = { fs: mem.fs, env: {}, stdout: (s: string) => void chunks.push(s), stderr: () => undefined };
    expect(await runCli(['ls', '--root', ROOT], io)).toBe(0);
    expect(chunks).toHaveLength(4);
    expect(chunks.map((c) => c.slice(0, c.indexOf(' ')))).toEqual(['a/base', 'b/app', 'c/tool', '3']);
    const whole = await runLs(mem.fs, ROOT, { globs: [], sort: 'name' });
    expect(chunks.join('')).toBe(renderLsHuman(whole));

    const json: string[] = [];
    expect(await runCli(['ls', '--root', ROOT, '--json'], { ...io, stdout: (s) => void json.push(s) })).toBe(0);
    expect(json).toHaveLength(1);
    const parsed = JSON.parse(json[0] ?? '') as Record<string, unknown>;
    expect(Object.keys(parsed).slice(-5)).toEqual(['root', 'v2', 'totalSize', 'repositories', 'warnings']);
    expect(parsed.totalSize).toBe(whole.totalSize);
  });

  it('a blob a manifest names but the tree lacks counts 0 bytes in every figure', async () => {
    const w = world();
    const layer = w.solo.layers[0];
    if (!layer) throw new Error('solo has no layer');
    const data = w.mem.tree.pathOf({ kind: 'blobData', digest: layer.digest });
    w.mem.fs.unlinkSync(data);
    w.mem.fs.rmdirSync(data.slice(0, data.lastIndexOf('/')));
    const { rows, result } = await streamLs(w.mem.fs, 'name');
    const solo = rows[1]?.tags.find((t) => t.tag === 'solo');
    expect(solo?.size).toBe(ownBytes(w.solo) - layer.size);
    expect(solo?.frees).toBe(ownBytes(w.solo) - layer.size);
    expect(rows[1]?.size).toBe(w.index.size + ownBytes(w.amd) + ownBytes(w.arm, [shared(w)]) + ownBytes(w.solo) - layer.size + ownBytes(w.old));
    expect(result.totalSize).toBe(ownBytes(w.base, [shared(w)]) + (rows[1]?.size ?? 0) + ownBytes(w.tool, [shared(w)]));
  });

  it('--sort size orders the repositories by size, handed on after every account', async () => {
    const w = world();
    const { events, rows, result } = await streamLs(w.mem.fs, 'size');
    // b/app holds the most; c/tool's own layer is larger than a/base's.
    expect(events).toEqual(['account a/base', 'account b/app', 'account c/tool', 'row b/app', 'row c/tool', 'row a/base']);
    expect(rows.map((r) => r.size)).toEqual([
      w.index.size + ownBytes(w.amd) + ownBytes(w.arm, [shared(w)]) + ownBytes(w.solo) + ownBytes(w.old),
      ownBytes(w.tool),
      ownBytes(w.base),
    ]);
    // b/app's tags by size: latest (the index and two images) before solo.
    expect(rows[0]?.tags.map((t) => t.tag)).toEqual(['latest', 'solo']);
    expect(result.repositories).toEqual([]);
    // Without a callback the same order comes back in `repositories`.
    const held = await runLs(w.mem.fs, ROOT, { globs: [], sort: 'size' });
    expect(held.repositories.map((r) => r.name)).toEqual(rows.map((r) => r.name));
  });
});
