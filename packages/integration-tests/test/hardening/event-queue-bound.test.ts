/**
 * The bound of the `events()` queue with many peers flooding a slow consumer. While a queue is
 * full, a peer whose data arrives delivers the one message it is decoding (the stream cannot
 * take it back) and then pauses; so the queue holds at most `eventCapacity` plus one message per
 * peer, plus the events that are never held back (`accepted`, `disconnected`, …).
 */
import { Reactor } from '@peerlink/reactor';
import { describe, expect, it } from 'vitest';
import { pattern, smallCodec } from '../../../reactor/test/fixtures.js';
import { PeerLedger, useHardening } from './guard.js';
import { memoryNet, type TestNet, tcpNet } from './nets.js';

const h = useHardening();

const nets: Array<[string, () => TestNet]> = [
  ['TCP', () => tcpNet(h)],
  [
    'the memory network',
    () => memoryNet(h, { seed: 8, defaults: { chunking: { min: 1, max: 300 } } }),
  ],
];

describe.each(nets)('the event queue bound over %s', (_name, makeNet) => {
  it('holds at most eventCapacity + one message per peer while 50 peers flood a slow consumer', async () => {
    const n = makeNet();
    const capacity = 64;
    const peers = 50;
    const server = new Reactor({
      codec: smallCodec,
      transport: n.transport('server'),
      eventCapacity: capacity,
    });
    const ledger = new PeerLedger();
    h.adopt(server, ledger, 'server');
    const [address] = await server.listen(n.listenAddress);
    const events = server.events();
    // Connect every peer and consume the `accepted` events first: only messages are queued then.
    const senders = [];
    for (let i = 0; i < peers; i++) {
      const s = h.reactor({
        codec: smallCodec,
        transport: n.transport(`client${i}`),
        name: `client ${i}`,
      });
      senders.push({ s, peer: await s.r.connect(address!) });
    }
    for (let i = 0; i < peers; i++) {
      const e = (await events.next()).value;
      ledger.observe(e);
      expect(e.type).toBe('accepted');
    }
    const perPeer = 200;
    for (const { s, peer } of senders) {
      for (let i = 0; i < perPeer; i++) expect(s.r.send(peer, pattern(4, i))).toBe('queued');
    }
    let max = 0;
    let messages = 0;
    while (messages < peers * perPeer) {
      max = Math.max(max, server.queuedEvents);
      const e = (await events.next()).value;
      ledger.observe(e);
      if (e.type === 'message') messages++;
      else expect.fail(`unexpected ${e.type} event`);
      // A slow consumer: one macrotask per event, so the senders' data keeps arriving.
      if (messages % 4 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    console.log(`${n.name}: max queued ${max} for eventCapacity ${capacity} and ${peers} peers`);
    expect(max).toBeGreaterThanOrEqual(capacity); // the queue did fill
    expect(max).toBeLessThanOrEqual(capacity + peers);
    await events.return?.();
    await server.shutdown({ flushTimeout: 0 });
    for await (const e of server.events()) ledger.observe(e);
  });
});
