import { once } from 'node:events';
import { Reactor, type ReactorEvent } from '@peerlink/reactor';
import { tcpTransport } from '@peerlink/transport-tcp';
import { describe, expect, it } from 'vitest';
import { bytesCodec, isType, pattern } from '../../../reactor/test/fixtures.js';
import { concat, trapCodec, trapFrame } from './codecs.js';
import {
  bystander,
  PeerLedger,
  portOf,
  resourceCounts,
  until,
  useHardening,
  type Watched,
} from './guard.js';
import { memoryNet } from './nets.js';

const h = useHardening();

type Disconnected = Extract<ReactorEvent<unknown>, { type: 'disconnected' }>;

/** A server reactor on 127.0.0.1 with a bystander peer that must stay unaffected. */
async function tcpServer<M>(codec: import('@peerlink/codec').Codec<M>, sample: M, config = {}) {
  const server = h.reactor<M>({ codec, transport: tcpTransport(), config, name: 'server' });
  const [address] = await server.r.listen('127.0.0.1:0');
  const by = await bystander(h, server, address!, { codec, transport: tcpTransport(), sample });
  await by.roundTrip();
  return { server, address: address!, port: portOf(address!), by };
}

function nextAccepted<M>(w: Watched<M>): Promise<number> {
  const n = w.rec.events.filter(isType('accepted')).length;
  return w.rec.waitForCount(isType('accepted'), n + 1).then((all) => {
    const last = all[all.length - 1];
    return (last as { peer: number }).peer;
  });
}

