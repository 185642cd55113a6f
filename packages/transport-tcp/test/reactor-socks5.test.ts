// Reactor-level proxy tests. `@peerlink/reactor` comes through the workspace test alias: it is not
// a devDependency, because the reactor already dev-depends on this package and turbo refuses the
// cycle.
import net from 'node:net';
import { lengthPrefixed } from '@peerlink/codec';
import { type PeerId, Reactor, type ReactorEvent } from '@peerlink/reactor';
import { socks5Connector, tcpTransport } from '@peerlink/transport-tcp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Cleanup, freePort, pattern } from './helpers.js';
import { HAS_MICROSOCKS, type Microsocks, startMicrosocks } from './microsocks.js';

const codec = lengthPrefixed({ maxSize: 2 * 1024 * 1024 });
type Event = ReactorEvent<Uint8Array>;

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

/** Records a reactor's events; `next(test)` resolves with the first match, past or future. */
function watch(reactor: Reactor<Uint8Array>) {
  const events: Event[] = [];
  let waiters: { test: (e: Event) => boolean; resolve: (e: Event) => void }[] = [];
  reactor.onEvent((event) => {
    events.push(event);
    waiters = waiters.filter((w) => {
      if (!w.test(event)) return true;
      w.resolve(event);
      return false;
    });
  });
  return {
    events,
    next<E extends Event>(test: (e: Event) => boolean): Promise<E> {
      const found = events.find(test);
      if (found) return Promise.resolve(found as E);
      return new Promise((resolve) =>
        waiters.push({ test, resolve: resolve as (e: Event) => void }),
      );
    },
  };
}

function reactor(options: { proxy?: string; connectTimeout?: number } = {}) {
  const transport = tcpTransport(
    options.proxy === undefined ? {} : { connector: socks5Connector({ proxy: options.proxy }) },
  );
  const r = new Reactor<Uint8Array>({
    codec,
    transport,
    ...(options.connectTimeout === undefined
      ? {}
      : { config: { connectTimeout: options.connectTimeout } }),
  });
  cleanup.add(() => r.shutdown({ flushTimeout: 0 }));
  return { r, w: watch(r) };
}

const message = (peer: PeerId) => (e: Event) => e.type === 'message' && e.peer === peer;

describe.skipIf(!HAS_MICROSOCKS)('reactor through a SOCKS5 proxy (microsocks)', () => {
  let proxy: Microsocks;
  beforeAll(async () => {
    proxy = await startMicrosocks();
  });
  afterAll(async () => {
    await proxy?.stop();
  });

  it.each(['127.0.0.1', 'localhost'])(
    'ping-pongs and carries 1 MiB to a `%s` target; the remote leaving is `left`',
    async (host) => {
      const server = reactor();
      const [bound] = await server.r.listen('127.0.0.1:0');
      const port = bound!.split(':')[1];
      // Where `localhost` resolves to ::1 first, the proxy goes there: listen on both if we can.
      await server.r.listen(`[::1]:${port}`).catch(() => undefined);
      const client = reactor({ proxy: proxy.address });
      const peer = await client.r.connect(`${host}:${port}`);
      const accepted = await server.w.next<Extract<Event, { type: 'accepted' }>>(
        (e) => e.type === 'accepted',
      );
      // Echo every message back.
      server.r.onEvent((e) => {
        if (e.type === 'message') server.r.send(e.peer, Uint8Array.from(e.message));
      });
      for (let i = 0; i < 100; i++) {
        expect(client.r.send(peer, Uint8Array.of(i, i + 1))).toBe('queued');
        const got = client.w.next<Extract<Event, { type: 'message' }>>(
          (e) => message(peer)(e) && (e as { message: Uint8Array }).message[0] === i,
        );
        expect([...(await got).message]).toEqual([i, i + 1]);
      }
      const big = pattern(1024 * 1024, 4);
      expect(client.r.send(peer, big)).toBe('queued');
      const echoed = await client.w.next<Extract<Event, { type: 'message' }>>(
        (e) => message(peer)(e) && (e as { message: Uint8Array }).message.length === big.length,
      );
      expect(Buffer.compare(echoed.message, big)).toBe(0);
      expect(echoed.size).toBe(big.length + 4);
      server.r.disconnect(accepted.peer);
      const gone = await client.w.next<Extract<Event, { type: 'disconnected' }>>(
        (e) => e.type === 'disconnected' && e.peer === peer,
      );
      expect(gone.reason.kind).toBe('left');
    },
  );

  it('reports each proxy failure as `connect-failed` with its code and keeps serving its peers', async () => {
    const server = reactor();
    const [bound] = await server.r.listen('127.0.0.1:0');
    const client = reactor({ proxy: proxy.address });
    const peer = await client.r.connect(bound!);
    const closedPort = await freePort();
    await expect(client.r.connect(`127.0.0.1:${closedPort}`)).rejects.toMatchObject({
      code: 'ERR_PROXY_TARGET_UNREACHABLE',
    });
    const downProxy = reactor({ proxy: `127.0.0.1:${await freePort()}` });
    await expect(downProxy.r.connect(bound!)).rejects.toMatchObject({
      code: 'ERR_PROXY_UNREACHABLE',
    });
    const failed = await client.w.next<Extract<Event, { type: 'connect-failed' }>>(
      (e) => e.type === 'connect-failed',
    );
    expect((failed.error as { code?: string }).code).toBe('ERR_PROXY_TARGET_UNREACHABLE');
    // The established peer is unaffected.
    const accepted = await server.w.next<Extract<Event, { type: 'accepted' }>>(
      (e) => e.type === 'accepted',
    );
    client.r.send(peer, Uint8Array.of(42));
    const got = await server.w.next<Extract<Event, { type: 'message' }>>(message(accepted.peer));
    expect([...got.message]).toEqual([42]);
  });

  it('times a silent proxy out with the reactor `connectTimeout`', async () => {
    const silent = net.createServer((socket) => socket.on('error', () => {}).resume());
    cleanup.add(() => new Promise((r) => silent.close(r)));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const { port } = silent.address() as net.AddressInfo;
    let closed!: () => void;
    const proxySocketClosed = new Promise<void>((r) => (closed = r));
    silent.on('connection', (socket) => socket.once('close', closed));
    const client = reactor({ proxy: `127.0.0.1:${port}`, connectTimeout: 200 });
    await expect(client.r.connect('peer.example:4000')).rejects.toMatchObject({
      code: 'ERR_CONNECT_TIMEOUT',
    });
    await proxySocketClosed;
  });
});
