/**
 * The transport compliance suite in a real browser: headless Chromium runs the suite with the
 * browser build of `@peerlink/transport-ws` on both ends of every connection (a page cannot
 * listen, so a Node relay opens the listening sockets and carries frames between the two browser
 * WebSockets of each connection: `browser/relay.ts`). Browser and relay run in a network
 * namespace of their own with only loopback; the test skips, saying why, without Chromium.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bundle, root } from './browser/bundle.js';
import { browserUnavailable, runInNetns } from './browser/chromium.js';

const dir = `${root}packages/transport-ws/test/browser`;
const unavailable = browserUnavailable();

describe('transport compliance in a browser (headless Chromium)', () => {
  if (unavailable !== undefined) {
    it.skip(`skipped: ${unavailable}`, () => {});
    return;
  }

  it('passes every test of the suite with the browser build on both ends', async () => {
    const out = `${dir}/.out`;
    mkdirSync(out, { recursive: true });
    const page = await bundle(`${dir}/compliance-page.ts`, 'browser');
    expect(page.nodeImports).toEqual([]);
    writeFileSync(`${out}/compliance-page.js`, page.code);
    const driver = await bundle(`${dir}/compliance-driver.ts`, 'node', ['ws', 'playwright-core']);
    writeFileSync(`${out}/compliance-driver.mjs`, driver.code);

    const stdout = await runInNetns(`${out}/compliance-driver.mjs`, [out], 120_000);
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!);
    expect(result.error).toBeUndefined();
    expect(result.pageErrors).toEqual([]);
    const failed = result.results.filter((r: { ok: boolean }) => !r.ok);
    expect(failed).toEqual([]);
    expect(result.results.length).toBeGreaterThanOrEqual(25);
  }, 150_000);
});
