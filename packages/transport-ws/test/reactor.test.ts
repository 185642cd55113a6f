/**
 * The reactor over WebSocket: the reactor's own transport suite, then every way a WebSocket ends
 * (close codes, a dropped connection, a stray text frame, an oversized frame) and every way a
 * connect fails, each checked as the `disconnected` reason or `connect-failed` error it becomes.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as net from 'node:net';
import { lengthPrefixed } from '@peerlink/codec';
import { Reactor, type ReactorEvent } from '@peerlink/reactor';
import { closeError, webSocketTransport } from '@peerlink/transport-ws';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { Recorder } from '../../reactor/test/fixtures.js';
import { reactorSuite } from '../../reactor/test/suite.js';

reactorSuite('WebSocket (ws)', {
  transport: () => webSocketTransport(),
  listenAddress: '127.0.0.1:0',
});

const codec = lengthPrefixed({ maxSize: 64 * 1024 });

describe('reactor over WebSocket: reasons', () => {
  const reactors: Reactor<Uint8Array>[] = [];
  const closers: Array<() => void> = [];
  afterEach(async () => {
    for (const close of closers.splice(0)) close();
    await Promise.all(reactors.splice(0).map((r) => r.shutdown({ flushTimeout: 0 })));
  });

  function reactor(options: Parameters<typeof webSocketTransport>[0] = {}, connectTimeout = 5000) {
    const r = new Reactor({
      codec,
      transport: webSocketTransport(options),
      config: { connectTimeout },
    });
    reactors.push(r);
    return { reactor: r, events: new Recorder(r) };
  }

  /** A reactor listening, and a raw `ws` client connected to it. */
  async function rawClient(options: Parameters<typeof webSocketTransport>[0] = {}) {
    const server = reactor(options);
    const [address] = await server.reactor.listen('127.0.0.1:0');
    const ws = new WebSocket(`ws://${address}/`);
    ws.on('error', () => {});
    closers.push(() => ws.terminate());
    let socket: net.Socket | undefined;
    ws.once('upgrade', (response) => {
      socket = response.socket as net.Socket;
    });
    await new Promise((resolve) => ws.once('open', resolve));
    const accepted = await server.events.waitFor((e) => e.type === 'accepted');
    return { ws, socket: socket!, server, peer: (accepted as { peer: number }).peer };
  }

  const disconnected = (events: Recorder<Uint8Array>) =>
    events.waitFor((e) => e.type === 'disconnected') as Promise<
      Extract<ReactorEvent<Uint8Array>, { type: 'disconnected' }>
    >;

  for (const code of [1000, 1001]) {
    it(`reports a close with ${code} as \`left\``, async () => {
      const { ws, server } = await rawClient();
      ws.close(code);
      expect((await disconnected(server.events)).reason).toEqual({ kind: 'left' });
    });
  }

  it('reports a close frame without a code (1005) as `left`', async () => {
    const { ws, server } = await rawClient();
    ws.close();
    expect((await disconnected(server.events)).reason).toEqual({ kind: 'left' });
  });

  it('reports a socket closed without a close frame (1006, a TCP FIN) as `left`, as TCP does', async () => {
    const { ws, server } = await rawClient();
    ws.terminate();
    expect((await disconnected(server.events)).reason).toEqual({ kind: 'left' });
  });

  it('reports a TCP reset (1006 with the socket error) as `error` with `ECONNRESET`', async () => {
    const { socket, server } = await rawClient();
    socket.resetAndDestroy();
    const { reason } = await disconnected(server.events);
    expect(reason).toMatchObject({ kind: 'error', error: { code: 'ECONNRESET' } });
  });

  for (const [closeCode, code] of [
    [4001, 'ECONNRESET'],
    [1002, 'ERR_WS_PROTOCOL'],
    [1003, 'ERR_WS_PROTOCOL'],
    [1007, 'ERR_WS_PROTOCOL'],
    [1009, 'ERR_WS_MESSAGE_TOO_BIG'],
    [1008, 'ERR_WS_CLOSED'],
    [1011, 'ERR_WS_CLOSED'],
    [1012, 'ERR_WS_CLOSED'],
    [4321, 'ERR_WS_CLOSED'],
  ] as const) {
    it(`reports a close with ${closeCode} as \`error\` with \`${code}\``, async () => {
      const { ws, server } = await rawClient();
      ws.close(closeCode, 'bye');
      const { reason } = await disconnected(server.events);
      expect(reason).toMatchObject({
        kind: 'error',
        error: { code, closeCode, closeReason: 'bye' },
      });
    });
  }

  it('maps each close code as the README table says', () => {
    expect(closeError(1000, '')).toBeUndefined();
    expect(closeError(1001, '')).toBeUndefined();
    expect(closeError(1005, '')).toBeUndefined();
    expect(closeError(1006, '')?.code).toBe('ECONNRESET');
    expect(closeError(1006, '', true)).toBeUndefined();
    expect(closeError(1015, 'tls')?.code).toBe('ERR_WS_CLOSED');
  });

  it('reports a text frame as `error` with `ERR_WS_PROTOCOL` and closes with 1003', async () => {
    const { ws, server } = await rawClient();
    const closed = new Promise<number>((resolve) => ws.once('close', resolve));
    ws.send('hello');
    const { reason } = await disconnected(server.events);
    expect(reason).toMatchObject({ kind: 'error', error: { code: 'ERR_WS_PROTOCOL' } });
    expect(await closed).toBe(1003);
  });

  it('sets `maxPayload` from `limits`: a larger frame is `ERR_WS_MESSAGE_TOO_BIG` and 1009', async () => {
    const { ws, server } = await rawClient({ limits: codec });
    const closed = new Promise<number>((resolve) => ws.once('close', resolve));
    ws.send(new Uint8Array(64 * 1024 + 1));
    const { reason } = await disconnected(server.events);
    expect(reason).toMatchObject({ kind: 'error', error: { code: 'ERR_WS_MESSAGE_TOO_BIG' } });
    expect(await closed).toBe(1009);
  });

  it('accepts frames up to `maxPayload` (`limits` with `rxBufMaxSize`)', async () => {
    const { ws, server } = await rawClient({
      limits: { maxSize: 1024, stream: { rxBufMaxSize: 128 } },
    });
    const frame = new Uint8Array(128 * 1024); // 128 messages of 1020 bytes, length-prefixed
    const view = new DataView(frame.buffer);
    for (let at = 0; at < frame.length; at += 1024) view.setUint32(at, 1020);
    ws.send(frame);
    const messages = await server.events.waitForCount((e) => e.type === 'message', 128);
    expect(messages).toHaveLength(128);
  });

  it('does not negotiate permessage-deflate unless `perMessageDeflate` is set', async () => {
    const { ws } = await rawClient();
    expect(ws.extensions).toBe('');
    const { ws: deflating } = await rawClient({ perMessageDeflate: true });
    expect(deflating.extensions).toContain('permessage-deflate');
  });

  it('serves plain HTTP with `httpHandler`, and 426 without one', async () => {
    const withPage = reactor({
      httpHandler: (_request, response) => response.end('hello page'),
    });
    const [pageAddress] = await withPage.reactor.listen('127.0.0.1:0');
    expect(await (await fetch(`http://${pageAddress}/`)).text()).toBe('hello page');
    const plain = reactor();
    const [plainAddress] = await plain.reactor.listen('127.0.0.1:0');
    expect((await fetch(`http://${plainAddress}/`)).status).toBe(426);
  });

  it('refuses an upgrade on another `path` (`ERR_WS_HANDSHAKE` for the dialer)', async () => {
    const server = reactor({ path: '/peerlink' });
    const [address] = await server.reactor.listen('127.0.0.1:0');
    const wrong = reactor({ path: '/other' });
    await expect(wrong.reactor.connect(address!)).rejects.toMatchObject({
      code: 'ERR_WS_HANDSHAKE',
    });
    const right = reactor({ path: '/peerlink' });
    await right.reactor.connect(address!);
  });

  it('reports a refused connect as `connect-failed` with `ECONNREFUSED`', async () => {
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise((resolve) => probe.close(resolve));
    const client = reactor();
    await expect(client.reactor.connect(`127.0.0.1:${port}`)).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    });
    expect(client.events.events).toEqual([
      expect.objectContaining({
        type: 'connect-failed',
        error: expect.objectContaining({ code: 'ECONNREFUSED' }),
      }),
    ]);
  });

  it('reports a server that is not a WebSocket endpoint as `ERR_WS_HANDSHAKE`', async () => {
    const plain = http.createServer((_request, response) => response.writeHead(404).end());
    closers.push(() => plain.close());
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    const { port } = plain.address() as AddressInfo;
    const client = reactor();
    await expect(client.reactor.connect(`127.0.0.1:${port}`)).rejects.toMatchObject({
      code: 'ERR_WS_HANDSHAKE',
    });
  });

  it('fails a connect whose handshake never completes with `ERR_CONNECT_TIMEOUT`, and one aborted with `ERR_ABORTED`', async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {}).resume();
    });
    closers.push(() => {
      for (const s of sockets) s.destroy();
      silent.close();
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const target = `127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const client = reactor({}, 100);
    await expect(client.reactor.connect(target)).rejects.toMatchObject({
      code: 'ERR_CONNECT_TIMEOUT',
    });
    const controller = new AbortController();
    const pending = client.reactor.connect(target, { signal: controller.signal });
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: 'ERR_ABORTED' });
  });

  it('rejects bad options with `ERR_INVALID_CONFIG` naming the field', () => {
    expect(() => webSocketTransport({ frameSize: 0 })).toThrow(/^frameSize:/);
    expect(() => webSocketTransport({ highWaterMark: 1.5 })).toThrow(/^highWaterMark:/);
    expect(() => webSocketTransport({ closeTimeout: -1 })).toThrow(/^closeTimeout:/);
    try {
      webSocketTransport({ maxPayload: -1 });
      expect.unreachable();
    } catch (error) {
      expect(error).toMatchObject({ code: 'ERR_INVALID_CONFIG' });
    }
  });
});
