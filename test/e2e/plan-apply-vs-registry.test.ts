// Plan while serving, apply in the window (issue 13), against the real
// registry (Debian's 2.8.2) on 127.0.0.1:
// - a tree with several repositories, tags, untagged revisions, shared
//   layers and orphans (scenario.ts + live-trial.ts pushHistory), aged
// - `gc -m --plan FILE` (and `prune --plan FILE` with a rule) while the
//   registry serves and a client pushes into two repositories (one new),
//   some pushes reusing blobs the plan wants to delete; after the plan, a
//   new tag on a new image that re-uploads a planned blob, a tag moved onto
//   a planned untagged manifest, a new repository that mounts and
//   re-uploads planned blobs
// - the registry stopped by PID; a copy of the tree taken; `apply FILE`
// - asserted: the repositories read again are exactly those the client
//   changed; what the changes need was dropped from the plan as needed; the
//   tree left equals a direct run of the same command on the copy (every
//   file, size and sha256); restarted, every tag that existed at apply time
//   pulls whole (manifest, children, config, layers, digests checked)
import fs from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, expect, it } from 'vitest';
import { type History, pushHistory, runJanitorAsync } from '../support/live-trial.js';
import { type RunningRegistry, makeTempDir, manifestStatus, pullFully, pushBlob, pushManifest, startRegistry } from '../support/registry.js';
import { M, type Pushed, pushScenario } from '../support/scenario.js';
import { BIN, ageTree, copyTree, listContents, runJanitor } from '../support/tree-files.js';
import { describeWithRegistry } from '../support/with-registry.js';

const layer = (label: string): Buffer => gzipSync(Buffer.from(`layer ${label}\n`.repeat(16)));

interface Blob {
  digest: string;
  size: number;
}

/** The client: every push goes through the registry's HTTP API; it records the repositories it wrote to and the tags it pushed. */
class Client {
  readonly changed = new Set<string>();
  readonly tags = new Map<string, string>();
  constructor(readonly url: string) {}

  async blob(repo: string, bytes: Buffer): Promise<Blob> {
    this.changed.add(repo);
    return pushBlob(this.url, repo, bytes);
  }

  /** A cross-repository mount: the registry writes only a layer link. */
  async mount(repo: string, digest: string, from: string): Promise<Blob> {
    this.changed.add(repo);
    const res = await fetch(`${this.url}/v2/${repo}/blobs/uploads/?mount=${digest}&from=${from}`, { method: 'POST' });
    await res.arrayBuffer();
    if (res.status !== 201) throw new Error(`mount ${digest} from ${from} into ${repo}: ${res.status}`);
    const head = await fetch(`${this.url}/v2/${repo}/blobs/${digest}`, { method: 'HEAD' });
    return { digest, size: Number(head.headers.get('content-length')) };
  }

  async image(repo: string, tag: string, layers: Blob[]): Promise<string> {
    const config = await this.blob(
      repo,
      Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', salt: `${repo}:${tag}`, rootfs: { type: 'layers' } })),
    );
    const manifest = {
      schemaVersion: 2,
      mediaType: M.ociManifest,
      config: { mediaType: M.ociConfig, ...config },
      layers: layers.map((l) => ({ mediaType: M.ociLayer, ...l })),
    };
    return this.put(repo, tag, manifest, M.ociManifest);
  }

  /** PUT a manifest body by tag (a new tag, or one moved). */
  async put(repo: string, tag: string, manifest: object, mediaType: string): Promise<string> {
    this.changed.add(repo);
    const { digest } = await pushManifest(this.url, repo, tag, manifest, mediaType);
    this.tags.set(`${repo}:${tag}`, digest);
    return digest;
  }
}

/** A manifest and a blob as the registry serves them (read before the plan, to push again after it). */
async function fetchBody(url: string, pathname: string, accept?: string): Promise<{ body: Buffer; type: string }> {
  const res = await fetch(`${url}${pathname}`, { headers: accept ? { accept } : {} });
  if (res.status !== 200) throw new Error(`GET ${pathname}: ${res.status}`);
  return { body: Buffer.from(await res.arrayBuffer()), type: res.headers.get('content-type') ?? '' };
}

const DURING = ['library/alpine', 'live/during'];

