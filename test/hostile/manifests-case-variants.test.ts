// Manifests whose keys are not spelled as the spec spells them, pushed
// through the real registry (Debian's 2.8.2, which decodes with Go's
// case-insensitive encoding/json and accepts, stores and serves them all),
// then swept by the built CLI (gc and gc -m): every tag still pulls in full,
// every layer any key variant names is still there.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SKOPEO_BIN, pushBlob, pushPristineTree, sha256, skopeoCopyAll, startRegistry } from '../support/registry.js';
import { M } from '../support/scenario.js';
import { blobsOn, copyTree, runJanitor } from '../support/tree-files.js';
import { describeWithRegistry } from '../support/with-registry.js';

const REPO = 'hostile/keys';

interface Blob {
  digest: string;
  size: number;
}

/** PUTs raw manifest text (keys as written), by tag or by digest. */
async function putRaw(url: string, tag: string | undefined, text: string, mediaType: string): Promise<Blob> {
  const digest = sha256(text);
  const res = await fetch(`${url}/v2/${REPO}/manifests/${tag ?? digest}`, { method: 'PUT', body: text, headers: { 'content-type': mediaType } });
  if (res.status !== 201) throw new Error(`PUT ${tag ?? digest}: ${res.status} ${await res.text()}`);
  return { digest, size: Buffer.byteLength(text) };
}

const ACCEPT = [M.ociIndex, M.ociManifest, M.list, M.schema2].join(', ');

/** Every digest a key variant names, at any level, in any letter case (Go folds ſ to s too). */
function referencedDigests(text: string): string[] {
  return [...text.matchAll(/"(?:digest|blobsum)"\s*:\s*"(sha256:[0-9a-f]{64})"/gi)].map((m) => m[1]!);
}

/**
 * pullFully for hostile spellings: fetches the manifest, then every digest
 * ANY key variant names (children as manifests, the rest as blobs), each
 * checked against its digest.
 */
async function pullEveryVariant(url: string, reference: string, expected?: string): Promise<string[]> {
  const res = await fetch(`${url}/v2/${REPO}/manifests/${reference}`, { headers: { accept: ACCEPT } });
  if (res.status !== 200) throw new Error(`GET manifest ${reference}: ${res.status}`);
  const text = Buffer.from(await res.arrayBuffer()).toString();
  if (expected && sha256(text) !== expected) throw new Error(`manifest ${reference} does not match`);
  const fetched = [sha256(text)];
  const children = new Set([...text.matchAll(/"manifests"\s*:\s*\[([^\]]*)\]/gi)].flatMap((m) => referencedDigests(m[1]!)));
  const subjects = new Set([...text.matchAll(/"subject"\s*:\s*(\{[^}]*\})/gi)].flatMap((m) => referencedDigests(m[1]!)));
  for (const digest of referencedDigests(text)) {
    if (subjects.has(digest)) {
      // A subject is a manifest: served by /manifests/, not /blobs/.
      const subject = await fetch(`${url}/v2/${REPO}/manifests/${digest}`, { headers: { accept: ACCEPT } });
      if (subject.status !== 200 || sha256(Buffer.from(await subject.arrayBuffer())) !== digest) throw new Error(`subject ${digest}: ${subject.status}`);
      fetched.push(digest);
      continue;
    }
    if (children.has(digest)) {
      fetched.push(...(await pullEveryVariant(url, digest, digest)));
      continue;
    }
    const blob = await fetch(`${url}/v2/${REPO}/blobs/${digest}`);
    const body = Buffer.from(await blob.arrayBuffer());
    if (blob.status !== 200 || sha256(body) !== digest) throw new Error(`blob ${digest} of ${reference}: ${blob.status}`);
    fetched.push(digest);
  }
  return fetched;
}

interface Pushed {
  tags: { tag: string; digest: string; text: string }[];
  /** digests only a non-canonical key names: what the old janitor deleted. */
  onlyByVariant: string[];
  referrer: string;
}

