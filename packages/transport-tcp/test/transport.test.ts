import net from 'node:net';
import { Duplex, PassThrough } from 'node:stream';
import type { Connection } from '@peerlink/stream';
import { PeerlinkError } from '@peerlink/stream';
import {
  type Connector,
  directConnector,
  type Lookup,
  tcpTransport,
} from '@peerlink/transport-tcp';
import { afterEach, describe, expect, it } from 'vitest';
import { accepting, Cleanup, freePort, listenLoopback, pattern, recorder } from './helpers.js';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

async function pair(
  readMode: 'onread' | 'data' = 'onread',
  address = '127.0.0.1:0',
): Promise<{ client: Connection; server: Connection; address: string }> {
  const transport = tcpTransport({ readMode });
  const acc = await accepting(transport, address);
  cleanup.add(() => acc.listener.close());
  const client = cleanup.conn(await transport.connect(acc.listener.address));
  const server = cleanup.conn(await acc.next());
  return { client, server, address: acc.listener.address };
}

function expectCode(error: unknown, code: string): void {
  expect(PeerlinkError.isInstance(error) || error instanceof Error).toBe(true);
  expect((error as { code?: string }).code).toBe(code);
}

describe('listen and connect', () => {
  it.each([
    ['IPv4', '127.0.0.1:0', /^127\.0\.0\.1:\d+$/],
    ['IPv6', '[::1]:0', /^\[::1\]:\d+$/],
  ])('listens on %s port 0 and reports the bound port', async (_name, address, shape) => {
    const { client, server, address: bound } = await pair('onread', address);
    expect(bound).toMatch(shape);
    expect(bound.endsWith(':0')).toBe(false);
    expect(client.remoteAddress).toBe(bound);
    expect(server.localAddress).toBe(bound);
    expect(server.remoteAddress).toBe(client.localAddress);
    const c = recorder();
    const s = recorder();
    client.start(c);
    server.start(s);
    expect(client.write(Uint8Array.of(1, 2, 3))).toBe(true);
    server.write(Uint8Array.of(9));
    await Promise.all([s.waitFor(3), c.waitFor(1)]);
    expect([...s.bytes()]).toEqual([1, 2, 3]);
    expect([...c.bytes()]).toEqual([9]);
  });

  it('connects to `localhost` (the system resolver) on an IPv4 listener', async () => {
    const transport = tcpTransport();
    const acc = await accepting(transport, '127.0.0.1:0');
    cleanup.add(() => acc.listener.close());
    const port = acc.listener.address.split(':')[1];
    const client = cleanup.conn(await transport.connect(`localhost:${port}`));
    expect(client.remoteAddress).toBe(acc.listener.address);
    cleanup.conn(await acc.next());
  });

  it.each([
    ['an IPv4 listener when ::1 comes first', '127.0.0.1:0', ['::1', '127.0.0.1']],
    ['an IPv6 listener when 127.0.0.1 comes first', '[::1]:0', ['127.0.0.1', '::1']],
  ])('tries each resolved address in turn: reaches %s', async (_name, address, order) => {
    const lookups: string[] = [];
    const lookup: Lookup = async (name) => {
      lookups.push(name);
      return order.map((a) => ({ address: a, family: a.includes(':') ? 6 : 4 }));
    };
    const transport = tcpTransport({ lookup });
    const acc = await accepting(transport, address);
    cleanup.add(() => acc.listener.close());
    const port = acc.listener.address.split(':').at(-1);
    const client = cleanup.conn(await transport.connect(`localhost:${port}`));
    expect(client.remoteAddress).toBe(acc.listener.address);
    expect(lookups).toEqual(['localhost']);
    cleanup.conn(await acc.next());
  });

  it('rejects a listen on an address in use with `EADDRINUSE`, naming the address', async () => {
    const transport = tcpTransport();
    const acc = await accepting(transport, '127.0.0.1:0');
    cleanup.add(() => acc.listener.close());
    const error = await transport.listen(acc.listener.address, { onConnection() {} }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expectCode(error, 'EADDRINUSE');
    expect(PeerlinkError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain(acc.listener.address);
    // What failed released everything: the first listener still accepts.
    cleanup.conn(await transport.connect(acc.listener.address));
    cleanup.conn(await acc.next());
  });

  it('rejects a malformed address with `ERR_INVALID_ARGUMENT`', async () => {
    const transport = tcpTransport();
    await expect(transport.connect('no-port')).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    });
    await expect(transport.listen('::1:0', { onConnection() {} })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    });
  });

  it('closes the connection and reports `ERR_SOCKET` to `onError` when `onConnection` throws', async () => {
    const transport = tcpTransport();
    let reported!: (e: Error) => void;
    const error = new Promise<Error>((r) => (reported = r));
    const listener = await transport.listen('127.0.0.1:0', {
      onConnection() {
        throw new Error('handler bug');
      },
      onError: (e) => reported(e),
    });
    cleanup.add(() => listener.close());
    const client = cleanup.conn(await transport.connect(listener.address));
    const c = recorder();
    client.start(c);
    expect(await error).toMatchObject({ code: 'ERR_SOCKET' });
    await c.ended;
  });

  it('stops accepting on `close()` while accepted connections keep working', async () => {
    const transport = tcpTransport();
    const acc = await accepting(transport, '127.0.0.1:0');
    const client = cleanup.conn(await transport.connect(acc.listener.address));
    const server = cleanup.conn(await acc.next());
    await acc.listener.close();
    await acc.listener.close(); // idempotent
    await expect(transport.connect(acc.listener.address)).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    });
    const s = recorder();
    server.start(s);
    client.start(recorder());
    client.write(Uint8Array.of(7));
    await s.waitFor(1);
  });
});

