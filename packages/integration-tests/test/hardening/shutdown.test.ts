import { once } from 'node:events';
import { Reactor, type ReactorEvent } from '@peerlink/reactor';
import type { Transport } from '@peerlink/stream';
import { tcpTransport } from '@peerlink/transport-tcp';
import { describe, expect, it } from 'vitest';
import { bytesCodec, isType, pattern } from '../../../reactor/test/fixtures.js';
import { trapCodec } from './codecs.js';
import { PeerLedger, portOf, until, useHardening } from './guard.js';
import { memoryNet, type TestNet, tcpNet } from './nets.js';

const h = useHardening();

const nets: Array<[string, () => TestNet]> = [
  ['TCP', () => tcpNet(h)],
  ['the memory network', () => memoryNet(h, { seed: 5 })],
];

describe.each(nets)('shutdown over %s', (_name, makeNet) => {
  it('completes with the event queue full and nobody consuming, then the iterator ends', async () => {
    const n = makeNet();
    const server = new Reactor({ codec: trapCodec, transport: n.transport(), eventCapacity: 8 });
    const ledger = new PeerLedger();
    h.adopt(server, ledger, 'server');
    const [address] = await server.listen(n.listenAddress);
    const sender = h.reactor({ codec: trapCodec, transport: n.transport(), name: 'sender' });
    const peer = await sender.r.connect(address!);
    // Flood until the server's queue is full and its socket paused: the sender backs up.
    let sent = 0;
    while (server.queuedEvents < 8) {
      const res = sender.r.send(peer, Uint8Array.of(sent & 0xff));
      if (res === 'queued') sent++;
      else await sender.r.drained(peer);
      if (sent % 64 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    expect(server.queuedEvents).toBeLessThanOrEqual(9);
    await server.shutdown({ flushTimeout: 200 });
    await server.shutdown(); // twice is harmless
    // The queued events are still there to read, then the iterator ends.
    const seen: ReactorEvent<Uint8Array>[] = [];
    for await (const e of server.events()) {
      ledger.observe(e as ReactorEvent<unknown>);
      seen.push(e);
    }
    expect(seen[0]?.type).toBe('accepted');
    expect(seen.filter((e) => e.type === 'disconnected')).toHaveLength(1);
    const messages = seen.filter((e) => e.type === 'message').map((e) => e.message[0]);
    expect(messages).toEqual(messages.map((_, i) => i & 0xff)); // in order, none skipped
    await sender.rec.waitFor(isType('disconnected', peer));
  });

  it('delivers everything queued to the remote, then ends the stream', async () => {
    const n = makeNet();
    const server = h.reactor({ codec: bytesCodec, transport: n.transport(), name: 'server' });
    const [address] = await server.r.listen(n.listenAddress);
    const raw = await n.raw(address!);
    const accepted = (await server.rec.waitFor(isType('accepted'))) as { peer: number };
    const messages = Array.from({ length: 64 }, (_, i) => pattern(64 * 1024, i));
    for (const m of messages) expect(server.r.send(accepted.peer, m)).toBe('queued');
    const started = performance.now();
    const done = server.r.shutdown({ flushTimeout: 10_000 });
    await raw.ended;
    raw.end(); // a well-behaved remote answers the end of stream with its own
    await done;
    expect(performance.now() - started).toBeLessThan(5000); // it did not need the timeout
    const got = raw.bytes();
    expect(got.length).toBe(64 * (64 * 1024 + 4));
    for (let i = 0; i < messages.length; i++) {
      const at = i * (64 * 1024 + 4) + 4;
      expect(
        Buffer.from(got.subarray(at, at + 64 * 1024)).equals(messages[i]!),
        `message ${i}`,
      ).toBe(true);
    }
    expect(server.rec.disconnects(accepted.peer)).toMatchObject([
      { reason: { kind: 'requested' } },
    ]);
  });
});

describe('shutdown with connects in flight', () => {
  it('rejects pending connects with an abort error (`ERR_SHUTDOWN`) and leaves nothing behind', async () => {
    // A connector that never finishes on its own; it honours the abort signal.
    let aborted = 0;
    const hanging: Transport = {
      listen: () => Promise.reject(new Error('not used')),
      connect: (_target, options) =>
        new Promise((_resolve, reject) => {
          options?.signal?.addEventListener(
            'abort',
            () => {
              aborted++;
              reject(options.signal?.reason);
            },
            { once: true },
          );
        }),
    };
    const r = h.reactor({ codec: trapCodec, transport: hanging });
    const pending = Array.from({ length: 5 }, (_, i) => r.r.connect(`peer-${i + 1}.test:8333`));
    await r.r.shutdown();
    for (const p of pending) await expect(p).rejects.toMatchObject({ code: 'ERR_SHUTDOWN' });
    expect(aborted).toBe(5);
    expect(r.rec.events.filter(isType('connect-failed'))).toHaveLength(5);
    // A connect after shutdown fails the same way, at once.
    await expect(r.r.connect('127.0.0.1:1')).rejects.toMatchObject({ code: 'ERR_SHUTDOWN' });
  });

  it('aborts TCP connects and a listen in flight at shutdown, leaving no socket or server', async () => {
    const target = h.reactor({ codec: trapCodec, transport: tcpTransport(), name: 'target' });
    const [address] = await target.r.listen('127.0.0.1:0');
    const r = h.reactor({ codec: trapCodec, transport: tcpTransport(), name: 'shutting-down' });
    // Connects that will complete at the TCP level around the time of the shutdown.
    const connects = Array.from({ length: 20 }, () => r.r.connect(address!));
    const listening = r.r.listen(['127.0.0.1:0', '127.0.0.1:0']);
    await r.r.shutdown({ flushTimeout: 0 });
    const results = await Promise.allSettled(connects);
    for (const res of results) {
      if (res.status === 'rejected') expect(res.reason).toMatchObject({ code: 'ERR_SHUTDOWN' });
    }
    await expect(listening).rejects.toMatchObject({ code: 'ERR_SHUTDOWN' });
    expect(r.r.peerCount).toBe(0);
    // Whatever reached the target is gone again on its side too.
    await until(() => target.ledger.live.length === 0, "the target's peers to go");
  });

  it('on the memory network: a connect into a blackhole rejects on shutdown', async () => {
    const n = memoryNet(h);
    n.network.link({ to: 'void' }, { faults: [{ kind: 'blackhole' }] });
    const r = h.reactor({ codec: trapCodec, transport: n.transport() });
    const pending = r.r.connect('void:1');
    await r.r.shutdown();
    await expect(pending).rejects.toMatchObject({ code: 'ERR_SHUTDOWN' });
    expect(n.network.stats().pendingConnects).toBe(0);
  });

  it('rejects pending `drained` promises and flushes live peers of a TCP server at shutdown', async () => {
    const server = h.reactor({ codec: bytesCodec, transport: tcpTransport(), name: 'server' });
    const [address] = await server.r.listen('127.0.0.1:0');
    const s = await h.socket(portOf(address!));
    s.pause();
    const accepted = (await server.rec.waitFor(isType('accepted'))) as { peer: number };
    // 32 MiB queued for a reader that reads nothing: more than kernel buffers take, so the
    // buffer cannot drain before shutdown.
    while (server.r.send(accepted.peer, pattern(8 * 1024 * 1024)) === 'queued') {}
    const drained = server.r.drained(accepted.peer);
    s.write(Uint8Array.of(0, 0, 0, 1, 42));
    await server.rec.waitFor(isType('message', accepted.peer));
    const done = server.r.shutdown({ flushTimeout: 100 });
    await expect(drained).rejects.toMatchObject({ code: 'ERR_PEER_DISCONNECTED' });
    await done;
    s.resume();
    await Promise.race([once(s, 'end'), once(s, 'close')]);
  });
});
