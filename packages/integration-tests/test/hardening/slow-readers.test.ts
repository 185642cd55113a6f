/**
 * A slow but steady reader of large messages is not write-stale; one that stops reading is, within
 * `txTimeout` plus one housekeeping interval. Progress is "the transport passed bytes on": the TCP
 * adapter writes large messages in slices and reports each one the kernel takes (`onProgress`),
 * the memory network reports each piece its link carries.
 */
import type net from 'node:net';
import { lengthPrefixed } from '@peerlink/codec';
import type { ReactorEvent } from '@peerlink/reactor';
import type { Connection } from '@peerlink/stream';
import { type MemoryNetwork, VirtualScheduler } from '@peerlink/transport-memory';
import { tcpTransport } from '@peerlink/transport-tcp';
import { describe, expect, it } from 'vitest';
import { isType, pattern } from '../../../reactor/test/fixtures.js';
import { bystander, useHardening, type Watched } from './guard.js';
import { memoryNet } from './nets.js';

const h = useHardening();
const KiB = 1024;
const MiB = 1024 * KiB;

/** Messages up to 64 MiB (and a few bytes of prefix). */
const bigCodec = lengthPrefixed({ maxSize: 64 * MiB + 8 });

type Disconnected = Extract<ReactorEvent<unknown>, { type: 'disconnected' }>;

function nextAccepted<M>(w: Watched<M>): Promise<number> {
  const n = w.rec.events.filter(isType('accepted')).length;
  return w.rec
    .waitForCount(isType('accepted'), n + 1)
    .then((all) => (all[all.length - 1] as { peer: number }).peer);
}

/** Resolves after `ms` of real time; used only where the behaviour under test is time itself. */
function elapse(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    h.defer(() => clearTimeout(t));
  });
}

/** Reads `socket` at a steady `rate` (bytes/s): pauses whenever it is ahead of that pace. */
function steadyReader(socket: net.Socket, rate: number) {
  const started = performance.now();
  let received = 0;
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  socket.on('data', (chunk: Buffer) => {
    received += chunk.length;
    const wait = started + (received / rate) * 1000 - performance.now();
    if (wait > 1) {
      socket.pause();
      timer = setTimeout(() => {
        if (!stopped) socket.resume();
      }, wait);
    }
  });
  h.defer(() => clearTimeout(timer));
  return {
    get received() {
      return received;
    },
    /** Stops reading for good; returns when. */
    stop(): number {
      stopped = true;
      clearTimeout(timer);
      socket.pause();
      return performance.now();
    },
  };
}

/** Keeps `peer`'s send buffer full of `message` until `deadline` (real ms) or the peer is gone. */
async function keepSending(
  w: Watched<Uint8Array>,
  peer: number,
  message: Uint8Array,
  deadline: number,
): Promise<void> {
  for (;;) {
    const left = deadline - performance.now();
    if (left <= 0) return;
    const res = w.r.send(peer, message);
    if (res === 'no-such-peer') return;
    if (res !== 'queued') {
      await Promise.race([w.r.drained(peer).catch(() => {}), elapse(left)]);
    }
  }
}

async function tcpServer(txTimeout: number) {
  const server = h.reactor({
    codec: bigCodec,
    transport: tcpTransport(),
    name: 'server',
    config: { txTimeout },
  });
  const [address] = await server.r.listen('127.0.0.1:0');
  const port = Number(address!.slice(address!.lastIndexOf(':') + 1));
  const by = await bystander(h, server, address!, {
    codec: bigCodec,
    transport: tcpTransport(),
    sample: Uint8Array.of(1, 2),
  });
  await by.roundTrip();
  return { server, port, by };
}

describe('slow readers of large messages over TCP', () => {
  // Scale note: Linux wakes a blocked writer when about a third of its send buffer is free, and
  // on loopback that buffer grows to 4 MiB: progress comes in steps of about 1.3 MiB, whatever
  // the adapter does. A 2 MiB/s reader makes a step every ~0.7 s, well inside a 2 s `txTimeout`;
  // an 8 MiB message takes it 4 s, which before slicing looked like 4 s without progress.
  it('keeps a steady 2 MiB/s reader of 8 MiB messages with `txTimeout` 2 s', async () => {
    const { server, port, by } = await tcpServer(2000);
    const accepted = nextAccepted(server);
    const socket = await h.socket(port);
    const peer = await accepted;
    const reader = steadyReader(socket, 2 * MiB);
    await keepSending(server, peer, pattern(8 * MiB, 1), performance.now() + 6000);
    expect(server.rec.disconnects(peer)).toEqual([]);
    expect(reader.received).toBeGreaterThan(6 * MiB);
    await by.roundTrip();
  });

  it('drops a reader of 8 MiB messages that stops reading, within `txTimeout` and one housekeeping interval', async () => {
    // `txTimeout` 1 s: housekeeping every 250 ms.
    const { server, port, by } = await tcpServer(1000);
    const accepted = nextAccepted(server);
    const socket = await h.socket(port);
    const peer = await accepted;
    const reader = steadyReader(socket, 2 * MiB);
    const disconnected = server.rec.waitFor(isType('disconnected', peer));
    const sending = keepSending(server, peer, pattern(8 * MiB, 2), performance.now() + 10_000);
    await elapse(1500);
    expect(server.rec.disconnects(peer)).toEqual([]); // steady so far
    const stoppedAt = reader.stop();
    const d = (await disconnected) as Disconnected;
    const after = performance.now() - stoppedAt;
    await sending;
    expect(d.reason.kind).toBe('write-stale');
    // Staleness counts from the last progress, which may precede the stop; the bound is loose
    // for a loaded machine (the memory network checks it exactly, on simulated time).
    expect(after).toBeLessThan(1000 + 250 + 1000);
    await by.roundTrip();
  });
});