describe('custom connectors', () => {
  // The README's example, verbatim but for the log line.
  const fromLocalAddress =
    (localAddress: string): Connector =>
    (target, { signal }) =>
      new Promise((resolve, reject) => {
        signal.throwIfAborted();
        const socket = net.connect({
          host: target.host,
          port: target.port,
          localAddress,
          allowHalfOpen: true,
          noDelay: true,
        });
        socket.pause();
        socket.on('error', () => {}); // kept for the socket's life; the transport reports errors
        const onAbort = () => {
          socket.destroy();
          reject(signal.reason);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        socket.once('connect', () => {
          signal.removeEventListener('abort', onAbort);
          resolve(socket);
        });
        socket.once('error', (error) => {
          signal.removeEventListener('abort', onAbort);
          reject(error); // keeps its code, e.g. ECONNREFUSED
        });
      });

  it('uses the connector once per connect (the README example binds a local address)', async () => {
    let calls = 0;
    const inner = fromLocalAddress('127.0.0.2');
    const connector: Connector = (target, options) => {
      calls++;
      return inner(target, options);
    };
    const transport = tcpTransport({ connector });
    const acc = await accepting(transport, '127.0.0.1:0');
    cleanup.add(() => acc.listener.close());
    const client = cleanup.conn(await transport.connect(acc.listener.address));
    const server = cleanup.conn(await acc.next());
    expect(calls).toBe(1);
    expect(client.localAddress).toMatch(/^127\.0\.0\.2:\d+$/);
    expect(server.remoteAddress).toBe(client.localAddress);
    const s = recorder();
    server.start(s);
    client.start(recorder());
    client.write(Uint8Array.of(1));
    await s.waitFor(1);
    const port = await freePort();
    await expect(transport.connect(`127.0.0.1:${port}`)).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    });
    expect(calls).toBe(2);
  });

  it('maps a connector error without a code to `ERR_CONNECTOR`, the original as cause', async () => {
    const original = new Error('no route today');
    const transport = tcpTransport({
      connector: async () => {
        throw original;
      },
    });
    const error = await transport.connect('x.example:1').catch((e: unknown) => e);
    expectCode(error, 'ERR_CONNECTOR');
    expect((error as Error).cause).toBe(original);
  });

  it('passes a `PeerlinkError` from a connector through unchanged', async () => {
    const own = new PeerlinkError('ERR_MY_TUNNEL', 'tunnel down');
    const transport = tcpTransport({
      connector: async () => {
        throw own;
      },
    });
    await expect(transport.connect('x.example:1')).rejects.toBe(own);
  });
});

