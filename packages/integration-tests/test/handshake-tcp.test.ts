import { Reactor, type ReactorEvent } from '@peerlink/reactor';
import { tcpTransport } from '@peerlink/transport-tcp';
import { afterEach, describe, expect, it } from 'vitest';
import { type PingPong, ping, pingPongCodec } from '../../reactor/test/fixtures.js';

const reactors: Reactor<PingPong, { hello: boolean }>[] = [];
afterEach(async () => {
  await Promise.all(reactors.splice(0).map((r) => r.shutdown({ flushTimeout: 0 })));
});

describe('`handshakeTimeout` and per-peer state over TCP', () => {
  it('drops the peer that never completes its handshake, keeps the one that does', async () => {
    const server = new Reactor<PingPong, { hello: boolean }>({
      codec: pingPongCodec,
      transport: tcpTransport(),
      handshakeTimeout: 300,
      housekeepingInterval: 25,
      acceptState: () => ({ hello: false }),
    });
    reactors.push(server);
    const events: ReactorEvent<PingPong, { hello: boolean }>[] = [];
    let wake: () => void = () => {};
    server.onEvent((e) => {
      events.push(e);
      if (e.type === 'message') {
        server.setState(e.peer, { hello: true });
        server.ready(e.peer);
      }
      wake();
    });
    const [address] = await server.listen('127.0.0.1:0');
    const polite = new Reactor<PingPong, { hello: boolean }>({
      codec: pingPongCodec,
      transport: tcpTransport(),
    });
    const silent = new Reactor<PingPong, { hello: boolean }>({
      codec: pingPongCodec,
      transport: tcpTransport(),
    });
    reactors.push(polite, silent);
    const p = await polite.connect(address!);
    await silent.connect(address!);
    polite.send(p, ping(1));
    while (!events.some((e) => e.type === 'disconnected')) {
      await new Promise<void>((r) => (wake = r));
    }
    const gone = events.find((e) => e.type === 'disconnected');
    expect(gone).toMatchObject({ reason: { kind: 'handshake-timeout' }, state: { hello: false } });
    expect(server.peerCount).toBe(1);
    const [left] = server.peerIds;
    expect(server.peerStats(left!)).toMatchObject({ ready: true, state: { hello: true } });
  });
});
