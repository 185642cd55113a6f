import { lengthPrefixed } from '@peerlink/codec';
import { type PeerId, Reactor } from '@peerlink/reactor';
import type { Connection } from '@peerlink/stream';
import { MemoryNetwork } from '@peerlink/transport-memory';
import { afterEach, describe, expect, it } from 'vitest';
import { Recorder } from './fixtures.js';

/** Bitcoin's `maxSize`: 32 MiB frames behind a u32 length. */
const codec = lengthPrefixed({ maxSize: 32 * 1024 * 1024 });
const PEERS = 1000;
const RX = 16 * 1024;
const TX = 8 * 1024;

/** Runs the event loop until `done()` holds (each step lets the memory network deliver). */
async function until(done: () => boolean): Promise<void> {
  for (let i = 0; !done(); i++) {
    if (i > 100_000) throw new Error('condition never held');
    await new Promise((resolve) => setImmediate(resolve));
  }
}

let server: Reactor<Uint8Array> | undefined;
afterEach(async () => {
  await server?.shutdown({ flushTimeout: 0 });
  server = undefined;
});

describe('byte limits with a 32 MiB `maxSize`', () => {
  it(`keep ${PEERS} peers within the configured byte budget, both ways`, async () => {
    // Links hold 4 KiB in flight: a client that does not read soon blocks our writes.
    const network = new MemoryNetwork({ seed: 11, defaults: { capacity: 4096 } });
    server = new Reactor({
      codec,
      transport: network.transport('server'),
      // The clients never read: keep them from being dropped as write-stale however slow the run.
      config: { rxBufMaxBytes: RX, txBufMaxBytes: TX, txTimeout: 600_000 },
      maxInbound: PEERS + 1,
    });
    // The defaults would give every peer 32 MiB to receive into and 64 MiB of send buffer.
    expect(server.config).toMatchObject({ rxLimit: RX, txLimit: TX, maxSize: 32 * 1024 * 1024 });
    const events = new Recorder(server);
    const [address] = await server.listen('server:0');

    // Each client declares a message as large as the allowance, sends 12 KiB of it, and never
    // reads.
    const transport = network.transport('clients');
    const partial = new Uint8Array(4 + 12 * 1024);
    new DataView(partial.buffer).setUint32(0, RX - 4);
    const clients: Connection[] = [];
    for (let i = 0; i < PEERS; i++) {
      const conn = await transport.connect(address!);
      conn.pause();
      conn.start({ onData() {}, onDrain() {}, onEnd() {}, onClose() {} });
      conn.write(partial);
      clients.push(conn);
    }
    await until(() => server!.stats({ peers: false }).totals.bytesIn === PEERS * partial.length);
    expect(server.peerCount).toBe(PEERS);

    // Send to every peer until its buffer says 'full'.
    const peers: PeerId[] = server.peerIds;
    const full = new Set<PeerId>();
    const block = new Uint8Array(1020); // 1 KiB frames
    await until(() => {
      for (const peer of peers) {
        while (!full.has(peer) && server!.send(peer, block) === 'queued') {}
        if (server!.canSend(peer, 1024) === false) full.add(peer);
      }
      return full.size === PEERS;
    });

    const stats = server.stats();
    let rx = 0;
    let tx = 0;
    for (const p of stats.peerStats) {
      // Each peer within its own limits...
      expect(p.rxBufferCapacity).toBeLessThanOrEqual(RX);
      expect(p.bytesQueued).toBeLessThanOrEqual(TX);
      expect(p.txBufferCapacity).toBeLessThanOrEqual(2 * TX);
      rx += p.rxBufferCapacity;
      tx += p.txBufferCapacity;
    }
    // ... and so the whole node within PEERS × (RX + 2 × TX): 32 MiB here, where the multiples
    // of `maxSize` would allow 1,000 × 96 MiB.
    expect(rx).toBeGreaterThan(PEERS * 12 * 1024); // the partial messages are held
    expect(rx + tx).toBeLessThanOrEqual(PEERS * (RX + 2 * TX));

    // A peer that declares more than the receive allowance is disconnected, though `maxSize`
    // allows it (a 32 MiB message).
    const big = new Uint8Array(4 + 1024);
    new DataView(big.buffer).setUint32(0, 32 * 1024 * 1024 - 4);
    const greedy = await transport.connect(address!);
    greedy.start({ onData() {}, onDrain() {}, onEnd() {}, onClose() {} });
    greedy.write(big);
    const accepted = await events.waitFor((e) => e.type === 'accepted' && !peers.includes(e.peer));
    const gone = await events.waitFor(
      (e) => e.type === 'disconnected' && 'peer' in accepted && e.peer === accepted.peer,
    );
    expect(gone).toMatchObject({
      reason: { kind: 'codec-violation', error: { code: 'ERR_RX_LIMIT' } },
    });
    greedy.close();
    for (const conn of clients) conn.close();
  }, 60_000);
});
