import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // The end-to-end suites start real registries on free ports; files run
    // in parallel, tests within a file in order.
    fileParallelism: true,
  },
});
