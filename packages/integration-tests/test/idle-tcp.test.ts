import { once } from 'node:events';
import net from 'node:net';
import { Reactor, type ReactorEvent } from '@peerlink/reactor';
import { tcpTransport } from '@peerlink/transport-tcp';
import { afterEach, describe, expect, it } from 'vitest';
import { type PingPong, ping, pingPongCodec } from '../../reactor/test/fixtures.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

describe('`idleTimeout` over TCP', () => {
  it('drops a peer that went silent within the timeout, and never one that keeps talking', async () => {
    const server = new Reactor({
      codec: pingPongCodec,
      transport: tcpTransport(),
      idleTimeout: 500,
      housekeepingInterval: 25,
    });
    cleanup.push(() => server.shutdown({ flushTimeout: 0 }));
    const [address] = await server.listen('127.0.0.1:0');
    const events: Array<{ at: number; event: ReactorEvent<PingPong> }> = [];
    let wake: () => void = () => {};
    server.onEvent((event) => {
      events.push({ at: performance.now(), event });
      wake();
    });
    const until = async (test: () => boolean) => {
      while (!test()) await new Promise<void>((r) => (wake = r));
    };

    // The active peer: a reactor that pings every 50 ms.
    const active = new Reactor({ codec: pingPongCodec, transport: tcpTransport() });
    cleanup.push(() => active.shutdown({ flushTimeout: 0 }));
    const activePeer = await active.connect(address!);
    let n = 0;
    const timer = setInterval(() => active.send(activePeer, ping(n++)), 50);
    cleanup.push(() => clearInterval(timer));
    // The silent peer: a raw socket that sends one ping, then nothing, and never closes (as a
    // peer behind a pulled cable would look).
    const [host, port] = [address!.slice(0, address!.lastIndexOf(':')), address!.split(':').pop()];
    const silent = net.connect({ host, port: Number(port) });
    cleanup.push(() => silent.destroy());
    await once(silent, 'connect');
    silent.write(Buffer.from('ping\0\0\0\0\0\0\0\0'));
    const sentAt = performance.now();

    await until(() => events.some((e) => e.event.type === 'disconnected'));
    const gone = events.filter((e) => e.event.type === 'disconnected');
    expect(gone).toHaveLength(1);
    expect(gone[0]!.event).toMatchObject({ reason: { kind: 'idle' } });
    expect(gone[0]!.at - sentAt).toBeGreaterThanOrEqual(490);
    const silentSeen = once(silent, 'end');
    await silentSeen; // the silent side sees its connection closed
    // The active peer stays through several more timeouts.
    const messages = () => events.filter((e) => e.event.type === 'message').length;
    const before = messages();
    await until(() => messages() >= before + 30); // about 1.5 s: three timeouts
    expect(server.peerCount).toBe(1);
    expect(events.filter((e) => e.event.type === 'disconnected')).toHaveLength(1);
  });
});
