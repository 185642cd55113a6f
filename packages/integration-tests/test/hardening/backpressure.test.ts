import { lengthPrefixed } from '@peerlink/codec';
import { type PeerId, Reactor, type ReactorEvent } from '@peerlink/reactor';
import { VirtualScheduler } from '@peerlink/transport-memory';
import { tcpTransport } from '@peerlink/transport-tcp';
import { describe, expect, it } from 'vitest';
import {
  bytesCodec,
  isType,
  type PingPong,
  pattern,
  ping,
  pingPongCodec,
} from '../../../reactor/test/fixtures.js';
import { bystander, PeerLedger, until, useHardening } from './guard.js';
import { memoryNet, type TestNet, tcpNet } from './nets.js';

const h = useHardening();
const MiB = 1024 * 1024;

/**
 * `bytesCodec`'s wire format through a body codec that copies: its messages go through the send
 * and reassembly buffers (the raw codec sends a large body by reference and receives it in a
 * buffer of its own, so its buffers never grow for it).
 */
const copyingCodec = lengthPrefixed(
  { maxSize: bytesCodec.maxSize },
  { encode: (m: Uint8Array, sink) => void sink.writeBytes(m), decode: (body) => body.slice() },
);

/** Sends pings 0 … count-1 to `peer`, waiting for `drained` whenever `send` says `'full'`. */
async function sendAll(r: Reactor<PingPong>, peer: PeerId, count: number): Promise<void> {
  for (let sent = 0; sent < count; ) {
    if (r.send(peer, ping(sent)) === 'queued') sent++;
    else await r.drained(peer);
  }
}

describe('receive-side backpressure under a slow consumer (TCP)', () => {
  // Scaling: the consumer awaits 1 ms per event over 1,000,000 messages (about 17
  // minutes). Here it awaits 1 ms (a real timer) after every 1,000 events instead: the same
  // 1,000,000 messages, the same event queue (1,024) and the same pattern of a consumer that
  // falls behind and catches up a thousand times, in a few seconds.
  it('pauses only the flooding socket, loses nothing of 1,000,000 messages, keeps memory bounded', async () => {
    const COUNT = 1_000_000;
    const server = new Reactor<PingPong>({
      codec: pingPongCodec,
      transport: tcpTransport(),
      eventCapacity: 1024,
      name: 'server',
    });
    const ledger = new PeerLedger();
    h.adopt(server, ledger, 'server');
    const [address] = await server.listen('127.0.0.1:0');
    const sender = h.reactor({ codec: pingPongCodec, transport: tcpTransport(), name: 'sender' });
    // A second client that only receives from the server during the flood.
    const quiet = h.reactor({ codec: pingPongCodec, transport: tcpTransport(), name: 'quiet' });
    const quietPeer = await quiet.r.connect(address!);
    const peer = await sender.r.connect(address!);
    const sending = sendAll(sender.r, peer, COUNT);

    global.gc?.();
    const base = process.memoryUsage();
    let peakArrayBuffers = 0;
    let peakHeap = 0;
    let maxQueued = 0;
    let pausedSamples = 0;
    let quietPausedSamples = 0;
    let floodPeer = -1;
    let quietServerPeer = -1;
    let next = 0;
    let outOfOrder = 0;
    let toQuiet = 0;
    for await (const e of server.events()) {
      ledger.observe(e as ReactorEvent<unknown>);
      if (e.type === 'accepted') {
        if (quietServerPeer < 0) quietServerPeer = e.peer;
        else floodPeer = e.peer;
        continue;
      }
      if (e.type !== 'message') continue;
      if (Number(e.message.n) !== next) outOfOrder++;
      next++;
      if (next % 1000 === 0) {
        const stats = server.stats();
        maxQueued = Math.max(maxQueued, stats.queuedEvents);
        if (server.peerStats(floodPeer)?.paused) pausedSamples++;
        if (server.peerStats(quietServerPeer)?.paused) quietPausedSamples++;
        // Commands and writes go on while reading is paused: the quiet peer gets a message.
        if (next % 100_000 === 0) {
          server.send(quietServerPeer, ping(next));
          toQuiet++;
        }
        const m = process.memoryUsage();
        peakArrayBuffers = Math.max(peakArrayBuffers, m.arrayBuffers - base.arrayBuffers);
        peakHeap = Math.max(peakHeap, m.heapUsed - base.heapUsed);
        await new Promise<void>((resolve) => setTimeout(resolve, 1)); // the slow consumer
      }
      if (next === COUNT) break;
    }
    await sending;
    console.info(
      `1,000,000 messages to a slow consumer: max queued events ${maxQueued}, paused in ` +
        `${pausedSamples}/1000 samples, peak arrayBuffers +${(peakArrayBuffers / MiB).toFixed(1)} MiB, ` +
        `peak heap +${(peakHeap / MiB).toFixed(1)} MiB`,
    );
    expect(next).toBe(COUNT);
    expect(outOfOrder).toBe(0);
    // The queue stayed within its capacity (plus at most one chunk's worth of slack).
    expect(maxQueued).toBeLessThanOrEqual(1024 + (64 * 1024) / 12);
    // The flooding socket was paused while the consumer lagged; the quiet one never was.
    expect(pausedSamples).toBeGreaterThan(0);
    expect(quietPausedSamples).toBe(0);
    await quiet.rec.waitForCount(isType('message', quietPeer), toQuiet);
    expect(toQuiet).toBe(10);
    // Memory stayed bounded: 12 MB went through; far less was ever held.
    expect(peakArrayBuffers).toBeLessThan(32 * MiB);
    expect(peakHeap).toBeLessThan(96 * MiB);
    await server.shutdown({ flushTimeout: 0 });
    for await (const e of server.events()) ledger.observe(e as ReactorEvent<unknown>);
  }, 60_000);
});

