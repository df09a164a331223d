// The entry of the bundle (`npm run package`, tools/package/build-package.ts):
// one CommonJS file that runs with plain `node` >= 18 and no node_modules,
// and the single executable built from it. Every thread and process the
// tool starts re-enters here (entry-points.ts) and becomes what its role
// says: the process entry (main.ts startCli), the CLI thread (main.ts), a
// read-side thread (scan/scan-worker.ts) or the prefetcher's child
// (scan/prefetch-child.ts). Each role's module is imported on demand, so a
// thread evaluates only its own.

import { isMainThread } from 'node:worker_threads';
import { BUNDLE_ASSET, currentRole, enterBundle } from './entry-points.js';

interface SeaModule {
  isSea(): boolean;
  getAsset(key: string, encoding: string): string;
}

/** In the single executable, the bundle's source (an asset of the executable), for its threads. */
function singleExecutableSource(): (() => string) | undefined {
  let sea: SeaModule;
  try {
    // A CommonJS require: the bundle is CommonJS, and Node 18 has no node:sea (nor single executables with assets).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    sea = require('node:sea') as SeaModule;
  } catch {
    return undefined;
  }
  return sea.isSea() ? () => sea.getAsset(BUNDLE_ASSET, 'utf8') : undefined;
}

const source = singleExecutableSource();
enterBundle({ file: source ? undefined : __filename, source });

const role = currentRole();
if (role === 'scan-worker') void import('./scan/scan-worker.js');
else if (role === 'prefetch-child') void import('./scan/prefetch-child.js');
else
  void import('./main.js').then((main) => {
    // The CLI thread starts itself when main.js loads (role 'cli').
    if (role === undefined && isMainThread) main.startCli(process.argv.slice(2));
  });
