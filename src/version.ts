// The package's version, for --version and the JSON reports. Compiled
// (dist/), it is read from the package.json beside dist/; the bundle (npm run
// package) has it written in at build time, where no package.json travels
// with it (tools/package/build-package.ts defines REGISTRY_JANITOR_VERSION).

import { readFileSync } from 'node:fs';

declare const REGISTRY_JANITOR_VERSION: string | undefined;

let version: string | undefined;

export function packageVersion(): string {
  version ??=
    typeof REGISTRY_JANITOR_VERSION === 'string'
      ? REGISTRY_JANITOR_VERSION
      : (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  return version;
}
