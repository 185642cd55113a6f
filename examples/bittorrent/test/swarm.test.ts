import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildProject } from '../../test/build.js';
import { hasCommand, lastJsonLine, netnsUnavailable, runInNetns } from '../../test/netns.js';

function clientsMissing(): string | undefined {
  if (!hasCommand('aria2c')) return 'aria2c is not installed (Debian: aria2)';
  const python = process.env['PEERLINK_PYTHON'] ?? '/usr/bin/python3';
  const lt = spawnSync(python, ['-c', 'import libtorrent'], { encoding: 'utf8' });
  if (lt.status !== 0) return `${python} cannot import libtorrent (Debian: python3-libtorrent)`;
  return undefined;
}

const why = netnsUnavailable() ?? clientsMissing();
if (why !== undefined) console.warn(`skipping the BitTorrent real-client test: ${why}`);

describe.skipIf(why !== undefined)(
  'against aria2 and libtorrent, in a loopback-only network namespace',
  () => {
    it('downloads from each and seeds to each, checking every piece', async () => {
      buildProject('examples/bittorrent');
      const script = fileURLToPath(new URL('../dist/swarm-check.js', import.meta.url));
      const { code, stdout, stderr } = await runInNetns(script, [], 50_000);
      const result = lastJsonLine(stdout);
      const ok = { ok: true, pieces: 33, hashFailures: 0 };
      expect(result, `exit ${code}\n${stdout}\n${stderr}`).toMatchObject({
        ok: true,
        results: {
          // We download: every piece arrives and passes its SHA-1 check; the file is identical.
          'aria2-seeds': ok,
          'libtorrent-seeds': ok,
          // We seed: the client's copy is identical, and we served every block (33 pieces of
          // 32 KiB in 16 KiB blocks, the last piece short: 65 blocks).
          'libtorrent-leeches': { ...ok, blocksServed: 65 },
          'aria2-leeches': { ...ok, blocksServed: 65, aria2Exit: 0 },
        },
      });
      expect(code).toBe(0);
    }, 60_000);
  },
);
