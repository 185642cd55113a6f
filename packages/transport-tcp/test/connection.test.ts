import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { PassThrough } from 'node:stream';
import { formatAddress } from '@peerlink/stream';
import { socketConnection, tcpTransport } from '@peerlink/transport-tcp';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { formatEndpoint, packHost, WRITE_SLICE } from '../src/socket-connection.js';
import { accepting, Cleanup, pattern, recorder } from './helpers.js';

const cleanup = new Cleanup();
afterEach(async () => {
  vi.restoreAllMocks();
  await cleanup.run();
});

/** Every socket the transport makes (connected or accepted) from now on, in `sockets`. */
function captureSockets(): net.Socket[] {
  const sockets: net.Socket[] = [];
  const connect = net.connect;
  vi.spyOn(net, 'connect').mockImplementation(((...args: Parameters<typeof net.connect>) => {
    const socket = connect(...args);
    sockets.push(socket);
    return socket;
  }) as typeof net.connect);
  const createServer = net.createServer;
  vi.spyOn(net, 'createServer').mockImplementation(((
    ...args: Parameters<typeof net.createServer>
  ) => {
    const server = createServer(...args);
    server.on('connection', (socket) => void sockets.push(socket));
    return server;
  }) as typeof net.createServer);
  return sockets;
}

describe('addresses', () => {
  it('packs a canonical IPv4 address and formats it back as `formatAddress` does', () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.integer({ min: 0, max: 65535 }), (ip, port) => {
        const packed = packHost(ip);
        expect(typeof packed).toBe('number');
        expect(formatEndpoint(packed, port)).toBe(formatAddress(ip, port));
      }),
    );
  });

  it.each([
    '01.2.3.4',
    '1.2.3',
    '1.2.3.4.5',
    '256.0.0.1',
    '1..2.3',
    '.1.2.3',
    '1.2.3.',
    '',
    '1.2.3.4 ',
    '::1',
    '::ffff:127.0.0.1',
    'fe80::1%eth0',
    'example.org',
  ])('keeps %j as a string, formatted as `formatAddress` does', (host) => {
    expect(packHost(host)).toBe(host);
    expect(formatEndpoint(host, 8333)).toBe(formatAddress(host, 8333));
  });

  it('keeps the addresses given to the constructor as they are', () => {
    const conn = socketConnection(new PassThrough(), {
      remoteAddress: 'peer.example:1',
      localAddress: '',
    });
    expect(conn.remoteAddress).toBe('peer.example:1');
    expect(conn.localAddress).toBe('');
    conn.close();
  });

  it.each([
    ['IPv4', '127.0.0.1:0'],
    ['IPv6', '[::1]:0'],
  ])('reports %s addresses before and after the connection closed', async (_name, address) => {
    const transport = tcpTransport();
    const acc = await accepting(transport, address);
    cleanup.add(() => acc.listener.close());
    const client = await transport.connect(acc.listener.address);
    const server = await acc.next();
    const before = [client.remoteAddress, client.localAddress, server.remoteAddress];
    expect(before[0]).toBe(acc.listener.address);
    expect(server.localAddress).toBe(acc.listener.address);
    expect(before[2]).toBe(before[1]);
    const c = recorder();
    const s = recorder();
    client.start(c);
    server.start(s);
    client.close();
    await s.ended; // half-open allowed: the accepted side closes once it is told to
    server.close();
    await Promise.all([c.closed, s.closed]);
    expect([client.remoteAddress, client.localAddress, server.remoteAddress]).toEqual(before);
    expect(server.localAddress).toBe(acc.listener.address);
  });
});

describe('what a connection keeps on its socket', () => {
  it('reads from a socket only the addresses it does not know (Node caches each one read)', async () => {
    // Node keeps an address object per side it was asked for (`_sockname`, `_peername`): about
    // 90 B of heap per side for the life of the connection.
    const cached = (socket: net.Socket | undefined) => {
      const s = socket as unknown as { _sockname?: unknown; _peername?: unknown };
      return { local: s._sockname != null, remote: s._peername != null };
    };
    const sockets = captureSockets();
    const transport = tcpTransport({ readMode: 'data' });
    const acc = await accepting(transport, '127.0.0.1:0');
    cleanup.add(() => acc.listener.close());
    const client = cleanup.conn(await transport.connect(acc.listener.address));
    const server = cleanup.conn(await acc.next());
    /** An accepted socket (Node sets its `server`; a connecting one has none). */
    const isAccepted = (x: net.Socket) => (x as { server?: unknown }).server != null;
    const accepted = sockets.find(isAccepted);
    const outbound = sockets.find((x) => x !== accepted);
    expect(sockets).toHaveLength(2);
    // Accepted on a listener bound to one address: that is its local address, not read. Connected
    // straight to an IPv4 address: that is its remote address, not read.
    expect(cached(accepted)).toEqual({ local: false, remote: true });
    expect(cached(outbound)).toEqual({ local: true, remote: false });
    expect(server.localAddress).toBe(acc.listener.address);
    expect(client.remoteAddress).toBe(acc.listener.address);
    expect(server.remoteAddress).toBe(client.localAddress);

    // A wildcard listener: the local address comes from the socket.
    const any = await accepting(transport, '0.0.0.0:0');
    cleanup.add(() => any.listener.close());
    const port = Number(any.listener.address.slice(any.listener.address.lastIndexOf(':') + 1));
    const client2 = cleanup.conn(await transport.connect(`127.0.0.1:${port}`));
    const server2 = cleanup.conn(await any.next());
    expect(server2.localAddress).toBe(`127.0.0.1:${port}`);
    expect(server2.remoteAddress).toBe(client2.localAddress);
    expect(sockets).toHaveLength(4);
    const accepted2 = sockets.slice(2).find(isAccepted);
    expect(cached(accepted2)).toEqual({ local: true, remote: true });
  });

  it.each(['onread', 'data'] as const)(
    'one listener of ours per event, both sides (`readMode: %s`); half-close works',
    async (readMode) => {
      const sockets = captureSockets();
      const transport = tcpTransport({ readMode });
      const acc = await accepting(transport, '127.0.0.1:0');
      cleanup.add(() => acc.listener.close());
      const client = cleanup.conn(await transport.connect(acc.listener.address));
      const server = cleanup.conn(await acc.next());
      const c = recorder();
      const s = recorder();
      client.start(c);
      server.start(s);
      expect(server.remoteAddress).toBe(client.localAddress);
      expect(client.remoteAddress).toBe(server.localAddress);
      expect(sockets).toHaveLength(2);
      for (const socket of sockets) {
        for (const event of ['error', 'close', 'drain']) {
          expect(socket.listenerCount(event), event).toBe(1);
        }
        expect(socket.listenerCount('end')).toBe(2); // Node's own, and ours
      }
      // The client reads through `onread` (no 'data' listener) unless told otherwise.
      const [outbound, accepted] = sockets as [net.Socket, net.Socket];
      expect(outbound.listenerCount('data')).toBe(readMode === 'onread' ? 0 : 1);
      expect(accepted.listenerCount('data')).toBe(1);
      client.write(Uint8Array.of(1));
      client.end();
      await s.ended;
      server.end();
      await c.ended;
      expect([...s.bytes()]).toEqual([1]);
      expect(await c.closed).toBeUndefined();
      expect(await s.closed).toBeUndefined();
    },
  );

  it('reads no private state of Node sockets (no `_handle`, no rewired listeners)', () => {
    const dir = new URL('../src/', import.meta.url);
    for (const name of readdirSync(dir)) {
      const source = readFileSync(new URL(name, dir), 'utf8');
      expect(source, name).not.toMatch(/\._[a-zA-Z]|rawListeners|removeAllListeners/);
    }
  });
});

