import { type PeerId, Reactor, type ReactorEvent } from '@peerlink/reactor';
import { MemoryNetwork } from '@peerlink/transport-memory';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type PingPong, ping, pingPongCodec } from './fixtures.js';

const reactors: Reactor<PingPong>[] = [];
afterEach(async () => {
  vi.unstubAllGlobals();
  await Promise.all(reactors.splice(0).map((r) => r.shutdown({ flushTimeout: 0 })));
});

/** A server and a client on a memory network; the server listens, nothing connects yet. */
async function nodes(eventCapacity?: number) {
  const network = new MemoryNetwork({ seed: 11 });
  const server = new Reactor({
    codec: pingPongCodec,
    transport: network.transport('server'),
    ...(eventCapacity === undefined ? {} : { eventCapacity }),
  });
  const client = new Reactor({ codec: pingPongCodec, transport: network.transport('client') });
  reactors.push(server, client);
  const [address] = await server.listen('server:1');
  return { server, client, address: address! };
}

/** A short description of an event, for comparing sequences. */
function tag(e: ReactorEvent<PingPong>): string {
  return e.type === 'message' ? `message ${e.message.n}` : e.type;
}

/** Resolves once `test` holds, checked after every event of `reactor`. */
function until(reactor: Reactor<PingPong>, test: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    if (test()) return resolve();
    const stop = reactor.onEvent(() => {
      if (test()) {
        stop();
        resolve();
      }
    });
  });
}

describe('several listeners', () => {
  it('hands every event to every listener, in the same order, and `onEvent` returns an unsubscribe', async () => {
    const { server, client, address } = await nodes();
    const first: string[] = [];
    const second: string[] = [];
    server.onEvent((e) => first.push(tag(e)));
    const stopSecond = server.onEvent((e) => second.push(tag(e)));
    const peer = await client.connect(address);
    for (let i = 0; i < 3; i++) client.send(peer, ping(i));
    await until(server, () => first.length === 4);
    expect(first).toEqual(['accepted', 'message 0', 'message 1', 'message 2']);
    expect(second).toEqual(first);

    stopSecond();
    stopSecond(); // idempotent
    client.send(peer, ping(3));
    await until(server, () => first.length === 5);
    expect(first.at(-1)).toBe('message 3');
    expect(second).toHaveLength(4);
  });

  it('goes on delivering to the others when one listener throws, and rethrows in a microtask', async () => {
    const caught: unknown[] = [];
    const original = globalThis.queueMicrotask;
    vi.stubGlobal('queueMicrotask', (callback: () => void) =>
      original(() => {
        try {
          callback();
        } catch (error) {
          caught.push(error);
        }
      }),
    );
    const { server, client, address } = await nodes();
    const thrower: string[] = [];
    const other: string[] = [];
    server.onEvent((e) => {
      thrower.push(tag(e));
      if (e.type === 'message') throw new Error(`listener bug ${e.message.n}`);
    });
    server.onEvent((e) => other.push(tag(e)));
    const peer = await client.connect(address);
    client.send(peer, ping(0));
    client.send(peer, ping(1));
    await until(server, () => other.length === 3);
    await new Promise<void>((resolve) => original(resolve));
    expect(other).toEqual(['accepted', 'message 0', 'message 1']);
    expect(thrower).toEqual(other); // still subscribed after throwing
    expect(caught).toMatchObject([{ message: 'listener bug 0' }, { message: 'listener bug 1' }]);
  });

  it('keeps one order for every listener when a listener causes an event', async () => {
    const { server, client, address } = await nodes();
    const first: string[] = [];
    const second: string[] = [];
    server.onEvent((e) => {
      first.push(tag(e));
      if (e.type === 'accepted') server.disconnect(e.peer); // emits `disconnected` inside
    });
    server.onEvent((e) => second.push(tag(e)));
    await client.connect(address);
    await until(server, () => second.length === 2);
    expect(first).toEqual(['accepted', 'disconnected']);
    expect(second).toEqual(['accepted', 'disconnected']);
  });

  it('gives a listener removed during a dispatch nothing more, not even the current event', async () => {
    const { server, client, address } = await nodes();
    const seen: string[] = [];
    let stopSecond: () => void = () => {};
    server.onEvent((e) => {
      if (e.type === 'accepted') stopSecond();
    });
    stopSecond = server.onEvent((e) => seen.push(tag(e)));
    await client.connect(address);
    await until(server, () => server.peerCount === 1);
    expect(seen).toEqual([]);
  });

  it('starts a listener added during a dispatch with the next event', async () => {
    const { server, client, address } = await nodes();
    const late: string[] = [];
    let added = false;
    server.onEvent(() => {
      if (added) return;
      added = true;
      server.onEvent((e) => late.push(tag(e)));
    });
    server.onEvent(() => {}); // a second listener: the dispatch walks a list
    const peer = await client.connect(address);
    client.send(peer, ping(4));
    await until(server, () => late.length === 1);
    expect(late).toEqual(['message 4']); // not the `accepted` it was added during
  });

  it('hands the message fast path of each listener every message, beside `message` events for others', async () => {
    const { server, client, address } = await nodes();
    const fast: bigint[] = [];
    const events: string[] = [];
    server.onEvent(
      () => {},
      (_peer, message) => fast.push(message.n),
    );
    server.onEvent((e) => events.push(tag(e)));
    const peer = await client.connect(address);
    for (let i = 0; i < 3; i++) client.send(peer, ping(i));
    await until(server, () => fast.length === 3);
    expect(fast).toEqual([0n, 1n, 2n]);
    expect(events).toEqual(['accepted', 'message 0', 'message 1', 'message 2']);
  });
});