describe('receive-side backpressure under a slow consumer (memory network, simulated time)', () => {
  // The consumer exactly: it awaits 1 ms after every one of 1,000,000 events. The 1 ms
  // is simulated (a VirtualScheduler timer), so the 1,000 s of consumer time cost about a second.
  it('awaits 1 ms per event over 1,000,000 messages: only the sender pauses, nothing is lost', async () => {
    const COUNT = 1_000_000;
    const scheduler = new VirtualScheduler();
    const n = memoryNet(h, { scheduler, defaults: { chunking: false } });
    const server = new Reactor<PingPong>({
      codec: pingPongCodec,
      transport: n.transport('server'),
      eventCapacity: 1024,
      name: 'server',
    });
    const ledger = new PeerLedger();
    h.adopt(server, ledger, 'server');
    const [address] = await server.listen('server:1');
    const quiet = h.reactor({ codec: pingPongCodec, transport: n.transport('quiet') });
    const quietPeer = await quiet.r.connect(address!);
    const sender = h.reactor({ codec: pingPongCodec, transport: n.transport('sender') });
    const peer = await sender.r.connect(address!);
    const sending = sendAll(sender.r, peer, COUNT);
    global.gc?.();
    const base = process.memoryUsage().arrayBuffers;
    let peak = 0;
    let next = 0;
    let outOfOrder = 0;
    let maxQueued = 0;
    let senderPaused = 0;
    let quietPaused = 0;
    let quietServerPeer = -1;
    let floodPeer = -1;
    for await (const e of server.events()) {
      ledger.observe(e as ReactorEvent<unknown>);
      if (e.type === 'accepted') {
        if (quietServerPeer < 0) quietServerPeer = e.peer;
        else floodPeer = e.peer;
        continue;
      }
      if (e.type !== 'message') continue;
      if (Number(e.message.n) !== next) outOfOrder++;
      next++;
      await new Promise<void>((resolve) => scheduler.setTimeout(resolve, 1));
      if (next % 1000 === 0) {
        maxQueued = Math.max(maxQueued, server.queuedEvents);
        if (server.peerStats(floodPeer)?.paused) senderPaused++;
        if (server.peerStats(quietServerPeer)?.paused) quietPaused++;
        peak = Math.max(peak, process.memoryUsage().arrayBuffers - base);
      }
      if (next === COUNT) break;
    }
    await sending;
    expect(next).toBe(COUNT);
    expect(outOfOrder).toBe(0);
    expect(scheduler.now()).toBeGreaterThanOrEqual(COUNT); // 1 ms of simulated time per event
    expect(maxQueued).toBeLessThanOrEqual(1024 + (64 * 1024) / 12);
    expect(senderPaused).toBeGreaterThan(0);
    expect(quietPaused).toBe(0);
    expect(peak).toBeLessThan(32 * MiB);
    // The quiet peer is served while the flood is held back.
    server.send(quietServerPeer, ping(1));
    await quiet.rec.waitFor(isType('message', quietPeer));
    await server.shutdown({ flushTimeout: 0 });
    for await (const e of server.events()) ledger.observe(e as ReactorEvent<unknown>);
  }, 60_000);
});

