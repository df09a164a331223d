// A live registry under a sweep (issue 8): the real registry serves a temp
// root with an aged history, a client pushes while `gc -m --allow-live`
// runs, and every push that completed must still pull in full afterwards.
// Shared by test/e2e/live-registry.test.ts (one trial) and
// tools/live-trials.mjs (K trials, from a compiled copy of this file), so
// it imports only node:* and ./registry.js / ./tree-files.js.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { type RunningRegistry, type ServeOptions, makeTempDir, pullFully, pushBlob, pushManifest, sha256, startRegistry } from './registry.js';
import { ageTree } from './tree-files.js';

const MEDIA = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

// ---------------------------------------------------------------- registry

// ---------------------------------------------------------------- janitor

/** A finished run: `json` is the parsed report of a --json run that exited 0, else undefined. */
function finishedRun(args: string[], status: number | null, stdout: string, stderr: string, started: number) {
  return { status, stdout, stderr, json: args.includes('--json') && status === 0 ? JSON.parse(stdout) : undefined, ms: Date.now() - started };
}

export type AsyncRun = ReturnType<typeof finishedRun>;

/** Runs the built CLI without blocking the event loop (pushes go on meanwhile). */
export function runJanitorAsync(bin: string, args: string[], onSpawn?: (pid: number) => void): Promise<AsyncRun> {
  const started = Date.now();
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid !== undefined) onSpawn?.(child.pid);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => {
    child.once('close', (status) => resolve(finishedRun(args, status, stdout, stderr, started)));
  });
}

// ---------------------------------------------------------------- pushes

const layer = (label: string): Buffer => gzipSync(Buffer.from(`layer ${label}\n`.repeat(16)));

interface Blob {
  digest: string;
  size: number;
}

interface Manifest {
  digest: string;
  size: number;
  mediaType: string;
  body: string;
}

/** A tag expected to pull `digest` in full. */
export interface Expectation {
  repo: string;
  tag: string;
  digest: string;
}

export type PushKind = 'new-layers' | 'repushed-layer' | 'cross-repo-mount' | 'multi-arch-index' | 'repoint-tag';
export const PUSH_KINDS: readonly PushKind[] = ['new-layers', 'repushed-layer', 'cross-repo-mount', 'multi-arch-index', 'repoint-tag'];

async function putImage(url: string, repo: string, tag: string | undefined, layers: Blob[], arch: string, salt: string): Promise<Manifest> {
  const config = await pushBlob(
    url,
    repo,
    JSON.stringify({ architecture: arch, os: 'linux', salt, rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) } }),
  );
  const manifest = {
    schemaVersion: 2,
    mediaType: MEDIA.ociManifest,
    config: { mediaType: MEDIA.ociConfig, ...config },
    layers: layers.map((l) => ({ mediaType: MEDIA.ociLayer, ...l })),
  };
  const body = JSON.stringify(manifest);
  const d = await pushManifest(url, repo, tag, manifest, MEDIA.ociManifest);
  return { ...d, body };
}

/** What the aged history offers the pusher: deletion candidates under -m, and what stays. */
export interface History {
  repos: string[];
  /** every tag, and the digest it pulls. */
  tags: Expectation[];
  /** untagged manifests (deleted by -m unless a push re-tags them). */
  untagged: { repo: string; manifest: Manifest }[];
  /** blobs only an untagged manifest references, or none (orphans), with a repository linking them. */
  candidateBlobs: { repo: string; blob: Blob; bytes: Buffer }[];
  /** blobs a tag keeps, with a repository linking them. */
  keptBlobs: { repo: string; blob: Blob; bytes: Buffer }[];
}

/**
 * The history: `repos` repositories, each with tags re-pushed so that old
 * revisions are untagged (their private layers only they reference), an
 * orphan blob, and a tagged multi-arch OCI index next to an untagged one.
 */
