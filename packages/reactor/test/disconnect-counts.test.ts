import { Reactor } from '@peerlink/reactor';
import { MemoryNetwork } from '@peerlink/transport-memory';
import { afterEach, describe, expect, it } from 'vitest';
import { type PingPong, pingPongCodec } from './fixtures.js';

const reactors: Reactor<PingPong>[] = [];
afterEach(async () => {
  await Promise.all(reactors.splice(0).map((r) => r.shutdown({ flushTimeout: 0 })));
});

describe('stats().disconnects', () => {
  it('counts every disconnect over the reactor’s life by reason kind', async () => {
    const network = new MemoryNetwork({ seed: 5 });
    const server = new Reactor({ codec: pingPongCodec, transport: network.transport('s') });
    const client = new Reactor({ codec: pingPongCodec, transport: network.transport('c') });
    reactors.push(server, client);
    const [address] = await server.listen('s:1');
    expect(server.stats().disconnects).toEqual({});
    let gone = 0;
    server.onEvent((e) => {
      if (e.type === 'disconnected') gone++;
    });
    const a = await client.connect(address!);
    await client.connect(address!);
    const c = await client.connect(address!);
    client.disconnect(a); // the server sees `left`
    while (server.peerCount < 2 || gone < 1) await new Promise((r) => setImmediate(r));
    server.disconnect(server.peerIds[0]!); // `requested`
    client.disconnect(c);
    while (gone < 3) await new Promise((r) => setImmediate(r));
    expect(server.stats().disconnects).toEqual({ left: 2, requested: 1 });
    expect(client.stats().disconnects).toEqual({ requested: 2, left: 1 });
    const snapshot = server.stats().disconnects;
    await server.shutdown();
    expect(snapshot).toEqual({ left: 2, requested: 1 }); // a copy, not a live view
  });
});
