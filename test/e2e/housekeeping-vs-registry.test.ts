// gc's housekeeping against the real registry (Debian's 2.8.2):
// - uploads: real interrupted pushes (POST, then a PATCH of some bytes,
//   never the PUT) leave _uploads/<uuid>/; one aged past AGE (its startedat
//   and mtimes set back) is purged by a plain `gc` run while the registry
//   serves, the fresh one stays and the registry still completes it (PUT,
//   then a pull of the blob), and the purged one is unknown to it (404)
// - empty repositories: after `tags rm` of the only tag of a repository (one
//   of them nested under another repository) and `gc -m
//   --remove-empty-repos`, the registry's /v2/_catalog no longer lists it,
//   and every other tag still pulls in full (and with skopeo)
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { makeTempDir, pullFully, pushPristineTree, sha256, skopeoCopyAll, startRegistry } from '../support/registry.js';
import { type Pushed, pushImage, pushScenario } from '../support/scenario.js';
import { copyTree, runJanitor, v2Of } from '../support/tree-files.js';
import { describeWithRegistry } from '../support/with-registry.js';

const DAY_MS = 86_400_000;

/** POST then one PATCH, never the PUT: what an interrupted push leaves. */
async function interruptedUpload(url: string, repo: string, bytes: Buffer): Promise<{ id: string; location: URL }> {
  const start = await fetch(`${url}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  await start.arrayBuffer();
  if (start.status !== 202) throw new Error(`POST ${repo}: ${start.status}`);
  const patch = await fetch(new URL(start.headers.get('location') ?? '', url), {
    method: 'PATCH',
    body: new Uint8Array(bytes),
    headers: { 'content-type': 'application/octet-stream' },
  });
  await patch.arrayBuffer();
  if (patch.status !== 202) throw new Error(`PATCH ${repo}: ${patch.status}`);
  return { id: patch.headers.get('docker-upload-uuid') ?? '', location: new URL(patch.headers.get('location') ?? '', url) };
}

/** Sets everything in `dir` (and `dir`) to `ms`. */
function setTimes(dir: string, ms: number): void {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) setTimes(full, ms);
    else fs.utimesSync(full, ms / 1000, ms / 1000);
  }
  fs.utimesSync(dir, ms / 1000, ms / 1000);
}

async function catalog(url: string): Promise<string[]> {
  const res = await fetch(`${url}/v2/_catalog?n=1000`);
  const body = (await res.json()) as { repositories: string[] };
  return body.repositories.sort();
}

describeWithRegistry('housekeeping against the real registry', () => {
  let work: string;
  let pristine: string;
  let pushed: Pushed;

  beforeAll(async () => {
    ({ work, pristine, pushed } = await pushPristineTree('e2e-housekeeping', async (url) => {
      const scenario = await pushScenario(url);
      // Repositories whose only tag goes: one nested under a repository, one alone under its own parent.
      await pushImage(url, 'library/alpine/old', { format: 'docker', layers: ['shared-base', 'old'], tag: 'only' });
      await pushImage(url, 'gone/away', { format: 'oci', layers: ['gone'], tag: 'only' });
      return scenario;
    }));
  });

  afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('an interrupted push older than AGE is purged by gc while the registry serves; a fresh one stays and still completes', async () => {
    const root = makeTempDir('e2e-uploads');
    const registry = await startRegistry(root);
    try {
      await pushImage(registry.url, 'keep/app', { format: 'docker', layers: ['keep'], tag: 'v1' });
      const oldBytes = Buffer.from('the first half of a layer that never finished');
      const freshBytes = Buffer.from('a layer being pushed right now');
      const old = await interruptedUpload(registry.url, 'keep/app', oldBytes);
      const fresh = await interruptedUpload(registry.url, 'keep/app', freshBytes);
      const firstPush = await interruptedUpload(registry.url, 'never/pushed', oldBytes);
      const uploadDir = (repo: string, id: string): string => path.join(v2Of(root), 'repositories', repo, '_uploads', id);
      // What 2.8.2 wrote: startedat (RFC 3339), data, hashstates/sha256/<offset>.
      const oldDir = uploadDir('keep/app', old.id);
      expect(fs.readFileSync(path.join(oldDir, 'startedat'), 'utf8')).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      expect(fs.readdirSync(oldDir).sort()).toEqual(['data', 'hashstates', 'startedat']);
      expect(fs.readdirSync(path.join(oldDir, 'hashstates/sha256')).sort()).toEqual(['0', String(oldBytes.length)]);
      // Eight days old: startedat says so, and so do the mtimes.
      const eightDaysAgo = Date.now() - 8 * DAY_MS;
      for (const dir of [oldDir, uploadDir('never/pushed', firstPush.id)]) {
        fs.writeFileSync(path.join(dir, 'startedat'), new Date(eightDaysAgo).toISOString().replace(/\.\d{3}Z$/, 'Z'));
        setTimes(dir, eightDaysAgo);
      }

      const dry = runJanitor(['gc', '--root', root, '-d', '--remove-empty-repos', '--json']);
      expect(dry.status, dry.stderr).toBe(0);
      expect(dry.json.uploads).toMatchObject({ purgedCount: 2, leftCount: 1 });
      expect(fs.existsSync(oldDir)).toBe(true);

      const run = runJanitor(['gc', '--root', root, '--remove-empty-repos', '--json']);
      expect(run.status, run.stderr).toBe(0);
      expect(run.json.uploads.purged.map((u: { repository: string; id: string }) => `${u.repository} ${u.id}`).sort()).toEqual(
        [`keep/app ${old.id}`, `never/pushed ${firstPush.id}`].sort(),
      );
      expect(run.json.uploads).toMatchObject({ purgedCount: 2, leftCount: 1, purgeUploadsAfter: '168h' });
      expect(fs.existsSync(oldDir)).toBe(false);
      expect(fs.existsSync(path.join(uploadDir('keep/app', fresh.id), 'data'))).toBe(true);
      // The name whose first push never finished held nothing else: gone, parents included.
      expect(run.json.emptyRepositories.removed).toEqual([{ name: 'never/pushed', layerLinks: 0 }]);
      expect(fs.existsSync(path.join(v2Of(root), 'repositories/never'))).toBe(false);

      // The registry completes the fresh upload and serves its blob; the purged one it no longer knows.
      const location = new URL(fresh.location);
      location.searchParams.set('digest', sha256(freshBytes));
      const put = await fetch(location, { method: 'PUT' });
      await put.arrayBuffer();
      expect(put.status).toBe(201);
      const blob = await fetch(`${registry.url}/v2/keep/app/blobs/${sha256(freshBytes)}`);
      expect(Buffer.from(await blob.arrayBuffer()).equals(freshBytes)).toBe(true);
      const resumed = await fetch(old.location, { method: 'PATCH', body: Buffer.from('more'), headers: { 'content-type': 'application/octet-stream' } });
      await resumed.arrayBuffer();
      expect(resumed.status).toBe(404);
      await pullFully(registry.url, 'keep/app', 'v1');
    } finally {
      await registry.stop();
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('gc -m --remove-empty-repos after the only tag of a repository is removed: the catalog drops it, every other tag pulls', async () => {
    const root = copyTree(pristine, path.join(work, 'empty-repos'));
    const before = await (async () => {
      const registry = await startRegistry(root);
      try {
        return await catalog(registry.url);
      } finally {
        await registry.stop();
      }
    })();
    expect(before).toEqual(expect.arrayContaining(['gone/away', 'library/alpine', 'library/alpine/old']));
    const alpine = path.join(v2Of(root), 'repositories/library/alpine');
    const alpineEntries = fs.readdirSync(alpine).sort();
    expect(alpineEntries).toContain('old');
    const removed = runJanitor(['tags', 'rm', 'library/alpine/old:only', 'gone/away:only', '--root', root]);
    expect(removed.status, removed.stderr).toBe(0);
    const run = runJanitor(['gc', '-m', '--remove-empty-repos', '--root', root, '--json']);
    expect(run.status, run.stderr).toBe(0);
    expect(run.json.emptyRepositories, JSON.stringify(run.json.warnings)).toMatchObject({
      removed: [{ name: 'library/alpine/old' }, { name: 'gone/away' }],
      kept: [],
    });
    expect(fs.existsSync(path.join(v2Of(root), 'repositories/gone'))).toBe(false);
    // library/alpine/old went; library/alpine, the repository above it, is whole.
    expect(fs.readdirSync(alpine).sort()).toEqual(alpineEntries.filter((name) => name !== 'old'));

    const registry = await startRegistry(root);
    try {
      expect(await catalog(registry.url)).toEqual(before.filter((name) => name !== 'gone/away' && name !== 'library/alpine/old'));
      for (const { repo, tag } of pushed.tags) await pullFully(registry.url, repo, tag);
      const multi = pushed.multiArchTags[0];
      if (!multi) throw new Error('the scenario has a multi-arch tag');
      skopeoCopyAll(registry.url, multi.repo, multi.tag, path.join(work, 'skopeo-out'));
    } finally {
      await registry.stop();
    }
    // verify agrees: every tag left pulls.
    const verify = runJanitor(['verify', '--root', root, '--json']);
    expect(verify.status, verify.stdout).toBe(0);
  });
});