export async function pushHistory(url: string, repos = 6): Promise<History> {
  const h: History = { repos: [], tags: [], untagged: [], candidateBlobs: [], keptBlobs: [] };
  for (let r = 0; r < repos; r++) {
    const repo = `hist/r${r}`;
    h.repos.push(repo);
    const blob = async (label: string): Promise<{ blob: Blob; bytes: Buffer }> => {
      const bytes = layer(`${repo}-${label}`);
      return { blob: await pushBlob(url, repo, bytes), bytes };
    };
    const base = await blob('base');
    h.keptBlobs.push({ repo, ...base });
    for (const tag of ['v1', 'v2', 'v3']) {
      const old = await blob(`${tag}-old`);
      const oldManifest = await putImage(url, repo, tag, [base.blob, old.blob], 'amd64', `${repo}:${tag}:old`);
      h.untagged.push({ repo, manifest: oldManifest });
      h.candidateBlobs.push({ repo, ...old });
      const cur = await blob(`${tag}-cur`);
      const curManifest = await putImage(url, repo, tag, [base.blob, cur.blob], 'amd64', `${repo}:${tag}:cur`);
      h.tags.push({ repo, tag, digest: curManifest.digest });
      h.keptBlobs.push({ repo, ...cur });
    }
    // A tagged index and an untagged one, children by digest.
    for (const tag of ['multi', undefined]) {
      const children = [];
      for (const arch of ['amd64', 'arm64']) {
        const own = await blob(`${tag ?? 'untagged'}-${arch}`);
        const child = await putImage(url, repo, undefined, [base.blob, own.blob], arch, `${repo}:${tag}:${arch}`);
        children.push({ mediaType: child.mediaType, digest: child.digest, size: child.size, platform: { os: 'linux', architecture: arch } });
        (tag ? h.keptBlobs : h.candidateBlobs).push({ repo, ...own });
      }
      const index = { schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: children };
      const d = await pushManifest(url, repo, tag, index, MEDIA.ociIndex);
      if (tag) h.tags.push({ repo, tag, digest: d.digest });
      else h.untagged.push({ repo, manifest: { ...d, body: JSON.stringify(index) } });
    }
    const orphan = await blob('orphan');
    h.candidateBlobs.push({ repo, ...orphan });
  }
  return h;
}

export interface PushRecord extends Expectation {
  kind: PushKind;
  at: number;
}

export interface PusherOutcome {
  completed: PushRecord[];
  /** pushes that failed (an HTTP error before the manifest PUT answered 201): not completed, so not counted as lost. */
  failed: { kind: PushKind; error: string }[];
  byKind: Record<PushKind, number>;
}

/**
 * Pushes in a loop until stop() or a bound (maxPushes, maxMs), rotating
 * through every kind of push. Only to `url` (127.0.0.1).
 */
