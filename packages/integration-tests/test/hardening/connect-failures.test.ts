import { getEventListeners } from 'node:events';
import net from 'node:net';
import type { PeerlinkError } from '@peerlink/codec';
import type { ReactorEvent } from '@peerlink/reactor';
import { type Lookup, tcpTransport } from '@peerlink/transport-tcp';
import { describe, expect, it } from 'vitest';
import { isType } from '../../../reactor/test/fixtures.js';
import { trapCodec } from './codecs.js';
import { bystander, portOf, useHardening, type Watched } from './guard.js';

const h = useHardening();

type ConnectFailed = Extract<ReactorEvent<unknown>, { type: 'connect-failed' }>;

/** A port on 127.0.0.1 and ::1 that nobody listens on (bound once, then closed). */
async function closedPort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/**
 * `localhost` as a dual-stack host resolves it: `::1` first, then `127.0.0.1` (this machine's
 * /etc/hosts lists only the IPv4 one, so the resolver is injected to get both).
 */
const dualStackLookup: Lookup = async (hostname) => {
  if (hostname !== 'localhost') throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
  return [
    { address: '::1', family: 6 },
    { address: '127.0.0.1', family: 4 },
  ];
};

/**
 * What the system resolver answers for a `.invalid` name (RFC 6761: never resolves). Emulated
 * rather than asked: the configured DNS server is not on loopback, and these tests send
 * nothing off the machine.
 */
const invalidLookup: Lookup = async (hostname) => {
  if (hostname.endsWith('.invalid')) {
    throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), {
      code: 'ENOTFOUND',
      hostname,
    });
  }
  return [{ address: '127.0.0.1', family: 4 }];
};

/**
 * Gives `client` an established peer (to a server on 127.0.0.1) before the failing connect, and
 * returns a check that it still works afterwards: the failure touched no other peer.
 */
async function existingPeer(client: Watched<Uint8Array>): Promise<() => Promise<void>> {
  const server = h.reactor({ codec: trapCodec, transport: tcpTransport(), name: 'other-server' });
  const [address] = await server.r.listen('127.0.0.1:0');
  const peer = await client.r.connect(address!);
  const accepted = (await server.rec.waitFor(isType('accepted'))) as { peer: number };
  let rounds = 0;
  return async () => {
    rounds++;
    client.r.send(peer, Uint8Array.of(rounds));
    await server.rec.waitForCount(isType('message', accepted.peer), rounds);
    server.r.send(accepted.peer, Uint8Array.of(rounds));
    await client.rec.waitForCount(isType('message', peer), rounds);
    expect(client.rec.disconnects(peer)).toEqual([]);
  };
}