describe('resets and half-close over TCP', () => {
  it('reports a reset in the middle of a message as an `error` disconnect with `ECONNRESET`', async () => {
    const { server, port, by } = await tcpServer(trapCodec, Uint8Array.of(7));
    const accepted = nextAccepted(server);
    const s = await h.socket(port);
    const peer = await accepted;
    // One whole frame, then the first half of a 200-byte frame.
    s.write(concat(trapFrame([1]), trapFrame(pattern(200)).subarray(0, 100)));
    await server.rec.waitFor(isType('message', peer));
    s.resetAndDestroy();
    const d = (await server.rec.waitFor(isType('disconnected', peer))) as Disconnected;
    expect(d.reason).toMatchObject({ kind: 'error', error: { code: 'ECONNRESET' } });
    expect(server.rec.disconnects(peer)).toHaveLength(1);
    await by.roundTrip();
  });

  it('reports a reset in the middle of a write as an `error` disconnect with `ECONNRESET` or `EPIPE`', async () => {
    const { server, port, by } = await tcpServer(bytesCodec, Uint8Array.of(7));
    const accepted = nextAccepted(server);
    const s = await h.socket(port);
    s.pause(); // never read: the server's write backs up
    const peer = await accepted;
    const big = pattern(4 * 1024 * 1024, 3);
    // Fill the send buffer, so that the server is blocked in the middle of a write.
    while (server.r.send(peer, big) === 'queued') {}
    await until(() => s.readableLength > 0 || s.bytesRead > 0, 'bytes to arrive');
    s.resetAndDestroy();
    const d = (await server.rec.waitFor(isType('disconnected', peer))) as Disconnected;
    expect(d.reason.kind).toBe('error');
    expect(['ECONNRESET', 'EPIPE']).toContain((d.reason as { error: { code: string } }).error.code);
    expect(server.rec.disconnects(peer)).toHaveLength(1);
    await by.roundTrip();
  });

  it('survives connections reset right after accept', async () => {
    const { server, port, by } = await tcpServer(trapCodec, Uint8Array.of(7));
    // 25 reset the moment the client's connect completes (the server may not have accepted
    // them yet), 25 right after the server's `accepted` event.
    for (let i = 0; i < 25; i++) {
      const s = await h.socket(port);
      s.resetAndDestroy();
      await once(s, 'close');
    }
    for (let i = 0; i < 25; i++) {
      const accepted = nextAccepted(server);
      const s = await h.socket(port);
      const peer = await accepted;
      s.resetAndDestroy();
      const d = (await server.rec.waitFor(isType('disconnected', peer))) as Disconnected;
      expect(['error', 'left']).toContain(d.reason.kind);
    }
    // Whatever the server saw of them, each is gone with one event; the bystander still works.
    await until(() => server.ledger.live.length === 1, 'reset peers to be gone');
    expect(server.ledger.live).toEqual([by.serverPeer]);
    expect(server.ledger.opened.size).toBeGreaterThanOrEqual(26);
    await by.roundTrip();
  });

  it('answers a half-close (FIN) with `left`, delivers everything queued, then ends the stream', async () => {
    const { server, port, by } = await tcpServer(bytesCodec, Uint8Array.of(7));
    const accepted = nextAccepted(server);
    const s = await h.socket(port, { allowHalfOpen: true });
    const peer = await accepted;
    s.pause();
    // Queue 8 MiB the client does not read yet, then the client half-closes.
    const messages = Array.from({ length: 8 }, (_, i) => pattern(1024 * 1024 - 4, i));
    for (const m of messages) expect(server.r.send(peer, m)).toBe('queued');
    s.end();
    const d = (await server.rec.waitFor(isType('disconnected', peer))) as Disconnected;
    expect(d.reason.kind).toBe('left');
    // The client reads everything, then sees the end of the stream.
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.resume();
    await once(s, 'end');
    const got = Buffer.concat(chunks);
    expect(got.length).toBe(8 * 1024 * 1024);
    let offset = 0;
    for (const m of messages) {
      expect(got.readUInt32BE(offset)).toBe(m.length);
      expect(got.subarray(offset + 4, offset + 4 + m.length).equals(m)).toBe(true);
      offset += 4 + m.length;
    }
    expect(server.rec.disconnects(peer)).toHaveLength(1);
    await by.roundTrip();
  });

  it('closes a half-closed peer that never reads what we queued after `txTimeout`', async () => {
    const { server, port, by } = await tcpServer(bytesCodec, Uint8Array.of(7), { txTimeout: 300 });
    const accepted = nextAccepted(server);
    const s = await h.socket(port, { allowHalfOpen: true });
    const peer = await accepted;
    s.pause(); // a paused socket does not read, so it will not notice the reset either
    const big = pattern(4 * 1024 * 1024, 5);
    while (server.r.send(peer, big) === 'queued') {}
    const sockets = resourceCounts().TCPSocketWrap!;
    s.end();
    const d = (await server.rec.waitFor(isType('disconnected', peer))) as Disconnected;
    expect(d.reason.kind).toBe('left');
    // The server's side of the connection does not linger once its data is stale.
    const started = performance.now();
    await until(() => resourceCounts().TCPSocketWrap! < sockets, "the server's socket to close");
    expect(performance.now() - started).toBeLessThan(3000);
    expect(server.rec.disconnects(peer)).toHaveLength(1);
    await by.roundTrip();
  });

  it('gives one event when a local disconnect, a remote reset and a write error meet in one tick', async () => {
    let onMessage: ((peer: number) => void) | undefined;
    const server = h.reactor<Uint8Array>(
      { codec: trapCodec, transport: tcpTransport(), name: 'server' },
      (e) => {
        if (e.type === 'message') onMessage?.(e.peer);
      },
    );
    const [address] = await server.r.listen('127.0.0.1:0');
    const by = await bystander(h, server, address!, {
      codec: trapCodec,
      transport: tcpTransport(),
      sample: Uint8Array.of(7),
    });
    for (let round = 0; round < 20; round++) {
      const accepted = nextAccepted(server);
      const s = await h.socket(portOf(address!));
      const closed = once(s, 'close');
      const peer = await accepted;
      onMessage = (from) => {
        if (from !== peer) return;
        onMessage = undefined;
        // All in one tick: the remote resets (on loopback the RST is in our socket at once), we
        // queue a message (its write, in a microtask, fails) and we disconnect.
        s.resetAndDestroy();
        server.r.send(peer, Uint8Array.of(1, 2, 3));
        server.r.disconnect(peer);
        server.r.send(peer, Uint8Array.of(4));
      };
      s.write(trapFrame([round + 1]));
      await closed;
      await until(() => server.ledger.disconnects.has(peer), 'the disconnect');
      expect(server.rec.disconnects(peer)).toHaveLength(1);
      expect((server.rec.disconnects(peer)[0] as Disconnected).reason.kind).toBe('requested');
    }
    // Let any late socket error surface before the harness checks for strays.
    await by.roundTrip();
  });
});

describe('connections we disconnected do not linger (TCP)', () => {
  it('closes a disconnected peer that never answers our end of stream, after `txTimeout`', async () => {
    const { server, port, by } = await tcpServer(trapCodec, Uint8Array.of(7), { txTimeout: 200 });
    const accepted = nextAccepted(server);
    const s = await h.socket(port, { allowHalfOpen: true }); // reads, but never ends its side
    const peer = await accepted;
    server.r.disconnect(peer);
    await once(s, 'end');
    const started = performance.now();
    await until(() => server.r.stats({ peers: false }).closing === 0, 'the connection to close');
    expect(performance.now() - started).toBeLessThan(2000);
    await by.roundTrip();
  });

  it('closes a disconnected peer whose reading was paused (event queue full), after `txTimeout`', async () => {
    const server = new Reactor({
      codec: trapCodec,
      transport: tcpTransport(),
      eventCapacity: 4,
      config: { txTimeout: 200 },
    });
    const ledger = new PeerLedger();
    h.adopt(server, ledger, 'server');
    const [address] = await server.listen('127.0.0.1:0');
    const s = await h.socket(portOf(address!), { allowHalfOpen: true });
    // 4 MiB of frames, then our end: nobody consumes the server's events, so after a few
    // messages its socket is paused, and the end of stream sits behind unread data.
    const frame = trapFrame(new Uint8Array(255));
    for (let i = 0; i < 16_384; i++) s.write(frame);
    s.end();
    await until(() => server.stats({ peers: false }).pausedPeers === 1, 'the server to pause');
    const [serverPeer] = server.peerIds;
    server.disconnect(serverPeer!);
    await once(s, 'end'); // our end of stream reached the remote
    const started = performance.now();
    await until(() => server.stats({ peers: false }).closing === 0, 'the connection to close');
    expect(performance.now() - started).toBeLessThan(2000);
    for await (const e of server.events()) {
      ledger.observe(e as ReactorEvent<unknown>);
      if (e.type === 'disconnected') break;
    }
  });
});