export function startPusher(
  url: string,
  history: History,
  bounds: { maxPushes: number; maxMs: number },
  label = 'p',
): { done: Promise<PusherOutcome>; stop(): void; count(): number } {
  const stopping = new AbortController();
  const outcome: PusherOutcome = { completed: [], failed: [], byKind: Object.fromEntries(PUSH_KINDS.map((k) => [k, 0])) as Record<PushKind, number> };
  const deadline = Date.now() + bounds.maxMs;
  const pick = <T>(list: readonly T[], i: number): T => list[i % list.length]!;

  const pushOne = async (i: number, kind: PushKind): Promise<Expectation> => {
    const fresh = async (repo: string, name: string): Promise<Blob> => pushBlob(url, repo, layer(`${label}-${i}-${name}-${Date.now()}`));
    switch (kind) {
      case 'new-layers': {
        const repo = `live/new${i % 3}`;
        const m = await putImage(url, repo, `t${i}`, [await fresh(repo, 'a'), await fresh(repo, 'b')], 'amd64', `${label}-${i}`);
        return { repo, tag: `t${i}`, digest: m.digest };
      }
      case 'repushed-layer': {
        // An existing blob, most often a deletion candidate: the registry
        // finds its data already there and writes only a new _layers link.
        const source = i % 4 === 0 ? pick(history.keptBlobs, i) : pick(history.candidateBlobs, i);
        const repo = i % 2 === 0 ? source.repo : `live/repush${i % 3}`;
        const again = await pushBlob(url, repo, source.bytes);
        if (again.digest !== source.blob.digest) throw new Error('re-push changed the digest');
        const m = await putImage(url, repo, `t${i}`, [source.blob, await fresh(repo, 'top')], 'amd64', `${label}-${i}`);
        return { repo, tag: `t${i}`, digest: m.digest };
      }
      case 'cross-repo-mount': {
        const source = i % 4 === 0 ? pick(history.keptBlobs, i) : pick(history.candidateBlobs, i);
        const repo = `live/mount${i % 3}`;
        const res = await fetch(`${url}/v2/${repo}/blobs/uploads/?mount=${source.blob.digest}&from=${source.repo}`, { method: 'POST' });
        await res.arrayBuffer();
        if (res.status !== 201) throw new Error(`mount ${source.blob.digest} from ${source.repo} into ${repo}: ${res.status}`);
        const m = await putImage(url, repo, `t${i}`, [source.blob, await fresh(repo, 'top')], 'amd64', `${label}-${i}`);
        return { repo, tag: `t${i}`, digest: m.digest };
      }
      case 'multi-arch-index': {
        // Children by digest, then the index by tag; one child reuses a candidate layer.
        const repo = i % 2 === 0 ? `live/multi` : pick(history.repos, i);
        const children = [];
        for (const arch of ['amd64', 'arm64']) {
          const layers = [await fresh(repo, arch)];
          if (arch === 'arm64') {
            const source = pick(history.candidateBlobs, i);
            layers.push(await pushBlob(url, repo, source.bytes));
          }
          const child = await putImage(url, repo, undefined, layers, arch, `${label}-${i}-${arch}`);
          children.push({ mediaType: child.mediaType, digest: child.digest, size: child.size, platform: { os: 'linux', architecture: arch } });
        }
        const d = await pushManifest(url, repo, `t${i}`, { schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: children }, MEDIA.ociIndex);
        return { repo, tag: `t${i}`, digest: d.digest };
      }
      case 'repoint-tag': {
        // An existing older untagged manifest, tagged again: half the time an
        // existing tag (whose previous target becomes untagged), else a new one.
        const { repo, manifest } = pick(history.untagged, i);
        const tag = i % 2 === 0 ? pick(['v1', 'v2', 'v3'], i >> 1) : `t${i}`;
        const res = await fetch(`${url}/v2/${repo}/manifests/${tag}`, { method: 'PUT', body: manifest.body, headers: { 'content-type': manifest.mediaType } });
        const text = await res.text();
        if (res.status !== 201) throw new Error(`re-point ${repo}:${tag} to ${manifest.digest}: ${res.status} ${text}`);
        if (sha256(manifest.body) !== manifest.digest) throw new Error('manifest body does not match its digest');
        return { repo, tag, digest: manifest.digest };
      }
    }
  };

  const done = (async (): Promise<PusherOutcome> => {
    for (let i = 0; !stopping.signal.aborted && i < bounds.maxPushes && Date.now() < deadline; i++) {
      const kind = PUSH_KINDS[i % PUSH_KINDS.length]!;
      try {
        const expectation = await pushOne(i, kind);
        outcome.completed.push({ ...expectation, kind, at: Date.now() });
        outcome.byKind[kind]++;
      } catch (error) {
        outcome.failed.push({ kind, error: error instanceof Error ? error.message : String(error) });
      }
    }
    return outcome;
  })();
  return { done, stop: () => stopping.abort(), count: () => outcome.completed.length };
}