describe('connect failures', () => {
  it('rejects a refused connect with `ECONNREFUSED` (IP and `localhost`)', async () => {
    const port = await freePort();
    const transport = tcpTransport();
    for (const target of [`127.0.0.1:${port}`, `localhost:${port}`]) {
      const error = await transport.connect(target).catch((e: unknown) => e);
      expectCode(error, 'ECONNREFUSED');
      expect(PeerlinkError.isInstance(error)).toBe(true);
    }
  });

  it('unwraps the `AggregateError` of Node `autoSelectFamily` to `ECONNREFUSED`', async () => {
    const port = await freePort();
    // A connector relying on Node's own happy eyeballs over two loopback addresses.
    const connector: Connector = (target) =>
      new Promise((resolve, reject) => {
        const socket = net.connect({
          host: target.host,
          port: target.port,
          autoSelectFamily: true,
          lookup: (_host, _options, callback) =>
            (callback as (e: null, a: { address: string; family: number }[]) => void)(null, [
              { address: '::1', family: 6 },
              { address: '127.0.0.1', family: 4 },
            ]),
        });
        socket.once('connect', () => resolve(socket)).once('error', reject);
      });
    const error = await tcpTransport({ connector })
      .connect(`localhost:${port}`)
      .catch((e: unknown) => e);
    expect(PeerlinkError.isInstance(error)).toBe(true);
    expectCode(error, 'ECONNREFUSED');
    expect((error as Error).cause).toBeInstanceOf(AggregateError);
  });

  // The resolver is injected: a real lookup of a `*.invalid` name would send a DNS query to the
  // configured nameserver, and these tests send nothing beyond loopback.
  it('fails a name that does not resolve (`*.invalid`) with `ERR_DNS`, the resolver error as cause', async () => {
    const lookup: Lookup = async (hostname) => {
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), {
        code: 'ENOTFOUND',
        syscall: 'getaddrinfo',
        hostname,
      });
    };
    const error = await tcpTransport({ lookup })
      .connect('peer.invalid:4000')
      .catch((e: unknown) => e);
    expect(PeerlinkError.isInstance(error)).toBe(true);
    expectCode(error, 'ERR_DNS');
    expect(((error as Error).cause as { code?: string }).code).toBe('ENOTFOUND');
  });

  it('fails a name that resolves to no address with `ERR_DNS`', async () => {
    const error = await tcpTransport({ lookup: async () => [] })
      .connect('empty.example:4000')
      .catch((e: unknown) => e);
    expectCode(error, 'ERR_DNS');
  });

  it('abandons a slow injected `lookup` on abort, rejecting with `signal.reason`', async () => {
    let lookupSignal: AbortSignal | undefined;
    let called!: () => void;
    const calledP = new Promise<void>((r) => (called = r));
    const lookup: Lookup = (_name, { signal }) => {
      lookupSignal = signal;
      called();
      return new Promise(() => {}); // never answers
    };
    const controller = new AbortController();
    const attempt = tcpTransport({ lookup }).connect('slow.example:1', {
      signal: controller.signal,
    });
    await calledP;
    const reason = new Error('connect timeout');
    controller.abort(reason);
    await expect(attempt).rejects.toBe(reason);
    expect(lookupSignal?.aborted).toBe(true);
  });

  it('rejects at once with `signal.reason` when the signal is already aborted', async () => {
    const reason = new Error('cancelled');
    await expect(
      tcpTransport().connect('127.0.0.1:1', { signal: AbortSignal.abort(reason) }),
    ).rejects.toBe(reason);
  });

  it('rejects with `signal.reason` when a connector never finishes, and destroys a late socket', async () => {
    let deliver!: (d: PassThrough) => void;
    let called!: () => void;
    const calledP = new Promise<void>((r) => (called = r));
    const connector: Connector = () => {
      called();
      return new Promise((r) => (deliver = r));
    };
    const controller = new AbortController();
    const attempt = tcpTransport({ connector }).connect('peer.example:1', {
      signal: controller.signal,
    });
    await calledP;
    controller.abort(new Error('timeout'));
    await expect(attempt).rejects.toThrow('timeout');
    const late = new PassThrough();
    const closed = new Promise((r) => late.once('close', r));
    deliver(late);
    await closed;
    expect(late.destroyed).toBe(true);
  });

  it('destroys the socket of a direct connect aborted in flight; the server sees it close', async () => {
    const server = net.createServer({ pauseOnConnect: true });
    const port = await listenLoopback(server, cleanup);
    const controller = new AbortController();
    const seenClose = new Promise<void>((resolve) =>
      server.once('connection', (socket) => {
        socket.on('error', () => {}).once('close', () => resolve());
        socket.resume();
        controller.abort(new Error('stop'));
      }),
    );
    // Abort lands after the TCP handshake on the server side, maybe before the client saw it.
    const result = await tcpTransport()
      .connect(`127.0.0.1:${port}`, { signal: controller.signal })
      .then(
        (c) => {
          c.close();
          return 'connected';
        },
        (e: Error) => e.message,
      );
    expect(['stop', 'connected']).toContain(result);
    await seenClose;
  });
});

