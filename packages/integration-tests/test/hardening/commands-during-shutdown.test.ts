/**
 * Commands issued while a shutdown runs, from the event handlers the shutdown itself calls: from
 * the moment `shutdown()` is called every new command fails with `ERR_SHUTDOWN`, a connect that
 * completes after that is closed and never becomes a peer, and once `await shutdown()` returns
 * nothing is left: no peer, no socket, no timer.
 */
import type { PeerId, ReactorEvent } from '@peerlink/reactor';
import type { Connection, Transport } from '@peerlink/stream';
import { describe, expect, it } from 'vitest';
import { isType } from '../../../reactor/test/fixtures.js';
import { trapCodec } from './codecs.js';
import { resourceCounts, until, useHardening, type Watched } from './guard.js';
import { memoryNet, type TestNet, tcpNet } from './nets.js';

const h = useHardening();

const nets: Array<[string, () => TestNet]> = [
  ['TCP', () => tcpNet(h)],
  ['the memory network', () => memoryNet(h, { seed: 9 })],
];

describe.each(nets)('commands from event handlers during shutdown over %s', (_name, makeNet) => {
  it('refuses a connect made by a `disconnected` handler with ERR_SHUTDOWN: after `await shutdown()` no peer, socket or timer is left', async () => {
    const n = makeNet();
    const server = h.reactor({
      codec: trapCodec,
      transport: n.transport('server'),
      name: 'server',
    });
    const [address] = await server.r.listen(n.listenAddress);
    const baseline = resourceCounts();
    const attempts: Array<Promise<PeerId>> = [];
    const listens: Array<Promise<string[]>> = [];
    let client!: Watched<Uint8Array>;
    client = h.reactor(
      { codec: trapCodec, transport: n.transport('client'), name: 'client' },
      (event: ReactorEvent<Uint8Array>) => {
        if (event.type !== 'disconnected') return;
        // Reconnect-on-disconnect, as an application might: during shutdown it must be refused.
        attempts.push(client.r.connect(address!));
        const listen = client.r.listen(n.listenAddress);
        listen.catch(() => {}); // asserted below
        listens.push(listen);
      },
    );
    for (let i = 0; i < 3; i++) await client.r.connect(address!);
    await until(() => server.r.peerCount === 3, 'the server to accept 3 peers');
    await client.r.shutdown({ flushTimeout: 1000 });
    expect(attempts).toHaveLength(3);
    for (const attempt of attempts)
      await expect(attempt).rejects.toMatchObject({ code: 'ERR_SHUTDOWN' });
    for (const listen of listens)
      await expect(listen).rejects.toMatchObject({ code: 'ERR_SHUTDOWN' });
    expect(client.r.peerCount).toBe(0);
    expect(client.r.stats()).toMatchObject({
      peers: 0,
      closing: 0,
      pendingConnects: 0,
      listeners: 0,
    });
    expect(client.rec.events.filter(isType('connected'))).toHaveLength(3);
    expect(client.rec.events.filter(isType('connect-failed'))).toHaveLength(3);
    // The server saw only the three original peers, and each is gone.
    await until(() => server.r.peerCount === 0, "the server's peers to go");
    expect(server.rec.events.filter(isType('accepted'))).toHaveLength(3);
    // No socket or timer of the client outlives its shutdown (the server's listener remains).
    await until(() => {
      const now = resourceCounts();
      return (
        (now.TCPSocketWrap ?? 0) <= (baseline.TCPSocketWrap ?? 0) &&
        (now.Timeout ?? 0) <= (baseline.Timeout ?? 0)
      );
    }, 'the client to release every socket and timer');
  });
});

describe('a connect that completes after shutdown began', () => {
  it('is closed and never becomes a peer, even from a transport that ignores the abort signal', async () => {
    const n = memoryNet(h, { seed: 2 });
    const server = h.reactor({
      codec: trapCodec,
      transport: n.transport('server'),
      name: 'server',
    });
    const [address] = await server.r.listen(n.listenAddress);
    const real = n.transport('client');
    // Connects for real, but hands the connection over only when the test says so.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let made: Connection | undefined;
    const late: Transport = {
      listen: (a, handler) => real.listen(a, handler),
      connect: async (target) => {
        made = await real.connect(target);
        await gate;
        return made;
      },
    };
    const client = h.reactor({ codec: trapCodec, transport: late, name: 'client' });
    const pending = client.r.connect(address!);
    await until(() => made !== undefined, 'the transport to connect');
    const done = client.r.shutdown();
    release();
    await expect(pending).rejects.toMatchObject({ code: 'ERR_SHUTDOWN' });
    await done;
    expect(client.r.peerCount).toBe(0);
    expect(client.rec.events.filter(isType('connected'))).toHaveLength(0);
    // The server's side of the late connection is closed too.
    await until(() => server.r.peerCount === 0, 'the late connection to close');
  });
});
