import type { ReactorEvent } from '@peerlink/reactor';
import { tcpTransport } from '@peerlink/transport-tcp';
import { describe, expect, it } from 'vitest';
import { bytesCodec, isType, pattern, smallCodec } from '../../../reactor/test/fixtures.js';
import { bystander, portOf, useHardening, type Watched } from './guard.js';
import { memoryNet } from './nets.js';

const h = useHardening();

type Disconnected = Extract<ReactorEvent<unknown>, { type: 'disconnected' }>;

function nextAccepted<M>(w: Watched<M>): Promise<number> {
  const n = w.rec.events.filter(isType('accepted')).length;
  return w.rec
    .waitForCount(isType('accepted'), n + 1)
    .then((all) => (all[all.length - 1] as { peer: number }).peer);
}

async function tcpServer(
  codec: import('@peerlink/codec').Codec<Uint8Array>,
  options: Partial<import('@peerlink/reactor').ReactorOptions<Uint8Array>> = {},
) {
  const server = h.reactor({ codec, transport: tcpTransport(), name: 'server', ...options });
  const [address] = await server.r.listen('127.0.0.1:0');
  const by = await bystander(h, server, address!, {
    codec,
    transport: tcpTransport(),
    sample: Uint8Array.of(1, 2),
  });
  await by.roundTrip();
  return { server, port: portOf(address!), by };
}

/** Resolves after `ms` of real time; used only where the behaviour under test is time itself. */
function elapse(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    h.defer(() => clearTimeout(t));
  });
}