describe.each(['onread', 'data'] as const)('data flow with `readMode: %s`', (readMode) => {
  it('delivers nothing before `start` and everything after, in order', async () => {
    const { client, server } = await pair(readMode);
    const payload = pattern(300_000);
    server.start(recorder());
    server.write(payload);
    server.end();
    const c = recorder();
    client.start(c);
    await c.ended;
    expect(Buffer.compare(c.bytes(), payload)).toBe(0);
    expect(Math.max(...c.chunks.map((x) => x.length))).toBeLessThanOrEqual(64 * 1024);
  });

  it('never loses bytes across `pause`/`resume` (client side reads)', async () => {
    const { client, server } = await pair(readMode);
    const payload = pattern(4 * 1024 * 1024, 3);
    server.start(recorder());
    const c = recorder();
    let paused = false;
    let dataWhilePaused = 0;
    c.afterData = () => {
      if (paused) dataWhilePaused++;
      if (c.chunks.length % 3 === 0) {
        paused = true;
        client.pause();
        client.pause(); // idempotent
        setImmediate(() => {
          paused = false;
          client.resume();
          client.resume();
        });
      }
    };
    client.start(c);
    server.write(payload);
    server.end();
    await c.ended;
    expect(dataWhilePaused).toBe(0);
    expect(c.received).toBe(payload.length);
    expect(Buffer.compare(c.bytes(), payload)).toBe(0);
  });

  it('never loses bytes across `pause`/`resume` (accepted side reads)', async () => {
    const { client, server } = await pair(readMode);
    const payload = pattern(2 * 1024 * 1024, 5);
    client.start(recorder());
    const s = recorder();
    let paused = false;
    let dataWhilePaused = 0;
    s.afterData = () => {
      if (paused) dataWhilePaused++;
      paused = true;
      server.pause();
      queueMicrotask(() => {
        paused = false;
        server.resume();
      });
    };
    server.start(s);
    client.write(payload);
    client.end();
    await s.ended;
    expect(dataWhilePaused).toBe(0);
    expect(Buffer.compare(s.bytes(), payload)).toBe(0);
  });

  it('reports `write` backpressure and then `onDrain`', async () => {
    const { client, server } = await pair(readMode);
    const c = recorder();
    client.start(c);
    server.start(recorder());
    server.pause();
    let sent = 0;
    const chunk = pattern(256 * 1024);
    while (client.write(chunk)) {
      sent += chunk.length;
      if (sent > 256 * 1024 * 1024) throw new Error('no backpressure');
    }
    const drained = c.drained();
    server.resume();
    await drained;
    expect(c.events).toContain('drain');
  });
});

