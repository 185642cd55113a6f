import { type Logger, Reactor, type ReactorEvent } from '@peerlink/reactor';
import { MemoryNetwork } from '@peerlink/transport-memory';
import { afterEach, describe, expect, it } from 'vitest';
import { bytesCodec, isType, pattern, Recorder } from './fixtures.js';

describe('reactor observability', () => {
  const reactors: Reactor<Uint8Array>[] = [];
  afterEach(async () => {
    await Promise.all(reactors.splice(0).map((r) => r.shutdown({ flushTimeout: 0 })));
  });

  async function pair(extra: { telemetry?: boolean; logger?: Logger; name?: string } = {}) {
    const network = new MemoryNetwork({ seed: 1, defaults: { chunking: false } });
    const server = new Reactor({ codec: bytesCodec, transport: network.transport(), ...extra });
    const client = new Reactor({ codec: bytesCodec, transport: network.transport(), ...extra });
    reactors.push(server, client);
    const serverEvents = new Recorder(server);
    const clientEvents = new Recorder(client);
    const [address] = await server.listen('server:0');
    const peer = await client.connect(address!);
    const accepted = await serverEvents.waitFor(isType('accepted'));
    return {
      server,
      client,
      serverEvents,
      clientEvents,
      peer,
      serverPeer: (accepted as { peer: number }).peer,
    };
  }

  it('reads every time from the injected clock (`connectedAt`, ages), never the wall clock', async () => {
    let now = 5_000_000;
    const clock = () => now;
    const network = new MemoryNetwork({ seed: 1, defaults: { chunking: false } });
    const server = new Reactor({ codec: bytesCodec, transport: network.transport(), clock });
    const client = new Reactor({ codec: bytesCodec, transport: network.transport(), clock });
    reactors.push(server, client);
    const [address] = await server.listen('server:0');
    const peer = await client.connect(address!);
    expect(client.peerStats(peer)!.connectedAt).toBe(5_000_000);
    now += 250;
    expect(client.stats().peerStats[0]!.connectedAt).toBe(5_000_000);
  });

  it('reports in `stats()` exactly what a scripted exchange sent and received', async () => {
    const { server, client, serverEvents, peer, serverPeer } = await pair();
    const sizes = [1, 100, 10_000, 70_000];
    for (const n of sizes) client.send(peer, pattern(n));
    await serverEvents.waitForCount(isType('message'), sizes.length);
    const wire = sizes.reduce((a, n) => a + n + 4, 0);
    const c = client.peerStats(peer)!;
    expect(c).toMatchObject({
      peer,
      direction: 'outbound',
      messagesOut: 4,
      bytesOut: wire,
      messagesIn: 0,
      bytesIn: 0,
      bytesQueued: 0,
      oldestQueuedAge: undefined,
      paused: false,
    });
    const s = server.stats();
    expect(s).toMatchObject({
      peers: 1,
      listeners: 1,
      pendingConnects: 0,
      pausedPeers: 0,
      queuedEvents: 0,
    });
    expect(s.peerStats[0]).toMatchObject({
      peer: serverPeer,
      direction: 'inbound',
      messagesIn: 4,
      bytesIn: wire,
      remoteAddress: c.localAddress,
      localAddress: c.remoteAddress,
    });
    expect(s.peerStats[0]!.connectedAt).toBeLessThanOrEqual(Date.now());
    expect(server.stats({ peers: false }).peerStats).toEqual([]);
    // Totals outlive the peers they count.
    client.disconnect(peer);
    await serverEvents.waitFor(isType('disconnected'));
    expect(server.stats({ peers: false })).toMatchObject({
      peers: 0,
      totals: { messagesIn: 4, bytesIn: wire, messagesOut: 0, bytesOut: 0 },
    });
    expect(client.stats().totals).toMatchObject({ messagesOut: 4, bytesOut: wire });
    expect(client.peerStats(123_456_789)).toBeUndefined();
  });

  it('emits `outbound-telemetry` whose deltas add up to the queued bytes, only when asked', async () => {
    const off = await pair();
    off.client.send(off.peer, pattern(10));
    await off.serverEvents.waitFor(isType('message'));
    expect(off.clientEvents.events.some(isType('outbound-telemetry'))).toBe(false);

    const { client, clientEvents, peer, serverEvents } = await pair({ telemetry: true });
    let sent = 0;
    for (let round = 0; round < 20; round++) {
      while (client.send(peer, pattern(30_000)) === 'queued') sent++;
      await client.drained(peer);
    }
    await serverEvents.waitForCount(isType('message'), sent);
    const tele = clientEvents.events.filter(
      (e): e is Extract<ReactorEvent<Uint8Array>, { type: 'outbound-telemetry' }> =>
        e.type === 'outbound-telemetry',
    );
    expect(tele.length).toBeGreaterThan(0);
    let sum = 0;
    for (const t of tele) {
      sum += t.delta;
      expect(t.bytesQueued).toBe(sum);
      expect(t.bytesFree).toBe(Math.max(0, client.config.txLimit - t.bytesQueued));
    }
    expect(sum).toBe(client.peerStats(peer)!.bytesQueued);
    const grown = tele.filter((t) => t.delta > 0).reduce((a, t) => a + t.delta, 0);
    expect(grown).toBe(sent * 30_004);
    // No telemetry for a peer after its `disconnected` event, even while its queue flushes.
    while (client.send(peer, pattern(30_000)) === 'queued') {}
    client.disconnect(peer);
    const at = clientEvents.events.findIndex(isType('disconnected', peer));
    await serverEvents.waitFor(isType('disconnected'));
    expect(clientEvents.events.slice(at + 1).some(isType('outbound-telemetry'))).toBe(false);
  });

  it('writes the documented debug records to an injected logger, with the reactor name', async () => {
    const records: Array<{ level: string; record: Record<string, unknown>; message: string }> = [];
    const at =
      (level: string) =>
      (record: object, message: string): void => {
        records.push({ level, record: record as Record<string, unknown>, message });
      };
    const logger: Logger = {
      debug: at('debug'),
      info: at('info'),
      warn: at('warn'),
      error: at('error'),
    };
    const { client, peer, server, serverEvents, serverPeer } = await pair({ logger, name: 'n1' });
    client.send(peer, pattern(5));
    await serverEvents.waitFor(isType('message'));
    // Nothing on the per-message path by default.
    expect(records.some((r) => r.message.includes('message'))).toBe(false);
    server.disconnect(serverPeer);
    await serverEvents.waitFor(isType('disconnected'));
    const messages = records.map((r) => r.message);
    expect(messages).toContain('[n1] listening');
    expect(messages).toContain('[n1] connected');
    expect(messages).toContain('[n1] accepted');
    const disc = records.find(
      (r) => r.message === '[n1] disconnected' && r.record.peer === serverPeer,
    );
    expect(disc?.record).toMatchObject({ reason: 'requested' });
    expect(records.every((r) => r.level === 'debug')).toBe(true);
  });

  it('logs codec violations with their code', async () => {
    const records: Array<{ record: Record<string, unknown>; message: string }> = [];
    const push = (record: object, message: string) =>
      void records.push({ record: record as Record<string, unknown>, message });
    const logger: Logger = { debug: push, info: push, warn: push, error: push };
    const network = new MemoryNetwork({ seed: 2 });
    const small = (await import('./fixtures.js')).smallCodec;
    const server = new Reactor({ codec: small, transport: network.transport(), logger });
    const client = new Reactor({ codec: bytesCodec, transport: network.transport() });
    reactors.push(server, client);
    const rec = new Recorder(server);
    const [address] = await server.listen('server:0');
    const peer = await client.connect(address!);
    client.send(peer, pattern(5000)); // above the server codec's maxSize
    await rec.waitFor(isType('disconnected'));
    expect(records.find((r) => r.message === 'codec violation')?.record).toMatchObject({
      code: 'ERR_MALFORMED_MESSAGE',
    });
  });
});
