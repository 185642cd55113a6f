import { type PeerId, Reactor, type ReactorEvent } from '@peerlink/reactor';
import type { StreamConfigOptions, Transport } from '@peerlink/stream';
import { afterEach, describe, expect, it } from 'vitest';
import {
  bytesCodec,
  framesCodec,
  isType,
  pattern,
  ping,
  pingPongCodec,
  pong,
  Recorder,
} from './fixtures.js';

/** What a transport under test provides: a fresh transport per reactor, and where to listen. */
export interface TransportFixture {
  /** A transport for one reactor; all transports of one test can reach each other. */
  transport(): Transport;
  /** A listen address with port 0. */
  listenAddress: string;
  /** Called after each test. */
  reset?(): void;
}

/**
 * The reactor behaviours of the Rust crate's integration tests (ported as behaviour), run over any
 * transport.
 */
export function reactorSuite(name: string, fixture: TransportFixture): void {
  describe(`reactor over ${name}`, () => {
    const reactors: Reactor<unknown>[] = [];
    afterEach(async () => {
      await Promise.all(reactors.splice(0).map((r) => r.shutdown({ flushTimeout: 100 })));
      fixture.reset?.();
    });

    function reactor<M>(
      codec: import('@peerlink/codec').Codec<M>,
      config?: StreamConfigOptions,
      extra: Partial<import('@peerlink/reactor').ReactorOptions<M>> = {},
    ): Reactor<M> {
      const r = new Reactor<M>({
        codec,
        transport: fixture.transport(),
        ...(config ? { config } : {}),
        ...extra,
      });
      reactors.push(r as Reactor<unknown>);
      return r;
    }

    async function serverAndClient<M>(
      codec: import('@peerlink/codec').Codec<M>,
      config?: StreamConfigOptions,
    ) {
      const server = reactor(codec, config);
      const serverEvents = new Recorder(server);
      const [address] = await server.listen(fixture.listenAddress);
      const client = reactor(codec, config);
      const clientEvents = new Recorder(client);
      const peer = await client.connect(address!);
      const accepted = await serverEvents.waitFor(isType('accepted'));
      const serverPeer = (accepted as Extract<ReactorEvent<M>, { type: 'accepted' }>).peer;
      return { server, serverEvents, client, clientEvents, peer, serverPeer, address: address! };
    }

    it('exchanges 1,000 interleaved ping-pongs', async () => {
      const server = reactor(pingPongCodec);
      server.onEvent((e) => {
        if (e.type === 'message' && e.message.kind === 'ping')
          server.send(e.peer, pong(Number(e.message.n)));
      });
      const [address] = await server.listen(fixture.listenAddress);
      const client = reactor(pingPongCodec);
      let next = 0;
      const done = new Promise<number[]>((resolve) => {
        const got: number[] = [];
        client.onEvent((e) => {
          if (e.type === 'message') {
            expect(e.size).toBe(12);
            got.push(Number(e.message.n));
            if (got.length === 1000) resolve(got);
            else client.send(e.peer, ping(++next));
          }
        });
      });
      const peer = await client.connect(address!);
      client.send(peer, ping(0));
      const got = await done;
      expect(got).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    });

    it('delivers 1,000 pings sent before a disconnect, in order, then reports `left`', async () => {
      const server = reactor(pingPongCodec);
      const [address] = await server.listen(fixture.listenAddress);
      const client = reactor(pingPongCodec);
      const clientEvents = new Recorder(client);
      const peer = await client.connect(address!);
      for (let i = 0; i < 1000; i++) expect(client.send(peer, ping(i))).toBe('queued');
      expect(client.disconnect(peer)).toBe(true);
      // The requested disconnect is reported at once; later sends are refused.
      expect(clientEvents.disconnects(peer)).toHaveLength(1);
      expect(client.send(peer, ping(1000))).toBe('no-such-peer');
      // Only now does the server start reading its events.
      const got: number[] = [];
      let reason: string | undefined;
      for await (const e of server.events()) {
        if (e.type === 'message') got.push(Number(e.message.n));
        if (e.type === 'disconnected') {
          reason = e.reason.kind;
          break;
        }
      }
      expect(got).toEqual(Array.from({ length: 1000 }, (_, i) => i));
      expect(reason).toBe('left');
    });

    it('carries 1,000 messages each way at once, then reads them in bulk', async () => {
      const { serverEvents, clientEvents, client, server, peer, serverPeer } =
        await serverAndClient(pingPongCodec);
      for (let i = 0; i < 1000; i++) {
        expect(client.send(peer, ping(i))).toBe('queued');
        expect(server.send(serverPeer, pong(i))).toBe('queued');
      }
      await serverEvents.waitForCount(isType('message'), 1000);
      await clientEvents.waitForCount(isType('message'), 1000);
      expect(serverEvents.messagesFrom(serverPeer).map((m) => Number(m.n))).toEqual(
        Array.from({ length: 1000 }, (_, i) => i),
      );
      expect(clientEvents.messagesFrom(peer).every((m) => m.kind === 'pong')).toBe(true);
      expect(clientEvents.messagesFrom(peer)).toHaveLength(1000);
    });

    it('serves 5 clients, interleaved and in bulk, each reply reaching the right client', async () => {
      const server = reactor(pingPongCodec);
      server.onEvent((e) => {
        if (e.type === 'message') server.send(e.peer, pong(Number(e.message.n)));
      });
      const [address] = await server.listen(fixture.listenAddress);
      const clients = await Promise.all(
        [0, 1, 2, 3, 4].map(async (c) => {
          const r = reactor(pingPongCodec);
          const rec = new Recorder(r);
          const peer = await r.connect(address!);
          return { r, rec, peer, c };
        }),
      );
      // Interleaved: one at a time per client, all clients at once.
      for (let round = 0; round < 20; round++) {
        for (const { r, peer, c } of clients) r.send(peer, ping(c * 1_000_000 + round));
        await Promise.all(clients.map(({ rec }) => rec.waitForCount(isType('message'), round + 1)));
      }
      // Bulk: 200 each without waiting.
      for (const { r, peer, c } of clients)
        for (let i = 20; i < 220; i++) r.send(peer, ping(c * 1_000_000 + i));
      for (const { rec, peer, c } of clients) {
        await rec.waitForCount(isType('message'), 220);
        expect(rec.messagesFrom(peer).map((m) => Number(m.n))).toEqual(
          Array.from({ length: 220 }, (_, i) => c * 1_000_000 + i),
        );
      }
    });

    it('carries one 10 MiB message intact, reported with its exact wire size', async () => {
      const { serverEvents, client, peer } = await serverAndClient(bytesCodec);
      const payload = pattern(10 * 1024 * 1024, 3);
      expect(client.send(peer, payload)).toBe('queued');
      const e = await serverEvents.waitFor(isType('message'));
      if (e.type !== 'message') throw new Error('unreachable');
      expect(e.size).toBe(payload.length + 4);
      expect(Buffer.compare(e.message as Uint8Array, payload)).toBe(0);
    });

    it('gives strictly increasing, never reused peer ids to clients that come and go', async () => {
      const server = reactor(pingPongCodec);
      const serverEvents = new Recorder(server);
      const [address] = await server.listen(fixture.listenAddress);
      const seen: PeerId[] = [];
      for (let i = 0; i < 5; i++) {
        const client = reactor(pingPongCodec);
        const peer = await client.connect(address!);
        seen.push(peer);
        const acc = await serverEvents.waitForCount(isType('accepted'), i + 1);
        const serverPeer = (acc[i] as { peer: PeerId }).peer;
        seen.push(serverPeer);
        client.disconnect(peer);
        await serverEvents.waitFor((e) => e.type === 'disconnected' && e.peer === serverPeer);
      }
      const serverIds = serverEvents.events
        .filter((e) => e.type === 'accepted')
        .map((e) => (e as { peer: PeerId }).peer);
      for (let i = 1; i < serverIds.length; i++)
        expect(serverIds[i]!).toBeGreaterThan(serverIds[i - 1]!);
      expect(new Set(seen).size).toBe(seen.length);
    });

    for (const side of ['client', 'server'] as const) {
      it(`notices a disconnect command on the ${side} side with the right reasons`, async () => {
        const s = await serverAndClient(pingPongCodec);
        const [actor, actorPeer, otherEvents, otherPeer] =
          side === 'client'
            ? [s.client, s.peer, s.serverEvents, s.serverPeer]
            : [s.server, s.serverPeer, s.clientEvents, s.peer];
        const actorEvents = side === 'client' ? s.clientEvents : s.serverEvents;
        actor.disconnect(actorPeer);
        const mine = await actorEvents.waitFor(isType('disconnected', actorPeer));
        const theirs = await otherEvents.waitFor(isType('disconnected', otherPeer));
        expect(mine.type === 'disconnected' && mine.reason.kind).toBe('requested');
        expect(theirs.type === 'disconnected' && theirs.reason.kind).toBe('left');
      });

      it(`notices a shutdown on the ${side} side`, async () => {
        const s = await serverAndClient(pingPongCodec);
        const [actor, otherEvents, otherPeer] =
          side === 'client'
            ? [s.client, s.serverEvents, s.serverPeer]
            : [s.server, s.clientEvents, s.peer];
        await actor.shutdown();
        const theirs = await otherEvents.waitFor(isType('disconnected', otherPeer));
        expect(theirs.type === 'disconnected' && theirs.reason.kind).toBe('left');
        await expect(actor.shutdown()).resolves.toBeUndefined();
      });
    }

    it('answers commands about unknown or gone peers with `no-such-peer`', async () => {
      const s = await serverAndClient(pingPongCodec);
      expect(s.client.send(999_999_999, ping(1))).toBe('no-such-peer');
      expect(s.client.disconnect(999_999_999)).toBe(false);
      await expect(s.client.drained(999_999_999)).rejects.toMatchObject({
        code: 'ERR_NO_SUCH_PEER',
      });
      s.client.disconnect(s.peer);
      expect(s.client.send(s.peer, ping(1))).toBe('no-such-peer');
      expect(s.client.disconnect(s.peer)).toBe(false);
      expect(s.clientEvents.events.filter(isType('no-such-peer'))).toHaveLength(4);
    });

    it('writes a full send buffer out at once and admits the message while the transport takes it', async () => {
      const { client, clientEvents, peer, serverEvents } = await serverAndClient(pingPongCodec, {
        txBufMaxFloor: 0,
        txBufMaxSize: 2,
      });
      // The limit is two messages, but the transport is not blocked: the third send writes the
      // first two and is admitted.
      for (let i = 0; i < 10; i++) expect(client.send(peer, ping(i))).toBe('queued');
      expect(clientEvents.events.some(isType('send-buffer-full'))).toBe(false);
      await serverEvents.waitForCount(isType('message'), 10);
      const got = serverEvents.events.flatMap((e) => (e.type === 'message' ? [e.message] : []));
      expect(got).toEqual(Array.from({ length: 10 }, (_, i) => ping(i)));
    });

    it('refuses a message when the send buffer is full and the transport blocked, and says when it drained', async () => {
      // A reader that takes one message, then stops reading until told to go on.
      const server = reactor(framesCodec, undefined, { eventCapacity: 1 });
      const [address] = await server.listen(fixture.listenAddress);
      const client = reactor(framesCodec, { txBufMaxFloor: 0, txBufMaxSize: 4 }); // 64 KiB
      const clientEvents = new Recorder(client);
      const peer = await client.connect(address!);
      const size = 16 * 1024;
      let sent = 0;
      // A full send buffer is written out at once, so the sender runs until the transport
      // blocks: kernel and transport buffers fill within a few MiB; 64 MiB is a generous bound.
      while (sent < 4096 && client.send(peer, pattern(size, sent)) === 'queued') sent++;
      expect(sent).toBeLessThan(4096);
      const full = clientEvents.events.find(isType('send-buffer-full'));
      expect(full).toMatchObject({ type: 'send-buffer-full', peer });
      expect((full as { message: Uint8Array }).message).toEqual(pattern(size, sent));
      expect(clientEvents.events.some(isType('drained'))).toBe(false);
      // Read everything; the sender waits for the drain, then sends the refused message again.
      const total = sent + 10;
      const sending = (async () => {
        await client.drained(peer);
        expect(clientEvents.events.some(isType('drained', peer))).toBe(true);
        while (sent < total) {
          if (client.send(peer, pattern(size, sent)) === 'queued') sent++;
          else await client.drained(peer);
        }
      })();
      let got = 0;
      for await (const e of server.events()) {
        if (e.type !== 'message') continue;
        if (e.message[1] !== pattern(2, got)[1]) throw new Error(`out of order at ${got}`);
        if (++got === total) break;
      }
      await sending;
      expect(got).toBe(total);
    });

    it('raw bodies of every size, sent over many turns, arrive intact while send buffers are reused', async () => {
      const { client, peer, serverEvents, serverPeer } = await serverAndClient(bytesCodec);
      const sizes = [1, 13, 100, 1000, 4000, 20_000, 65_536];
      const total = 2100;
      const bodies = Array.from({ length: total }, (_, i) => pattern(sizes[i % sizes.length]!, i));
      for (let i = 0; i < total; ) {
        // Batches of a few messages per turn: the stream writes into one slab, which the transport
        // hands back (where it releases writes) and the stream fills again.
        for (const end = Math.min(total, i + 1 + (i % 5)); i < end; ) {
          if (client.send(peer, bodies[i]!) === 'queued') i++;
          else await client.drained(peer);
        }
        await new Promise((r) => setImmediate(r));
      }
      await serverEvents.waitForCount(isType('message', serverPeer), total);
      const got = serverEvents.messagesFrom(serverPeer) as Uint8Array[];
      expect(got).toHaveLength(total);
      for (let i = 0; i < total; i++) {
        if (!sameBytes(got[i]!, bodies[i]!)) throw new Error(`message ${i} differs`);
      }
    });

    it('`sendMany` queues a batch in order and reports it all queued', async () => {
      const { client, peer, serverEvents, serverPeer } = await serverAndClient(bytesCodec);
      const batch = Array.from({ length: 600 }, (_, i) => pattern(1 + ((i * 37) % 3000), i));
      expect(client.sendMany(peer, batch)).toEqual({ queued: 600, result: 'queued' });
      expect(client.sendMany(peer, [])).toEqual({ queued: 0, result: 'queued' });
      await serverEvents.waitForCount(isType('message', serverPeer), 600);
      const got = serverEvents.messagesFrom(serverPeer) as Uint8Array[];
      for (let i = 0; i < 600; i++) {
        if (!sameBytes(got[i]!, batch[i]!)) throw new Error(`message ${i} differs`);
      }
      expect(client.peerStats(peer)?.messagesOut).toBe(600);
    });

    it('`sendMany` stops where the send buffer fills behind a blocked transport: `full`, the rest sent after `drained`', async () => {
      // A reader that takes one message, then stops reading until told to go on.
      const server = reactor(framesCodec, undefined, { eventCapacity: 1 });
      const [address] = await server.listen(fixture.listenAddress);
      const client = reactor(framesCodec, { txBufMaxFloor: 0, txBufMaxSize: 4 }); // 64 KiB
      const clientEvents = new Recorder(client);
      const peer = await client.connect(address!);
      // 4,096 messages of 8 KiB (32 MiB, more than kernel and transport buffers take), each a
      // view of one buffer, numbered in its first 4 bytes.
      const size = 8 * 1024;
      const count = 4096;
      const memory = new Uint8Array(size * count);
      const batch = Array.from({ length: count }, (_, i) => {
        const m = memory.subarray(i * size, (i + 1) * size);
        new DataView(m.buffer, m.byteOffset, 4).setUint32(0, i);
        return m;
      });
      const first = client.sendMany(peer, batch);
      expect(first.result).toBe('full');
      expect(first.queued).toBeGreaterThan(0);
      expect(first.queued).toBeLessThan(count);
      expect(first.error).toBeUndefined();
      const full = clientEvents.events.find(isType('send-buffer-full'));
      expect((full as { message: Uint8Array }).message).toBe(batch[first.queued]);
      let sent = first.queued;
      const sending = (async () => {
        while (sent < count) {
          await client.drained(peer);
          sent += client.sendMany(peer, batch.slice(sent)).queued;
        }
      })();
      let got = 0;
      for await (const e of server.events()) {
        if (e.type !== 'message') continue;
        const n = new DataView(e.message.buffer, e.message.byteOffset, 4).getUint32(0);
        if (n !== got || e.message.length !== size) throw new Error(`out of order at ${got}`);
        if (++got === count) break;
      }
      await sending;
      expect(got).toBe(count);
    });

    it('`sendMany` stops at a message that cannot be encoded: those before it go out, `error` says why, none after it is queued', async () => {
      const { client, peer, serverEvents, serverPeer } = await serverAndClient(framesCodec);
      const tooLarge = new Uint8Array(16 * 1024 + 1); // 16 KiB + 5 with its prefix
      const r = client.sendMany(peer, [pattern(10, 1), pattern(20, 2), tooLarge, pattern(30, 3)]);
      expect(r).toMatchObject({
        queued: 2,
        result: 'error',
        error: { code: 'ERR_MESSAGE_TOO_LARGE' },
      });
      const wrongType = client.sendMany(peer, [pattern(40, 4), 'text' as unknown as Uint8Array]);
      expect(wrongType).toMatchObject({
        queued: 1,
        result: 'error',
        error: { code: 'ERR_INVALID_ARGUMENT' },
      });
      expect(client.send(peer, pattern(50, 5))).toBe('queued');
      await serverEvents.waitForCount(isType('message', serverPeer), 4);
      expect(serverEvents.messagesFrom(serverPeer)).toEqual([
        pattern(10, 1),
        pattern(20, 2),
        pattern(40, 4),
        pattern(50, 5),
      ]);
    });

    it('`sendMany` to an unknown peer reports `no-such-peer`; a list that is not an array throws', async () => {
      const { client, clientEvents, peer } = await serverAndClient(bytesCodec);
      expect(client.sendMany(123_456, [pattern(1, 1)])).toEqual({
        queued: 0,
        result: 'no-such-peer',
      });
      await clientEvents.waitFor(isType('no-such-peer'));
      expect(() => client.sendMany(peer, 'abc' as unknown as Uint8Array[])).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }),
      );
      expect(() => client.sendMany('x' as unknown as number, [])).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }),
      );
    });

    it('delivers 20,000 messages in order to a slow reader when the sender waits for drain', async () => {
      const server = reactor(framesCodec, undefined, { eventCapacity: 256 });
      const [address] = await server.listen(fixture.listenAddress);
      const client = reactor(framesCodec, { txBufMaxFloor: 0, txBufMaxSize: 2 }); // 32 KiB
      const peer = await client.connect(address!);
      const total = 20_000; // 20 MiB: more than kernel and transport buffers take
      let refused = 0;
      const sending = (async () => {
        let i = 0;
        while (i < total) {
          const r = client.send(peer, pattern(1024, i));
          if (r === 'queued') i++;
          else {
            refused++;
            await client.drained(peer);
          }
        }
      })();
      let expected = 0;
      for await (const e of server.events()) {
        if (e.type !== 'message') continue;
        if (e.message[1] !== pattern(2, expected)[1] || e.message.length !== 1024) {
          throw new Error(`out of order at ${expected}`);
        }
        // A slow reader: yield to the event loop every 500 messages.
        if (++expected % 500 === 0) await new Promise((r) => setImmediate(r));
        if (expected === total) break;
      }
      await sending;
      expect(expected).toBe(total);
      expect(refused).toBeGreaterThan(0);
    });

    it('keeps the event queue within `eventCapacity` while the consumer lags, losing nothing', async () => {
      const server = reactor(bytesCodec, undefined, { eventCapacity: 16 });
      const [address] = await server.listen(fixture.listenAddress);
      const client = reactor(bytesCodec);
      const peer = await client.connect(address!);
      const size = 64 * 1024;
      const count = 320; // 20 MiB
      let sent = 0;
      const sending = (async () => {
        while (sent < count) {
          if (client.send(peer, pattern(size, sent)) === 'queued') sent++;
          else await client.drained(peer);
        }
      })();
      const it = server.events();
      let got = 0;
      let maxQueued = 0;
      // Consume slowly: one event per macrotask turn.
      for (;;) {
        maxQueued = Math.max(maxQueued, server.queuedEvents);
        const { value } = await it.next();
        if (value?.type === 'message') {
          expect((value.message as Uint8Array)[1]).toBe(pattern(2, got)[1]);
          if (++got === count) break;
          await new Promise((r) => setImmediate(r));
        }
      }
      await sending;
      expect(got).toBe(count);
      // Capacity plus the non-message events (accepted) at most.
      expect(maxQueued).toBeLessThanOrEqual(16 + 1);
    });

    it('fails a connect that never completes with `ERR_CONNECT_TIMEOUT`', async () => {
      const never: Transport = {
        listen: () => Promise.reject(new Error('unused')),
        connect: (_target, options) =>
          new Promise((_resolve, reject) => {
            options?.signal?.addEventListener('abort', () => reject(options.signal?.reason));
          }),
      };
      const r = new Reactor({
        codec: pingPongCodec,
        transport: never,
        config: { connectTimeout: 50 },
      });
      reactors.push(r as Reactor<unknown>);
      const rec = new Recorder(r);
      await expect(r.connect('127.0.0.1:1')).rejects.toMatchObject({ code: 'ERR_CONNECT_TIMEOUT' });
      expect(rec.events).toMatchObject([{ type: 'connect-failed', target: '127.0.0.1:1' }]);
    });

    it('aborts a pending connect with `ERR_ABORTED` when the signal fires', async () => {
      const never: Transport = {
        listen: () => Promise.reject(new Error('unused')),
        connect: () => new Promise(() => {}),
      };
      const r = new Reactor({ codec: pingPongCodec, transport: never });
      reactors.push(r as Reactor<unknown>);
      const ac = new AbortController();
      const p = r.connect('127.0.0.1:1', { signal: ac.signal });
      ac.abort();
      await expect(p).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    });

    it('rejects pending connects with `ERR_SHUTDOWN` on shutdown', async () => {
      const never: Transport = {
        listen: () => Promise.reject(new Error('unused')),
        connect: () => new Promise(() => {}),
      };
      const r = new Reactor({ codec: pingPongCodec, transport: never });
      const p = r.connect('127.0.0.1:1');
      await r.shutdown();
      await expect(p).rejects.toMatchObject({ code: 'ERR_SHUTDOWN' });
    });

    it('delivers queued data on shutdown, then ends the stream', async () => {
      const { client, peer, serverEvents, serverPeer } = await serverAndClient(pingPongCodec);
      for (let i = 0; i < 500; i++) client.send(peer, ping(i));
      await client.shutdown({ flushTimeout: 5000 });
      await serverEvents.waitFor(isType('disconnected', serverPeer));
      expect(serverEvents.messagesFrom(serverPeer)).toHaveLength(500);
    });

    it('refuses a listen address already in use, closing what it opened', async () => {
      const a = reactor(pingPongCodec);
      const [address] = await a.listen(fixture.listenAddress);
      const b = reactor(pingPongCodec);
      await expect(b.listen([fixture.listenAddress, address!])).rejects.toMatchObject({
        code: 'ERR_LISTEN_FAILED',
      });
      expect(b.listenAddresses).toEqual([]);
    });
  });
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