async function pushHostile(url: string): Promise<Pushed> {
  const tags: Pushed['tags'] = [];
  const onlyByVariant: string[] = [];
  const layer = async (label: string): Promise<Blob> => pushBlob(url, REPO, `layer ${label}\n`.repeat(30));
  const desc = (b: Blob, mediaType: string = M.dockerLayer): string => JSON.stringify({ mediaType, digest: b.digest, size: b.size });
  const config = async (label: string, oci = false): Promise<string> =>
    desc(await pushBlob(url, REPO, JSON.stringify({ architecture: label, os: 'linux' })), oci ? M.ociConfig : M.dockerConfig);
  const tagRaw = async (tag: string, text: string, mediaType: string): Promise<Blob> => {
    const pushed = await putRaw(url, tag, text, mediaType);
    tags.push({ tag, digest: pushed.digest, text });
    return pushed;
  };

  // docker schema2 with "Config" and "Layers".
  const upper = [await layer('upper-1'), await layer('upper-2')];
  const upperCfg = await config('upper');
  await tagRaw('upper', `{"schemaVersion":2,"mediaType":"${M.schema2}","Config":${upperCfg},"Layers":[${upper.map((l) => desc(l)).join(',')}]}`, M.schema2);
  onlyByVariant.push(...upper.map((l) => l.digest), referencedDigests(upperCfg)[0]!);

  // "layers" and "Layers" holding different layers, and two identical
  // "layers" keys (JSON.parse sees only the last; Go takes the last too).
  const [a, b, c] = [await layer('both-a'), await layer('both-b'), await layer('both-c')];
  await tagRaw(
    'both',
    `{"schemaVersion":2,"mediaType":"${M.schema2}","config":${await config('both')},"layers":[${desc(a)}],"Layers":[${desc(b)}]}`,
    M.schema2,
  );
  await tagRaw(
    'twice',
    `{"schemaVersion":2,"mediaType":"${M.schema2}","config":${await config('twice')},"layers":[${desc(c)}],"layers":[${desc(b)}]}`,
    M.schema2,
  );
  onlyByVariant.push(a.digest, c.digest);

  // Descriptor "Digest", a long-s key ("layerſ" is "layers" to Go) and an escaped key.
  const [d, e, f] = [await layer('desc-d'), await layer('longs-e'), await layer('escaped-f')];
  await tagRaw(
    'spelled',
    `{"schemaVersion":2,"mediaType":"${M.schema2}","config":${await config('spelled')},"layerſ":[{"mediaType":"${M.dockerLayer}","Digest":"${d.digest}","size":${d.size}},${desc(e)}],"\\u006cayers":[${desc(f)}]}`,
    M.schema2,
  );
  onlyByVariant.push(d.digest, e.digest, f.digest);

  // A docker manifest list under "Manifests", children pushed by digest.
  const child = async (label: string, oci: boolean, key = 'layers'): Promise<string> => {
    const l = await layer(`${label}-layer`);
    const mediaType = oci ? M.ociManifest : M.schema2;
    const text = `{"schemaVersion":2,"mediaType":"${mediaType}","config":${await config(label, oci)},"${key}":[${desc(l, oci ? M.ociLayer : M.dockerLayer)}]}`;
    const pushed = await putRaw(url, undefined, text, mediaType);
    onlyByVariant.push(pushed.digest, l.digest);
    return JSON.stringify({ mediaType, digest: pushed.digest, size: pushed.size, platform: { os: 'linux', architecture: label } });
  };
  await tagRaw(
    'list',
    `{"schemaVersion":2,"mediaType":"${M.list}","Manifests":[${await child('amd64', false)},${await child('arm64', false, 'Layers')}]}`,
    M.list,
  );
  // An OCI index under "MANIFESTS", and one with no mediaType at all.
  await tagRaw(
    'index',
    `{"schemaVersion":2,"mediaType":"${M.ociIndex}","MANIFESTS":[${await child('ppc64le', true)},${await child('s390x', true, 'LAYERS')}]}`,
    M.ociIndex,
  );
  await tagRaw('bare-index', `{"SchemaVersion":2,"Manifests":[${await child('riscv64', true)}]}`, M.ociIndex);

  // A referrer attached with "Subject" (pushed by digest: -m keeps it only through its subject).
  const signed = await tagRaw(
    'signed',
    `{"schemaVersion":2,"mediaType":"${M.ociManifest}","config":${await config('signed', true)},"layers":[]}`,
    M.ociManifest,
  );
  const sig = await layer('signature');
  const referrer = await putRaw(
    url,
    undefined,
    `{"schemaVersion":2,"mediaType":"${M.ociManifest}","config":${await config('sig', true)},"layers":[${desc(sig, M.ociLayer)}],"Subject":{"mediaType":"${M.ociManifest}","digest":"${signed.digest}","size":${signed.size}}}`,
    M.ociManifest,
  );
  return { tags, onlyByVariant, referrer: referrer.digest };
}

describeWithRegistry('manifests spelled as Go reads them, pushed through 2.8.2, then swept', () => {
  let work: string;
  let pristine: string;
  let pushed: Pushed;

  beforeAll(async () => {
    ({ work, pristine, pushed } = await pushPristineTree('hostile-keys', pushHostile));
  });

  afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  for (const flags of [[], ['-m']]) {
    it(`gc ${flags.join(' ')} keeps every blob any key variant names, and every tag pulls in full after a restart`, async () => {
      const root = copyTree(pristine, path.join(work, `gc${flags.join('')}`));
      const run = runJanitor(['gc', ...flags, '--root', root, '--json']);
      expect(run.status, run.stderr).toBe(0);
      const left = blobsOn(root);
      for (const digest of pushed.onlyByVariant) expect(left.has(digest), `${digest} deleted`).toBe(true);
      if (flags.length > 0) {
        expect(left.has(pushed.referrer), 'the "Subject" referrer').toBe(true);
        expect(run.json.manifestsDeleted).toEqual([]);
      }
      const registry = await startRegistry(root);
      try {
        for (const { tag, digest, text } of pushed.tags) {
          const fetched = await pullEveryVariant(registry.url, tag);
          expect(fetched[0], tag).toBe(digest);
          for (const named of referencedDigests(text)) expect(fetched, `${tag} ${named}`).toContain(named);
        }
        await pullEveryVariant(registry.url, pushed.referrer, pushed.referrer);
      } finally {
        await registry.stop();
      }
    });
  }

  it.skipIf(!fs.existsSync(SKOPEO_BIN) && process.env.CI !== 'true')(
    'skopeo (a Go client) copies every platform of the "Manifests" list and the "MANIFESTS" index after gc -m',
    async () => {
      const root = copyTree(pristine, path.join(work, 'skopeo'));
      expect(runJanitor(['gc', '-m', '--root', root]).status).toBe(0);
      const registry = await startRegistry(root);
      try {
        for (const tag of ['list', 'index', 'bare-index', 'upper', 'both', 'twice', 'spelled']) {
          skopeoCopyAll(registry.url, REPO, tag, path.join(work, `oci-${tag}`));
        }
      } finally {
        await registry.stop();
      }
    },
  );
});