describe('resets and half-close on the memory network (faults TCP cannot place)', () => {
  it('gives one event when a reset fault strikes in the tick of a disconnect', async () => {
    const n = memoryNet(h);
    // Every connection from host `raw` is reset right after its first 2 bytes (one frame): the
    // reset is delivered in the same turn as the message.
    n.network.link({ from: 'raw' }, { faults: [{ kind: 'reset', afterBytes: 2 }] });
    let onMessage: ((peer: number) => void) | undefined;
    const server = h.reactor<Uint8Array>(
      { codec: trapCodec, transport: n.transport(), name: 'server' },
      (e) => {
        if (e.type === 'message') onMessage?.(e.peer);
      },
    );
    const [address] = await server.r.listen(n.listenAddress);
    const by = await bystander(h, server, address!, {
      codec: trapCodec,
      transport: n.transport(),
      sample: Uint8Array.of(9),
    });
    for (let round = 0; round < 20; round++) {
      const accepted = nextAccepted(server);
      const raw = await n.raw(address!);
      const peer = await accepted;
      onMessage = (from) => {
        if (from !== peer) return;
        onMessage = undefined;
        server.r.send(peer, Uint8Array.of(1, 2, 3));
        server.r.disconnect(peer);
      };
      raw.write(trapFrame([round + 1]));
      await raw.closed;
      await until(() => server.ledger.disconnects.has(peer), 'the disconnect');
      expect(server.rec.disconnects(peer)).toHaveLength(1);
      expect((server.rec.disconnects(peer)[0] as Disconnected).reason.kind).toBe('requested');
    }
    await by.roundTrip();
  });

  it('reports a reset fault in the middle of a message as `error` with `ECONNRESET`', async () => {
    const n = memoryNet(h);
    n.network.link({ from: 'raw' }, { faults: [{ kind: 'reset', afterBytes: 150 }] });
    const server = h.reactor({ codec: trapCodec, transport: n.transport(), name: 'server' });
    const [address] = await server.r.listen(n.listenAddress);
    const by = await bystander(h, server, address!, {
      codec: trapCodec,
      transport: n.transport(),
      sample: Uint8Array.of(9),
    });
    const accepted = nextAccepted(server);
    const raw = await n.raw(address!);
    const peer = await accepted;
    raw.write(concat(trapFrame([1]), trapFrame(pattern(200))));
    const d = (await server.rec.waitFor(isType('disconnected', peer))) as Disconnected;
    expect(d.reason).toMatchObject({ kind: 'error', error: { code: 'ECONNRESET' } });
    expect(server.rec.messagesFrom(peer)).toHaveLength(1);
    await by.roundTrip();
  });

  it('answers a half-close fault with `left` and still delivers what was queued', async () => {
    const n = memoryNet(h);
    n.network.link({ from: 'raw' }, { faults: [{ kind: 'half-close', afterBytes: 2 }] });
    const server = h.reactor({ codec: trapCodec, transport: n.transport(), name: 'server' });
    const [address] = await server.r.listen(n.listenAddress);
    const by = await bystander(h, server, address!, {
      codec: trapCodec,
      transport: n.transport(),
      sample: Uint8Array.of(9),
    });
    const accepted = nextAccepted(server);
    const raw = await n.raw(address!);
    const peer = await accepted;
    for (let i = 0; i < 100; i++) server.r.send(peer, pattern(200, i));
    raw.write(concat(trapFrame([1]), trapFrame([2])));
    const d = (await server.rec.waitFor(isType('disconnected', peer))) as Disconnected;
    expect(d.reason.kind).toBe('left');
    await raw.ended;
    expect(raw.received).toBe(100 * 201);
    expect(server.rec.messagesFrom(peer)).toHaveLength(1);
    await by.roundTrip();
  });
});
