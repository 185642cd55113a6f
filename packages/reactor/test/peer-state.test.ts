import { PeerlinkError } from '@peerlink/codec';
import { type PeerId, Reactor, type ReactorEvent } from '@peerlink/reactor';
import { MemoryNetwork, VirtualScheduler } from '@peerlink/transport-memory';
import { afterEach, describe, expect, it } from 'vitest';
import { type PingPong, ping, pingPongCodec } from './fixtures.js';

/** What an application keeps per peer. */
interface Session {
  readonly role: 'dialer' | 'listener';
  handshake: 'pending' | 'done';
  pings: number;
}

const reactors: Reactor<PingPong, Session>[] = [];
afterEach(async () => {
  await Promise.all(reactors.splice(0).map((r) => r.shutdown({ flushTimeout: 0 })));
});

function world(handshakeTimeout = 0) {
  const scheduler = new VirtualScheduler();
  const network = new MemoryNetwork({ seed: 13, scheduler });
  const node = (host: string) => {
    const r = new Reactor<PingPong, Session>({
      codec: pingPongCodec,
      transport: network.transport(host),
      timers: scheduler,
      handshakeTimeout,
      acceptState: () => ({ role: 'listener', handshake: 'pending', pings: 0 }),
    });
    reactors.push(r);
    return r;
  };
  const elapse = (ms: number) => new Promise<void>((r) => scheduler.setTimeout(r, ms));
  return { scheduler, node, elapse };
}

describe('per-peer state (`Reactor<M, S>`)', () => {
  it('is set on connect and on accept, readable in every event, in `peerStats`, and on `disconnected`', async () => {
    const { node, elapse } = world();
    const server = node('server');
    const client = node('client');
    const [address] = await server.listen('server:1');
    const seen: Array<{ type: string; state: Session | undefined }> = [];
    server.onEvent((e: ReactorEvent<PingPong, Session>) => {
      if (e.type === 'disconnected') {
        seen.push({ type: e.type, state: e.state });
        return;
      }
      if (!('peer' in e)) return;
      const state = server.state(e.peer);
      if (e.type === 'message' && state !== undefined) state.pings++;
      seen.push({ type: e.type, state: state === undefined ? undefined : { ...state } });
    });
    const peer = await client.connect(address!, {
      state: { role: 'dialer', handshake: 'pending', pings: 0 },
    });
    expect(client.state(peer)).toEqual({ role: 'dialer', handshake: 'pending', pings: 0 });
    expect(client.peerStats(peer)?.state).toEqual({
      role: 'dialer',
      handshake: 'pending',
      pings: 0,
    });
    client.send(peer, ping(1));
    client.send(peer, ping(2));
    await elapse(10);
    const serverPeer = server.peerIds[0]!;
    expect(server.setState(serverPeer, { role: 'listener', handshake: 'done', pings: 2 })).toBe(
      true,
    );
    server.disconnect(serverPeer);
    expect(seen).toEqual([
      { type: 'accepted', state: { role: 'listener', handshake: 'pending', pings: 0 } },
      { type: 'message', state: { role: 'listener', handshake: 'pending', pings: 1 } },
      { type: 'message', state: { role: 'listener', handshake: 'pending', pings: 2 } },
      { type: 'disconnected', state: { role: 'listener', handshake: 'done', pings: 2 } },
    ]);
    expect(server.state(serverPeer)).toBeUndefined();
    expect(server.setState(serverPeer, { role: 'listener', handshake: 'done', pings: 0 })).toBe(
      false,
    );
  });

  it('leaves `state` off the events and stats of a peer that has none', async () => {
    const network = new MemoryNetwork({ seed: 3 });
    const server = new Reactor({ codec: pingPongCodec, transport: network.transport('s') });
    const client = new Reactor({ codec: pingPongCodec, transport: network.transport('c') });
    const events: ReactorEvent<PingPong>[] = [];
    server.onEvent((e) => events.push(e));
    const [address] = await server.listen('s:1');
    const peer = await client.connect(address!);
    expect(client.peerStats(peer)).not.toHaveProperty('state');
    await client.shutdown({ flushTimeout: 0 });
    while (!events.some((e) => e.type === 'disconnected'))
      await new Promise((r) => setImmediate(r));
    expect(events.find((e) => e.type === 'disconnected')).not.toHaveProperty('state');
    await server.shutdown({ flushTimeout: 0 });
  });
});

describe('handshake deadline (`handshakeTimeout`, `ready()`)', () => {
  it('disconnects a peer not marked ready in time, and never one that is', async () => {
    const { node, elapse, scheduler } = world(60_000);
    const server = node('server');
    const [address] = await server.listen('server:1');
    const gone: Array<{ at: number; peer: PeerId; kind: string }> = [];
    server.onEvent((e) => {
      if (e.type === 'message' && e.message.n === 1n) server.ready(e.peer); // the handshake
      if (e.type === 'disconnected')
        gone.push({ at: scheduler.now(), peer: e.peer, kind: e.reason.kind });
    });
    const polite = node('polite');
    const silent = node('silent');
    const p = await polite.connect(address!);
    const s = await silent.connect(address!);
    // The dialers' own deadlines do not concern this test.
    polite.ready(p);
    silent.ready(s);
    polite.send(p, ping(1));
    await elapse(10);
    const [politePeer, silentPeer] = server.peerIds;
    expect(server.peerStats(politePeer!)?.ready).toBe(true);
    expect(server.peerStats(silentPeer!)?.ready).toBe(false);
    await elapse(120_000);
    expect(gone).toHaveLength(1);
    expect(gone[0]).toMatchObject({ peer: silentPeer, kind: 'handshake-timeout' });
    // Within the deadline plus one housekeeping pass (60000 / 4 ms).
    expect(gone[0]!.at).toBeGreaterThanOrEqual(60_000);
    expect(gone[0]!.at).toBeLessThanOrEqual(60_000 + 15_000 + 100);
    expect(server.peerIds).toEqual([politePeer]);
    expect(server.ready(silentPeer!)).toBe(false);
    expect(server.stats().disconnects).toEqual({ 'handshake-timeout': 1 });
  });

  it('is off by default', async () => {
    const { node, elapse } = world();
    const server = node('server');
    const [address] = await server.listen('server:1');
    await node('c').connect(address!);
    await elapse(3_600_000);
    expect(server.peerCount).toBe(1);
  });

  it('refuses a negative `handshakeTimeout` with `ERR_INVALID_CONFIG`', () => {
    try {
      new Reactor({
        codec: pingPongCodec,
        transport: new MemoryNetwork().transport(),
        handshakeTimeout: -5,
      });
      expect.unreachable();
    } catch (error) {
      expect(PeerlinkError.isInstance(error) && error.code).toBe('ERR_INVALID_CONFIG');
    }
  });
});
