#!/usr/bin/env node
// Thin entry: the CLI runs in a worker thread (see src/main.ts for why).
//
// A CommonJS file (bin/package.json), so that its first line runs before
// anything starts libuv's thread pool: the pool reads UV_THREADPOOL_SIZE once,
// when it starts, and an ES module entry is loaded through the pool (measured:
// set at the top of an .mjs entry it gave 4 threads, here 16). The sweep keeps
// 16 deletions in flight (src/storage/run-bounded.ts); on 4 threads a real
// gc -m on the many-small 100k tree took 63.4 s, on 16 46.2 s. A value the
// caller set is kept.
//
// The package ships dist/ (built by `prepack`). A clone has no dist/ after
// `npm ci` (nothing builds on install), so the first run there compiles it
// once with the clone's TypeScript: into a directory of its own, renamed
// into place, so that two first runs at once never load half a dist/.
// `npm run build` and `npm test` rebuild it after that.
'use strict';
process.env.UV_THREADPOOL_SIZE ??= '16';

const { spawnSync } = require('node:child_process');
const { existsSync, renameSync, rmSync } = require('node:fs');
const path = require('node:path');
const { pathToFileURL } = require('node:url');

const at = (relative) => path.join(__dirname, '..', relative);

function buildDist() {
  const tsc = at('node_modules/typescript/bin/tsc');
  if (!existsSync(at('src/main.ts')) || !existsSync(tsc)) {
    process.stderr.write(`registry-janitor: error: ${at('dist')} is missing (in a clone: npm ci && npm run build)\n`);
    process.exit(1);
  }
  process.stderr.write('registry-janitor: dist/ is missing (a fresh clone): compiling it once...\n');
  const staging = at(`node_modules/.cache/registry-janitor-dist-${process.pid}`);
  const built = spawnSync(process.execPath, [tsc, '-p', at('tsconfig.json'), '--outDir', staging], { stdio: ['ignore', 2, 2] });
  if (built.status !== 0) {
    rmSync(staging, { recursive: true, force: true });
    process.stderr.write('registry-janitor: error: compiling dist/ failed (see above)\n');
    process.exit(1);
  }
  try {
    renameSync(staging, at('dist'));
  } catch {
    // another first run put its dist/ in place first: use that one
    rmSync(staging, { recursive: true, force: true });
  }
}

if (!existsSync(at('dist/main.js'))) buildDist();
import(pathToFileURL(at('dist/main.js')).href).then(({ startCli }) => startCli(process.argv.slice(2)));
