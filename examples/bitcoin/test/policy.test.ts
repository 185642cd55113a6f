import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import type { Connector, PeerId, Reactor, ReactorEvent } from 'peerlink';
import { afterEach, describe, expect, it } from 'vitest';
import type { BitcoinMessage } from '../src/codec.js';
import type { BitcoinPeer } from '../src/node.js';
import {
  BAN_TIME,
  CORE_POLICY,
  type NodePolicy,
  type StartOptions,
  startBitcoinNode,
} from '../src/policy.js';

type Node = Awaited<ReturnType<typeof startBitcoinNode>>;
type Event = ReactorEvent<BitcoinMessage, BitcoinPeer>;

const stops: Array<() => unknown> = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

/** A node on 127.0.0.1:0 with Core's policy changed by `policy`. */
async function node(policy: NodePolicy = {}, options: StartOptions = {}): Promise<Node> {
  const n = await startBitcoinNode({ ...options, policy });
  stops.push(() => n.reactor.shutdown({ flushTimeout: 0 }));
  return n;
}

/** A node whose connections come from `localAddress`: another loopback address, another host. */
function nodeFrom(localAddress: string, policy: NodePolicy = {}): Promise<Node> {
  const connector: Connector = (target, { signal }) =>
    new Promise((resolve, reject) => {
      const socket = connect({ ...target, localAddress, signal, allowHalfOpen: true });
      socket.once('error', reject).once('connect', () => resolve(socket.pause()));
    });
  return node({ ...policy, tcp: { connector } });
}

/** The next event of `reactor` that passes `test`, from a listener that removes itself. */
function next(
  reactor: Reactor<BitcoinMessage, BitcoinPeer>,
  test: (e: Event) => boolean,
): Promise<Event> {
  return new Promise((resolve) => {
    const stop = reactor.onEvent((e) => {
      if (!test(e)) return;
      stop();
      resolve(e);
    });
  });
}

/** `from` connects to `to` and both complete version/verack; resolves with `to`'s id for it. */
async function handshake(from: Node, to: Node): Promise<PeerId> {
  const inbound = to.node.nextInbound();
  const peer = await from.reactor.connect(to.reactor.listenAddresses[0]!);
  await from.node.handshake(peer);
  return inbound;
}

/**
 * `from` dials `to`, whose policy refuses it: what the dialer sees, as an error code. A refused
 * connection is reset, so it is `ECONNRESET`, either as the connect's failure or as the
 * `disconnected` reason right after `connected`; never a clean `left`.
 */
async function refusedDial(from: Node, to: Node): Promise<string | undefined> {
  const outcome = next(
    from.reactor,
    (e) => e.type === 'connect-failed' || e.type === 'disconnected',
  );
  from.reactor.connect(to.reactor.listenAddresses[0]!).catch(() => {});
  const e = await outcome;
  if (e.type === 'connect-failed') return e.error.code;
  if (e.type === 'disconnected')
    return e.reason.kind === 'error' ? e.reason.error.code : e.reason.kind;
  return undefined;
}

/** A raw TCP connection to `to` that speaks no Bitcoin. */
function rawSocket(to: Node): Socket {
  const [host, port] = to.reactor.listenAddresses[0]!.split(':');
  return connect({ host: host!, port: Number(port) }).on('error', () => {});
}

