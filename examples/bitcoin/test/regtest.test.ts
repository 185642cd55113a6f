import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildProject } from '../../test/build.js';
import { lastJsonLine, netnsUnavailable, runInNetns } from '../../test/netns.js';

function bcoinMissing(): string | undefined {
  try {
    createRequire(import.meta.url).resolve('bcoin');
    return undefined;
  } catch {
    return 'bcoin is not installed (a devDependency of @peerlink/example-bitcoin)';
  }
}

const why = netnsUnavailable() ?? bcoinMissing();
if (why !== undefined) console.warn(`skipping the bcoin regtest test: ${why}`);

describe.skipIf(why !== undefined)(
  'against bcoin on regtest, in a loopback-only network namespace',
  () => {
    it('handshakes both ways, pings, and downloads and checks 2,100 headers', async () => {
      buildProject('examples/bitcoin');
      const script = fileURLToPath(new URL('../dist/regtest-check.js', import.meta.url));
      const { code, stdout, stderr } = await runInNetns(script, ['--blocks', '2100'], 50_000);
      const result = lastJsonLine(stdout);
      expect(result, `exit ${code}\n${stdout}\n${stderr}`).toMatchObject({
        ok: true,
        mined: 2100,
        height: 2100,
      });
      // Our chain's tip is the block bcoin calls its best.
      expect(result!['tip']).toBe(result!['bestBlock']);
      expect(result!['userAgent']).toMatch(/bcoin/);
      expect(result!['peerVersion']).toBeGreaterThanOrEqual(70015);
      // bcoin dialed our listener too, and that handshake completed.
      expect(result!['inbound']).toMatchObject({ userAgent: expect.stringMatching(/bcoin/) });
      expect(code).toBe(0);
    }, 60_000);
  },
);