/**
 * Freezes the simulated clock every `every` ms of it for `real` ms of real time, so that the
 * reactor's housekeeping (real timers) runs at least once at each of those simulated instants:
 * deferred tasks run before simulated time may move on.
 */
function housekeepingStops(scheduler: VirtualScheduler, every: number, real: number): () => void {
  let stopped = false;
  const stop = (): void => {
    if (stopped) return;
    const until = performance.now() + real;
    const spin = (): void => {
      if (stopped) return;
      if (performance.now() < until) scheduler.defer(spin);
      else scheduler.setTimeout(stop, every);
    };
    spin();
  };
  scheduler.setTimeout(stop, every);
  const end = () => {
    stopped = true;
  };
  h.defer(end);
  return end;
}

/** A reader on the memory network that only counts what it receives. */
async function countingReader(network: MemoryNetwork, address: string) {
  const conn: Connection = await network.transport('reader').connect(address);
  let received = 0;
  const waiters: { n: number; resolve: () => void }[] = [];
  let closed = false;
  conn.start({
    onData(chunk) {
      received += chunk.length;
      for (const w of waiters.splice(0)) {
        if (received >= w.n) w.resolve();
        else waiters.push(w);
      }
    },
    onDrain() {},
    onEnd() {},
    onClose() {
      closed = true;
    },
  });
  h.defer(() => {
    if (!closed) conn.close();
  });
  return {
    get received() {
      return received;
    },
    /** Stops reading for good. */
    pause(): void {
      conn.pause();
    },
    until(n: number): Promise<void> {
      if (received >= n) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ n, resolve }));
    },
  };
}

/** A server reactor on a simulated 1 MiB/s network, on the scheduler's clock. */
async function simulated(txTimeout: number | undefined) {
  const scheduler = new VirtualScheduler();
  const n = memoryNet(h, {
    scheduler,
    defaults: { bandwidth: MiB, chunking: { min: 16 * KiB, max: 16 * KiB } },
  });
  const server = h.reactor({
    codec: bigCodec,
    transport: n.transport('server'),
    name: 'server',
    clock: () => scheduler.now(),
    housekeepingInterval: 2,
    ...(txTimeout === undefined ? {} : { config: { txTimeout } }),
  });
  const [address] = await server.r.listen('server:1');
  const accepted = nextAccepted(server);
  const reader = await countingReader(n.network, address!);
  const peer = await accepted;
  return { scheduler, server, reader, peer };
}

describe('slow readers of large messages on the memory network (simulated time)', () => {
  it('keeps a 1 MiB/s reader of 4 MiB and 10 MiB messages with `txTimeout` 1 s', async () => {
    const { scheduler, server, reader, peer } = await simulated(1000);
    const stops = housekeepingStops(scheduler, 250, 5);
    let wire = 0;
    for (const size of [4 * MiB, 4 * MiB, 10 * MiB, 10 * MiB]) {
      const message = pattern(size, size & 255);
      while (server.r.send(peer, message) === 'full') await server.r.drained(peer).catch(() => {});
      wire += size + 4;
    }
    await Promise.race([reader.until(wire), server.rec.waitFor(isType('disconnected', peer))]);
    stops();
    expect(server.rec.disconnects(peer)).toEqual([]);
    expect(scheduler.now()).toBeGreaterThan(27_000); // 28 MiB at 1 MiB/s
  });

  it('keeps a 1 MiB/s reader of a 64 MiB message at the default `txTimeout` (30 s)', async () => {
    const { scheduler, server, reader, peer } = await simulated(undefined);
    const stops = housekeepingStops(scheduler, 1000, 3);
    expect(server.r.send(peer, pattern(64 * MiB, 9))).toBe('queued');
    await Promise.race([
      reader.until(64 * MiB + 4),
      server.rec.waitFor(isType('disconnected', peer)),
    ]);
    stops();
    expect(server.rec.disconnects(peer)).toEqual([]);
    expect(scheduler.now()).toBeGreaterThan(63_000);
  });

  it('drops a reader that stops, within `txTimeout` and one housekeeping interval', async () => {
    const { scheduler, server, reader, peer } = await simulated(1000);
    housekeepingStops(scheduler, 50, 3);
    const disconnected = server.rec.waitFor(isType('disconnected', peer));
    expect(server.r.send(peer, pattern(8 * MiB, 3))).toBe('queued');
    await Promise.race([reader.until(2 * MiB), disconnected]);
    expect(server.rec.disconnects(peer)).toEqual([]); // steady so far
    // The reader stops: nothing more leaves the writer.
    const stoppedAt = scheduler.now();
    reader.pause();
    const d = (await disconnected) as Disconnected;
    expect(d.reason.kind).toBe('write-stale');
    const after = scheduler.now() - stoppedAt;
    expect(after).toBeGreaterThan(1000);
    // Housekeeping runs at least once per clock stop (every 50 ms of simulated time).
    expect(after).toBeLessThanOrEqual(1000 + 50 + 50);
  });
});
