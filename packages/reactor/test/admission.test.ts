import { PeerlinkError } from '@peerlink/codec';
import { type PeerId, Reactor, type ReactorEvent, type ReactorOptions } from '@peerlink/reactor';
import { MemoryNetwork, VirtualScheduler } from '@peerlink/transport-memory';
import { afterEach, describe, expect, it } from 'vitest';
import { type PingPong, ping, pingPongCodec } from './fixtures.js';

const reactors: Reactor<PingPong>[] = [];
afterEach(async () => {
  await Promise.all(reactors.splice(0).map((r) => r.shutdown({ flushTimeout: 0 })));
});

/**
 * A server on a simulated network whose hosts are named by IP address (so that their connections
 * come from `10.0.0.1:49152` and the like), on simulated time.
 */
async function world(options: Partial<ReactorOptions<PingPong>> = {}) {
  const scheduler = new VirtualScheduler();
  const network = new MemoryNetwork({ seed: 21, scheduler });
  const server = new Reactor({
    codec: pingPongCodec,
    transport: network.transport('192.0.2.1'),
    timers: scheduler,
    ...options,
  });
  reactors.push(server);
  const events: ReactorEvent<PingPong>[] = [];
  server.onEvent((e) => events.push(e));
  const [address] = await server.listen('192.0.2.1:8333');
  const hosts = new Map<string, Reactor<PingPong>>();
  const host = (name: string) => {
    let r = hosts.get(name);
    if (r === undefined) {
      r = new Reactor({
        codec: pingPongCodec,
        transport: network.transport(name),
        timers: scheduler,
      });
      reactors.push(r);
      hosts.set(name, r);
    }
    return r;
  };
  /** Connects from `name`; resolves with what the dialer saw of it once settled. */
  const dial = async (name: string) => {
    const r = host(name);
    const seen: ReactorEvent<PingPong>[] = [];
    r.onEvent((e) => seen.push(e));
    let peer: PeerId;
    try {
      peer = await r.connect(address!);
    } catch (error) {
      return { outcome: 'connect-failed' as const, error, peer: undefined, seen };
    }
    // Let the server decide, then see whether the connection survived.
    await elapse(10);
    const gone = seen.find((e) => e.type === 'disconnected' && e.peer === peer);
    return gone === undefined
      ? { outcome: 'connected' as const, peer, seen, error: undefined }
      : { outcome: 'refused' as const, peer, seen, error: (gone as { reason: unknown }).reason };
  };
  const elapse = (ms: number) => new Promise<void>((r) => scheduler.setTimeout(r, ms));
  return { scheduler, network, server, address: address!, events, host, dial, elapse };
}

function accepted(events: ReactorEvent<PingPong>[]): string[] {
  return events.flatMap((e) =>
    e.type === 'accepted' ? [e.remoteAddress.slice(0, e.remoteAddress.lastIndexOf(':'))] : [],
  );
}

