import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const packagesDir = fileURLToPath(new URL('./packages/', import.meta.url));

/**
 * Tests import packages by name; point those names at the sources so no build is needed. Subpath
 * entries come first: a name also matches its subpaths (`peerlink` would catch `peerlink/testing`).
 */
const alias = {
  'peerlink/testing': `${packagesDir}peerlink/src/testing.ts`,
  ...Object.fromEntries(
    readdirSync(packagesDir).map((dir) => [
      dir === 'peerlink' ? 'peerlink' : `@peerlink/${dir}`,
      `${packagesDir}${dir}/src/index.ts`,
    ]),
  ),
};

export default defineConfig({
  resolve: { alias },
  test: {
    include: [
      'packages/*/test/**/*.test.ts',
      'examples/test/**/*.test.ts',
      'examples/*/test/**/*.test.ts',
      'bench/test/**/*.test.ts',
    ],
    reporters: ['default', ['json', { outputFile: '.vitest-report.json' }]],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Two cores: one worker each. Under load, give workers time to start.
    maxWorkers: 2,
  },
});
