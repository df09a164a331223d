// A live host, on memfs: the lock (one destructive run per tree), the grace
// window for each kind of target, no deletion because an earlier listing
// lacked something, and revalidation of what changed while the run read
// the tree. Writes "during" a run are made from inside the filesystem the
// run uses, at the moment it reaches a given call.
import { describe, expect, it } from 'vitest';
import type { Digest } from '../../src/model/digest.js';
import { runGc } from '../../src/commands/gc/index.js';
import { listDeletions } from '../support/gc-deletions.js';
import type { WritableFileSystem } from '../support/tree-builder.js';
import { runCliOn } from '../support/run-cli.js';
import { type MemFs, ROOT, V2, exists, memTree, writeDuring } from '../support/memfs-tree.js';
import { sampleTree } from '../support/sample-tree.js';

const LOCK = `${V2}/_janitor/lock`;
const NOW_S = (): number => Date.now() / 1000;

const cli = (fs: WritableFileSystem, args: string[]) => runCliOn(fs, [...args, '--root', ROOT]);

function holdLock(fs: MemFs, holder: Record<string, unknown>): void {
  fs.mkdirSync(`${V2}/_janitor`, { recursive: true });
  fs.writeFileSync(
    LOCK,
    JSON.stringify({ pid: process.pid, host: 'placeholder', command: 'registry-janitor gc -m', startedAt: '2026-12-01T00:00:00.000Z', ...holder }),
  );
}