const nets: Array<[string, () => TestNet]> = [
  ['TCP', () => tcpNet(h)],
  ['the memory network', () => memoryNet(h, { seed: 3 })],
];

describe.each(nets)('buffers over %s', (_name, makeNet) => {
  it('return to their floor after a 10 MiB message each way, as `stats()` shows', async () => {
    const n = makeNet();
    const options = { shrinkInterval: 10, housekeepingInterval: 10 };
    let rxAtArrival = 0;
    const server = h.reactor(
      { codec: copyingCodec, transport: n.transport(), name: 'server', ...options },
      (e) => {
        if (e.type === 'message' && e.size > MiB) {
          rxAtArrival = server.r.peerStats(e.peer)?.rxBufferCapacity ?? 0;
          server.r.send(e.peer, e.message); // and 10 MiB back
        }
      },
    );
    const [address] = await server.r.listen(n.listenAddress);
    const client = h.reactor({ codec: copyingCodec, transport: n.transport(), ...options });
    const peer = await client.r.connect(address!);
    const accepted = (await server.rec.waitFor(isType('accepted'))) as { peer: number };
    const big = pattern(10 * MiB, 1);
    expect(client.r.send(peer, big)).toBe('queued');
    const txAtSend = client.r.peerStats(peer)!.txBufferCapacity;
    const back = (await client.rec.waitFor(isType('message', peer))) as { message: Uint8Array };
    expect(Buffer.from(back.message).equals(big)).toBe(true);
    // The buffers did grow to hold the message...
    expect(txAtSend).toBeGreaterThanOrEqual(10 * MiB);
    expect(rxAtArrival).toBeGreaterThanOrEqual(10 * MiB - 64 * 1024);
    // ...and shrink back to their floor (4 KiB; released entirely once there and empty).
    const atFloor = (r: Reactor<Uint8Array>, p: number) => {
      const s = r.peerStats(p);
      return s !== undefined && s.rxBufferCapacity <= 4096 && s.txBufferCapacity <= 4096;
    };
    await until(
      () => atFloor(client.r, peer) && atFloor(server.r, accepted.peer),
      'buffers to shrink to their floor',
    );
    // The peers are fine and can do it again.
    const by = await bystander(h, server, address!, {
      codec: copyingCodec,
      transport: n.transport(),
      sample: Uint8Array.of(1),
    });
    await by.roundTrip();
    expect(client.rec.disconnects(peer)).toEqual([]);
  });

  it('stay at their floor for a 10 MiB raw message each way (by reference out, own buffer in)', async () => {
    const n = makeNet();
    let serverPeer = 0;
    const server = h.reactor(
      { codec: bytesCodec, transport: n.transport(), name: 'server' },
      (e) => {
        if (e.type === 'message' && e.size > MiB) {
          serverPeer = e.peer;
          server.r.send(e.peer, e.message);
        }
      },
    );
    const [address] = await server.r.listen(n.listenAddress);
    const client = h.reactor({ codec: bytesCodec, transport: n.transport() });
    const peer = await client.r.connect(address!);
    const big = pattern(10 * MiB, 1);
    expect(client.r.send(peer, big)).toBe('queued');
    expect(client.r.peerStats(peer)!.txBufferCapacity).toBeLessThanOrEqual(64 * 1024);
    const back = (await client.rec.waitFor(isType('message', peer))) as { message: Uint8Array };
    expect(Buffer.from(back.message).equals(big)).toBe(true);
    // Each message took its reassembly buffer with it.
    expect(server.r.peerStats(serverPeer)!.rxBufferCapacity).toBe(0);
    expect(client.r.peerStats(peer)!.rxBufferCapacity).toBe(0);
  });
});
