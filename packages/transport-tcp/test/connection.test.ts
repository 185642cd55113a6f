import net from 'node:net';
import { PassThrough } from 'node:stream';
import { formatAddress } from '@peerlink/stream';
import { TcpConnection, tcpTransport } from '@peerlink/transport-tcp';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { formatEndpoint, packHost, takeOverEnd } from '../src/connection.js';
import { accepting, Cleanup, listenLoopback, recorder } from './helpers.js';

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

/** Node's cache of a socket's addresses, which the public getters fill (none when unread). */
function cachedAddresses(socket: net.Socket): unknown[] {
  return [
    Reflect.get(socket, '_peername') ?? undefined,
    Reflect.get(socket, '_sockname') ?? undefined,
  ];
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
    const conn = new TcpConnection(new PassThrough(), 'peer.example:1', '');
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

describe('what an idle connection keeps on its socket', () => {
  it.each(['onread', 'data'] as const)(
    'one listener per event and no cached addresses, both sides (`readMode: %s`); half-close works',
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
      // As the reactor does for its `connected` and `accepted` events.
      expect(server.remoteAddress).toBe(client.localAddress);
      expect(client.remoteAddress).toBe(server.localAddress);
      expect(sockets).toHaveLength(2);
      for (const socket of sockets) {
        for (const event of ['error', 'close', 'end', 'drain']) {
          expect(socket.listenerCount(event), event).toBe(1);
        }
        expect(cachedAddresses(socket)).toEqual([undefined, undefined]);
      }
      // The client reads through `onread` (no 'data' listener) unless told otherwise.
      const [outbound, accepted] = sockets as [net.Socket, net.Socket];
      expect(outbound.listenerCount('data')).toBe(readMode === 'onread' ? 0 : 1);
      expect(accepted.listenerCount('data')).toBe(1);
      // The 'end' listener that stands in for Node's own still reports the remote's FIN.
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

  it("still runs Node's own `'end'` listener: a socket without `allowHalfOpen` behaves as an untouched one", async () => {
    const server = net.createServer((socket) => socket.end());
    const port = await listenLoopback(server, cleanup);
    const open = async (takeOver: boolean): Promise<net.Socket> => {
      const socket = net.connect({ host: '127.0.0.1', port, allowHalfOpen: false });
      if (takeOver) takeOverEnd(socket);
      socket.on('error', () => {});
      socket.pause();
      await new Promise((resolve) => socket.once('connect', resolve));
      cleanup.add(() => socket.destroy());
      return socket;
    };
    const taken = await open(true);
    expect(taken.listenerCount('end')).toBe(1);
    const conn = TcpConnection.fromSocket(taken, undefined, false);
    expect(conn).toBeDefined();
    const r = recorder();
    conn?.start(r);
    const untouched = await open(false);
    const untouchedEnded = new Promise((resolve) => untouched.once('end', resolve));
    untouched.resume();
    await Promise.all([r.ended, untouchedEnded]);
    expect(taken.listenerCount('end')).toBe(1);
    // What Node's listener does to a socket that may not stay half-open, it did to both.
    expect(Object.hasOwn(taken, 'write')).toBe(Object.hasOwn(untouched, 'write'));
    expect(taken.writable).toBe(untouched.writable);
  });

  it("leaves a socket with listeners of its own to `'end'` as it is", () => {
    const duplex = new PassThrough();
    const mine = () => {};
    duplex.on('end', mine);
    takeOverEnd(duplex);
    expect(duplex.rawListeners('end')).toEqual([mine]);
    const conn = new TcpConnection(duplex, 'a:1', 'b:2');
    expect(duplex.listenerCount('end')).toBe(2);
    conn.close();
  });
});
