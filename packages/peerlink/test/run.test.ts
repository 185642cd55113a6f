import { once } from 'node:events';
import net from 'node:net';
import * as codecPkg from '@peerlink/codec';
import * as queuePointsPkg from '@peerlink/queue-points';
import * as reactorPkg from '@peerlink/reactor';
import * as streamPkg from '@peerlink/stream';
import * as memoryPkg from '@peerlink/transport-memory';
import * as tcpPkg from '@peerlink/transport-tcp';
import * as peerlink from 'peerlink';
import {
  directConnector,
  type HostPort,
  lengthPrefixed,
  type Reactor,
  type ReactorEvent,
  run,
  runWithConnector,
  runWithSocks5Proxy,
} from 'peerlink';
import * as testing from 'peerlink/testing';
import { afterEach, describe, expect, it } from 'vitest';

const codec = lengthPrefixed({ maxSize: 1024 });
const text = (s: string) => new TextEncoder().encode(s);
const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

function track<M>(reactor: Reactor<M>): Reactor<M> {
  cleanup.push(() => reactor.shutdown({ flushTimeout: 0 }));
  return reactor;
}

/** Resolves with the first event of `reactor` that matches `type` (sets the reactor's handler). */
function collect<M>(reactor: Reactor<M>) {
  const events: ReactorEvent<M>[] = [];
  const waiters: Array<{ type: string; resolve: (e: ReactorEvent<M>) => void }> = [];
  reactor.onEvent((event) => {
    events.push(event);
    for (const [i, w] of waiters.entries()) {
      if (w.type === event.type) {
        waiters.splice(i, 1);
        w.resolve(event);
        break;
      }
    }
  });
  return {
    events,
    next<T extends ReactorEvent<M>['type']>(
      type: T,
    ): Promise<Extract<ReactorEvent<M>, { type: T }>> {
      const found = events.find((e) => e.type === type);
      if (found !== undefined) {
        events.splice(events.indexOf(found), 1);
        return Promise.resolve(found as Extract<ReactorEvent<M>, { type: T }>);
      }
      return new Promise((resolve) =>
        waiters.push({ type, resolve: (e) => resolve(e as Extract<ReactorEvent<M>, { type: T }>) }),
      );
    },
  };
}

/** Sends one message from a fresh client to `server` and checks that it arrives intact. */
async function exchange(server: Reactor<Uint8Array>, client: Reactor<Uint8Array>) {
  const serverEvents = collect(server);
  const clientEvents = collect(client);
  const peer = await client.connect(server.listenAddresses[0]!);
  expect((await clientEvents.next('connected')).peer).toBe(peer);
  const accepted = await serverEvents.next('accepted');
  expect(client.send(peer, text('hello over TCP'))).toBe('queued');
  const message = await serverEvents.next('message');
  expect(message.peer).toBe(accepted.peer);
  expect(new TextDecoder().decode(message.message)).toBe('hello over TCP');
  expect(message.size).toBe(4 + 14);
  // And back.
  expect(server.send(accepted.peer, text('hello back'))).toBe('queued');
  const reply = await clientEvents.next('message');
  expect(new TextDecoder().decode(reply.message)).toBe('hello back');
}

