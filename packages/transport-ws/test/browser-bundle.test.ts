/**
 * The browser path of the portable packages imports nothing from Node: each is bundled with
 * esbuild for `platform: 'browser'`, through its `exports` map as a bundler resolves it, and any
 * Node built-in (`node:util`, `net`, ...) anywhere in the bundle fails the test.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bundle, root } from './browser/bundle.js';

describe('browser bundles', () => {
  for (const dir of [
    'codec',
    'stream',
    'queue-points',
    'reactor',
    'transport-memory',
    'transport-ws',
  ]) {
    it(`@peerlink/${dir} bundles for the browser with no Node built-in`, async () => {
      const result = await bundle({ contents: `export * from '@peerlink/${dir}';` }, 'browser');
      expect(result.nodeImports).toEqual([]);
      expect(result.inputs.some((file) => file.includes(`packages/${dir}/src/`))).toBe(true);
    });
  }

  it('@peerlink/transport-ws takes neither `ws` nor its Node entry into a browser bundle', async () => {
    const result = await bundle({ contents: "export * from '@peerlink/transport-ws';" }, 'browser');
    expect(
      result.inputs.filter((file) => /node_modules\/.*\bws\b|transport-ws\/src\/node/.test(file)),
    ).toEqual([]);
  });

  it('catches a Node built-in: the Node entry of @peerlink/transport-ws is refused', async () => {
    const result = await bundle(`${root}packages/transport-ws/src/index.ts`, 'browser', ['ws']);
    expect(result.nodeImports).toContain('packages/transport-ws/src/node.ts -> node:http');
  });
});

describe('reactor logging without node:util', () => {
  it('still writes debug records under Node with `NODE_DEBUG=peerlink`, and none without it', async () => {
    const script = `
      import { lengthPrefixed } from '@peerlink/codec';
      import { Reactor } from '@peerlink/reactor';
      import { webSocketTransport } from '@peerlink/transport-ws';
      const codec = lengthPrefixed({ maxSize: 64 });
      const server = new Reactor({ codec, transport: webSocketTransport(), name: 'server' });
      const client = new Reactor({ codec, transport: webSocketTransport() });
      const [address] = await server.listen('127.0.0.1:0');
      await client.connect(address);
      await client.shutdown({ flushTimeout: 0 });
      await server.shutdown({ flushTimeout: 0 });
    `;
    const out = `${root}packages/transport-ws/test/browser/.out`;
    mkdirSync(out, { recursive: true });
    writeFileSync(`${out}/debuglog.mjs`, (await bundle({ contents: script }, 'node', ['ws'])).code);
    const run = (env: Record<string, string>) =>
      spawnSync(process.execPath, [`${out}/debuglog.mjs`], {
        encoding: 'utf8',
        timeout: 20_000,
        env: { ...process.env, NODE_DEBUG: '', ...env },
      });
    const on = run({ NODE_DEBUG: 'peerlink' });
    expect(on.status).toBe(0);
    expect(on.stderr).toMatch(/^PEERLINK \d+: \[server\] accepted /m);
    const off = run({});
    expect(off.status).toBe(0);
    expect(off.stderr).toBe('');
  });
});
