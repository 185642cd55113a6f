import { lengthPrefixed } from '@peerlink/codec';
import { type PeerId, Reactor, type ReactorEvent } from '@peerlink/reactor';
import { MemoryNetwork } from '@peerlink/transport-memory';
import { afterEach, describe, expect, it } from 'vitest';

const reactors: Reactor<string>[] = [];
afterEach(async () => {
  await Promise.all(reactors.splice(0).map((r) => r.shutdown({ flushTimeout: 0 })));
});

describe('Reactor.send from inside the codec’s encode (memory network)', () => {
  it('refuses the re-entrant send with `ERR_REENTRANT_QUEUE`; the wire never carries a merged frame', async () => {
    let client!: Reactor<string>;
    let peer!: PeerId;
    const refusals: unknown[] = [];
    // Text messages; encoding 'outer' sends 'inner' to the same peer halfway through its body.
    const codec = (reenter: boolean) =>
      lengthPrefixed<string>(
        { maxSize: 1024 },
        {
          encode(text, sink) {
            const bytes = new TextEncoder().encode(text);
            sink.writeBytes(bytes.subarray(0, 2));
            if (reenter && text === 'outer') {
              try {
                client.send(peer, 'inner');
              } catch (error) {
                refusals.push(error);
              }
            }
            sink.writeBytes(bytes.subarray(2));
          },
          decode: (body) => new TextDecoder().decode(body),
        },
      );
    const network = new MemoryNetwork({ seed: 3 });
    const server = new Reactor({ codec: codec(false), transport: network.transport() });
    client = new Reactor({ codec: codec(true), transport: network.transport() });
    reactors.push(server, client);
    const events: ReactorEvent<string>[] = [];
    let done!: () => void;
    const all = new Promise<void>((resolve) => {
      done = resolve;
    });
    server.onEvent((event) => {
      events.push(event);
      if (event.type === 'message' && event.message === 'last') done();
      if (event.type === 'disconnected') done();
    });
    const [address] = await server.listen('server:0');
    peer = await client.connect(address!);
    expect(client.send(peer, 'first')).toBe('queued');
    expect(client.send(peer, 'outer')).toBe('queued');
    expect(client.send(peer, 'last')).toBe('queued');
    await all;
    expect(refusals).toHaveLength(1);
    expect((refusals[0] as { code?: string }).code).toBe('ERR_REENTRANT_QUEUE');
    expect(events.filter((e) => e.type === 'disconnected')).toEqual([]);
    expect(events.flatMap((e) => (e.type === 'message' ? [e.message] : []))).toEqual([
      'first',
      'outer',
      'last',
    ]);
  });
});
