// The Unix-domain-socket adapter of `src/unix-transport.ts` (public imports only) through the
// transport compliance suite, and a reactor over it: addresses that are paths, never parsed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { transportCompliance } from '@peerlink/transport-compliance';
import { lengthPrefixed, Reactor, type ReactorEvent } from 'peerlink';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { unixTransport } from '../src/unix-transport.js';

const dir = mkdtempSync(join(tmpdir(), 'peerlink-unix-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

transportCompliance(
  { describe, it, beforeEach, afterEach },
  {
    name: 'unix-domain sockets (examples/src/unix-transport.ts)',
    createTransport: () => unixTransport(),
    listenAddress: join(dir, '*'),
    // A dial to a path nobody listens on: the socket file is gone.
    refusedCode: 'ENOENT',
    // Unix sockets have no reset: the remote sees an end of stream, not ECONNRESET.
    skip: [
      'reset closes the remote with resetCode and no onEnd',
      'a reset before start is reported once the handler is attached',
    ],
    timeout: 5000,
  },
);

describe('a reactor over the Unix-socket adapter', () => {
  it('listens on a path, accepts, and exchanges messages both ways', async () => {
    const codec = lengthPrefixed({ maxSize: 1024 * 1024 });
    const server = new Reactor({ codec, transport: unixTransport() });
    const client = new Reactor({ codec, transport: unixTransport() });
    try {
      const [path] = await server.listen(join(dir, '*'));
      expect(path).toMatch(/\.sock$/);
      const serverEvents: ReactorEvent<Uint8Array>[] = [];
      const got = new Promise<Uint8Array>((resolve) =>
        server.onEvent((event) => {
          serverEvents.push(event);
          if (event.type === 'message') {
            server.send(
              event.peer,
              event.message.map((b) => b + 1),
            );
            resolve(event.message);
          }
        }),
      );
      const reply = new Promise<Uint8Array>((resolve) =>
        client.onEvent((event) => {
          if (event.type === 'message') resolve(event.message.slice());
        }),
      );
      const peer = await client.connect(path!);
      expect(client.send(peer, Uint8Array.of(1, 2, 3))).toBe('queued');
      expect([...(await got)]).toEqual([1, 2, 3]);
      expect([...(await reply)]).toEqual([2, 3, 4]);
      const accepted = serverEvents.find((e) => e.type === 'accepted');
      expect(accepted).toMatchObject({ remoteAddress: `${path}#1`, localAddress: path });
    } finally {
      await Promise.all([client.shutdown(), server.shutdown()]);
    }
  });
});
