// `npm run package`: the two self-contained artefacts, in .build/package/.
//
//   registry-janitor.cjs           one CommonJS file (esbuild) for `node` >= 18,
//                                  no node_modules; starts at src/bundle.ts,
//                                  which every thread and child re-enters
//                                  (src/entry-points.ts)
//   registry-janitor-linux-x64     a single executable (Node's SEA): this
//                                  node binary with the bundle injected
//                                  (postject), needing no Node on the host
//
//   npm run package [-- --no-sea] [-- --out DIR]
//                                  (--no-sea: the bundle only; --out: another
//                                  directory, as the artefact test uses)
//
// The dependencies' licence texts travel at the end of the bundle. The SEA
// is built only on linux-x64 (the node binary it copies is this one).

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { inject } from 'postject';
import { BUNDLE_ASSET } from '../../src/entry-points.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const out = process.argv.indexOf('--out');
const PACKAGE_DIR = path.resolve(out >= 0 ? (process.argv[out + 1] ?? '') : path.join(ROOT, '.build/package'));
const BUNDLE = path.join(PACKAGE_DIR, 'registry-janitor.cjs');
const EXECUTABLE = path.join(PACKAGE_DIR, 'registry-janitor-linux-x64');
// Node's documented fuse for single executable applications.
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

interface PackageJson {
  version: string;
  dependencies: Record<string, string>;
}

const readJson = (file: string): unknown => JSON.parse(fs.readFileSync(file, 'utf8'));

/** The runtime dependencies' licence files, as one trailing comment. */
function licenceNotices(pkg: PackageJson): string {
  const parts: string[] = [];
  for (const name of Object.keys(pkg.dependencies).sort()) {
    const dir = path.join(ROOT, 'node_modules', name);
    const file = fs.readdirSync(dir).find((entry) => /^licen[cs]e/i.test(entry));
    if (file === undefined) throw new Error(`${name}: no licence file to ship with the bundle`);
    const version = (readJson(path.join(dir, 'package.json')) as { version: string }).version;
    parts.push(`${name}@${version}:\n\n${fs.readFileSync(path.join(dir, file), 'utf8').trim()}`);
  }
  return `/*\nThird-party software bundled here, with its licences:\n\n${parts.join('\n\n----\n\n').replaceAll('*/', '* /')}\n*/\n`;
}

async function buildBundle(pkg: PackageJson): Promise<void> {
  await build({
    entryPoints: [path.join(ROOT, 'src/bundle.ts')],
    outfile: BUNDLE,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node18',
    // libuv's thread pool runs the real sweep's deletions (SWEEP_IN_FLIGHT, 16, in
    // flight) and is sized at its first use: 4 threads by default. Set before
    // anything runs (a CommonJS file loads without it), 16 took the sweep phase of a
    // real gc -m on the many-small 100k tree from 44.6 s to 30.6 s. "use strict" first:
    // a directive counts only as the file's first statement.
    banner: { js: "#!/usr/bin/env node\n'use strict';\nprocess.env.UV_THREADPOOL_SIZE ??= '16';" },
    footer: { js: licenceNotices(pkg) },
    define: { REGISTRY_JANITOR_VERSION: JSON.stringify(pkg.version) },
    // import.meta.url is read only outside the bundle (entry-points.ts, version.ts): empty here on purpose.
    logOverride: { 'empty-import-meta': 'silent' },
    logLevel: 'warning',
  });
  fs.chmodSync(BUNDLE, 0o755);
}

async function buildExecutable(): Promise<void> {
  const work = path.join(PACKAGE_DIR, 'sea');
  fs.mkdirSync(work, { recursive: true });
  // The SEA's main script and the asset its threads run: the bundle without its #! line.
  const main = path.join(work, BUNDLE_ASSET);
  fs.writeFileSync(main, fs.readFileSync(BUNDLE, 'utf8').replace(/^#!.*\n/, ''));
  const blob = path.join(work, 'sea-prep.blob');
  const config = path.join(work, 'sea-config.json');
  fs.writeFileSync(config, JSON.stringify({ main, output: blob, disableExperimentalSEAWarning: true, assets: { [BUNDLE_ASSET]: main } }));
  const prep = spawnSync(process.execPath, ['--experimental-sea-config', config], { encoding: 'utf8' });
  if (prep.status !== 0) throw new Error(`node --experimental-sea-config failed: ${prep.stderr}`);
  const partial = `${EXECUTABLE}.partial`;
  fs.copyFileSync(process.execPath, partial);
  fs.chmodSync(partial, 0o755);
  await inject(partial, 'NODE_SEA_BLOB', fs.readFileSync(blob), { sentinelFuse: SEA_FUSE });
  fs.renameSync(partial, EXECUTABLE);
  fs.rmSync(work, { recursive: true, force: true });
}

const pkg = readJson(path.join(ROOT, 'package.json')) as PackageJson;
fs.mkdirSync(PACKAGE_DIR, { recursive: true });
await buildBundle(pkg);
process.stdout.write(`${path.relative(ROOT, BUNDLE)}: ${fs.statSync(BUNDLE).size} bytes\n`);
if (process.argv.includes('--no-sea')) process.exit(0);
if (process.platform !== 'linux' || process.arch !== 'x64') {
  process.stdout.write(`no single executable: it is built on linux-x64 only (this is ${process.platform}-${process.arch})\n`);
} else {
  await buildExecutable();
  process.stdout.write(`${path.relative(ROOT, EXECUTABLE)}: ${fs.statSync(EXECUTABLE).size} bytes (node ${process.version})\n`);
}
