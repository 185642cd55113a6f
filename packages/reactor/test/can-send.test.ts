import { Reactor } from '@peerlink/reactor';
import { MemoryNetwork } from '@peerlink/transport-memory';
import { afterEach, describe, expect, it } from 'vitest';
import { framesCodec, isType, Recorder } from './fixtures.js';

const reactors: Reactor<Uint8Array>[] = [];
afterEach(async () => {
  await Promise.all(reactors.splice(0).map((r) => r.shutdown({ flushTimeout: 0 })));
});

function reactor(
  network: MemoryNetwork,
  host: string,
  eventCapacity?: number,
): Reactor<Uint8Array> {
  const r = new Reactor({
    codec: framesCodec,
    transport: network.transport(host),
    ...(eventCapacity === undefined ? {} : { eventCapacity }),
  });
  reactors.push(r);
  return r;
}

describe('canSend and queuedBytes', () => {
  it('tell, without a snapshot, when a peer behind a blocked transport takes no more', async () => {
    // Every byte the sender writes stalls: the link fills, the transport blocks for good.
    const network = new MemoryNetwork({
      seed: 1,
      defaults: { capacity: 4096, faults: [{ kind: 'stall', afterBytes: 0 }] },
    });
    const server = reactor(network, 'server');
    new Recorder(server);
    const [address] = await server.listen('server:0');
    const client = reactor(network, 'client');
    const events = new Recorder(client);
    const peer = await client.connect(address!);
    expect(client.canSend(peer)).toBe(true);
    expect(client.queuedBytes(peer)).toBe(0);
    const block = new Uint8Array(1000);
    let sent = 0;
    while (client.canSend(peer, 1004)) {
      expect(client.send(peer, block)).toBe('queued');
      sent++;
      // Let the writes happen, as a producer over time would.
      if (sent % 8 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    // It said no exactly when a send is refused.
    expect(client.send(peer, block)).toBe('full');
    const limit = client.config.txLimit;
    const queued = client.queuedBytes(peer)!;
    expect(queued + 1004).toBeGreaterThan(limit);
    expect(queued).toBeLessThanOrEqual(limit);
    expect(client.peerStats(peer)?.bytesQueued).toBe(queued);
    expect(events.events.filter(isType('send-buffer-full'))).toHaveLength(1);
    // Unknown and disconnected peers.
    client.disconnect(peer);
    expect(client.canSend(peer)).toBe(false);
    expect(client.queuedBytes(peer)).toBeUndefined();
    expect(client.canSend(99_999)).toBe(false);
  });

  it('after a `false`, announces `drained` once the peer takes more', async () => {
    const network = new MemoryNetwork({ seed: 2, defaults: { capacity: 4096 } });
    // A receiver that does not read its events: it stops reading its socket.
    const server = reactor(network, 'server', 4);
    const [address] = await server.listen('server:0');
    const client = reactor(network, 'client');
    const events = new Recorder(client);
    const peer = await client.connect(address!);
    const block = new Uint8Array(1000);
    while (client.canSend(peer, 1004)) {
      client.send(peer, block);
      await new Promise((resolve) => setImmediate(resolve));
    }
    // No send was refused: the `false` alone arms the drain signal.
    expect(events.events.filter(isType('send-buffer-full'))).toHaveLength(0);
    const drained = events.waitFor(isType('drained', peer));
    let received = 0;
    for await (const event of server.events()) {
      if (event.type === 'message' && ++received === 20) break;
    }
    // The reader consumes the rest in the background until the sender drains.
    void (async () => {
      for await (const _ of server.events());
    })();
    await drained;
    expect(client.canSend(peer, 1004)).toBe(true);
  });
});