describe('one destructive run per tree', () => {
  it('a live holder refuses a real run, naming it; dry runs and ls need no lock', async () => {
    const t = sampleTree();
    const { hostname } = await import('node:os');
    holdLock(t.fs, { host: hostname() });
    const before = t.files();
    const run = await cli(t.fs, ['gc', '-m']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      new RegExp(
        `another registry-janitor run holds ${LOCK}: pid ${process.pid} on ${hostname()}, \`registry-janitor gc -m\`, started 2026-12-01T00:00:00.000Z; wait for it to finish, or rerun with --wait`,
      ),
    );
    expect(t.files()).toEqual(before);
    expect((await cli(t.fs, ['gc', '-m', '-d'])).code).toBe(0);
    expect((await cli(t.fs, ['ls'])).code).toBe(0);
    expect((await cli(t.fs, ['prune', '-d', 'team/web:v1'])).code).toBe(0);
  });

  it("a dead holder's lock is taken over with a warning, and released at the end", async () => {
    const t = sampleTree();
    const { hostname } = await import('node:os');
    holdLock(t.fs, { host: hostname(), pid: 2 ** 22 + 17 });
    const run = await cli(t.fs, ['gc', '-m', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.json.warnings.map((w: { message: string }) => w.message).join('\n')).toMatch(
      /taking over the lock of a run that is gone .*pid 4194321 is not running/,
    );
    expect(listDeletions(await runGc(t.fs, ROOT, { dryRun: true, deleteUntagged: true })).blobsDeleted).toEqual([]);
    expect(exists(t.fs, LOCK)).toBe(false);
  });

  it("another host's lock is never judged stale: the message says to remove it by hand", async () => {
    const t = sampleTree();
    holdLock(t.fs, { host: 'storage-2.example' });
    const run = await cli(t.fs, ['tags', 'rm', 'team/web:v1']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/pid \d+ on storage-2\.example.*if that host's run is gone, remove .*_janitor\/lock by hand/);
    expect(exists(t.fs, t.tree.pathOf({ kind: 'tagDir', name: 'team/web', tag: 'v1' }))).toBe(true);
  });

  it('--wait waits for the holder to finish', async () => {
    const t = sampleTree();
    const { hostname } = await import('node:os');
    holdLock(t.fs, { host: hostname() });
    setTimeout(() => t.fs.unlinkSync(LOCK), 300);
    const started = Date.now();
    const run = await cli(t.fs, ['gc', '-m', '--wait', '10s']);
    expect(run.code, run.stderr).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(exists(t.fs, t.tree.pathOf({ kind: 'blobDir', digest: t.sample.orphan }))).toBe(false);
  });

  it('--wait with a duration gives up when it runs out', async () => {
    const t = sampleTree();
    const { hostname } = await import('node:os');
    holdLock(t.fs, { host: hostname() });
    const run = await cli(t.fs, ['gc', '--wait', '1s']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/another registry-janitor run holds/);
  });
});

describe('the grace window (default 1h) keeps what was written within it', () => {
  it('a fresh orphan blob: kept by default, deleted with --grace 0s', async () => {
    const t = sampleTree();
    const fresh = t.tree.putBlob('uploaded a minute ago');
    t.fs.utimesSync(t.tree.pathOf({ kind: 'blobData', digest: fresh }), NOW_S(), NOW_S()); // test trees are aged: make this one fresh
    const dry = await cli(t.fs, ['gc', '--json', '-d']);
    const kept = await cli(t.fs, ['gc', '--json']);
    expect(kept.code, kept.stderr).toBe(0);
    expect(kept.json.blobsDeleted).toEqual([t.sample.orphan]);
    expect(kept.json.keptByGrace.blobs).toBe(1);
    // The blobs marked are counted after the mark, in a real run as in a dry run: the blob the window spares is not one.
    expect(kept.json.blobsMarked).toBe(dry.json.blobsMarked);
    expect(kept.json.keptByGraceBytes).toBe('uploaded a minute ago'.length);
    expect(exists(t.fs, t.tree.pathOf({ kind: 'blobData', digest: fresh }))).toBe(true);
    const gone = await cli(t.fs, ['gc', '--json', '--grace', '0s']);
    expect(gone.json.blobsDeleted).toEqual([fresh]);
  });

  it('a fresh untagged manifest under -m: kept with everything it references', async () => {
    const t = sampleTree();
    const image = t.tree.pushImage('team/app', { layers: ['fresh layer'] });
    // Test trees are aged: make this push fresh (its revision link, and the directory that lists it).
    t.fs.utimesSync(t.tree.pathOf({ kind: 'revisionLink', name: 'team/app', digest: image.digest }), NOW_S(), NOW_S());
    t.fs.utimesSync(t.tree.pathOf({ kind: 'revisionsAlgorithm', name: 'team/app', algorithm: 'sha256' }), NOW_S(), NOW_S());
    const run = await cli(t.fs, ['gc', '-m', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.json.manifestsDeleted).toEqual([{ repository: 'team/app', digest: t.sample.untagged.digest }]);
    expect(run.json.keptByGrace.manifests).toBe(1);
    for (const digest of [image.digest, image.config.digest, image.layers[0]!.digest]) {
      expect(exists(t.fs, t.tree.pathOf({ kind: 'blobData', digest })), digest).toBe(true);
    }
  });

  it('a fresh layer link to an old orphan blob (a cross-repository mount under way): blob and link kept', async () => {
    const t = sampleTree();
    const digest = t.sample.orphan;
    t.tree.write({ kind: 'layerLink', name: 'team/web', digest }, digest);
    const link = t.tree.pathOf({ kind: 'layerLink', name: 'team/web', digest });
    t.fs.utimesSync(link, NOW_S(), NOW_S());
    t.fs.utimesSync(t.tree.pathOf({ kind: 'layersAlgorithm', name: 'team/web', algorithm: 'sha256' }), NOW_S(), NOW_S());
    const run = await cli(t.fs, ['gc', '-m', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.json.blobsDeleted).not.toContain(digest);
    expect(run.json.keptByGrace.blobs).toBe(1);
    expect(run.json.keptByGraceBytes).toBe(t.fs.lstatSync(t.tree.pathOf({ kind: 'blobData', digest })).size);
    expect(run.json.keptByGraceBytes).toBeGreaterThan(0);
    expect(exists(t.fs, link)).toBe(true);
  });

  it('an old layer link to blob data written within the window (a blob pushed again): blob and link kept, with every other plan the same', async () => {
    const t = sampleTree();
    // Two links to the orphan in team/web, both old; only the data is fresh.
    const digest = t.sample.orphan;
    t.tree.write({ kind: 'layerLink', name: 'team/web', digest }, digest);
    const other = t.tree.putBlob('another old orphan');
    t.tree.write({ kind: 'layerLink', name: 'team/web', digest: other }, other);
    t.fs.utimesSync(t.tree.pathOf({ kind: 'blobData', digest }), NOW_S(), NOW_S());
    const link = t.tree.pathOf({ kind: 'layerLink', name: 'team/web', digest });
    const dry = await cli(t.fs, ['gc', '-m', '-d', '--json']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.json.keptByGrace.blobs).toBe(1);
    expect(dry.json.blobsDeleted).toContain(other);
    expect(dry.json.blobsDeleted).not.toContain(digest);
    // The other orphan's link goes with it; the fresh blob's stays.
    expect(dry.json.layerLinksDeleted).toContainEqual({ repository: 'team/web', digest: other });
    expect(dry.json.layerLinksDeleted).not.toContainEqual({ repository: 'team/web', digest });
    const run = await cli(t.fs, ['gc', '-m', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.json.layerLinksDeleted).toEqual(dry.json.layerLinksDeleted);
    expect(exists(t.fs, link)).toBe(true);
    expect(exists(t.fs, t.tree.pathOf({ kind: 'blobData', digest }))).toBe(true);
    expect(exists(t.fs, t.tree.pathOf({ kind: 'layerLink', name: 'team/web', digest: other }))).toBe(false);
  });

  it('a tag pushed within the window is kept from a rule, not from a REPO:TAG argument', async () => {
    const t = sampleTree();
    const web = t.tree.pathOf({ kind: 'tagCurrentLink', name: 'team/web', tag: 'v1' });
    t.fs.utimesSync(web, NOW_S(), NOW_S());
    const byRule = await cli(t.fs, ['prune', '--tag', '^v1$', '-d', '--json']);
    expect(byRule.json.tagsRemoved).toEqual([]);
    expect(byRule.json.tagsKept[0].reason).toMatch(/pushed within the grace window/);
    expect(byRule.json.keptByGrace.tags).toBe(1);
    const byRuleTagsRm = await cli(t.fs, ['tags', 'rm', '--tag', '^v1$', '--json']);
    expect(byRuleTagsRm.code, byRuleTagsRm.stderr).toBe(0);
    expect(byRuleTagsRm.json.tagsRemoved).toEqual([]);
    expect(byRuleTagsRm.json.tagsKept[0].reason).toMatch(/pushed within the grace window/);
    const named = await cli(t.fs, ['tags', 'rm', 'team/web:v1']);
    expect(named.code, named.stderr).toBe(0);
    expect(exists(t.fs, t.tree.pathOf({ kind: 'tagDir', name: 'team/web', tag: 'v1' }))).toBe(false);
  });
});

/** A push to team/web of an image whose config is `blob` (an old blob, linked or not): what a client re-pushing it writes. */
function pushImageOver(t: ReturnType<typeof sampleTree>, blob: Digest, tag: string): Digest {
  const image = t.tree.pushManifest(
    'team/web',
    { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'x', digest: blob, size: 12 }, layers: [] },
    'application/vnd.oci.image.manifest.v1+json',
  );
  t.tree.tag('team/web', tag, image.digest);
  return image.digest;
}

describe('a live registry writing while the run reads', () => {
  it('a blob and its layer link written after the blob inventory are not taken for a dangling link', async () => {
    const mem = memTree();
    mem.tree.tag('app', 'v1', mem.tree.pushImage('app', { layers: ['a'] }).digest);
    let pushed: Digest | undefined;
    // The push lands right after blobs/ was listed: when the run first lists repositories/.
    const fs = writeDuring(
      mem.fs,
      'readdirSync',
      (p) => p === `${V2}/repositories`,
      () => {
        pushed = mem.tree.pushBlob('app', 'pushed after the inventory', 'application/octet-stream').digest;
        // older than the window, as a re-pushed existing blob keeps its data's mtime
        const old = NOW_S() - 86_400;
        mem.fs.utimesSync(mem.tree.pathOf({ kind: 'blobData', digest: pushed }), old, old);
        mem.fs.utimesSync(mem.tree.pathOf({ kind: 'layerLink', name: 'app', digest: pushed }), old, old);
      },
    );
    const result = await runGc(fs, ROOT, { dryRun: false, deleteUntagged: false, graceMs: 0 });
    expect(pushed).toBeDefined();
    expect(listDeletions(result).layerLinksDeleted).toEqual([]);
    expect(exists(mem.fs, mem.tree.pathOf({ kind: 'layerLink', name: 'app', digest: pushed! }))).toBe(true);
    expect(exists(mem.fs, mem.tree.pathOf({ kind: 'blobData', digest: pushed! }))).toBe(true);
  });

  it('a manifest pushed while the run plans, reusing an old orphan blob, is revalidated: its blob stays', async () => {
    const t = sampleTree();
    const orphan = t.sample.orphan;
    let pushedImage: Digest | undefined;
    // The push completes while the plan vets the orphan: its only layer is that old blob.
    const fs = writeDuring(
      t.fs,
      'readdirSync',
      (p) => p === t.tree.pathOf({ kind: 'blobDir', digest: orphan }),
      () => {
        t.tree.write({ kind: 'layerLink', name: 'team/web', digest: orphan }, orphan);
        pushedImage = pushImageOver(t, orphan, 'v2');
      },
    );
    const result = await runGc(fs, ROOT, { dryRun: false, deleteUntagged: true, graceMs: 0 });
    expect(pushedImage).toBeDefined();
    expect(result.revalidations).toBeGreaterThanOrEqual(1);
    expect(result.warnings.map((w: { message: string }) => w.message).join('\n')).toMatch(
      /revalidation: 1 repositories changed while this run read them \(team\/web\)/,
    );
    expect(exists(t.fs, t.tree.pathOf({ kind: 'blobData', digest: orphan }))).toBe(true);
    expect(exists(t.fs, t.tree.pathOf({ kind: 'revisionLink', name: 'team/web', digest: pushedImage! }))).toBe(true);
  });

  it('a tag moved to an old untagged manifest while the run reads is revalidated: -m keeps that manifest', async () => {
    const t = sampleTree();
    const untagged = t.sample.untagged.digest;
    const fs = writeDuring(
      t.fs,
      'readdirSync',
      (p) => p === t.tree.pathOf({ kind: 'blobDir', digest: t.sample.orphan }),
      () => {
        t.tree.tag('team/app', 'latest', untagged);
      },
    );
    const result = await runGc(fs, ROOT, { dryRun: false, deleteUntagged: true, graceMs: 0 });
    expect(result.revalidations).toBeGreaterThanOrEqual(1);
    expect(exists(t.fs, t.tree.pathOf({ kind: 'revisionLink', name: 'team/app', digest: untagged }))).toBe(true);
    for (const layer of t.sample.untagged.layers) expect(exists(t.fs, t.tree.pathOf({ kind: 'blobData', digest: layer.digest }))).toBe(true);
  });

  it("the sweep's own moves are no sign of a live registry: a quiet real gc -m warns of no revalidation", async () => {
    const t = sampleTree();
    const result = await runGc(t.fs, ROOT, { dryRun: false, deleteUntagged: true, graceMs: 0 });
    expect(listDeletions(result).manifestsDeleted).toContainEqual({ repository: 'team/app', digest: t.sample.untagged.digest });
    expect(result.revalidations).toBe(0);
    expect(result.warnings.map((w: { code: string }) => w.code)).not.toContain('W_REVALIDATED');
  });

  it('a tag pushed onto a manifest the sweep just moved aside is a revalidation: named, and the manifest comes back whole', async () => {
    const t = sampleTree();
    const untagged = t.sample.untagged;
    const fs = writeDuring(
      t.fs,
      'renameSync',
      (p) => p === t.tree.pathOf({ kind: 'revisionDir', name: 'team/app', digest: untagged.digest }),
      () => {
        t.tree.tag('team/app', 'again', untagged.digest);
      },
    );
    const result = await runGc(fs, ROOT, { dryRun: false, deleteUntagged: true, graceMs: 0 });
    expect(result.revalidations).toBeGreaterThanOrEqual(1);
    expect(result.warnings.map((w: { message: string }) => w.message).join('\n')).toMatch(
      /recheck after the sweep moved things aside: 1 repositories changed \(team\/app\)/,
    );
    expect(exists(t.fs, t.tree.pathOf({ kind: 'revisionLink', name: 'team/app', digest: untagged.digest }))).toBe(true);
    for (const digest of [untagged.digest, untagged.config.digest, ...untagged.layers.map((l) => l.digest)]) {
      expect(exists(t.fs, t.tree.pathOf({ kind: 'blobData', digest })), digest).toBe(true);
    }
  });

  it('uploads under way are reported as a sign of life', async () => {
    const t = sampleTree();
    // Begun an hour ago (startedat, as 2.8.2 writes it): younger than --purge-uploads' 168h, so it stays.
    const startedAt = new Date(Date.now() - 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    t.tree.write({ kind: 'uploadStartedAt', name: 'team/app', id: '0f8fad5b-d9cb-469f-a165-70867728950e' }, startedAt);
    const run = await cli(t.fs, ['gc', '-d', '--json']);
    expect(run.json.warnings.map((w: { message: string }) => w.message).join('\n')).toMatch(
      /signs of a live registry: 1 uploads in _uploads\/ of 1 repositories \(team\/app\)/,
    );
  });
});

describe('a push that completes during the sweep', () => {
  it('reusing an old orphan blob under an existing link: the blob moved aside comes back, the image still resolves', async () => {
    const t = sampleTree();
    const orphan = t.sample.orphan;
    // The link exists already (an earlier push; the registry skips the upload).
    t.tree.write({ kind: 'layerLink', name: 'team/web', digest: orphan }, orphan);
    let pushed: Digest | undefined;
    // The manifest PUT lands right after the sweep moved the orphan aside.
    const fs = new Proxy(t.fs, {
      get(target, prop, receiver) {
        if (prop === 'renameSync') {
          return (from: string, to: string) => {
            target.renameSync(from, to);
            if (pushed === undefined && from === t.tree.pathOf({ kind: 'blobDir', digest: orphan })) pushed = pushImageOver(t, orphan, 'during');
          };
        }
        const value = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const result = await runGc(fs, ROOT, { dryRun: false, deleteUntagged: true, graceMs: 0 });
    expect(pushed).toBeDefined();
    expect(result.sweepError).toBeUndefined();
    expect(result.warnings.map((w: { message: string }) => w.message).join('\n')).toMatch(
      /1 blobs or manifests moved aside were needed by pushes made during the sweep and were put back/,
    );
    expect(exists(t.fs, t.tree.pathOf({ kind: 'blobData', digest: orphan }))).toBe(true);
    expect(exists(t.fs, t.tree.pathOf({ kind: 'layerLink', name: 'team/web', digest: orphan }))).toBe(true);
    expect(exists(t.fs, `${V2}/_janitor/quarantine`)).toBe(false);
  });

  it('a tag re-pointed during the sweep to the untagged manifest -m moved aside: manifest, blob and layers come back', async () => {
    const t = sampleTree();
    const untagged = t.sample.untagged;
    let repointed = false;
    // The registry's PUT of that manifest by tag lands right after its revision went aside.
    const fs = new Proxy(t.fs, {
      get(target, prop, receiver) {
        if (prop === 'renameSync') {
          return (from: string, to: string) => {
            target.renameSync(from, to);
            if (!repointed && from === t.tree.pathOf({ kind: 'revisionDir', name: 'team/app', digest: untagged.digest })) {
              repointed = true;
              t.tree.write({ kind: 'revisionLink', name: 'team/app', digest: untagged.digest }, untagged.digest);
              t.tree.tag('team/app', 'again', untagged.digest);
            }
          };
        }
        const value = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const result = await runGc(fs, ROOT, { dryRun: false, deleteUntagged: true, graceMs: 0 });
    expect(repointed).toBe(true);
    expect(result.sweepError).toBeUndefined();
    expect(exists(t.fs, t.tree.pathOf({ kind: 'revisionLink', name: 'team/app', digest: untagged.digest }))).toBe(true);
    for (const digest of [untagged.digest, untagged.config.digest, ...untagged.layers.map((l) => l.digest)]) {
      expect(exists(t.fs, t.tree.pathOf({ kind: 'blobData', digest })), digest).toBe(true);
    }
    for (const digest of [untagged.config.digest, ...untagged.layers.map((l) => l.digest)]) {
      expect(exists(t.fs, t.tree.pathOf({ kind: 'layerLink', name: 'team/app', digest })), `layer link ${digest}`).toBe(true);
    }
    expect(exists(t.fs, `${V2}/_janitor/quarantine-revisions`)).toBe(false);
  });

  it('an interrupted sweep leaves blobs aside: the next real run puts them back before reading', async () => {
    const t = sampleTree();
    const hex = t.sample.web.digest.slice(7); // a kept manifest blob, hidden by a crash mid-sweep
    t.fs.mkdirSync(`${V2}/_janitor/quarantine/sha256/${hex.slice(0, 2)}`, { recursive: true });
    t.fs.renameSync(t.tree.pathOf({ kind: 'blobDir', digest: t.sample.web.digest }), `${V2}/_janitor/quarantine/sha256/${hex.slice(0, 2)}/${hex}`);
    const dry = await cli(t.fs, ['gc', '-d', '--json']);
    expect(dry.json.warnings.map((w: { message: string }) => w.message).join('\n')).toMatch(
      /1 blobs or revisions are in .*quarantine\* from an interrupted sweep; a real run puts them back first/,
    );
    const run = await cli(t.fs, ['gc', '-m', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(exists(t.fs, t.tree.pathOf({ kind: 'blobData', digest: t.sample.web.digest }))).toBe(true);
  });
});
