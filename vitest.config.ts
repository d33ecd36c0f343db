import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['functions/**/*.test.ts', 'infra/**/*.test.ts', 'scripts/**/*.test.ts', 'test/**/*.test.ts', 'web/**/*.test.ts', 'desktop/**/*.test.ts'],
    globalSetup: ['test/globalSetup.ts'],
    reporters: ['default', 'json'],
    outputFile: { json: 'test-output/vitest.json' },
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // `?raw` imports of stylesheets are served as text, not swallowed as CSS modules.
    css: { include: [/\.css\?raw$/] },
    env: { LOG_LEVEL: 'error' },
    coverage: {
      provider: 'v8',
      // The desktop app's modules; its page runs in the browser, its tests on the built executables.
      include: ['functions/**/*.ts', 'infra/**/*.ts', 'desktop/*.ts'],
      exclude: ['**/*.test.ts', '**/*.d.ts', '**/*.gen.ts'],
      reporter: ['text-summary', 'text'],
      thresholds: { lines: 85 },
    },
  },
});
