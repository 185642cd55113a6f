import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const run = fileURLToPath(new URL('../src/run.mjs', import.meta.url));
const out = mkdtempSync(join(tmpdir(), 'peerlink-bench-'));

afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('pnpm bench (smoke)', () => {
  it('runs a tiny flood for net-raw and prints a table with its figures', async () => {
    const { code, stdout } = await new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(
        process.execPath,
        [run, '--impl', 'net-raw', '--workload', 'w2', '--scale', '0.002', '--runs', '1'].concat([
          '--unpinned',
          '--no-build',
          '--no-core',
          '--out',
          out,
        ]),
        { timeout: 20_000 },
        (error, stdout) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout }),
      );
    });
    expect(code).toBe(0);
    expect(stdout).toMatch(/w2 flood-12B\s+net-raw/);
    expect(stdout).toMatch(/messages\/s \(msgs\/s\)\s+\d/);
    const json = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8'));
    const row = json.results.find(
      (r: { metric: string; implementation: string }) =>
        r.metric === 'msgsPerSec' && r.implementation === 'net-raw',
    );
    expect(row.median).toBeGreaterThan(0);
    expect(json.failures).toEqual([]);
    expect(readFileSync(join(out, 'charts', 'w2-flood-12B.svg'), 'utf8')).toContain('<svg');
  });
});
