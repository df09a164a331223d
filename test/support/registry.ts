// The real Distribution registry (Debian's docker-registry 2.8.2) for the
// end-to-end tests: started on 127.0.0.1 on a free port with a temporary
// root, stopped by its PID. Pushes go through the HTTP API v2; pulls check
// every digest.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ageTree } from './tree-files.js';

export const REGISTRY_BIN = process.env.REGISTRY_BIN ?? '/usr/bin/docker-registry';

/**
 * Whether the end-to-end suites can run. Missing binary: loud skip on a
 * developer machine, failure under CI=true (see requireRegistry()).
 */
export function registryAvailable(): boolean {
  return fs.existsSync(REGISTRY_BIN);
}

export function missingRegistryMessage(): string {
  return `!!! ${REGISTRY_BIN} is missing: end-to-end tests against the real registry are NOT running. Install it with: apt-get install -y docker-registry skopeo`;
}

export function makeTempDir(label: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `rj-${label}-`));
}

export interface ServeOptions {
  readOnly?: boolean;
  /** storage.cache.blobdescriptor: inmemory (Debian's and the official image's default config). */
  cache?: boolean;
}

export function writeConfig(dir: string, rootdirectory: string, port: number, options: ServeOptions = {}): string {
  const file = path.join(dir, 'config.yml');
  const lines = ['version: 0.1', 'log:', '  level: error', '  accesslog:', '    disabled: true', 'storage:'];
  if (options.cache) lines.push('  cache:', '    blobdescriptor: inmemory');
  lines.push('  filesystem:', `    rootdirectory: ${rootdirectory}`, '  delete:', '    enabled: true');
  if (options.readOnly) lines.push('  maintenance:', '    readonly:', '      enabled: true');
  lines.push('http:', `  addr: 127.0.0.1:${port}`, '');
  fs.writeFileSync(file, lines.join('\n'));
  return file;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface RunningRegistry {
  url: string;
  pid: number;
  /** the config.yml it serves with (for --config). */
  config: string;
  stop(): Promise<void>;
}

/** Serves `rootdirectory` until stop(); resolves once /v2/ answers. */
export async function startRegistry(rootdirectory: string, options: ServeOptions = {}): Promise<RunningRegistry> {
  const dir = makeTempDir('cfg');
  const port = await freePort();
  const config = writeConfig(dir, rootdirectory, port, options);
  const child: ChildProcess = spawn(REGISTRY_BIN, ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
    await exited;
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`registry exited early: ${stderr}`);
    try {
      const res = await fetch(`${url}/v2/`);
      await res.arrayBuffer();
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`registry did not answer on ${url}: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url, pid: child.pid!, config, stop };
}

export function sha256(bytes: string | Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Pushes a blob with POST + PUT ?digest=. */
export async function pushBlob(url: string, repo: string, bytes: Uint8Array | string): Promise<{ digest: string; size: number }> {
  const body = typeof bytes === 'string' ? Buffer.from(bytes) : Buffer.from(bytes);
  const digest = sha256(body);
  const start = await fetch(`${url}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  if (start.status !== 202) throw new Error(`upload start ${repo}: ${start.status} ${await start.text()}`);
  const location = new URL(start.headers.get('location')!, url);
  location.searchParams.set('digest', digest);
  const put = await fetch(location, { method: 'PUT', body, headers: { 'content-type': 'application/octet-stream' } });
  if (put.status !== 201) throw new Error(`upload ${repo} ${digest}: ${put.status} ${await put.text()}`);
  return { digest, size: body.length };
}

/** PUT a manifest by tag, or by its own digest when `tag` is undefined; returns its descriptor. */
export async function pushManifest(
  url: string,
  repo: string,
  tag: string | undefined,
  manifest: object,
  mediaType: string,
): Promise<{ digest: string; size: number; mediaType: string }> {
  const body = Buffer.from(JSON.stringify(manifest));
  const reference = tag ?? sha256(body);
  const res = await fetch(`${url}/v2/${repo}/manifests/${reference}`, { method: 'PUT', body, headers: { 'content-type': mediaType } });
  if (res.status !== 201) throw new Error(`manifest ${repo}:${reference}: ${res.status} ${await res.text()}`);
  return { digest: sha256(body), size: body.length, mediaType };
}

const ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

async function getVerified(url: string, pathname: string, expected?: string, accept?: string): Promise<Buffer> {
  const res = await fetch(`${url}${pathname}`, { headers: accept ? { accept } : {} });
  if (res.status !== 200) throw new Error(`GET ${pathname}: ${res.status}`);
  const body = Buffer.from(await res.arrayBuffer());
  if (expected && sha256(body) !== expected) throw new Error(`GET ${pathname}: content does not match ${expected}`);
  return body;
}

/**
 * Pulls `repo:reference` in full: the manifest, every child of an index (at
 * any depth), every config and layer, each checked against its digest.
 * Returns the digests it fetched.
 */
export async function pullFully(url: string, repo: string, reference: string): Promise<string[]> {
  const fetched: string[] = [];
  const visit = async (ref: string, expected?: string): Promise<void> => {
    const body = await getVerified(url, `/v2/${repo}/manifests/${ref}`, expected, ACCEPT);
    fetched.push(sha256(body));
    const doc = JSON.parse(body.toString()) as { manifests?: { digest: string }[]; config?: { digest: string }; layers?: { digest: string }[] };
    for (const child of doc.manifests ?? []) await visit(child.digest, child.digest);
    for (const blob of [...(doc.config ? [doc.config] : []), ...(doc.layers ?? [])]) {
      await getVerified(url, `/v2/${repo}/blobs/${blob.digest}`, blob.digest);
      fetched.push(blob.digest);
    }
  };
  await visit(reference);
  return fetched;
}

/** The HTTP status of a manifest GET (404 for a removed tag). */
export async function manifestStatus(url: string, repo: string, reference: string): Promise<number> {
  const res = await fetch(`${url}/v2/${repo}/manifests/${reference}`, { headers: { accept: ACCEPT } });
  await res.arrayBuffer();
  return res.status;
}

export interface ReferenceGcOutcome {
  marked: number;
  blobsEligible: number;
  manifestsEligible: number;
  stdout: string;
}

/** Runs Distribution's own `garbage-collect` on a root. */
export function runReferenceGc(rootdirectory: string, flags: string[]): ReferenceGcOutcome {
  const dir = makeTempDir('refgc');
  const config = writeConfig(dir, rootdirectory, 5000);
  const run = spawnSync(REGISTRY_BIN, ['garbage-collect', ...flags, config], { encoding: 'utf8' });
  fs.rmSync(dir, { recursive: true, force: true });
  if (run.status !== 0) throw new Error(`reference gc failed (${run.status}): ${run.stderr}${run.stdout}`);
  const match = /(\d+) blobs marked, (\d+) blobs and (\d+) manifests eligible for deletion/.exec(run.stdout);
  if (!match) throw new Error(`reference gc printed no summary: ${run.stdout}`);
  return { marked: Number(match[1]), blobsEligible: Number(match[2]), manifestsEligible: Number(match[3]), stdout: run.stdout };
}

export const SKOPEO_BIN = '/usr/bin/skopeo';

/**
 * Copies every platform of `repo:tag` with skopeo (a real client, which
 * verifies every digest) into an OCI layout; throws on any failure.
 */
export function skopeoCopyAll(url: string, repo: string, tag: string, into: string): void {
  const source = `docker://${url.replace(/^http:\/\//, '')}/${repo}:${tag}`;
  const run = spawnSync(SKOPEO_BIN, ['--insecure-policy', 'copy', '--all', '--src-tls-verify=false', source, `oci:${into}:${tag}`], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`skopeo copy ${source}: ${run.stderr}`);
}

/**
 * A temporary work directory with a `pristine` registry root, filled by
 * `push` through a real registry that is stopped again before returning,
 * then aged (tree-files.ts ageTree).
 */
export async function pushPristineTree<T>(label: string, push: (url: string) => Promise<T>): Promise<{ work: string; pristine: string; pushed: T }> {
  const work = makeTempDir(label);
  const pristine = path.join(work, 'pristine');
  fs.mkdirSync(pristine);
  const registry = await startRegistry(pristine);
  let pushed: T;
  try {
    pushed = await push(registry.url);
  } finally {
    await registry.stop();
  }
  // Pushed long ago as far as the grace window (default 1h) is concerned.
  ageTree(pristine);
  return { work, pristine, pushed };
}