describe('half-close, reset and close', () => {
  it('half-closes: `end` delivers what was written, the other side can still send', async () => {
    const { client, server } = await pair();
    const c = recorder();
    const s = recorder();
    client.start(c);
    server.start(s);
    client.write(Uint8Array.of(1, 2));
    client.end();
    client.end(); // idempotent
    expect(client.write(Uint8Array.of(3))).toBe(false);
    await s.ended;
    expect([...s.bytes()]).toEqual([1, 2]);
    expect(server.write(Uint8Array.of(4, 5))).toBe(true);
    server.end();
    await c.ended;
    expect([...c.bytes()]).toEqual([4, 5]);
    expect(await c.closed).toBeUndefined();
    expect(await s.closed).toBeUndefined();
    expect(c.events).toEqual(['end', 'close']);
  });

  it('reports a remote reset as `onClose` with `ECONNRESET`', async () => {
    const { client, server } = await pair();
    const c = recorder();
    client.start(c);
    const s = recorder();
    server.start(s);
    client.write(Uint8Array.of(1));
    await s.waitFor(1);
    server.reset();
    server.reset(); // idempotent
    expect(await s.closed).toBeUndefined();
    const reset = await c.closed;
    expectCode(reset, 'ECONNRESET');
    expect(PeerlinkError.isInstance(reset)).toBe(true);
    expect(c.events).toEqual(['close']);
  });

  it('reports a reset in the middle of a big write as `ECONNRESET` or `EPIPE`', async () => {
    const { client, server } = await pair();
    const c = recorder();
    client.start(c);
    const s = recorder();
    s.afterData = () => server.reset();
    server.start(s);
    const chunk = pattern(1024 * 1024);
    for (let i = 0; i < 16; i++) client.write(chunk);
    const error = await c.closed;
    expect(['ECONNRESET', 'EPIPE']).toContain((error as { code?: string }).code);
  });

  it('holds an error that happens before `start` and reports it once started', async () => {
    let raw: net.Socket | undefined;
    const direct = directConnector();
    const connector: Connector = async (target, options) => {
      const socket = (await direct(target, options)) as net.Socket;
      raw = socket;
      return socket;
    };
    const transport = tcpTransport({ connector });
    const acc = await accepting(transport, '127.0.0.1:0');
    cleanup.add(() => acc.listener.close());
    const client = cleanup.conn(await transport.connect(acc.listener.address));
    const server = await acc.next();
    const s = recorder();
    server.start(s);
    server.reset();
    await s.closed;
    const socketClosed = new Promise((r) => raw!.once('close', r));
    // Writing into the reset connection makes the (not yet started) client socket fail: more
    // than the socket buffers hold, so the write is still pending when the reset is noticed.
    client.write(pattern(8 * 1024 * 1024));
    await socketClosed;
    const c = recorder();
    client.start(c);
    expect(['ECONNRESET', 'EPIPE']).toContain(((await c.closed) as { code?: string }).code);
    expect(c.events).toEqual(['close']);
  });

  it('closes cleanly on `close()`: `onClose(undefined)` once, the remote sees end of stream', async () => {
    const { client, server } = await pair();
    const c = recorder();
    const s = recorder();
    client.start(c);
    server.start(s);
    client.close();
    client.close();
    client.reset();
    expect(client.write(Uint8Array.of(1))).toBe(false);
    expect(await c.closed).toBeUndefined();
    await s.ended;
    server.close();
    expect(await s.closed).toBeUndefined();
    expect(c.events).toEqual(['close']);
  });

  it('reports an end of stream that came before `start` once started', async () => {
    const duplex = new Duplex({ read() {}, write: (_chunk, _encoding, done) => done() });
    const ended = new Promise((r) => duplex.once('end', r));
    duplex.push(null);
    duplex.resume();
    await ended;
    const conn = await tcpTransport({ connector: async () => duplex }).connect('x.example:1');
    const r = recorder();
    conn.start(r);
    expect(r.events).toEqual(['end']);
    conn.end();
    expect(await r.closed).toBeUndefined();
  });

  it('splits a big chunk from a custom duplex to 64 KiB and keeps the rest across `pause`', async () => {
    const duplex = new PassThrough();
    const transport = tcpTransport({ connector: async () => duplex });
    const conn = cleanup.conn(await transport.connect('custom.example:1'));
    expect(conn.remoteAddress).toBe('custom.example:1');
    const payload = pattern(200_000, 9);
    const r = recorder();
    let paused = 0;
    r.afterData = () => {
      paused++;
      conn.pause();
      setImmediate(() => conn.resume());
    };
    conn.start(r);
    duplex.write(payload);
    await r.waitFor(payload.length);
    expect(r.chunks.map((x) => x.length)).toEqual([65536, 65536, 65536, 200_000 - 3 * 65536]);
    expect(paused).toBe(4);
    expect(Buffer.compare(r.bytes(), payload)).toBe(0);
    duplex.destroy(new Error('gone'));
    const error = await r.closed;
    expectCode(error, 'ERR_SOCKET');
  });
});

describe('stableChunks', () => {
  it("is true for the sockets read through 'data' (accepted, or connected in data mode), false with onread", async () => {
    const onread = await pair('onread');
    expect(onread.server.stableChunks).toBe(true);
    expect(onread.client.stableChunks).toBe(false);
    const data = await pair('data');
    expect(data.client.stableChunks).toBe(true);
  });

  it('is false for a socket from a custom connector (its chunks are not ours to vouch for)', async () => {
    const transport = tcpTransport({ connector: directConnector(), readMode: 'data' });
    const acc = await accepting(transport, '127.0.0.1:0');
    cleanup.add(() => acc.listener.close());
    const client = cleanup.conn(await transport.connect(acc.listener.address));
    cleanup.conn(await acc.next());
    expect(client.stableChunks).toBe(false);
  });

  it("keeps every chunk a handler kept intact (Node's 'data' chunks are never reused)", async () => {
    const { client, server } = await pair('data');
    const rec = recorder();
    const kept: Uint8Array[] = [];
    const sent = pattern(1 << 20, 3);
    let got = 0;
    const all = new Promise<void>((resolve) => {
      server.start({
        ...rec,
        onData: (chunk) => {
          kept.push(chunk);
          got += chunk.length;
          if (got >= sent.length) resolve();
        },
      });
    });
    client.start(recorder());
    client.write(sent);
    await all;
    expect(Buffer.concat(kept).equals(Buffer.from(sent))).toBe(true);
  });
});
