// The README's complete program (examples/src/hello.ts, built) under Bun and Deno, installed from
// the npm registry as devDependencies of this package (`bun`, `deno`). Their install scripts do
// not run (pnpm-workspace.yaml `allowBuilds`): the test runs the binary of the platform package
// each one brings. On a platform without one, the test skips with a message.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildProject, root } from './build.js';

const require = createRequire(import.meta.url);

/** The binary `file` of the platform package `platformPackage` that `pkg` depends on, if any. */
function binary(pkg: string, platformPackage: string, file: string): string | undefined {
  try {
    const from = createRequire(require.resolve(`${pkg}/package.json`));
    const path = `${dirname(from.resolve(`${platformPackage}/package.json`))}/${file}`;
    return existsSync(path) ? path : undefined;
  } catch {
    return undefined;
  }
}

const linuxX64 = process.platform === 'linux' && process.arch === 'x64';
const runtimes = [
  {
    name: 'Bun',
    path: linuxX64 ? binary('bun', '@oven/bun-linux-x64', 'bin/bun') : undefined,
    args: (program: string) => [program],
  },
  {
    name: 'Deno',
    path: linuxX64 ? binary('deno', '@deno/linux-x64-glibc', 'deno') : undefined,
    // Node compatibility: npm packages from node_modules, no permission prompts.
    args: (program: string) => ['run', '--allow-all', program],
  },
];

describe('the complete program of the README under other runtimes', () => {
  beforeAll(() => buildProject('examples'), 60_000);

  for (const runtime of runtimes) {
    if (runtime.path === undefined) {
      it.skip(`runs under ${runtime.name} (no ${runtime.name} binary for ${process.platform}-${process.arch} in node_modules)`, () => {});
      continue;
    }
    const path = runtime.path;
    it(`runs under ${runtime.name} and prints the four answers`, () => {
      const result = spawnSync(path, runtime.args(`${root}examples/dist/hello.js`), {
        cwd: root,
        encoding: 'utf8',
        timeout: 30_000,
        env: { ...process.env, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1' },
      });
      // A hang (Bun 1.x on the `onread` read path) ends in the timeout: no status, no output.
      expect(result.status, result.stderr).toBe(0);
      const lines = result.stdout.trim().split('\n');
      expect(lines).toEqual([
        expect.stringMatching(/^peer \d+ says HELLO \(9 bytes on the wire\)$/),
        expect.stringMatching(/^peer \d+ says PEER \(8 bytes on the wire\)$/),
        expect.stringMatching(/^peer \d+ says TO \(6 bytes on the wire\)$/),
        expect.stringMatching(/^peer \d+ says PEER \(8 bytes on the wire\)$/),
      ]);
    });
  }
});
