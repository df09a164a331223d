// The live-registry guard's probes, against tiny servers on 127.0.0.1 and
// against the real docker-registry 2.8.2 (plain, read-only, on a Unix
// socket, with TLS). Config facts and URLs: live-registry.test.ts.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkLiveRegistry } from '../../src/storage/live-registry.js';
import { type RegistryFacts, readRegistryFacts } from '../../src/storage/registry-facts.js';
import { probeRegistry, probeRegistryUrls } from '../../src/storage/registry-probe.js';
import { REGISTRY_BIN, freePort, makeTempDir, registryAvailable, startRegistry } from '../support/registry.js';

const STORAGE = 'storage:\n  filesystem:\n    rootdirectory: /data\n';
const facts = (text: string, env: NodeJS.ProcessEnv = {}): RegistryFacts => readRegistryFacts(`version: 0.1\n${text}`, 'c.yml', env);
const RO = 'storage:\n  filesystem:\n    rootdirectory: /data\n  maintenance:\n    readonly:\n      enabled: true\n';

// ---- probes against servers started here, on 127.0.0.1 only ----

interface Served {
  url: string;
  port: number;
  close(): Promise<void>;
}

async function serve(handler: http.RequestListener): Promise<Served> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}/v2/`,
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('probeRegistry against tiny servers', () => {
  const servers: Served[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });

  it('recognises a registry by its header, whatever the status', async () => {
    const s = await serve((_req, res) => {
      res.writeHead(401, { 'Docker-Distribution-Api-Version': 'registry/2.0', 'WWW-Authenticate': 'Basic realm="x"' });
      res.end('{"errors":[]}');
    });
    servers.push(s);
    const result = await probeRegistry(s.url);
    expect(result).toMatchObject({ url: s.url, answered: true, status: 401, registry: true });
    expect(result.detail).toMatch(/HTTP 401, Docker-Distribution-API-Version: registry\/2.0/);
    const elsewhere = await probeRegistry(s.url.replace('/v2/', '/other/'));
    expect(elsewhere.registry).toBe(true);
  });

  it('counts a 200 on /v2/ as a registry even without the header, a 404 without it as not one', async () => {
    const ok = await serve((_req, res) => res.end('{}'));
    const missing = await serve((_req, res) => {
      res.statusCode = 404;
      res.end('not found');
    });
    servers.push(ok, missing);
    expect(await probeRegistry(ok.url)).toMatchObject({ answered: true, status: 200, registry: true });
    const result = await probeRegistry(missing.url);
    expect(result).toMatchObject({ answered: true, status: 404, registry: false });
    expect(result.detail).toMatch(/not a registry/);
  });

  it('reports a closed port as not answered, without throwing', async () => {
    const port = await freePort();
    const result = await probeRegistry(`http://127.0.0.1:${port}/v2/`);
    expect(result).toMatchObject({ answered: false, registry: false });
    expect(result.status).toBeUndefined();
    expect(result.detail).toMatch(/connection refused/);
  });

  it('gives up on a server that never answers within the timeout', async () => {
    const silent = await serve(() => {
      // never answers
    });
    servers.push(silent);
    const started = Date.now();
    const result = await probeRegistry(silent.url, 300);
    const elapsed = Date.now() - started;
    expect(result).toMatchObject({ answered: false, registry: false, detail: 'no answer within 300 ms' });
    // 300 ms asked; 1 s of slack for a loaded CI host.
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(1300);
  });

  it('gives up on a TCP peer that accepts and sends nothing, and on a missing socket', async () => {
    const sockets: net.Socket[] = [];
    const server = net.createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    try {
      expect(await probeRegistry(`https://127.0.0.1:${port}/v2/`, 300)).toMatchObject({ answered: false, detail: 'no answer within 300 ms' });
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    const result = await probeRegistry('unix:///nonexistent/registry.sock', 300);
    expect(result).toMatchObject({ answered: false, registry: false });
    expect(result.detail).toMatch(/no socket at \/nonexistent\/registry.sock/);
  });

  it('checkLiveRegistry refuses a live registry unless the config is read-only', async () => {
    const s = await serve((_req, res) => {
      res.writeHead(200, { 'Docker-Distribution-Api-Version': 'registry/2.0' });
      res.end('{}');
    });
    servers.push(s);
    const writable = facts(`${STORAGE}http:\n  addr: 127.0.0.1:${s.port}\n`);
    const refused = await checkLiveRegistry(writable);
    expect(refused.live?.url).toBe(s.url);
    expect(refused.refusal).toMatch(new RegExp(`registry answers at ${s.url}`));
    const readOnly = facts(`${RO}http:\n  addr: 127.0.0.1:${s.port}\n`);
    expect((await checkLiveRegistry(readOnly)).refusal).toBeUndefined();
    expect((await checkLiveRegistry(undefined, s.url.replace('/v2/', ''))).refusal).toMatch(/read-only mode is unknown/);
    const closed = await freePort();
    const none = await checkLiveRegistry(facts(`${STORAGE}http:\n  addr: 127.0.0.1:${closed}\n`));
    expect(none).toMatchObject({ live: undefined, refusal: undefined });
    expect(none.probes).toHaveLength(1);
  });
});

// ---- the real registry (Distribution 2.8.2) ----

interface Spawned {
  stop(): Promise<void>;
}

