import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const fixture = fileURLToPath(new URL('./fixtures/node-test-runner.mjs', import.meta.url));
const built = ['../dist/index.js', '../../transport-memory/dist/index.js'].every((path) =>
  existsSync(fileURLToPath(new URL(path, import.meta.url))),
);

// The fixture imports the packages by name, as a third party would, so it needs their build
// (`npx tsc -b`; CI builds before testing). Without it, this test is skipped, not failed.
describe.skipIf(!built)('the suite under node:test (needs `npx tsc -b`)', () => {
  it('runs and passes with `node --test`', async () => {
    const child = spawn(process.execPath, ['--test', '--test-reporter=tap', fixture], {
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 50_000, // killed (SIGTERM) if it hangs, so nothing outlives the test
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(output).toMatch(/# fail 0/);
    const passed = Number(/# pass (\d+)/.exec(output)?.[1] ?? 0);
    expect(passed).toBeGreaterThanOrEqual(25);
    expect(code).toBe(0);
  }, 60_000);
});
