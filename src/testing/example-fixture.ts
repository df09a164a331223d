// The bundled example tree in fixtures/example, regenerated with
//   node dist/testing/example-fixture.js fixtures/example
// A test checks that the committed tree is exactly what this writes.
//
//   library/nginx     docker image under 1.25 and latest; 1.24 was re-pushed
//                     over (untagged now, in latest's index history)
//   team/api          OCI index v2 (amd64 + arm64 pushed by digest), a
//                     signature referrer of it, an older untagged index
//   team/api/worker   a nested repository with one docker image
//   + two orphan blobs nobody references

import fs from 'node:fs';
import { createHash } from 'node:crypto';
import type { WritableFileSystem } from './tree-builder.js';
import { TreeBuilder, forPlatform } from './tree-builder.js';

/** Deterministic filler bytes (sha256 in counter mode). */
function bytes(label: string, size: number): Buffer {
  const out = Buffer.alloc(size);
  for (let i = 0; i * 32 < size; i++) createHash('sha256').update(`${label}/${i}`).digest().copy(out, i * 32);
  return out;
}

export function writeExample(filesystem: WritableFileSystem, root: string): void {
  const tree = new TreeBuilder(filesystem, `${root}/docker/registry/v2`);
  const base = bytes('debian-base', 48 * 1024);

  const nginx124 = tree.pushImage('library/nginx', { layers: [base, bytes('nginx-1.24', 24 * 1024)] });
  tree.tag('library/nginx', 'latest', nginx124.digest);
  const nginx125 = tree.pushImage('library/nginx', { layers: [base, bytes('nginx-1.25', 24 * 1024)] });
  tree.tag('library/nginx', 'latest', nginx125.digest);
  tree.tag('library/nginx', '1.25', nginx125.digest);

  const old = ['amd64', 'arm64'].map((arch) => forPlatform(tree.pushImage('team/api', { format: 'oci', layers: [base, bytes(`api-1-${arch}`, 16 * 1024)] }), arch));
  tree.pushIndex('team/api', old);
  const current = ['amd64', 'arm64'].map((arch) => forPlatform(tree.pushImage('team/api', { format: 'oci', layers: [base, bytes(`api-2-${arch}`, 16 * 1024)] }), arch));
  const index = tree.pushIndex('team/api', current);
  tree.tag('team/api', 'v2', index.digest);
  tree.pushImage('team/api', { format: 'oci', layers: ['{"critical":{"image":{"docker-manifest-digest":"' + index.digest + '"}}}'], subject: index, artifactType: 'application/vnd.dev.cosign.simplesigning.v1+json' });

  const worker = tree.pushImage('team/api/worker', { layers: [base, bytes('worker', 8 * 1024)] });
  tree.tag('team/api/worker', 'main', worker.digest);

  tree.putBlob(bytes('abandoned-upload', 96 * 1024));
  tree.putBlob(bytes('deleted-image-layer', 32 * 1024));
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const target = process.argv[2];
  if (!target) {
    console.error('usage: node dist/testing/example-fixture.js DIR');
    process.exit(2);
  }
  fs.rmSync(target, { recursive: true, force: true });
  writeExample(fs as unknown as WritableFileSystem, target);
}
