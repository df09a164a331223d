// tools/repro-sweep-race.mjs [FILLER_BLOBS=3000] [TARGET_REPO=b/new]: needs npm run build and /usr/bin/docker-registry.
// Deterministic reproduction: a push that completes while `gc -m --allow-live`
// (default grace 1h) sweeps is lost. The tree: one tagged image, an aged orphan
// blob X (linked from a/app/_layers) whose digest starts with "ff" so the sweep
// deletes it last, and N aged orphan filler blobs so the sweep lasts a while.
// Once the sweep has begun (a filler in shard 00 is gone), push X again into a
// NEW repository b/new and a manifest referencing it (201), then wait for gc.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const N = Number(process.argv[2] ?? 3000);
const TARGET = process.argv[3] ?? 'b/new';
const REPO_DIR = path.resolve(import.meta.dirname, '..');
const sha = (b) => 'sha256:' + createHash('sha256').update(b).digest('hex');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'rj-repro-'));
const root = path.join(work, 'root');
fs.mkdirSync(root);
const port = await new Promise((res) => {
  const s = net.createServer();
  s.listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => res(p));
  });
});
const cfg = path.join(work, 'config.yml');
fs.writeFileSync(
  cfg,
  `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${root}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n`,
);
const url = `http://127.0.0.1:${port}`;
let reg;
async function startReg() {
  reg = spawn('/usr/bin/docker-registry', ['serve', cfg], { stdio: 'ignore' });
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(url + '/v2/')).status === 200) return;
    } catch {
      /* not listening yet */
    }
    await sleep(50);
  }
  throw new Error('registry did not start');
}
async function stopReg() {
  const done = new Promise((r) => reg.once('exit', r));
  process.kill(reg.pid, 'SIGTERM');
  await done;
}
async function pushBlob(repo, body) {
  const start = await fetch(`${url}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  const loc = new URL(start.headers.get('location'), url);
  loc.searchParams.set('digest', sha(body));
  const put = await fetch(loc, { method: 'PUT', body });
  if (put.status !== 201) throw new Error(`blob ${put.status}`);
  return { digest: sha(body), size: body.length };
}
async function pushImage(repo, tag, layers) {
  const config = await pushBlob(repo, Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', tag, layers: layers.map((l) => l.digest) })));
  const m = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
    layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...l })),
  });
  const res = await fetch(`${url}/v2/${repo}/manifests/${tag}`, {
    method: 'PUT',
    body: m,
    headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
  });
  return { status: res.status, digest: sha(m) };
}
try {
  await startReg();
  await pushImage('a/app', 'v1', [await pushBlob('a/app', Buffer.from('base layer'))]);
  let x;
  for (let i = 0; ; i++) {
    x = Buffer.from(`orphan ${i}`);
    if (sha(x).startsWith('sha256:ff')) break;
  }
  const X = await pushBlob('a/app', x); // orphan: linked from a/app/_layers, referenced by no manifest
  await stopReg();
  const blobs = path.join(root, 'docker/registry/v2/blobs/sha256');
  let first00;
  for (let i = 0; i < N; i++) {
    const b = Buffer.from(`filler ${i}`);
    const hex = sha(b).slice(7);
    if (hex.startsWith('ff')) continue;
    if (hex.startsWith('00') && !first00) first00 = hex;
    fs.mkdirSync(path.join(blobs, hex.slice(0, 2), hex), { recursive: true });
    fs.writeFileSync(path.join(blobs, hex.slice(0, 2), hex, 'data'), b);
  }
  // age everything by two days, as tree-files.ts ageTree does
  const old = (Date.now() - 2 * 86400e3) / 1000;
  const age = (p) => {
    for (const e of fs.readdirSync(p, { withFileTypes: true })) {
      const f = path.join(p, e.name);
      if (e.isDirectory()) age(f);
      fs.utimesSync(f, old, old);
    }
  };
  age(root);
  await startReg();
  const t0 = Date.now();
  const gc = spawn(process.execPath, [`${REPO_DIR}/bin/registry-janitor.js`, 'gc', '-m', '--allow-live', '--root', root, '--json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  gc.stdout.on('data', (c) => (out += c));
  const exited = new Promise((r) => gc.once('close', r));
  while (fs.existsSync(path.join(blobs, '00', first00))) await sleep(2);
  const sweepSeenAt = Date.now() - t0;
  await pushBlob(TARGET, x); // the blob exists: the registry only writes TARGET/_layers/sha256/ff.../link
  const pushed = await pushImage(TARGET, 'v2', [X]);
  const pushedAt = Date.now() - t0;
  const code = await exited;
  const json = JSON.parse(out || '{}');
  const get = await fetch(`${url}/v2/${TARGET}/blobs/${X.digest}`);
  console.log(
    `sweep seen at ${sweepSeenAt} ms; ${TARGET}:v2 manifest PUT -> ${pushed.status} at ${pushedAt} ms; gc exit ${code} after ${Date.now() - t0} ms; phases ${JSON.stringify(json.phasesMs)}`,
  );
  console.log(
    `X ${X.digest} deleted by gc: ${json.blobsDeleted?.includes(X.digest)}; GET ${TARGET} blob X -> ${get.status} (${get.status === 200 ? 'image intact' : 'IMAGE LOST: completed push no longer pulls'})`,
  );
} finally {
  if (reg && reg.exitCode === null) await stopReg();
  fs.rmSync(work, { recursive: true, force: true });
}