describe('run', () => {
  it('starts a reactor on TCP that listens on `listen` and reports the bound port', async () => {
    const server = track(await run({ codec, listen: '127.0.0.1:0' }));
    expect(server.listenAddresses).toHaveLength(1);
    const [host, port] = server.listenAddresses[0]!.split(':');
    expect(host).toBe('127.0.0.1');
    expect(Number(port)).toBeGreaterThan(0);
  });

  it('exchanges messages both ways over real TCP', async () => {
    const server = track(await run({ codec, listen: ['127.0.0.1:0'] }));
    const client = track(await run({ codec }));
    expect(client.listenAddresses).toEqual([]);
    await exchange(server, client);
  });

  it('passes reactor options through (`config`)', async () => {
    const node = track(await run({ codec, config: { txTimeout: 1234, connectTimeout: 321 } }));
    expect(node.config.txTimeout).toBe(1234);
    expect(node.config.connectTimeout).toBe(321);
    expect(node.config.maxSize).toBe(1024);
  });

  it('types the per-peer state as `run<M, S>` and sets it with `acceptState`', async () => {
    const server = await run<Uint8Array, { from: string }>({
      codec,
      listen: '127.0.0.1:0',
      acceptState: ({ remoteAddress }) => ({ from: remoteAddress }),
    });
    cleanup.push(() => server.shutdown({ flushTimeout: 0 }));
    const accepted = new Promise<number>((resolve) =>
      server.onEvent((e) => e.type === 'accepted' && resolve(e.peer)),
    );
    const client = track(await run({ codec }));
    await client.connect(server.listenAddresses[0]!);
    const state: { from: string } | undefined = server.state(await accepted);
    expect(state?.from).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it('rejects with `ERR_LISTEN_FAILED` when an address is in use', async () => {
    const first = track(await run({ codec, listen: '127.0.0.1:0' }));
    const taken = first.listenAddresses[0]!;
    const error = await run({ codec, listen: ['127.0.0.1:0', taken] }).catch((e: unknown) => e);
    expect(peerlink.PeerlinkError.isInstance(error)).toBe(true);
    expect((error as peerlink.PeerlinkError).code).toBe('ERR_LISTEN_FAILED');
    expect(((error as Error).cause as { code?: string }).code).toBe('EADDRINUSE');
  });

  it('reports a refused connect as `connect-failed` with `ECONNREFUSED`', async () => {
    const probe = net.createServer();
    probe.listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const { port } = probe.address() as net.AddressInfo;
    await new Promise((resolve) => probe.close(resolve));
    const client = track(await run({ codec }));
    const events = collect(client);
    const error = await client.connect(`127.0.0.1:${port}`).catch((e: unknown) => e);
    expect((error as { code?: string }).code).toBe('ECONNREFUSED');
    expect((await events.next('connect-failed')).target).toBe(`127.0.0.1:${port}`);
  });
});

describe('runWithConnector', () => {
  it('makes outbound connections with the given connector', async () => {
    const server = track(await run({ codec, listen: '127.0.0.1:0' }));
    const targets: HostPort[] = [];
    const direct = directConnector();
    const client = track(
      await runWithConnector({ codec }, (target, options) => {
        targets.push(target);
        return direct(target, options);
      }),
    );
    await exchange(server, client);
    const [, port] = server.listenAddresses[0]!.split(':');
    expect(targets).toEqual([{ host: '127.0.0.1', port: Number(port) }]);
  });
});

/** A minimal SOCKS5 proxy (no authentication, CONNECT to IPv4 targets) that counts tunnels. */
async function miniSocks5(): Promise<{ address: string; tunnels: string[]; close(): void }> {
  const tunnels: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('error', () => {});
    client.once('data', (greeting) => {
      if (greeting[0] !== 5) return client.destroy();
      client.write(Uint8Array.of(5, 0));
      client.once('data', (request) => {
        if (request[0] !== 5 || request[1] !== 1 || request[3] !== 1) return client.destroy();
        const host = `${request[4]}.${request[5]}.${request[6]}.${request[7]}`;
        const port = (request[8]! << 8) | request[9]!;
        tunnels.push(`${host}:${port}`);
        const upstream = net.connect({ host, port });
        sockets.add(upstream);
        upstream.on('error', () => client.destroy());
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
        upstream.once('connect', () => {
          client.write(Uint8Array.of(5, 0, 0, 1, 0, 0, 0, 0, 0, 0));
          client.pipe(upstream).pipe(client);
        });
      });
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    tunnels,
    close() {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

describe('runWithSocks5Proxy', () => {
  it('connects through the proxy', async () => {
    const proxy = await miniSocks5();
    cleanup.push(() => proxy.close());
    const server = track(await run({ codec, listen: '127.0.0.1:0' }));
    const client = track(await runWithSocks5Proxy({ codec }, { proxy: proxy.address }));
    await exchange(server, client);
    expect(proxy.tunnels).toEqual([server.listenAddresses[0]]);
  });

  it('rejects invalid proxy options with `ERR_INVALID_ARGUMENT`', async () => {
    const error = await runWithSocks5Proxy({ codec }, { proxy: 'no port here' }).catch(
      (e: unknown) => e,
    );
    expect((error as { code?: string }).code).toBe('ERR_INVALID_ARGUMENT');
  });
});

describe('re-exports', () => {
  const packages = {
    '@peerlink/codec': codecPkg,
    '@peerlink/queue-points': queuePointsPkg,
    '@peerlink/stream': streamPkg,
    '@peerlink/reactor': reactorPkg,
    '@peerlink/transport-tcp': tcpPkg,
  };
  for (const [name, pkg] of Object.entries(packages)) {
    it(`re-exports every value export of ${name}, identical`, () => {
      const umbrella = peerlink as Record<string, unknown>;
      for (const [key, value] of Object.entries(pkg)) expect(umbrella[key], key).toBe(value);
    });
  }

  /** The simulator's test tools: on `peerlink/testing` only. */
  const testOnly = ['VirtualScheduler', 'realScheduler'];

  it('re-exports the memory transports of @peerlink/transport-memory, not its test tools', () => {
    const umbrella = peerlink as Record<string, unknown>;
    for (const [key, value] of Object.entries(memoryPkg)) {
      if (testOnly.includes(key)) expect(umbrella[key], key).toBeUndefined();
      else expect(umbrella[key], key).toBe(value);
    }
  });

  it('re-exports every value export of @peerlink/transport-memory on `peerlink/testing`', () => {
    const entry = testing as Record<string, unknown>;
    for (const [key, value] of Object.entries(memoryPkg)) expect(entry[key], key).toBe(value);
    for (const key of testOnly) expect(entry[key], key).toBeDefined();
  });

  it('exports `run`, `runWithConnector` and `runWithSocks5Proxy`', () => {
    expect(typeof peerlink.run).toBe('function');
    expect(typeof peerlink.runWithConnector).toBe('function');
    expect(typeof peerlink.runWithSocks5Proxy).toBe('function');
  });
});