describe('iterators beside listeners', () => {
  it('hands every event to listeners and to each iterator, each from its subscription on', async () => {
    const { server, client, address } = await nodes();
    const listened: string[] = [];
    server.onEvent((e) => listened.push(tag(e)));
    const a = server.events();
    const b = server.events();
    const peer = await client.connect(address);
    client.send(peer, ping(7));
    const read = async (it: AsyncIterator<ReactorEvent<PingPong>>, n: number) => {
      const out: string[] = [];
      for (let i = 0; i < n; i++) out.push(tag((await it.next()).value as ReactorEvent<PingPong>));
      return out;
    };
    expect(await read(a, 2)).toEqual(['accepted', 'message 7']);
    expect(await read(b, 2)).toEqual(['accepted', 'message 7']);
    expect(listened).toEqual(['accepted', 'message 7']);
  });

  it('bounds each iterator on its own: a slow one pauses reading for everyone, and nothing is lost', async () => {
    const { server, client, address } = await nodes(8);
    const fast = server.events();
    const slow = server.events();
    const peer = await client.connect(address);
    const total = 100;
    for (let i = 0; i < total; i++) client.send(peer, ping(i));
    // The fast consumer reads as far as it can; the slow one reads nothing yet.
    const fastSeen: string[] = [];
    const readFast = (async () => {
      for await (const e of fast) {
        fastSeen.push(tag(e));
        if (fastSeen.length === total + 1) break;
      }
    })();
    await vi.waitFor(() => expect(server.stats().pausedPeers).toBe(1));
    // Paused for everyone: the fast consumer is held back by the slow one's full queue.
    expect(server.queuedEvents).toBeGreaterThanOrEqual(8);
    expect(fastSeen.length).toBeLessThan(total + 1);
    const slowSeen: string[] = [];
    for await (const e of slow) {
      slowSeen.push(tag(e));
      if (slowSeen.length === total + 1) break;
    }
    await readFast;
    const expected = ['accepted', ...Array.from({ length: total }, (_, i) => `message ${i}`)];
    expect(slowSeen).toEqual(expected);
    expect(fastSeen).toEqual(expected);
  });

  it('unsubscribes an iterator that ends (`break`): it no longer holds reading back', async () => {
    const { server, client, address } = await nodes(4);
    const listened: string[] = [];
    server.onEvent((e) => listened.push(tag(e)));
    const abandoned = server.events();
    const peer = await client.connect(address);
    for (let i = 0; i < 50; i++) client.send(peer, ping(i));
    await vi.waitFor(() => expect(server.stats().pausedPeers).toBe(1));
    await abandoned.return?.();
    await until(server, () => listened.length === 51);
    expect(server.stats().pausedPeers).toBe(0);
    expect(await abandoned.next()).toEqual({ done: true, value: undefined });
  });

  it('settles several waiting `next()` calls in order', async () => {
    const { server, client, address } = await nodes();
    const it = server.events();
    const first = it.next();
    const second = it.next();
    const peer: PeerId = await client.connect(address);
    client.send(peer, ping(1));
    expect(tag((await first).value as ReactorEvent<PingPong>)).toBe('accepted');
    expect(tag((await second).value as ReactorEvent<PingPong>)).toBe('message 1');
  });

  it('ends every iterator after shutdown, once its queued events are consumed', async () => {
    const { server } = await nodes();
    const a = server.events();
    const b = server.events();
    const waiting = a.next();
    await server.shutdown();
    expect(await waiting).toEqual({ done: true, value: undefined });
    expect(await b.next()).toEqual({ done: true, value: undefined });
  });
});