describe('connect failures over TCP', () => {
  it('exposes `ECONNREFUSED` for a refused connect to `localhost` on both address families', async () => {
    const port = await closedPort();
    const r = h.reactor({ codec: trapCodec, transport: tcpTransport({ lookup: dualStackLookup }) });
    const stillWorks = await existingPeer(r);
    const failure = r.r.connect(`localhost:${port}`);
    await expect(failure).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    const e = (await r.rec.waitFor(isType('connect-failed'))) as ConnectFailed;
    expect(e.target).toBe(`localhost:${port}`);
    expect((e.error as PeerlinkError).code).toBe('ECONNREFUSED');
    await stillWorks();
  });

  it("exposes `ECONNREFUSED` when Node's own dual-stack connect throws an `AggregateError`", async () => {
    const port = await closedPort();
    // A connector that lets Node try both families itself (`autoSelectFamily`): when both are
    // refused, Node fails with an AggregateError whose own `code` is ECONNREFUSED only by luck
    // of ordering; the transport must surface ECONNREFUSED whatever the wrapping.
    let seen: unknown;
    const transport = tcpTransport({
      connector: (target, { signal }) =>
        new Promise((resolve, reject) => {
          const s = net.connect({
            host: target.host,
            port: target.port,
            autoSelectFamily: true,
            autoSelectFamilyAttemptTimeout: 100,
            lookup: (_host, _options, callback) =>
              (callback as (e: null, a: { address: string; family: number }[]) => void)(null, [
                { address: '::1', family: 6 },
                { address: '127.0.0.1', family: 4 },
              ]),
          });
          s.once('connect', () => resolve(s));
          s.once('error', (error) => {
            seen = error;
            reject(error);
          });
          signal.addEventListener('abort', () => s.destroy(), { once: true });
        }),
    });
    const r = h.reactor({ codec: trapCodec, transport });
    const stillWorks = await existingPeer(r);
    seen = undefined;
    await expect(r.r.connect(`localhost:${port}`)).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    });
    expect(seen).toBeInstanceOf(AggregateError);
    const e = (await r.rec.waitFor(isType('connect-failed'))) as ConnectFailed;
    expect((e.error as PeerlinkError).code).toBe('ECONNREFUSED');
    await stillWorks();
  });

  it('fails a `.invalid` name with its own code, the resolver error as cause', async () => {
    const r = h.reactor({ codec: trapCodec, transport: tcpTransport({ lookup: invalidLookup }) });
    const stillWorks = await existingPeer(r);
    const failure = r.r.connect('no-such-peer.invalid:8333');
    await expect(failure).rejects.toMatchObject({
      code: 'ERR_DNS',
      cause: { code: 'ENOTFOUND' },
    });
    const e = (await r.rec.waitFor(isType('connect-failed'))) as ConnectFailed;
    expect(e.target).toBe('no-such-peer.invalid:8333');
    expect((e.error as PeerlinkError).code).toBe('ERR_DNS');
    await stillWorks();
  });

  it('counts a slow DNS lookup against `connectTimeout` and blocks no other peer', async () => {
    // The server, and a bystander talking to it through the same client reactor.
    const server = h.reactor({ codec: trapCodec, transport: tcpTransport(), name: 'server' });
    const [address] = await server.r.listen('127.0.0.1:0');
    let lookups = 0;
    const pendingLookups: Array<() => void> = [];
    // A resolver that answers `slow.test` only when the test lets it (never, here) and any other
    // name at once; it honours the abort signal.
    const lookup: Lookup = (hostname, { signal }) => {
      lookups++;
      if (hostname !== 'slow.test') return Promise.resolve([{ address: '127.0.0.1', family: 4 }]);
      return new Promise((resolve, reject) => {
        pendingLookups.push(() => resolve([{ address: '127.0.0.1', family: 4 }]));
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      });
    };
    const client = h.reactor({
      codec: trapCodec,
      transport: tcpTransport({ lookup }),
      config: { connectTimeout: 600 },
      name: 'client',
    });
    const started = performance.now();
    const slow = client.r.connect(`slow.test:${portOf(address!)}`);
    let slowSettled = false;
    slow.then(
      () => {
        slowSettled = true;
      },
      () => {
        slowSettled = true;
      },
    );
    // While the lookup hangs, the same reactor connects elsewhere and exchanges messages.
    const fast = await client.r.connect(`fast.test:${portOf(address!)}`);
    const accepted = (await server.rec.waitFor(isType('accepted'))) as { peer: number };
    for (let i = 0; i < 10; i++) {
      client.r.send(fast, Uint8Array.of(i + 1));
      await server.rec.waitForCount(isType('message', accepted.peer), i + 1);
      server.r.send(accepted.peer, Uint8Array.of(i + 1));
      await client.rec.waitForCount(isType('message', fast), i + 1);
    }
    // All of that happened while the slow connect was still waiting on its lookup.
    expect(slowSettled).toBe(false);
    await expect(slow).rejects.toMatchObject({ code: 'ERR_CONNECT_TIMEOUT' });
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(590);
    expect(elapsed).toBeLessThan(2000);
    expect(lookups).toBe(2);
    expect(client.rec.disconnects(fast)).toEqual([]);
    // Nobody else was hurt: a bystander still round-trips.
    const by = await bystander(h, server, address!, {
      codec: trapCodec,
      transport: tcpTransport(),
      sample: Uint8Array.of(9),
    });
    await by.roundTrip();
    for (const resolve of pendingLookups) resolve(); // a late answer changes nothing
    expect(client.r.peerCount).toBe(1);
  });

  it('leaks no listener on an `AbortSignal` reused across 200 connects', async () => {
    const server = h.reactor({ codec: trapCodec, transport: tcpTransport(), name: 'server' });
    const [address] = await server.r.listen('127.0.0.1:0');
    const refused = `127.0.0.1:${await closedPort()}`;
    const client = h.reactor({ codec: trapCodec, transport: tcpTransport(), name: 'client' });
    const controller = new AbortController();
    for (let i = 0; i < 100; i++) {
      const peer = await client.r.connect(address!, { signal: controller.signal });
      client.r.disconnect(peer);
      await expect(client.r.connect(refused, { signal: controller.signal })).rejects.toMatchObject({
        code: 'ECONNREFUSED',
      });
    }
    // Every connect removed what it added (a leak would also warn: the harness fails on that).
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });
});
