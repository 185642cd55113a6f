/**
 * The live mesh page in a real browser: two tabs of headless Chromium join the mesh over
 * WebSocket; a message published from one reaches the other, whose drawing shows it spread to
 * every node. Screenshots are kept in `examples/test/artifacts/` (not committed). Browser and
 * mesh run in a network namespace of their own with only loopback; the test skips, saying why,
 * where there is no Chromium or no namespace.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  browserUnavailable,
  CHROMIUM_ARGS,
  runInNetns,
} from '../../packages/transport-ws/test/browser/chromium.js';
import { buildProject, root } from './build.js';

const unavailable = browserUnavailable();

describe('live mesh page (headless Chromium)', () => {
  if (unavailable !== undefined) {
    it.skip(`skipped: ${unavailable}`, () => {});
    return;
  }
  beforeAll(() => buildProject('examples'), 60_000);

  it('lets two tabs join; one publishes, the other receives it and draws its spread', async () => {
    const artifacts = `${root}examples/test/artifacts`;
    mkdirSync(artifacts, { recursive: true });
    const stdout = await runInNetns(
      `${root}examples/test/mesh-live-driver.mjs`,
      [artifacts, JSON.stringify(CHROMIUM_ARGS)],
      60_000,
    );
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!);
    expect(result.error).toBeUndefined();
    expect(result.pageErrors).toEqual([]);
    expect(result.steps).toEqual(['joined', 'received', 'drawn', 'screenshot']);
    expect(result.tabB.received).toEqual(['hello from tab A']);
    expect(result.tabB.log).toContain('hello from tab A');
    expect(result.tabB.framesAdvanced).toBe(true);
    expect(result.tabB.drawn).toEqual({ nodes: 8, latestIsOurs: true, spread: 8 });
    expect(result.server.nodes).toBe(8);
    expect(result.server.tabs).toBe(2);
    expect(result.server.message.text).toBe('hello from tab A');
    expect(result.server.message.reached).toHaveLength(7); // 6 nodes and the origin tab
    expect(existsSync(`${artifacts}/mesh-live-tab-b.png`)).toBe(true);
  }, 90_000);
});
