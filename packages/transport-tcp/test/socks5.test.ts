import net from 'node:net';
import type { Connection, Transport } from '@peerlink/stream';
import { PeerlinkError } from '@peerlink/stream';
import {
  type Lookup,
  ProxyReplyError,
  socks5Connector,
  tcpTransport,
} from '@peerlink/transport-tcp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type Accepting,
  accepting,
  Cleanup,
  freePort,
  listenLoopback,
  pattern,
  recorder,
} from './helpers.js';
import { HAS_MICROSOCKS, type Microsocks, startMicrosocks } from './microsocks.js';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

if (!HAS_MICROSOCKS) {
  console.warn(
    'transport-tcp: SOCKS5 tests skipped: the `microsocks` binary is not installed ' +
      '(apt-get install microsocks; .ci/run installs it)',
  );
}

function codeOf(error: unknown): string | undefined {
  return (error as { code?: string } | undefined)?.code;
}

async function failure(promise: Promise<Connection>): Promise<unknown> {
  return promise.then(
    (c) => {
      c.close();
      throw new Error('connected');
    },
    (error: unknown) => error,
  );
}

/** An accepting server on 127.0.0.1 and, on the same port where free, on ::1 too. */
async function target(): Promise<{ acc: Accepting; port: number; v6?: Accepting }> {
  const direct = tcpTransport();
  const acc = await accepting(direct, '127.0.0.1:0');
  cleanup.add(() => acc.listener.close());
  const port = Number(acc.listener.address.split(':')[1]);
  const v6 = await accepting(direct, `[::1]:${port}`).catch(() => undefined);
  if (v6 !== undefined) cleanup.add(() => v6.listener.close());
  return v6 === undefined ? { acc, port } : { acc, port, v6 };
}

async function roundTrip(transport: Transport, to: string, t: { acc: Accepting; v6?: Accepting }) {
  const client = cleanup.conn(await transport.connect(to));
  const server = cleanup.conn(await Promise.race([t.acc.next(), ...(t.v6 ? [t.v6.next()] : [])]));
  const c = recorder();
  const s = recorder();
  client.start(c);
  server.start(s);
  // Ping-pong, then 1 MiB each way.
  client.write(Uint8Array.of(1, 2, 3, 4));
  await s.waitFor(4);
  expect([...s.bytes()]).toEqual([1, 2, 3, 4]);
  server.write(Uint8Array.of(5, 6));
  await c.waitFor(2);
  expect([...c.bytes()]).toEqual([5, 6]);
  const big = pattern(1024 * 1024, 11);
  client.write(big);
  server.write(big);
  await Promise.all([s.waitFor(4 + big.length), c.waitFor(2 + big.length)]);
  expect(Buffer.compare(s.bytes().subarray(4), big)).toBe(0);
  expect(Buffer.compare(c.bytes().subarray(2), big)).toBe(0);
  // The remote leaving through the proxy is seen as end of stream, then a clean close.
  server.end();
  await c.ended;
  client.end();
  expect(await c.closed).toBeUndefined();
  return client;
}