describe('slow peers over TCP', () => {
  // Scaled: the "one byte per second" becomes one byte per 25 ms against a 250 ms
  // `messageTimeout`: the same ratio of progress to deadline, in a quarter of a second.
  it('cuts off a peer trickling one byte at a time past `messageTimeout`', async () => {
    const { server, port, by } = await tcpServer(smallCodec, { config: { messageTimeout: 250 } });
    const accepted = nextAccepted(server);
    const s = await h.socket(port);
    const peer = await accepted;
    const frame = new Uint8Array(4 + 900);
    new DataView(frame.buffer).setUint32(0, 900);
    let sent = 0;
    const timer = setInterval(() => {
      if (sent < frame.length && !s.destroyed) s.write(frame.subarray(sent, ++sent));
    }, 25);
    h.defer(() => clearInterval(timer));
    const d = (await server.rec.waitFor(isType('disconnected', peer))) as Disconnected;
    clearInterval(timer);
    expect(d.reason.kind).toBe('read-stale');
    // It was making progress all along: this is the deadline, not idleness.
    expect(sent).toBeGreaterThan(2);
    expect(sent).toBeLessThan(frame.length);
    await by.roundTrip();
  });

  it('restarts the `messageTimeout` deadline after every complete message', async () => {
    // Each message takes ~80 ms against a 500 ms deadline; all of them take ~800 ms.
    const { server, port, by } = await tcpServer(smallCodec, { config: { messageTimeout: 500 } });
    const accepted = nextAccepted(server);
    const s = await h.socket(port);
    const peer = await accepted;
    const frames = new Uint8Array(10 * 4);
    const got = server.rec.waitForCount(isType('message', peer), 10);
    let sent = 0;
    const timer = setInterval(() => {
      if (sent < frames.length) s.write(frames.subarray(sent, ++sent));
    }, 20);
    h.defer(() => clearInterval(timer));
    await got;
    clearInterval(timer);
    expect(server.rec.disconnects(peer)).toEqual([]);
    await by.roundTrip();
  });

  it('never drops an idle peer by default, not even one with a partial message pending', async () => {
    // A hand-driven clock: one housekeeping pass sees an hour go by.
    let now = 0;
    const { server, port, by } = await tcpServer(bytesCodec, {
      clock: () => now,
      housekeepingInterval: 10,
    });
    const idleAccepted = nextAccepted(server);
    await h.socket(port);
    const idle = await idleAccepted;
    const partialAccepted = nextAccepted(server);
    const partial = await h.socket(port);
    const partialPeer = await partialAccepted;
    partial.write(Uint8Array.of(0, 0, 1, 0, 1, 2, 3)); // 3 of 256 body bytes
    // A probe that never reads while we send to it: it must go write-stale on the same pass
    // that sees the hour, which tells us housekeeping ran.
    const probeAccepted = nextAccepted(server);
    const probe = await h.socket(port);
    probe.pause();
    const probePeer = await probeAccepted;
    const big = pattern(1024 * 1024, 2);
    while (server.r.send(probePeer, big) === 'queued') {}
    await server.rec.waitFor(isType('send-buffer-full', probePeer));
    now += 3600_000;
    const d = (await server.rec.waitFor(isType('disconnected', probePeer))) as Disconnected;
    expect(d.reason.kind).toBe('write-stale');
    expect(server.rec.disconnects(idle)).toEqual([]);
    expect(server.rec.disconnects(partialPeer)).toEqual([]);
    await by.roundTrip();
  });

  it('keeps a slow reader that still makes progress', async () => {
    // 1 KiB frames (send limit 64 KiB), `txTimeout` 1.2 s; the reader takes one chunk (up to
    // 64 KiB) every 10 ms for 2.5 s, far slower than the sender, but never stops.
    // Scale note: the reactor sees progress as the transport draining, and the kernel only
    // reports a socket writable again once about a third of its send buffer (MiBs on
    // loopback) is free; so the reader must take that much within `txTimeout` to count as
    // progressing. At 10 ms per chunk it does, with room to spare, for a 1.2 s `txTimeout`.
    const { server, port, by } = await tcpServer(smallCodec, { config: { txTimeout: 1200 } });
    const accepted = nextAccepted(server);
    const s = await h.socket(port);
    const peer = await accepted;
    let received = 0;
    s.on('data', (chunk: Buffer) => {
      received += chunk.length;
      s.pause();
      const t = setTimeout(() => s.resume(), 10);
      h.defer(() => clearTimeout(t));
    });
    const frame = pattern(1020, 4);
    let fullAfter = -1;
    const started = performance.now();
    // The sender keeps the send buffer full for 2.5 s (kernel buffers fill within the first
    // few milliseconds; from then on the reader's pace is the only progress).
    while (performance.now() - started < 2500) {
      const res = server.r.send(peer, frame);
      if (res === 'no-such-peer') break;
      if (res === 'full') {
        if (fullAfter < 0) fullAfter = performance.now() - started;
        await server.r.drained(peer).catch(() => {});
      }
    }
    expect(fullAfter).toBeGreaterThanOrEqual(0);
    expect(fullAfter).toBeLessThan(1000); // the reader was the bottleneck for over 1.5 s
    expect(server.rec.disconnects(peer)).toEqual([]);
    const readDuringTest = received;
    expect(readDuringTest).toBeGreaterThan(0);
    await by.roundTrip();
  });

  it('reports a reader that makes no progress as write-stale after `txTimeout`', async () => {
    const { server, port, by } = await tcpServer(smallCodec, { config: { txTimeout: 200 } });
    const accepted = nextAccepted(server);
    const s = await h.socket(port);
    s.pause();
    const peer = await accepted;
    const frame = pattern(1020, 6);
    const started = performance.now();
    const sending = (async () => {
      for (;;) {
        const res = server.r.send(peer, frame);
        if (res === 'no-such-peer') return;
        if (res === 'full') await server.r.drained(peer).catch(() => {});
      }
    })();
    const d = (await server.rec.waitFor(isType('disconnected', peer))) as Disconnected;
    await sending;
    expect(d.reason.kind).toBe('write-stale');
    expect(performance.now() - started).toBeLessThan(3000);
    await by.roundTrip();
  });

  it('keeps an idle peer with nothing queued through many `txTimeout`s', async () => {
    const { server, port, by } = await tcpServer(smallCodec, { config: { txTimeout: 50 } });
    const accepted = nextAccepted(server);
    await h.socket(port);
    const peer = await accepted;
    await elapse(400); // eight write timeouts of real time, with housekeeping every 12.5 ms
    expect(server.rec.disconnects(peer)).toEqual([]);
    await by.roundTrip();
  });
});

describe('slow peers on the memory network', () => {
  it('reports a peer behind a stalled link as write-stale after `txTimeout`', async () => {
    const n = memoryNet(h);
    // The link's `capacity` (64 KiB in flight) makes the stall push back on the sender.
    n.network.link({ from: 'client' }, { faults: [{ kind: 'stall', direction: 'b-to-a' }] });
    const server = h.reactor({
      codec: smallCodec,
      transport: n.transport('server'),
      config: { txTimeout: 200 },
      name: 'server',
    });
    const [address] = await server.r.listen('server:1');
    const client = h.reactor({ codec: smallCodec, transport: n.transport('client') });
    await client.r.connect(address!);
    const accepted = (await server.rec.waitFor(isType('accepted'))) as { peer: number };
    const frame = pattern(1020, 8);
    const sending = (async () => {
      for (;;) {
        const res = server.r.send(accepted.peer, frame);
        if (res === 'no-such-peer') return;
        if (res === 'full') await server.r.drained(accepted.peer).catch(() => {});
      }
    })();
    const d = (await server.rec.waitFor(isType('disconnected', accepted.peer))) as Disconnected;
    await sending;
    expect(d.reason.kind).toBe('write-stale');
  });
});
