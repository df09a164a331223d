// describe() for suites that need the real registry: runs them when the
// binary is there; otherwise fails under CI=true and skips loudly elsewhere.
import { describe, it } from 'vitest';
import { missingRegistryMessage, registryAvailable } from './registry.js';

export function describeWithRegistry(name: string, body: () => void): void {
  if (registryAvailable()) {
    describe(name, body);
  } else if (process.env.CI === 'true') {
    describe(name, () => {
      it('has the registry binary (required under CI=true)', () => {
        throw new Error(missingRegistryMessage());
      });
    });
  } else {
    process.stderr.write(`\n${missingRegistryMessage()}\n\n`);
    describe.skip(name, body);
  }
}
