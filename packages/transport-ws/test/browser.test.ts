/**
 * A browser peer, for real: headless Chromium (Debian's `chromium`, driven by playwright-core)
 * loads a page that runs a peerlink reactor over the browser build of `@peerlink/transport-ws`,
 * connects to a Node reactor, exchanges 1,000 small messages in order and one 4 MiB message intact
 * both ways (with 1,000 more right behind it, which must wait for the page's polled drain), sees the server disconnect it (reason `left`), and reconnects after the server
 * restarts. Browser and server run in a network namespace of their own with only loopback; the
 * test skips, saying why, where there is no Chromium or no namespace.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bundle, root } from './browser/bundle.js';
import { browserUnavailable, runInNetns } from './browser/chromium.js';

const dir = `${root}packages/transport-ws/test/browser`;
const unavailable = browserUnavailable();

describe('a browser peer over WebSocket (headless Chromium)', () => {
  if (unavailable !== undefined) {
    it.skip(`skipped: ${unavailable}`, () => {});
    return;
  }

  it('exchanges messages both ways with a Node reactor, sees a disconnect, and survives a restart', async () => {
    const out = `${dir}/.out`;
    mkdirSync(out, { recursive: true });
    const page = await bundle(`${dir}/page.ts`, 'browser');
    expect(page.nodeImports).toEqual([]);
    writeFileSync(`${out}/page.js`, page.code);
    const driver = await bundle(`${dir}/driver.ts`, 'node', ['ws', 'playwright-core']);
    writeFileSync(`${out}/driver.mjs`, driver.code);

    const stdout = await runInNetns(`${out}/driver.mjs`, [out], 60_000);
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!);
    expect(result.error).toBeUndefined();
    expect(result.pageErrors).toEqual([]);
    expect(result.steps).toEqual(['connected', 'small', 'big', 'disconnect', 'restart', 'done']);
    expect(result.nodeSmallSends).toEqual(['queued']);
    expect(result.pageSmallSends).toEqual(['queued']);
    expect(result.pageBigSend).toEqual(['queued']);
    expect(result.page).toEqual({ smallReceived: 2000, smallInOrder: true, bigReceived: [true] });
    expect(result.node).toEqual({ smallReceived: 2000, smallInOrder: true, bigReceived: [true] });
    // The 4 MiB write blocked the page's connection, and the polled drain let the rest follow.
    expect(result.pageIo.writesRefused).toBeGreaterThanOrEqual(1);
    expect(result.pageIo.drains).toBeGreaterThanOrEqual(1);
    expect(result.disconnectSeenByPage).toEqual({ kind: 'left' });
    expect(result.restart).toEqual({
      pageDisconnects: [{ kind: 'left' }, { kind: 'left' }],
      pageConnects: 3,
      pageFailedConnects: ['ERR_WS_CONNECT_FAILED'],
      pageReceived: ['hello after restart'],
      nodeReceived: ['browser is back'],
    });
  }, 90_000);
});
