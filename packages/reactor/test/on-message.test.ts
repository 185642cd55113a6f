import { type PeerId, Reactor, type ReactorEvent } from '@peerlink/reactor';
import { MemoryNetwork } from '@peerlink/transport-memory';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type PingPong, ping, pingPongCodec } from './fixtures.js';

/** A promise and the function that resolves it. */
function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => {};
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

const reactors: Reactor<PingPong>[] = [];
afterEach(async () => {
  vi.unstubAllGlobals();
  await Promise.all(reactors.splice(0).map((r) => r.shutdown({ flushTimeout: 0 })));
});

/**
 * A server and a client connected over a memory network; with `small`, the client's send buffer
 * holds two messages and it emits outbound telemetry.
 */
async function pair(seed: number, small = false) {
  const network = new MemoryNetwork({ seed });
  const server = new Reactor({ codec: pingPongCodec, transport: network.transport() });
  const client = new Reactor({
    codec: pingPongCodec,
    transport: network.transport(),
    ...(small ? { config: { txBufMaxFloor: 0, txBufMaxSize: 2 }, telemetry: true } : {}),
  });
  reactors.push(server, client);
  const [address] = await server.listen('server:0');
  const peer = await client.connect(address!);
  return { server, client, peer };
}

describe('onEvent with a message handler (the message fast path)', () => {
  it('hands every message to the message handler, in order, and the other events to the handler', async () => {
    const { server, client, peer } = await pair(3);
    const events: ReactorEvent<PingPong>[] = [];
    const messages: [PeerId, bigint, number][] = [];
    const { promise: all, resolve: done } = signal();
    server.onEvent(
      (event) => {
        events.push(event);
        if (event.type === 'disconnected') done();
      },
      (from, message, size) => {
        messages.push([from, message.n, size]);
      },
    );
    for (let i = 0; i < 1000; i++) client.send(peer, ping(i));
    client.disconnect(peer);
    await all;
    expect(events.map((e) => e.type)).toEqual(['accepted', 'disconnected']);
    const serverPeer = (events[0] as { peer: PeerId }).peer;
    expect(messages).toEqual(Array.from({ length: 1000 }, (_, i) => [serverPeer, BigInt(i), 12]));
    expect(server.stats().totals.messagesIn).toBe(1000);
  });

  it('hands messages kept while nobody listened to the message handler, first and in order', async () => {
    const { server, client, peer } = await pair(3);
    for (let i = 0; i < 5; i++) client.send(peer, ping(i));
    // Nobody listens on the server: its events are kept for the first subscriber.
    await vi.waitFor(() => expect(server.queuedEvents).toBe(6));
    const seen: string[] = [];
    server.onEvent(
      (event) => seen.push(event.type),
      (_peer, message) => seen.push(`message ${message.n}`),
    );
    expect(seen).toEqual([
      'accepted',
      'message 0',
      'message 1',
      'message 2',
      'message 3',
      'message 4',
    ]);
    expect(server.queuedEvents).toBe(0);
  });

  it('rethrows an exception of the message handler in a microtask and goes on delivering', async () => {
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
    const { server, client, peer } = await pair(3);
    const got: bigint[] = [];
    const { promise: all, resolve: done } = signal();
    server.onEvent(
      () => {},
      (_peer, message) => {
        got.push(message.n);
        if (message.n === 1n) throw new Error('handler bug');
        if (message.n === 2n) done();
      },
    );
    for (let i = 0; i < 3; i++) client.send(peer, ping(i));
    await all;
    await new Promise<void>((resolve) => original(resolve));
    expect(got).toEqual([0n, 1n, 2n]);
    expect(caught).toMatchObject([{ message: 'handler bug' }]);
  });
});

describe('sends from event handlers while a full send buffer is written out', () => {
  it('go on the wire in the order `send` answered them queued', async () => {
    const { server, client, peer } = await pair(5, true);
    const got: bigint[] = [];
    const { promise: all, resolve: done } = signal();
    server.onEvent(
      () => {},
      (_peer, message) => {
        got.push(message.n);
        if (got.length === 20) done();
      },
    );
    const accepted: bigint[] = []; // in the order `send` answered 'queued'
    const backlog: bigint[] = [];
    let next = 100;
    const trySend = (n: bigint): boolean => {
      if (client.send(peer, ping(Number(n))) !== 'queued') return false;
      accepted.push(n);
      return true;
    };
    client.onEvent((event) => {
      // Telemetry comes from inside the flush that a full buffer triggers: send from there.
      if (event.type === 'outbound-telemetry' && next < 110) {
        const n = BigInt(next++);
        if (backlog.length > 0 || !trySend(n)) backlog.push(n);
      }
      if (event.type === 'drained') {
        while (backlog.length > 0 && trySend(backlog[0]!)) backlog.shift();
      }
    });
    for (let i = 0; i < 10; i++) {
      const n = BigInt(i);
      if (backlog.length > 0 || !trySend(n)) backlog.push(n);
    }
    await all;
    expect(got).toEqual(accepted);
    // Handler sends did run inside flushes (nested ones included), between the loop's sends.
    expect(accepted.indexOf(100n)).toBeLessThan(accepted.indexOf(9n));
    expect([...got].sort((a, b) => Number(a - b))).toEqual([
      ...Array.from({ length: 10 }, (_, i) => BigInt(i)),
      ...Array.from({ length: 10 }, (_, i) => BigInt(100 + i)),
    ]);
  });
});

describe('a disconnect from an event handler during the flush that `send` makes', () => {
  it("answers 'no-such-peer' to that send and still delivers what was queued before", async () => {
    const { server, client, peer } = await pair(9, true);
    const got: bigint[] = [];
    const { promise: left, resolve: done } = signal();
    server.onEvent(
      (event) => {
        if (event.type === 'disconnected') done();
      },
      (_peer, message) => {
        got.push(message.n);
      },
    );
    const events: string[] = [];
    let disconnectOnTelemetry = false;
    client.onEvent((event) => {
      events.push(event.type);
      if (event.type === 'outbound-telemetry' && disconnectOnTelemetry) client.disconnect(peer);
    });
    expect(client.send(peer, ping(0))).toBe('queued');
    expect(client.send(peer, ping(1))).toBe('queued');
    disconnectOnTelemetry = true;
    // The buffer is full: this send writes it out, and the telemetry of that flush disconnects.
    expect(client.send(peer, ping(2))).toBe('no-such-peer');
    expect(events).toContain('no-such-peer');
    expect(events).not.toContain('send-buffer-full');
    await left;
    expect(got).toEqual([0n, 1n]);
  });
});
