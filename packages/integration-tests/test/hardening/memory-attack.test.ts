import { once } from 'node:events';
import type net from 'node:net';
import { lengthPrefixed } from '@peerlink/codec';
import { tcpTransport } from '@peerlink/transport-tcp';
import { describe, expect, it } from 'vitest';
import { bytesCodec, isType, pattern } from '../../../reactor/test/fixtures.js';
import { bystander, portOf, useHardening } from './guard.js';
import { memoryNet, type RawPeer } from './nets.js';

const h = useHardening();

const MiB = 1024 * 1024;

/** One complete 1-byte frame, then a header declaring a `maxSize` frame and one byte of it. */
function attack(): Uint8Array {
  const maxBody = bytesCodec.maxSize - 4;
  const out = new Uint8Array(5 + 5);
  out.set([0, 0, 0, 1, 0x2a], 0);
  new DataView(out.buffer).setUint32(5, maxBody);
  out[9] = 0x55;
  return out;
}

describe('memory under attack', () => {
  const CONNECTIONS = 1000;

  it('keeps 1,000 connections that each declare a `maxSize` message far below 1,000 × `maxSize` (TCP)', async () => {
    const server = h.reactor({ codec: bytesCodec, transport: tcpTransport(), name: 'server' });
    const [address] = await server.r.listen('127.0.0.1:0');
    const by = await bystander(h, server, address!, {
      codec: bytesCodec,
      transport: tcpTransport(),
      sample: Uint8Array.of(1),
    });
    global.gc?.();
    const before = process.memoryUsage().arrayBuffers;
    const sockets: net.Socket[] = [];
    for (let batch = 0; batch < CONNECTIONS / 100; batch++) {
      sockets.push(
        ...(await Promise.all(Array.from({ length: 100 }, () => h.socket(portOf(address!))))),
      );
    }
    const payload = attack();
    for (const s of sockets) s.write(payload);
    // Each connection's complete frame arrives with its partial tail in the same chunk; once all
    // 1,000 are delivered, and one more round trip has gone through, every tail is buffered.
    await server.rec.waitForCount(isType('message'), CONNECTIONS);
    await by.roundTrip();
    const grown = process.memoryUsage().arrayBuffers - before;
    const declared = CONNECTIONS * bytesCodec.maxSize; // ~16 GiB
    console.info(
      `1,000 declared 16 MiB partials over TCP: arrayBuffers grew ${(grown / MiB).toFixed(1)} MiB`,
    );
    expect(grown).toBeLessThan(64 * MiB);
    expect(grown).toBeLessThan(declared / 200);
    // Per peer: each reassembly buffer holds the one byte in its 4 KiB floor, not 16 MiB.
    const stats = server.r.stats();
    const attackers = stats.peerStats.filter((p) => p.peer !== by.serverPeer);
    expect(attackers).toHaveLength(CONNECTIONS);
    for (const p of attackers) expect(p.rxBufferCapacity).toBeLessThanOrEqual(4096);
    await by.roundTrip();
  }, 60_000);

  it('keeps 1,000 such connections bounded on the memory network too', async () => {
    const n = memoryNet(h, { defaults: { chunking: false } });
    const server = h.reactor({ codec: bytesCodec, transport: n.transport(), name: 'server' });
    const [address] = await server.r.listen(n.listenAddress);
    global.gc?.();
    const before = process.memoryUsage().arrayBuffers;
    const raws: RawPeer[] = [];
    for (let i = 0; i < CONNECTIONS; i++) raws.push(await n.raw(address!));
    for (const raw of raws) raw.write(attack());
    await server.rec.waitForCount(isType('message'), CONNECTIONS);
    const grown = process.memoryUsage().arrayBuffers - before;
    expect(grown).toBeLessThan(64 * MiB);
    for (const p of server.r.stats().peerStats)
      expect(p.rxBufferCapacity).toBeLessThanOrEqual(4096);
  }, 60_000);

  it('keeps round trips of a ping-pong peer bounded while another floods maximum-size junk', async () => {
    // 1 MiB frames of junk (valid frames of random bytes), sent as fast as TCP takes them.
    const codec = lengthPrefixed({ maxSize: MiB + 4 });
    const server = h.reactor({ codec, transport: tcpTransport(), name: 'server' }, (e) => {
      // Echo everything small (the pings); drop the junk.
      if (e.type === 'message' && e.size < 64) server.r.send(e.peer, e.message);
    });
    const [address] = await server.r.listen('127.0.0.1:0');
    const flooder = await h.socket(portOf(address!));
    const junk = new Uint8Array(4 + MiB);
    new DataView(junk.buffer).setUint32(0, MiB);
    junk.set(pattern(MiB, 9), 4);
    let flooding = true;
    const pump = () => {
      while (flooding && flooder.write(junk)) {}
      if (flooding) flooder.once('drain', pump);
    };
    pump();
    h.defer(() => {
      flooding = false;
    });
    // Wait until the flood is being delivered.
    await server.rec.waitForCount(isType('message'), 3);
    const pinger = h.reactor({ codec, transport: tcpTransport(), name: 'pinger' });
    const peer = await pinger.r.connect(address!);
    const rtts: number[] = [];
    const floodAt: number[] = [];
    for (let i = 0; i < 200; i++) {
      const t0 = performance.now();
      const reply = pinger.rec.waitForCount(isType('message', peer), i + 1);
      pinger.r.send(peer, Uint8Array.of(i & 0xff, 1, 2, 3));
      await reply;
      rtts.push(performance.now() - t0);
      floodAt.push(server.rec.events.filter((e) => e.type === 'message' && e.size > 64).length);
    }
    flooding = false;
    rtts.sort((a, b) => a - b);
    const p99 = rtts[Math.floor(rtts.length * 0.99)]!;
    console.info(
      `ping-pong under a 1 MiB junk flood: p50 ${rtts[100]!.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms, ` +
        `${floodAt[floodAt.length - 1]! - floodAt[0]!} flood messages between the first and last ping`,
    );
    // Bounded: a round trip waits for at most a few 64 KiB slices of the flood, not for it.
    expect(p99).toBeLessThan(500);
    // Interleaved: flood messages kept arriving between the pings.
    expect(floodAt[floodAt.length - 1]! - floodAt[0]!).toBeGreaterThan(5);
    await once(flooder, 'drain').catch(() => {});
  }, 60_000);
});
