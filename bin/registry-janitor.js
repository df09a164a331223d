#!/usr/bin/env node
// Thin entry: the CLI runs in a worker thread (see src/main.ts for why).
//
// The package ships dist/ (built by `prepack`). A clone has no dist/ after
// `npm ci` (nothing builds on install), so the first run there compiles it
// once with the clone's TypeScript: into a directory of its own, renamed
// into place, so that two first runs at once never load half a dist/.
// `npm run build` and `npm test` rebuild it after that.
import { spawnSync } from 'node:child_process';
import { existsSync, renameSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = new URL('../', import.meta.url);
const at = (relative) => fileURLToPath(new URL(relative, root));

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
const { startCli } = await import('../dist/main.js');
startCli(process.argv.slice(2));
