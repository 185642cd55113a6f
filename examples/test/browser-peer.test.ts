/**
 * The README's browser peer is `examples/src/browser-peer.ts`, word for word, and it bundles for
 * the browser (esbuild, `platform: 'browser'`) with no Node built-in in it. (The same calls run in
 * headless Chromium in `packages/transport-ws/test/browser.test.ts`.)
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bundle } from '../../packages/transport-ws/test/browser/bundle.js';
import { root } from './build.js';

describe('README: a browser peer', () => {
  it('is examples/src/browser-peer.ts, and bundles for the browser without Node built-ins', async () => {
    const readme = readFileSync(`${root}README.md`, 'utf8');
    const start = readme.indexOf('\n## A browser peer\n');
    expect(start).toBeGreaterThan(0);
    const section = readme.slice(start, readme.indexOf('\n## ', start + 5));
    const [block] = [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
    const source = readFileSync(`${root}examples/src/browser-peer.ts`, 'utf8');
    expect(block).toBe(source);
    expect(source.split('\n').filter((line) => line.trim() !== '').length).toBeLessThanOrEqual(13);
    const result = await bundle(`${root}examples/src/browser-peer.ts`, 'browser');
    expect(result.nodeImports).toEqual([]);
    expect(
      result.inputs.some((file) => file.endsWith('transport-ws/src/browser-transport.ts')),
    ).toBe(true);
  });
});