interface Planned {
  kind: string;
  repository: string | null;
  digest: string | null;
  tag: string | null;
}

describeWithRegistry('plan while serving, apply in the window, against the real registry', () => {
  const works: string[] = [];
  let registry: RunningRegistry | undefined;

  afterAll(async () => {
    await registry?.stop();
    for (const work of works) fs.rmSync(work, { recursive: true, force: true });
  });

  async function trial(command: string[]) {
    const work = makeTempDir('e2e-plan');
    works.push(work);
    const root = path.join(work, 'root');
    fs.mkdirSync(root);
    registry = await startRegistry(root);
    const pushed: Pushed = await pushScenario(registry.url);
    const history: History = await pushHistory(registry.url, 2);
    await registry.stop();
    ageTree(root);
    registry = await startRegistry(root);
    const url = registry.url;
    const untaggedAlpine = pushed.untagged.find((u) => u.repo === 'library/alpine');
    if (!untaggedAlpine) throw new Error('the scenario pushed no untagged library/alpine manifest');
    const oldManifest = await fetchBody(url, `/v2/library/alpine/manifests/${untaggedAlpine.digest}`, M.schema2);
    const orphan = await fetchBody(url, `/v2/library/alpine/blobs/${pushed.orphanBlob}`);
    const candidates = (repo: string) => history.candidateBlobs.filter((c) => c.repo === repo);
    const [reupload, mounted] = candidates('hist/r1');
    if (!reupload || !mounted) throw new Error('hist/r1 has fewer than two deletion candidates');

    // The plan, while the client pushes into DURING (one push each after the plan too, so each changed after the plan read it).
    const client = new Client(url);
    const state: { stop: boolean; failed?: Error } = { stop: false };
    let pushes = 0;
    const pushDuring = async (i: number): Promise<void> => {
      const repo = DURING[i % DURING.length] ?? '';
      const reused = candidates('hist/r0')[i % candidates('hist/r0').length];
      if (!reused) throw new Error('hist/r0 has no deletion candidate');
      await client.image(repo, `during-${i}`, [await client.blob(repo, reused.bytes), await client.blob(repo, layer(`during-${i}-${Date.now()}`))]);
      pushes++;
    };
    const during = (async () => {
      try {
        for (let i = 0; !state.stop; i++) await pushDuring(i);
      } catch (error) {
        state.failed = error instanceof Error ? error : new Error(`a push failed: ${JSON.stringify(error)}`);
      }
    })();
    while (pushes < 2 && state.failed === undefined) await new Promise((r) => setTimeout(r, 5));
    const planFile = path.join(work, 'plan.jsonl');
    const plan = await runJanitorAsync(BIN, [...command, '--root', root, '--plan', planFile, '--json']);
    const duringPlan = pushes - 2;
    state.stop = true;
    await during;
    if (state.failed !== undefined) throw state.failed;
    for (let i = 0; i < DURING.length; i++) await pushDuring(1000 + i);
    expect(plan.status, plan.stderr).toBe(0);
    const targets = fs
      .readFileSync(planFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Planned & { type: string })
      .filter((r) => r.type === 'target');
    const plannedBlob = (digest: string): boolean => targets.some((t) => t.kind === 'blob' && t.digest === digest);
    expect(plannedBlob(reupload.blob.digest) && plannedBlob(mounted.blob.digest) && plannedBlob(pushed.orphanBlob)).toBe(true);
    expect(targets).toContainEqual(expect.objectContaining({ kind: 'revision', repository: 'library/alpine', digest: untaggedAlpine.digest }));

    // After the plan: a new tag on an image re-uploading a planned blob, a tag moved onto a
    // planned untagged manifest (its old target keeps another tag), a new repository of planned blobs.
    await client.image('team/app', 'reuse', [await client.blob('team/app', reupload.bytes), await client.blob('team/app', layer('reuse-top'))]);
    await client.put('library/alpine', 'latest', JSON.parse(oldManifest.body.toString()) as object, oldManifest.type);
    expect(client.tags.get('library/alpine:latest')).toBe(untaggedAlpine.digest);
    await client.image('fresh/reuse', 'r1', [await client.mount('fresh/reuse', mounted.blob.digest, 'hist/r1'), await client.blob('fresh/reuse', orphan.body)]);

    // The window: stopped by PID, a copy for the direct run, then apply.
    await registry.stop();
    registry = undefined;
    const direct = copyTree(root, path.join(work, 'direct'));
    const applied = runJanitor(['apply', planFile, '--json']);
    expect(applied.status, applied.stderr).toBe(0);
    const directRun = runJanitor([...command, '--root', direct, '--json']);
    expect(directRun.status, directRun.stderr).toBe(0);
    process.stderr.write(
      `plan/apply e2e (${command.join(' ')}): ${duringPlan} pushes while the plan ran (${plan.ms} ms), ${client.changed.size} repositories changed, ${applied.json.apply.repositoriesReread} read again, ${applied.json.apply.dropped.length} targets dropped\n`,
    );

    // Exactly the repositories the client wrote to were read again.
    expect(applied.json.apply.reread.sort()).toEqual([...client.changed].sort());
    expect(applied.json.apply.repositoriesReread).toBe(client.changed.size);
    // What the changes need was dropped from the plan, as needed.
    const dropped = applied.json.apply.dropped as (Planned & { reason: string })[];
    for (const digest of [reupload.blob.digest, mounted.blob.digest, pushed.orphanBlob])
      expect(dropped).toContainEqual({ kind: 'blob', repository: null, digest, tag: null, reason: 'needed' });
    expect(dropped).toContainEqual({ kind: 'revision', repository: 'library/alpine', digest: untaggedAlpine.digest, tag: null, reason: 'needed' });
    // The registry was stopped: the sweep's recheck found nothing to read again or put back (a wrong decision of apply's
    // that the recheck repaired would show here as W_REVALIDATED and W_RESTORED); the plan's drops are reported.
    expect(applied.json.warnings.map((w: { code: string }) => w.code)).toEqual(['W_PLAN_DROPPED']);
    // The rest of the plan went, and the tree is the one a direct run leaves.
    expect(applied.json.blobsDeleted.length).toBeGreaterThan(0);
    expect(applied.json.manifestsDeleted.length).toBeGreaterThan(0);
    expect(listContents(root)).toEqual(listContents(direct));

    // Restarted: every tag that existed at apply time pulls whole; the plan's removed tags do not.
    const removed = new Set(targets.filter((t) => t.kind === 'tag').map((t) => `${t.repository ?? ''}:${t.tag ?? ''}`));
    const expected = new Map<string, string>();
    for (const t of [...pushed.tags, ...history.tags]) expected.set(`${t.repo}:${t.tag}`, t.digest);
    for (const [key, digest] of client.tags) expected.set(key, digest);
    for (const key of removed) expected.delete(key);
    registry = await startRegistry(root);
    const failures: string[] = [];
    for (const [key, digest] of expected) {
      const at = key.lastIndexOf(':');
      try {
        const fetched = await pullFully(registry.url, key.slice(0, at), key.slice(at + 1));
        if (fetched[0] !== digest) failures.push(`${key} pulls ${fetched[0]}, expected ${digest}`);
      } catch (error) {
        failures.push(`${key}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    for (const key of removed) {
      const at = key.lastIndexOf(':');
      expect(await manifestStatus(registry.url, key.slice(0, at), key.slice(at + 1)), key).toBe(404);
    }
    await registry.stop();
    registry = undefined;
    expect(failures).toEqual([]);
    return { removed, expected };
  }

  it('gc -m --plan while a client pushes; apply in the window: the repositories the client changed are read again, every tag pulls, the tree is a direct gc -m', async () => {
    const { expected } = await trial(['gc', '-m']);
    expect(expected.size).toBeGreaterThan(15);
  }, 180_000);

  it('prune -m --tag ^v --keep-latest 1 --plan, the same: its tag removals applied, the tree is a direct prune', async () => {
    const { removed } = await trial(['prune', '-m', '--tag', '^v', '--keep-latest', '1']);
    // Each history repository's v1 and v2 (v3 is its latest v tag).
    expect([...removed].sort()).toEqual(['hist/r0:v1', 'hist/r0:v2', 'hist/r1:v1', 'hist/r1:v2']);
  }, 180_000);
});