/** The last expectation per repo:tag (a later push re-pointing a tag supersedes the earlier one). */
export function currentExpectations(history: History, completed: readonly PushRecord[]): Map<string, Expectation & { kind: PushKind | 'history' }> {
  const out = new Map<string, Expectation & { kind: PushKind | 'history' }>();
  for (const t of history.tags) out.set(`${t.repo}:${t.tag}`, { ...t, kind: 'history' });
  for (const p of [...completed].sort((a, b) => a.at - b.at)) out.set(`${p.repo}:${p.tag}`, p);
  return out;
}

export interface Loss {
  repo: string;
  tag: string;
  digest: string;
  kind: PushKind | 'history';
  error: string;
}

/** Pulls every expected tag in full (manifest, children, configs, layers, digests checked). */
export async function findLosses(url: string, expected: Iterable<Expectation & { kind: PushKind | 'history' }>): Promise<Loss[]> {
  const lost: Loss[] = [];
  for (const e of expected) {
    try {
      const fetched = await pullFully(url, e.repo, e.tag);
      if (fetched[0] !== e.digest) throw new Error(`tag pulls ${fetched[0]}, expected ${e.digest}`);
    } catch (error) {
      lost.push({ ...e, error: error instanceof Error ? error.message : String(error) });
    }
  }
  return lost;
}

// ---------------------------------------------------------------- a trial

export interface TrialOptions {
  /** the built CLI (bin/registry-janitor.js). */
  bin: string;
  /** extra janitor flags, e.g. ['--grace', '0s']. */
  flags?: string[];
  historyRepos?: number;
  /** pushes before the janitor starts (so the sweep starts while pushes run). */
  leadPushes?: number;
  /** pushes after the janitor exits. */
  tailPushes?: number;
  maxPushes?: number;
  maxMs?: number;
  serve?: ServeOptions;
}

export interface TrialOutcome {
  janitor: AsyncRun;
  pusher: PusherOutcome;
  /** completed pushes (manifest PUT answered 201). */
  completed: number;
  /** completed while the janitor process ran. */
  completedDuringRun: number;
  /** tags checked (history + live, the latest per tag). */
  checked: number;
  lost: Loss[];
}

/**
 * One trial: history pushed, registry stopped, tree aged, registry
 * restarted; a pusher runs; `gc -m --allow-live --root ROOT --json [flags]`
 * runs meanwhile; the pusher stops a few pushes after it exits; every
 * expectation is pulled through the same registry.
 */
export async function runLiveTrial(options: TrialOptions): Promise<TrialOutcome> {
  const work = makeTempDir('live');
  const root = path.join(work, 'root');
  fs.mkdirSync(root);
  let registry: RunningRegistry | undefined;
  try {
    registry = await startRegistry(root, options.serve);
    const history = await pushHistory(registry.url, options.historyRepos ?? 6);
    await registry.stop();
    registry = undefined;
    ageTree(root); // two days old: the default grace window spares none of it
    registry = await startRegistry(root, options.serve);

    const pusher = startPusher(registry.url, history, { maxPushes: options.maxPushes ?? 400, maxMs: options.maxMs ?? 20_000 });
    const lead = options.leadPushes ?? 3;
    const leadDeadline = Date.now() + 10_000;
    while (pusher.count() < lead && Date.now() < leadDeadline) await new Promise((r) => setTimeout(r, 5));
    const before = pusher.count();
    const janitor = await runJanitorAsync(options.bin, ['gc', '-m', '--allow-live', '--root', root, '--json', ...(options.flags ?? [])]);
    const during = pusher.count() - before;
    const tail = options.tailPushes ?? 5;
    const tailDeadline = Date.now() + 10_000;
    while (pusher.count() < before + during + tail && Date.now() < tailDeadline) await new Promise((r) => setTimeout(r, 5));
    pusher.stop();
    const pushed = await pusher.done;

    const expected = currentExpectations(history, pushed.completed);
    const lost = await findLosses(registry.url, expected.values());
    return { janitor, pusher: pushed, completed: pushed.completed.length, completedDuringRun: during, checked: expected.size, lost };
  } finally {
    await registry?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}