describe('large writes', () => {
  /** A connected pair over loopback, the client's socket captured, both started. */
  async function pair() {
    const sockets = captureSockets();
    const transport = tcpTransport();
    const acc = await accepting(transport, '127.0.0.1:0');
    cleanup.add(() => acc.listener.close());
    const client = cleanup.conn(await transport.connect(acc.listener.address));
    const server = cleanup.conn(await acc.next());
    const progress: number[] = [];
    const c = recorder();
    c.onProgress = () => void progress.push(s.received);
    const s = recorder();
    client.start(c);
    server.start(s);
    return { client, server, c, s, progress, socket: sockets[0] as net.Socket };
  }

  it('go to the socket in slices that are views of the message (no copy)', async () => {
    const { client, s, socket } = await pair();
    const writes: Uint8Array[] = [];
    const write = socket.write.bind(socket);
    vi.spyOn(socket, 'write').mockImplementation(((chunk: Uint8Array, ...rest: never[]) => {
      writes.push(chunk);
      return write(chunk, ...rest);
    }) as typeof socket.write);
    const message = pattern(4 * WRITE_SLICE + 123, 3);
    client.write(message);
    await s.waitFor(message.length);
    expect(Buffer.compare(s.bytes(), message)).toBe(0);
    expect(writes.length).toBe(5);
    for (const w of writes) {
      expect(w.buffer).toBe(message.buffer);
      expect(w.length).toBeLessThanOrEqual(WRITE_SLICE);
    }
  });

  it('report `onProgress` while a slow reader takes a large write, then `onDrain` once all has left', async () => {
    const { client, server, c, s, progress } = await pair();
    server.pause();
    const message = pattern(24 * 1024 * 1024, 5);
    expect(client.write(message)).toBe(false);
    // The reader takes 256 KiB at a time, each when the last has been counted.
    s.afterData = () => {
      server.pause();
      setImmediate(() => server.resume());
    };
    server.resume();
    const drained = c.drained();
    await s.waitFor(message.length);
    await drained;
    expect(Buffer.compare(s.bytes(), message)).toBe(0);
    // The kernel woke the writer several times on the way: each time, progress was reported.
    expect(progress.length).toBeGreaterThan(1);
    expect(progress.some((n) => n < message.length / 2)).toBe(true);
    expect(c.events.filter((e) => e === 'drain')).toHaveLength(1);
  });

  it('keep their order behind writes made while slices are still going out, and `end` sends them all first', async () => {
    const { client, server, s } = await pair();
    server.pause();
    const first = pattern(3 * WRITE_SLICE + 7, 1);
    const second = pattern(100, 2);
    const third = pattern(2 * WRITE_SLICE, 4);
    client.write(first);
    client.write(second);
    client.write(third);
    client.end();
    server.resume();
    await s.ended;
    expect(Buffer.compare(s.bytes(), Buffer.concat([first, second, third]))).toBe(0);
  });
});

describe('start', () => {
  it('a second `start` throws `ERR_ALREADY_STARTED` and changes nothing', async () => {
    const transport = tcpTransport();
    const acc = await accepting(transport, '127.0.0.1:0');
    cleanup.add(() => acc.listener.close());
    const client = cleanup.conn(await transport.connect(acc.listener.address));
    const server = cleanup.conn(await acc.next());
    const s = recorder();
    server.start(s);
    const other = recorder();
    expect(() => server.start(other)).toThrow(
      expect.objectContaining({ code: 'ERR_ALREADY_STARTED' }),
    );
    client.write(Uint8Array.of(7));
    await s.waitFor(1);
    expect(other.received).toBe(0);
  });
});