describe.skipIf(!HAS_MICROSOCKS)('socks5Connector against microsocks', () => {
  let open: Microsocks;
  let authed: Microsocks;

  beforeAll(async () => {
    [open, authed] = await Promise.all([
      startMicrosocks(),
      startMicrosocks({ user: 'alice', pass: 's3cret' }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([open?.stop(), authed?.stop()]);
  });

  it('reaches an IP target through the proxy: bytes and 1 MiB intact, end of stream seen', async () => {
    const t = await target();
    const transport = tcpTransport({ connector: socks5Connector({ proxy: open.address }) });
    const client = await roundTrip(transport, `127.0.0.1:${t.port}`, t);
    // The socket's far end is the proxy.
    expect(client.remoteAddress).toBe(open.address);
  });

  it('hands a domain-name target to the proxy unresolved (`localhost`)', async () => {
    const t = await target();
    const lookups: string[] = [];
    const lookup: Lookup = async (name) => {
      lookups.push(name);
      return [];
    };
    const transport = tcpTransport({
      connector: socks5Connector({ proxy: open.address, lookup }),
      lookup,
    });
    await roundTrip(transport, `localhost:${t.port}`, t);
    expect(lookups).toEqual([]);
  });

  it('loses neither the bytes nor the end of stream a target sends right after accepting', async () => {
    const greeting = pattern(100_000, 1);
    const server = net.createServer({ allowHalfOpen: true }, (socket) => {
      socket.on('error', () => {}).resume();
      socket.end(greeting);
    });
    const port = await listenLoopback(server, cleanup);
    const transport = tcpTransport({ connector: socks5Connector({ proxy: open.address }) });
    for (let i = 0; i < 5; i++) {
      const client = await transport.connect(`127.0.0.1:${port}`);
      const c = recorder();
      client.start(c);
      await c.ended;
      expect(Buffer.compare(c.bytes(), greeting)).toBe(0);
      client.end();
      expect(await c.closed).toBeUndefined();
    }
  });

  it('authenticates with `username` and `password`', async () => {
    const t = await target();
    const connector = socks5Connector({
      proxy: authed.address,
      username: 'alice',
      password: 's3cret',
    });
    await roundTrip(tcpTransport({ connector }), `127.0.0.1:${t.port}`, t);
  });

  it('fails wrong credentials with `ERR_PROXY_AUTH`', async () => {
    const t = await target();
    const connector = socks5Connector({
      proxy: authed.address,
      username: 'alice',
      password: 'nope',
    });
    const error = await failure(tcpTransport({ connector }).connect(`127.0.0.1:${t.port}`));
    expect(PeerlinkError.isInstance(error)).toBe(true);
    expect(codeOf(error)).toBe('ERR_PROXY_AUTH');
  });

  it('fails missing credentials with `ERR_PROXY_AUTH`', async () => {
    const t = await target();
    const connector = socks5Connector({ proxy: authed.address });
    const error = await failure(tcpTransport({ connector }).connect(`127.0.0.1:${t.port}`));
    expect(codeOf(error)).toBe('ERR_PROXY_AUTH');
  });

  it('fails a closed target port behind the proxy with `ERR_PROXY_TARGET_UNREACHABLE` and the reply code', async () => {
    const port = await freePort();
    const connector = socks5Connector({ proxy: open.address });
    const error = await failure(tcpTransport({ connector }).connect(`127.0.0.1:${port}`));
    expect(codeOf(error)).toBe('ERR_PROXY_TARGET_UNREACHABLE');
    expect(error).toBeInstanceOf(ProxyReplyError);
    const reply = (error as ProxyReplyError).replyCode;
    expect(reply).toBeGreaterThanOrEqual(1);
    expect(reply).toBeLessThanOrEqual(8);
  });
});

describe('socks5Connector failures without a SOCKS5 server', () => {
  it('fails a proxy that is down with `ERR_PROXY_UNREACHABLE`, the refusal as cause', async () => {
    const proxyPort = await freePort();
    const connector = socks5Connector({ proxy: `127.0.0.1:${proxyPort}` });
    const error = await failure(tcpTransport({ connector }).connect('peer.example:4000'));
    expect(codeOf(error)).toBe('ERR_PROXY_UNREACHABLE');
    expect(codeOf((error as Error).cause)).toBe('ECONNREFUSED');
  });

  it('fails a "proxy" that speaks something else with `ERR_PROXY_PROTOCOL`', async () => {
    const server = net.createServer((socket) => {
      socket.on('error', () => {}).resume();
      socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n');
    });
    const port = await listenLoopback(server, cleanup);
    const connector = socks5Connector({ proxy: `127.0.0.1:${port}` });
    const error = await failure(tcpTransport({ connector }).connect('peer.example:4000'));
    expect(codeOf(error)).toBe('ERR_PROXY_PROTOCOL');
  });

  it('fails a "proxy" that hangs up without a word with `ERR_PROXY_PROTOCOL`', async () => {
    const server = net.createServer((socket) => socket.on('error', () => {}).destroy());
    const port = await listenLoopback(server, cleanup);
    const connector = socks5Connector({ proxy: `127.0.0.1:${port}` });
    const error = await failure(tcpTransport({ connector }).connect('peer.example:4000'));
    expect(codeOf(error)).toBe('ERR_PROXY_PROTOCOL');
  });

  /** A SOCKS5 "proxy" that grants CONNECT with `reply` as its reply; resolves when it sees close. */
  async function hostileProxy(reply: Uint8Array): Promise<{ port: number; closed: Promise<void> }> {
    let seenClose!: () => void;
    const closed = new Promise<void>((r) => (seenClose = r));
    const server = net.createServer((socket) => {
      socket.on('error', () => {});
      socket.once('close', seenClose);
      let step = 0;
      socket.on('data', () => {
        // Greeting (no authentication), then the CONNECT request: answered without looking.
        socket.write(step++ === 0 ? Uint8Array.of(5, 0) : reply);
      });
    });
    return { port: await listenLoopback(server, cleanup), closed };
  }

  for (const atyp of [0, 2, 5, 9, 255]) {
    it(`fails a CONNECT reply with an unknown address type (${atyp}) with \`ERR_PROXY_PROTOCOL\` and closes the socket`, async () => {
      // VER 5, REP 0 (granted), RSV 0, ATYP unknown, then what would be an address and a port.
      const reply = Uint8Array.of(5, 0, 0, atyp, 127, 0, 0, 1, 0x1f, 0x90, 1, 2, 3, 4);
      const proxy = await hostileProxy(reply);
      const connector = socks5Connector({ proxy: `127.0.0.1:${proxy.port}` });
      const error = await failure(tcpTransport({ connector }).connect('peer.example:4000'));
      expect(codeOf(error)).toBe('ERR_PROXY_PROTOCOL');
      await proxy.closed;
    });
  }

  it('fails a granting CONNECT reply of another SOCKS version with `ERR_PROXY_PROTOCOL`', async () => {
    for (const reply of [
      Uint8Array.of(4, 0, 0, 1, 127, 0, 0, 1, 0x1f, 0x90),
      Uint8Array.of(0, 0, 0, 1, 127, 0, 0, 1, 0x1f, 0x90),
    ]) {
      const proxy = await hostileProxy(reply);
      const connector = socks5Connector({ proxy: `127.0.0.1:${proxy.port}` });
      const error = await failure(tcpTransport({ connector }).connect('peer.example:4000'));
      expect(codeOf(error)).toBe('ERR_PROXY_PROTOCOL');
      await proxy.closed;
    }
  });

  it('accepts a well-formed CONNECT reply from a hand-written proxy (IPv4, IPv6, name)', async () => {
    for (const reply of [
      Uint8Array.of(5, 0, 0, 1, 127, 0, 0, 1, 0x1f, 0x90),
      Uint8Array.of(5, 0, 0, 4, ...new Uint8Array(15), 1, 0x1f, 0x90),
      Uint8Array.of(5, 0, 0, 3, 4, 0x74, 0x65, 0x73, 0x74, 0x1f, 0x90),
    ]) {
      const proxy = await hostileProxy(reply);
      const connector = socks5Connector({ proxy: `127.0.0.1:${proxy.port}` });
      const conn = await tcpTransport({ connector }).connect('peer.example:4000');
      conn.close();
      await proxy.closed;
    }
  });

  it('times out a proxy that accepts but never answers: rejects with the signal reason, closes the socket', async () => {
    const controller = new AbortController();
    const reason = new DOMException('connect timed out', 'TimeoutError');
    let seenClose!: () => void;
    const closed = new Promise<void>((r) => (seenClose = r));
    const server = net.createServer((socket) => {
      socket.on('error', () => {});
      socket.once('close', seenClose);
      // The client's greeting arrived; never answer, and let the "timeout" fire.
      socket.once('data', () => controller.abort(reason));
    });
    const port = await listenLoopback(server, cleanup);
    const connector = socks5Connector({ proxy: `127.0.0.1:${port}` });
    const transport = tcpTransport({ connector });
    const error = await failure(
      transport.connect('peer.example:4000', { signal: controller.signal }),
    );
    expect(error).toBe(reason);
    await closed; // nothing left behind: the proxy sees the connection go
  });

  it('refuses invalid options with `ERR_INVALID_ARGUMENT`', () => {
    expect(() => socks5Connector({ proxy: 'nope' })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }),
    );
    expect(() => socks5Connector({ proxy: '127.0.0.1:9050', username: 'u' })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }),
    );
    expect(() =>
      socks5Connector({ proxy: '127.0.0.1:9050', username: 'u', password: 'x'.repeat(256) }),
    ).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
  });
});
