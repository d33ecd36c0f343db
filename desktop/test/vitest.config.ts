// `npm run test:desktop`: the tests of the built executables (dist/desktop, made by `npm run desktop`
// just before), against the services' bundles; minutes long, so not part of `npm test`.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: '.',
    include: ['desktop/test/*.e2e.ts'],
    globalSetup: ['test/globalSetup.ts'],
    reporters: ['default', 'json'],
    outputFile: { json: 'test-output/desktop-vitest.json' },
    // One at a time: each file runs a shop of its own, and wine is slow to start on two cores.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    env: { LOG_LEVEL: 'error' },
  },
});