describe('per-address and per-prefix inbound limits', () => {
  it('refuses a second connection from one address with `maxInboundPerAddress: 1`, with a reset', async () => {
    const { server, dial, events } = await world({ maxInboundPerAddress: 1 });
    expect((await dial('10.0.0.1')).outcome).toBe('connected');
    const second = await dial('10.0.0.1');
    // What the dialer sees: its connect succeeded, then the connection was reset (not `left`).
    expect(second.outcome).toBe('refused');
    expect(second.error).toMatchObject({ kind: 'error', error: { code: 'ECONNRESET' } });
    expect((await dial('10.0.0.2')).outcome).toBe('connected');
    expect(accepted(events)).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(server.stats().refused).toEqual({ 'address-limit': 1 });
  });

  it('groups IPv4 by /24 and IPv6 by /64 for `maxInboundPerPrefix`', async () => {
    const { server, dial, events } = await world({ maxInboundPerPrefix: 2 });
    for (const h of ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.1.1']) await dial(h);
    for (const h of ['2001:db8:0:1::1', '2001:db8:0:1::2', '2001:db8:0:1::3', '2001:db8:0:2::1']) {
      await dial(h);
    }
    expect(accepted(events)).toEqual([
      '10.0.0.1',
      '10.0.0.2',
      '10.0.1.1',
      '[2001:db8:0:1::1]',
      '[2001:db8:0:1::2]',
      '[2001:db8:0:2::1]',
    ]);
    expect(server.stats().refused).toEqual({ 'prefix-limit': 2 });
  });

  it('frees a slot when a peer goes', async () => {
    const { server, dial, events, elapse } = await world({ maxInboundPerAddress: 1 });
    await dial('10.0.0.1');
    const first = server.peerIds[0]!;
    server.disconnect(first);
    await elapse(10);
    expect((await dial('10.0.0.1')).outcome).toBe('connected');
    expect(accepted(events)).toEqual(['10.0.0.1', '10.0.0.1']);
  });

  it('takes prefix lengths from `prefixLength`', async () => {
    const { dial, events } = await world({ maxInboundPerPrefix: 1, prefixLength: { ipv4: 16 } });
    await dial('10.1.0.1');
    await dial('10.1.200.1');
    await dial('10.2.0.1');
    expect(accepted(events)).toEqual(['10.1.0.1', '10.2.0.1']);
  });
});

describe('ban list', () => {
  it('disconnects current matches, refuses new ones, and expires', async () => {
    const { server, dial, events, elapse, scheduler, host, address } = await world();
    await dial('10.0.0.1');
    await dial('10.0.0.2');
    await dial('10.0.1.1');
    const at = scheduler.now();
    expect(server.ban('10.0.0.0/24', 60_000)).toBe(2);
    const gone = events.filter((e) => e.type === 'disconnected');
    expect(gone.map((e) => (e as { reason: unknown }).reason)).toEqual([
      { kind: 'banned' },
      { kind: 'banned' },
    ]);
    expect(server.peerCount).toBe(1);
    expect(server.bans()).toEqual([{ target: '10.0.0.0/24', until: at + 60_000 }]);
    expect((await dial('10.0.0.77')).outcome).toBe('refused');
    expect(server.stats().refused).toEqual({ banned: 1 });
    expect(server.stats().disconnects).toEqual({ banned: 2 });
    // Outbound to a banned address fails before any connection is made.
    host('10.0.0.5');
    await expect(server.connect('10.0.0.5:1')).rejects.toMatchObject({ code: 'ERR_BANNED' });
    await elapse(60_000);
    expect(server.bans()).toEqual([]);
    expect((await dial('10.0.0.77')).outcome).toBe('connected');
    expect(address).toBe('192.0.2.1:8333');
  });

  it('lifts a ban with `unban`, for exactly the target banned', async () => {
    const { server, dial } = await world();
    server.ban('10.0.0.7');
    server.ban('10.9.0.0/16');
    expect(server.unban('10.9.0.0/24')).toBe(false);
    expect(server.unban('10.0.0.7')).toBe(true);
    expect(server.unban('10.0.0.7')).toBe(false);
    expect((await dial('10.0.0.7')).outcome).toBe('connected');
    expect((await dial('10.9.3.4')).outcome).toBe('refused');
    expect(server.bans().map((b) => b.target)).toEqual(['10.9.0.0/16']);
  });

  it('normalizes targets, bans IPv6 prefixes and IPv4-mapped addresses as IPv4, and defaults to 24 h', async () => {
    const { server, scheduler, dial } = await world();
    server.ban('2001:DB8:0:1:0:0:0:99/64');
    server.ban('::ffff:10.3.3.3');
    server.ban('[2001:db8::1]', Number.POSITIVE_INFINITY);
    expect(server.bans()).toEqual([
      { target: '2001:db8:0:1::/64', until: scheduler.now() + 86_400_000 },
      { target: '10.3.3.3', until: scheduler.now() + 86_400_000 },
      { target: '2001:db8::1', until: Number.POSITIVE_INFINITY },
    ]);
    expect((await dial('2001:db8:0:1::5')).outcome).toBe('refused');
    expect((await dial('10.3.3.3')).outcome).toBe('refused');
    expect((await dial('2001:db8:0:2::5')).outcome).toBe('connected');
  });

  it('bans host names on transports without IP addresses', async () => {
    const { server, dial } = await world();
    await dial('mallory');
    expect(server.ban('Mallory')).toBe(1);
    expect((await dial('mallory')).outcome).toBe('refused');
    expect((await dial('alice')).outcome).toBe('connected');
  });

  it('refuses malformed targets and durations with `ERR_INVALID_ARGUMENT`', async () => {
    const { server } = await world();
    for (const [target, ms] of [
      ['10.0.0.0/33', 1],
      ['2001:db8::/129', 1],
      ['host/8', 1],
      ['', 1],
      ['10.0.0.1', 0],
      ['10.0.0.1', Number.NaN],
    ] as const) {
      try {
        server.ban(target, ms);
        expect.unreachable(`${target} ${ms}`);
      } catch (error) {
        expect(PeerlinkError.isInstance(error) && error.code).toBe('ERR_INVALID_ARGUMENT');
      }
    }
  });
});

describe('`maxOutbound`', () => {
  it('fails connects beyond the cap with `ERR_OUTBOUND_LIMIT`, counting connects in progress', async () => {
    const { server, host, elapse } = await world({ maxOutbound: 2 });
    for (const h of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) await host(h).listen(`${h}:1`);
    const failed: ReactorEvent<PingPong>[] = [];
    server.onEvent((e) => {
      if (e.type === 'connect-failed') failed.push(e);
    });
    const a = server.connect('10.0.0.1:1');
    const b = server.connect('10.0.0.2:1'); // still in progress: counts
    await expect(server.connect('10.0.0.3:1')).rejects.toMatchObject({
      code: 'ERR_OUTBOUND_LIMIT',
    });
    expect(failed).toMatchObject([{ target: '10.0.0.3:1', error: { code: 'ERR_OUTBOUND_LIMIT' } }]);
    const first = await a;
    await b;
    expect(server.stats().outbound).toBe(2);
    server.disconnect(first);
    await elapse(1);
    await expect(server.connect('10.0.0.3:1')).resolves.toBeTypeOf('number');
  });
});

describe('`acceptRate`', () => {
  it('refuses connections beyond the token bucket, and refills at `perSecond`', async () => {
    const { server, dial, elapse } = await world({ acceptRate: { perSecond: 2, burst: 3 } });
    const first = await Promise.all([1, 2, 3, 4, 5].map((i) => dial(`10.0.0.${i}`)));
    expect(first.map((r) => r.outcome)).toEqual([
      'connected',
      'connected',
      'connected',
      'refused',
      'refused',
    ]);
    await elapse(1000); // two tokens back
    const second = await Promise.all([6, 7, 8].map((i) => dial(`10.0.0.${i}`)));
    expect(second.map((r) => r.outcome)).toEqual(['connected', 'connected', 'refused']);
    expect(server.stats().refused).toEqual({ rate: 3 });
  });

  it('spends no token on a banned address', async () => {
    const { server, dial } = await world({ acceptRate: { perSecond: 1, burst: 1 } });
    server.ban('10.6.6.6');
    await dial('10.6.6.6');
    expect((await dial('10.0.0.1')).outcome).toBe('connected');
  });
});

describe('inbound eviction (`evictInbound`)', () => {
  /** Four inbound peers 1 s apart: 10.0.0.1, 10.0.0.2, 10.0.1.1, 10.0.0.3 (youngest). */
  async function full(evictInbound: ReactorOptions<PingPong>['evictInbound']) {
    const w = await world({
      maxInbound: 4,
      ...(evictInbound === undefined ? {} : { evictInbound }),
    });
    const peers = new Map<string, PeerId>();
    for (const h of ['10.0.0.1', '10.0.0.2', '10.0.1.1', '10.0.0.3']) {
      const r = await w.dial(h);
      peers.set(h, r.peer!);
      await w.elapse(1000);
    }
    return { ...w, peers };
  }

  it('refuses the newcomer when off (the default)', async () => {
    const { server, dial } = await full(undefined);
    expect((await dial('10.0.2.1')).outcome).toBe('refused');
    expect(server.stats().refused).toEqual({ limit: 1 });
  });

  it('evicts the youngest peer of the largest prefix group, protecting recent senders and the long-lived', async () => {
    const { server, dial, events, host, peers, elapse } = await full({
      protectRecent: 1,
      protectLongLived: 0.5,
    });
    // 10.0.0.2 is the one that sent something last: protected as recently useful.
    host('10.0.0.2').send(peers.get('10.0.0.2')!, ping(1));
    await elapse(10);
    // Left: 10.0.0.1 (protected: longest connected), 10.0.1.1 and 10.0.0.3; both groups have one
    // candidate each, and 10.0.0.3's is younger: it goes.
    const newcomer = await dial('10.0.2.1');
    expect(newcomer.outcome).toBe('connected');
    const evicted = events.filter((e) => e.type === 'disconnected');
    expect(evicted).toHaveLength(1);
    expect(evicted[0]).toMatchObject({ reason: { kind: 'evicted' } });
    const gone = events.find(
      (e) => e.type === 'accepted' && e.peer === (evicted[0] as { peer: PeerId }).peer,
    );
    expect((gone as { remoteAddress: string }).remoteAddress).toMatch(/^10\.0\.0\.3:/);
    expect(server.peerCount).toBe(4);
    expect(server.stats().disconnects).toEqual({ evicted: 1 });
  });

  it('prefers the group with the most peers', async () => {
    const { dial, events } = await full({ protectRecent: 0, protectLongLived: 0 });
    await dial('10.0.2.1');
    const evicted = events.find((e) => e.type === 'disconnected') as { peer: PeerId };
    const who = events.find((e) => e.type === 'accepted' && e.peer === evicted.peer) as {
      remoteAddress: string;
    };
    // 10.0.0.0/24 holds three peers: its youngest, 10.0.0.3, goes.
    expect(who.remoteAddress).toMatch(/^10\.0\.0\.3:/);
  });

  it('refuses the newcomer when every peer is protected', async () => {
    const { server, dial } = await full({ protectRecent: 4 });
    expect((await dial('10.0.2.1')).outcome).toBe('refused');
    expect(server.peerCount).toBe(4);
  });

  it('refuses invalid settings with `ERR_INVALID_CONFIG` naming the field', () => {
    const network = new MemoryNetwork();
    for (const [options, field] of [
      [{ maxInboundPerAddress: 0 }, 'maxInboundPerAddress'],
      [{ maxInboundPerPrefix: 1.5 }, 'maxInboundPerPrefix'],
      [{ prefixLength: { ipv4: 33 } }, 'prefixLength.ipv4'],
      [{ acceptRate: { perSecond: 0 } }, 'acceptRate.perSecond'],
      [{ acceptRate: { perSecond: 1, burst: 0.5 } }, 'acceptRate.burst'],
      [{ evictInbound: { protectLongLived: 2 } }, 'evictInbound.protectLongLived'],
      [{ maxOutbound: -1 }, 'maxOutbound'],
    ] as const) {
      try {
        new Reactor({ codec: pingPongCodec, transport: network.transport(), ...options });
        expect.unreachable(field);
      } catch (error) {
        expect(PeerlinkError.isInstance(error) && error.code).toBe('ERR_INVALID_CONFIG');
        expect((error as Error).message.startsWith(field)).toBe(true);
      }
    }
  });
});