describe('a Bitcoin node with Core’s connection policy (TCP, loopback)', () => {
  it('completes version/verack both ways, marks the peer ready and keeps its version as its state', async () => {
    const a = await node();
    const b = await node({}, { userAgent: '/b:1.0/' });
    const inbound = await handshake(b, a);
    const stats = a.reactor.peerStats(inbound)!;
    expect(stats.ready).toBe(true);
    expect(stats.state?.version?.userAgent).toBe('/b:1.0/');
    expect(stats.state?.outbound).toBe(false);
    const [outbound] = b.reactor.peerIds;
    expect(b.reactor.peerStats(outbound!)).toMatchObject({ ready: true, direction: 'outbound' });
  });

  it('drops a connection that sends no `version` within `handshakeTimeout`', async () => {
    const a = await node({ handshakeTimeout: 200 });
    const dropped = next(a.reactor, (e) => e.type === 'disconnected');
    const socket = rawSocket(a);
    expect(await dropped).toMatchObject({ reason: { kind: 'handshake-timeout' } });
    await once(socket, 'close');
  });

  it('drops a peer silent for `idleTimeout`', async () => {
    const a = await node({ idleTimeout: 300 });
    const b = await node();
    const dropped = next(a.reactor, (e) => e.type === 'disconnected');
    await handshake(b, a);
    expect(await dropped).toMatchObject({ reason: { kind: 'idle' } });
  });

  it('keeps a peer that answers its pings (every `pingInterval`) past `idleTimeout`', async () => {
    const a = await node({ idleTimeout: 300 }, { pingInterval: 50 });
    const b = await node({ idleTimeout: 300 }, { pingInterval: 50 });
    let pings = 0;
    const tenPings = next(
      a.reactor,
      (e) => e.type === 'message' && e.message.type === 'ping' && ++pings === 10,
    );
    await handshake(b, a);
    await tenPings; // 500 ms of pings, each answered: longer than `idleTimeout`
    expect(a.reactor.peerCount).toBe(1);
    expect(a.reactor.stats().disconnects).toEqual({});
  });

  it('bans a peer that breaks the protocol for 24 h and refuses its new connections', async () => {
    const a = await node();
    const dropped = next(a.reactor, (e) => e.type === 'disconnected');
    const mallory = rawSocket(a);
    mallory.write(Buffer.alloc(24, 0x41)); // not the network magic: malformed at its first byte
    expect(await dropped).toMatchObject({ reason: { kind: 'codec-violation' } });
    const [ban] = a.reactor.bans();
    expect(ban?.target).toBe('127.0.0.1');
    expect(ban!.until - performance.now()).toBeGreaterThan(BAN_TIME - 60_000);
    const again = rawSocket(a);
    const [error] = (await once(again, 'error')) as [NodeJS.ErrnoException];
    expect(error.code).toBe('ECONNRESET');
    expect(a.reactor.stats().refused.banned).toBe(1);
  });

  it('refuses more than `maxInboundPerAddress` connections from one address, with a reset', async () => {
    const a = await node({ maxInboundPerAddress: 1 });
    await handshake(await node(), a);
    expect(await refusedDial(await node(), a)).toBe('ECONNRESET');
    await handshake(await nodeFrom('127.0.0.2'), a); // another address is welcome
    expect(a.reactor.stats().refused['address-limit']).toBe(1);
  });

  it('refuses more than `maxInboundPerPrefix` from one network group (/16, as Core)', async () => {
    const a = await node({ maxInboundPerPrefix: 2 });
    expect(CORE_POLICY.prefixLength.ipv4).toBe(16);
    await handshake(await nodeFrom('127.1.0.2'), a);
    await handshake(await nodeFrom('127.1.0.3'), a);
    expect(await refusedDial(await nodeFrom('127.1.9.9'), a)).toBe('ECONNRESET');
    await handshake(await nodeFrom('127.2.0.2'), a);
    expect(a.reactor.stats().refused['prefix-limit']).toBe(1);
  });

  it('refuses connections beyond the `acceptRate` bucket', async () => {
    const a = await node({ acceptRate: { perSecond: 0.001, burst: 2 } });
    await handshake(await node(), a);
    await handshake(await node(), a);
    expect(await refusedDial(await node(), a)).toBe('ECONNRESET');
    expect(a.reactor.stats().refused.rate).toBe(1);
  });

  it('evicts, when full, the youngest peer of the largest group, sparing the recently useful and the long-lived', async () => {
    let now = 0; // the node's clock: each step one second later
    const a = await node({
      maxInbound: 4,
      evictInbound: { protectRecent: 1, protectLongLived: 0.5 },
      clock: () => now,
    });
    const ids: PeerId[] = [];
    const dialers: Node[] = [];
    for (const from of ['127.0.0.2', '127.1.0.2', '127.1.0.3', '127.1.0.4']) {
      now += 1000;
      const d = await nodeFrom(from);
      dialers.push(d);
      ids.push(await handshake(d, a));
    }
    now += 1000;
    await dialers[2]!.node.ping(dialers[2]!.reactor.peerIds[0]!); // 127.1.0.3 is useful
    now += 1000;
    const evicted = next(a.reactor, (e) => e.type === 'disconnected');
    await handshake(await nodeFrom('127.9.0.2'), a);
    // Protected: 127.1.0.3 (sent bytes last), 127.0.0.2 (the longest-lived half of the rest).
    // Left: 127.1.0.2 and 127.1.0.4, one group; its youngest goes.
    expect(await evicted).toMatchObject({ peer: ids[3], reason: { kind: 'evicted' } });
    expect(a.reactor.peerCount).toBe(4);
    expect(a.reactor.stats().disconnects.evicted).toBe(1);
  });

  it('caps outbound connections at `maxOutbound`', async () => {
    const a = await node({ maxOutbound: 1 });
    await handshake(a, await node());
    await expect(
      a.reactor.connect((await node()).reactor.listenAddresses[0]!),
    ).rejects.toMatchObject({
      code: 'ERR_OUTBOUND_LIMIT',
    });
  });

  const ss = spawnSync('ss', ['-V']).status === 0;
  it.skipIf(!ss)(
    'turns TCP keep-alive on for its connections (`tcp.keepAlive`, checked with ss; skipped without ss, Debian iproute2)',
    async () => {
      const a = await node();
      await handshake(await node(), a);
      const port = a.reactor.listenAddresses[0]!.split(':')[1];
      const out = spawnSync('ss', ['-tnoH', 'state', 'established', `( sport = :${port} )`], {
        encoding: 'utf8',
      }).stdout;
      expect(out).toContain('timer:(keepalive');
    },
  );
});
