import { Reactor, type ReactorEvent } from '@peerlink/reactor';
import { tcpTransport } from '@peerlink/transport-tcp';
import { afterEach, describe, expect, it } from 'vitest';
import { type PingPong, ping, pingPongCodec } from '../../reactor/test/fixtures.js';

const reactors: Reactor<PingPong>[] = [];
afterEach(async () => {
  await Promise.all(reactors.splice(0).map((r) => r.shutdown({ flushTimeout: 0 })));
});

function tag(e: ReactorEvent<PingPong>): string {
  return e.type === 'message' ? `message ${e.message.n}` : e.type;
}

describe('several listeners over TCP', () => {
  it('hands two listeners and a bounded iterator every event in one order; a throwing listener stops none', async () => {
    const server = new Reactor({
      codec: pingPongCodec,
      transport: tcpTransport(),
      eventCapacity: 4,
    });
    const client = new Reactor({ codec: pingPongCodec, transport: tcpTransport() });
    reactors.push(server, client);
    const a: string[] = [];
    const b: string[] = [];
    const original = globalThis.queueMicrotask;
    const caught: unknown[] = [];
    globalThis.queueMicrotask = (callback) =>
      original(() => {
        try {
          callback();
        } catch (error) {
          caught.push(error);
        }
      });
    try {
      server.onEvent((e) => {
        a.push(tag(e));
        if (e.type === 'message' && e.message.n === 5n) throw new Error('listener bug');
      });
      server.onEvent((e) => b.push(tag(e)));
      const iterator = server.events();
      const [address] = await server.listen('127.0.0.1:0');
      const peer = await client.connect(address!);
      const total = 50;
      for (let i = 0; i < total; i++) client.send(peer, ping(i));
      const fromIterator: string[] = [];
      for await (const e of iterator) {
        fromIterator.push(tag(e));
        if (fromIterator.length === total + 1) break;
      }
      const expected = ['accepted', ...Array.from({ length: total }, (_, i) => `message ${i}`)];
      expect(fromIterator).toEqual(expected);
      expect(a).toEqual(expected);
      expect(b).toEqual(expected);
      await new Promise<void>((resolve) => original(resolve));
      expect(caught).toMatchObject([{ message: 'listener bug' }]);
    } finally {
      globalThis.queueMicrotask = original;
    }
  });
});
