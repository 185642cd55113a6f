/**
 * The `events()` iterator under consumers that give up or overlap: a `next()` pending when the
 * iterator is ended settles `done`, nothing is ever handed to an abandoned iterator (the next
 * event goes to whoever consumes now), and two iterators at once each see every event.
 */
import { Reactor, type ReactorEvent } from '@peerlink/reactor';
import { describe, expect, it } from 'vitest';
import { bytesCodec, isType, pattern } from '../../../reactor/test/fixtures.js';
import { PeerLedger, useHardening } from './guard.js';
import { memoryNet, type TestNet, tcpNet } from './nets.js';

const h = useHardening();

const nets: Array<[string, () => TestNet]> = [
  ['TCP', () => tcpNet(h)],
  ['the memory network', () => memoryNet(h, { seed: 4 })],
];

type Event = ReactorEvent<Uint8Array>;

describe.each(nets)('the events() iterator over %s', (_name, makeNet) => {
  /** A server consumed only through `events()`, and a client (with a recorder) connected to it. */
  async function setup() {
    const n = makeNet();
    const server = new Reactor({ codec: bytesCodec, transport: n.transport('server') });
    const ledger = new PeerLedger();
    h.adopt(server, ledger, 'server');
    const [address] = await server.listen(n.listenAddress);
    const client = h.reactor({
      codec: bytesCodec,
      transport: n.transport('client'),
      name: 'client',
    });
    return { server, ledger, client, address: address! };
  }

  for (const end of ['return', 'throw'] as const) {
    it(`settles a pending next() with done on ${end}(), and hands the next event to the new consumer`, async () => {
      const { server, ledger, client, address } = await setup();
      const first = server.events();
      const pending = first.next(); // nothing queued yet: it waits
      if (end === 'return') {
        await expect(first.return!()).resolves.toEqual({ done: true, value: undefined });
      } else {
        const reason = new Error('consumer gave up');
        await expect(first.throw!(reason)).rejects.toBe(reason);
      }
      expect(await pending).toEqual({ done: true, value: undefined });
      expect(await first.next()).toEqual({ done: true, value: undefined });
      // The next event is not lost to the abandoned iterator: a new consumer gets it.
      const second = server.events();
      const peer = await client.r.connect(address);
      const accepted = (await second.next()).value as Event;
      ledger.observe(accepted as ReactorEvent<unknown>);
      expect(accepted.type).toBe('accepted');
      client.r.send(peer, pattern(100, 1));
      const message = (await second.next()).value as Event;
      ledger.observe(message as ReactorEvent<unknown>);
      expect(message).toMatchObject({ type: 'message', peer: (accepted as { peer: number }).peer });
      await second.return!();
      // Nothing after its end reached the first iterator either.
      expect(await first.next()).toEqual({ done: true, value: undefined });
      await server.shutdown({ flushTimeout: 0 });
      for await (const e of server.events()) ledger.observe(e as ReactorEvent<unknown>);
    });
  }

  it('hands every event, in one order, to two iterators consuming at once', async () => {
    const { server, ledger, client, address } = await setup();
    const a = server.events();
    const b = server.events();
    const peer = await client.r.connect(address);
    const count = 200;
    for (let i = 0; i < count; i++) client.r.send(peer, pattern(1 + (i % 50), i));
    client.r.disconnect(peer);
    const read = async (it: AsyncIterableIterator<Event>, observe: boolean) => {
      const seen: Event[] = [];
      for (;;) {
        const { value, done } = await it.next();
        if (done) break;
        if (observe) ledger.observe(value as ReactorEvent<unknown>);
        seen.push(value);
        if (value.type === 'disconnected') break;
      }
      return seen;
    };
    const [seenA, seenB] = await Promise.all([read(a, true), read(b, false)]);
    expect(seenA.filter(isType('message'))).toHaveLength(count);
    expect(seenB).toEqual(seenA);
    await a.return!();
    await b.return!();
  });
});
