import { type PeerId, Reactor, type ReactorEvent, type ReactorOptions } from '@peerlink/reactor';
import { tcpTransport } from '@peerlink/transport-tcp';
import { afterEach, describe, expect, it } from 'vitest';
import { type PingPong, pingPongCodec } from '../../reactor/test/fixtures.js';

const reactors: Reactor<PingPong>[] = [];
afterEach(async () => {
  await Promise.all(reactors.splice(0).map((r) => r.shutdown({ flushTimeout: 0 })));
});

function node(options: Partial<ReactorOptions<PingPong>> = {}) {
  const r = new Reactor({ codec: pingPongCodec, transport: tcpTransport(), ...options });
  reactors.push(r);
  const events: ReactorEvent<PingPong>[] = [];
  let wake: () => void = () => {};
  r.onEvent((e) => {
    events.push(e);
    wake();
  });
  const until = async (test: () => boolean) => {
    while (!test()) await new Promise<void>((resolve) => (wake = resolve));
  };
  return { r, events, until };
}

/** Connects and waits until the connection either failed, or ended, or is still up after a round trip of the server. */
async function outcome(dialer: ReturnType<typeof node>, address: string) {
  let peer: PeerId;
  try {
    peer = await dialer.r.connect(address);
  } catch (error) {
    return { kind: 'connect-failed', code: (error as { code?: string }).code };
  }
  await dialer.until(() => dialer.events.some((e) => e.type === 'disconnected' && e.peer === peer));
  const gone = dialer.events.find((e) => e.type === 'disconnected' && e.peer === peer) as {
    reason: { kind: string; error?: { code?: string } };
  };
  return { kind: gone.reason.kind, code: gone.reason.error?.code };
}

describe('admission over TCP', () => {
  it('resets a refused inbound: the dialer sees ECONNRESET (a failed connect, or an error right after), never a clean `left`', async () => {
    const server = node({ maxInbound: 1 });
    const [address] = await server.r.listen('127.0.0.1:0');
    const keeper = node();
    await keeper.r.connect(address!);
    await server.until(() => server.r.peerCount === 1);
    for (let i = 0; i < 5; i++) {
      const seen = await outcome(node(), address!);
      expect(['connect-failed', 'error']).toContain(seen.kind);
      expect(seen.code).toBe('ECONNRESET');
    }
    expect(server.r.stats().refused).toEqual({ limit: 5 });
  });

  it('bans 127.0.0.1: disconnects the peers from it, refuses new ones, fails connects to it', async () => {
    const server = node();
    const [address] = await server.r.listen('127.0.0.1:0');
    const client = node();
    await client.r.connect(address!);
    await server.until(() => server.r.peerCount === 1);
    expect(server.r.ban('127.0.0.1', 60_000)).toBe(1);
    expect(server.events.filter((e) => e.type === 'disconnected')).toMatchObject([
      { reason: { kind: 'banned' } },
    ]);
    const seen = await outcome(node(), address!);
    expect(seen.code).toBe('ECONNRESET');
    const other = node();
    const [otherAddress] = await other.r.listen('127.0.0.1:0');
    await expect(server.r.connect(otherAddress!)).rejects.toMatchObject({ code: 'ERR_BANNED' });
    expect(server.r.unban('127.0.0.1')).toBe(true);
    await expect(server.r.connect(otherAddress!)).resolves.toBeTypeOf('number');
  });

  it('applies `maxInboundPerAddress`, `acceptRate` and `evictInbound` to loopback connections', async () => {
    const limited = node({ maxInboundPerAddress: 1 });
    const [a1] = await limited.r.listen('127.0.0.1:0');
    await node().r.connect(a1!);
    await limited.until(() => limited.r.peerCount === 1);
    expect((await outcome(node(), a1!)).code).toBe('ECONNRESET');
    expect(limited.r.stats().refused).toEqual({ 'address-limit': 1 });

    const rated = node({ acceptRate: { perSecond: 0.001, burst: 1 } });
    const [a2] = await rated.r.listen('127.0.0.1:0');
    await node().r.connect(a2!);
    await rated.until(() => rated.r.peerCount === 1);
    expect((await outcome(node(), a2!)).code).toBe('ECONNRESET');
    expect(rated.r.stats().refused).toEqual({ rate: 1 });

    const evicting = node({
      maxInbound: 2,
      evictInbound: { protectRecent: 0, protectLongLived: 0 },
    });
    const [a3] = await evicting.r.listen('127.0.0.1:0');
    for (let i = 0; i < 3; i++) {
      await node().r.connect(a3!);
      await evicting.until(
        () => evicting.events.filter((e) => e.type === 'accepted').length === i + 1,
      );
    }
    const accepted = evicting.events.filter((e) => e.type === 'accepted') as Array<{
      peer: PeerId;
    }>;
    // The youngest of the two went to make room for the third.
    expect(evicting.events.filter((e) => e.type === 'disconnected')).toMatchObject([
      { peer: accepted[1]!.peer, reason: { kind: 'evicted' } },
    ]);
    expect(evicting.r.peerIds).toEqual([accepted[0]!.peer, accepted[2]!.peer]);
  });

  it('aborts a TCP `listen` with its signal and leaves the port free', async () => {
    const r = node();
    await expect(r.r.listen('127.0.0.1:0', { signal: AbortSignal.abort() })).rejects.toMatchObject({
      code: 'ERR_ABORTED',
    });
    expect(r.r.listenAddresses).toEqual([]);
  });
});