/** Starts docker-registry with `config` and waits until `url` answers as a registry. */
async function spawnRegistry(dir: string, config: string, url: string): Promise<Spawned> {
  const file = path.join(dir, `config-${Date.now()}.yml`);
  fs.writeFileSync(file, config);
  const child = spawn(REGISTRY_BIN, ['serve', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
    await exited;
  };
  // 15 s: the registry starts in well under a second; this bounds a broken start.
  const deadline = Date.now() + 15_000;
  while (!(await probeRegistry(url, 500)).registry) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`registry did not answer on ${url}: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { stop };
}

const registryConfig = (root: string, http: string, storageExtra = ''): string =>
  [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${root}`,
    storageExtra,
    'http:',
    http,
    '',
  ]
    .filter((l) => l !== '')
    .join('\n');

describe.skipIf(!registryAvailable())('probeRegistry against docker-registry 2.8.2', () => {
  let work = '';
  beforeAll(() => {
    work = makeTempDir('live');
    fs.mkdirSync(path.join(work, 'root'));
  });
  afterAll(() => {
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('finds the registry started by the test helper, and refuses it', async () => {
    const registry = await startRegistry(path.join(work, 'root'));
    try {
      const result = await probeRegistry(`${registry.url}/v2/`);
      expect(result).toMatchObject({ answered: true, status: 200, registry: true });
      expect(result.detail).toBe('HTTP 200, Docker-Distribution-API-Version: registry/2.0');
      const port = new URL(registry.url).port;
      const check = await checkLiveRegistry(facts(`${STORAGE}http:\n  addr: 127.0.0.1:${port}\n`));
      expect(check.refusal).toMatch(/refusing to delete: a registry answers at http:\/\/127.0.0.1:\d+\/v2\//);
      // https:// to the plain-HTTP registry: the TLS handshake fails, plain HTTP is tried.
      const swapped = await probeRegistry(`https://127.0.0.1:${port}/v2/`);
      expect(swapped).toMatchObject({ registry: true, status: 200 });
      expect(swapped.detail).toMatch(/over http/);
    } finally {
      await registry.stop();
    }
    expect((await probeRegistry(`${registry.url}/v2/`)).answered).toBe(false);
  });

  it('reads a read-only config, and the read-only registry still answers /v2/', async () => {
    const port = await freePort();
    const config = registryConfig(path.join(work, 'root'), `  addr: 127.0.0.1:${port}`, '  maintenance:\n    readonly:\n      enabled: true');
    const roFacts = readRegistryFacts(config, 'ro.yml', {});
    expect(roFacts.readOnly).toBe(true);
    const [url] = probeRegistryUrls(roFacts);
    expect(url).toBe(`http://127.0.0.1:${port}/v2/`);
    const registry = await spawnRegistry(work, config, url!);
    try {
      const check = await checkLiveRegistry(roFacts);
      expect(check.live).toMatchObject({ registry: true, status: 200 });
      expect(check.refusal).toBeUndefined();
      // It is read-only indeed: an upload is refused.
      const upload = await fetch(`http://127.0.0.1:${port}/v2/x/blobs/uploads/`, { method: 'POST' });
      await upload.arrayBuffer();
      expect(upload.status).toBe(405);
    } finally {
      await registry.stop();
    }
  });

  it('probes a registry on a Unix socket (http.net: unix)', async () => {
    const socket = path.join(work, 'registry.sock');
    const config = registryConfig(path.join(work, 'root'), `  net: unix\n  addr: ${socket}`);
    const unixFacts = readRegistryFacts(config, 'unix.yml', {});
    const urls = probeRegistryUrls(unixFacts);
    expect(urls).toEqual([`unix://${socket}`]);
    const registry = await spawnRegistry(work, config, urls[0]!);
    try {
      expect(await probeRegistry(urls[0]!)).toMatchObject({ answered: true, status: 200, registry: true });
      expect((await checkLiveRegistry(unixFacts)).refusal).toMatch(/the Unix socket .*registry.sock/);
    } finally {
      await registry.stop();
    }
  });

  it.skipIf(!fs.existsSync('/usr/bin/openssl'))('probes a TLS registry with a self-signed certificate, over https and from http://', async () => {
    const cert = path.join(work, 'cert.pem');
    const key = path.join(work, 'key.pem');
    const made = spawnSync(
      '/usr/bin/openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-keyout', key, '-out', cert],
      { encoding: 'utf8' },
    );
    expect(made.status, made.stderr).toBe(0);
    const port = await freePort();
    const config = registryConfig(path.join(work, 'root'), `  addr: 127.0.0.1:${port}\n  tls:\n    certificate: ${cert}\n    key: ${key}`);
    const tlsFacts = readRegistryFacts(config, 'tls.yml', {});
    expect(tlsFacts.tls).toBe(true);
    const [url] = probeRegistryUrls(tlsFacts);
    expect(url).toBe(`https://127.0.0.1:${port}/v2/`);
    const registry = await spawnRegistry(work, config, url!);
    try {
      expect(await probeRegistry(url!)).toMatchObject({ registry: true, status: 200 });
      // Plain HTTP to the TLS port: Go answers 400 "Client sent an HTTP request to an HTTPS server"; https is tried.
      const fromHttp = await probeRegistry(`http://127.0.0.1:${port}/v2/`);
      expect(fromHttp).toMatchObject({ registry: true, status: 200 });
      expect(fromHttp.detail).toMatch(/over https/);
    } finally {
      await registry.stop();
    }
  });
});
