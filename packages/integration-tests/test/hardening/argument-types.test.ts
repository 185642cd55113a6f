/**
 * Wrong argument types at every public entry point of the reactor: each is answered with a
 * `PeerlinkError` `ERR_INVALID_ARGUMENT` whose message starts with the argument's name, never a
 * bare `TypeError` from deep inside, and the reactor goes on working.
 */
import { type Codec, lengthPrefixed } from '@peerlink/codec';
import { type PeerId, Reactor } from '@peerlink/reactor';
import type { Transport } from '@peerlink/stream';
import { tcpTransport } from '@peerlink/transport-tcp';
import { describe, expect, it } from 'vitest';
import { isType, pattern } from '../../../reactor/test/fixtures.js';
import { useHardening } from './guard.js';
import { memoryNet, type TestNet, tcpNet } from './nets.js';

const h = useHardening();
const codec = lengthPrefixed({ maxSize: 1024 });

/** Matches a `PeerlinkError` with `ERR_INVALID_ARGUMENT` naming `name`. */
function invalid(name: string) {
  return expect.objectContaining({
    name: 'PeerlinkError',
    code: 'ERR_INVALID_ARGUMENT',
    message: expect.stringMatching(new RegExp(`^${name.replace('.', '\\.')}: `)),
  });
}

/** Calls `f` and returns what it threw (fails if it did not). */
function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (error) {
    return error;
  }
  throw new Error('did not throw');
}

describe('wrong option types for new Reactor()', () => {
  const transport = tcpTransport();
  const cases: Array<[string, unknown]> = [
    ['options', null],
    ['options', 42],
    ['options.codec', null],
    ['options.codec', {}],
    ['options.codec', 'bytes'],
    ['options.transport', undefined],
    ['options.transport', { connect: () => {} }],
    ['options.config', 5],
    ['options.acceptGate', true],
    ['options.clock', 0],
    ['options.logger', console.log],
    ['options.timers', {}],
    ['options.name', 7],
    ['options.telemetry', 'yes'],
  ];
  for (const [name, value] of cases) {
    it(`refuses ${name}: ${String(value)} with ERR_INVALID_ARGUMENT naming it`, () => {
      const options =
        name === 'options' ? value : { codec, transport, [name.slice('options.'.length)]: value };
      expect(thrown(() => new Reactor(options as never))).toEqual(invalid(name));
    });
  }
});

const nets: Array<[string, () => TestNet]> = [
  ['TCP', () => tcpNet(h)],
  ['the memory network', () => memoryNet(h, { seed: 6 })],
];

describe.each(nets)('wrong argument types for reactor commands over %s', (_name, makeNet) => {
  it('answers each with ERR_INVALID_ARGUMENT naming the argument, and keeps working', async () => {
    const n = makeNet();
    const server = h.reactor({ codec, transport: n.transport('server'), name: 'server' });
    const [address] = await server.r.listen(n.listenAddress);
    const client = h.reactor({ codec, transport: n.transport('client'), name: 'client' });
    const r = client.r as unknown as Record<string, (...args: unknown[]) => unknown>;
    await expect(client.r.listen(42 as never)).rejects.toEqual(invalid('addresses'));
    await expect(client.r.listen([n.listenAddress, 7] as never)).rejects.toEqual(
      invalid('addresses'),
    );
    await expect(client.r.connect({} as never)).rejects.toEqual(invalid('target'));
    await expect(client.r.connect(42 as never)).rejects.toEqual(invalid('target'));
    await expect(client.r.connect(address!, 'fast' as never)).rejects.toEqual(invalid('options'));
    await expect(client.r.connect(address!, { signal: {} as never })).rejects.toEqual(
      invalid('options.signal'),
    );
    for (const method of ['send', 'disconnect', 'canSend', 'queuedBytes', 'peerStats']) {
      for (const peer of ['1', {}, undefined, null]) {
        expect(
          thrown(() => r[method]!.call(client.r, peer, pattern(4))),
          `${method}(${String(peer)})`,
        ).toEqual(invalid('peer'));
      }
    }
    await expect(client.r.drained('1' as never)).rejects.toEqual(invalid('peer'));
    expect(thrown(() => client.r.setCodec('1' as never, codec as Codec<Uint8Array>))).toEqual(
      invalid('peer'),
    );
    expect(thrown(() => client.r.onEvent('log' as never))).toEqual(invalid('handler'));
    expect(thrown(() => client.r.onEvent(() => {}, 5 as never))).toEqual(invalid('onMessage'));
    expect(thrown(() => client.r.stats(null as never))).toEqual(invalid('options'));
    await expect(client.r.shutdown('now' as never)).rejects.toEqual(invalid('options'));
    // None of it got in the way: the reactor connects, sends and is not shut down.
    const peer: PeerId = await client.r.connect(address!);
    expect(client.r.send(peer, pattern(10))).toBe('queued');
    await server.rec.waitFor(isType('message'));
    // No `connect-failed` was emitted for a call that never was an attempt.
    expect(client.rec.events.filter(isType('connect-failed'))).toEqual([]);
  });
});

it('keeps unknown but well-typed peers a `no-such-peer`, not an argument error', () => {
  const r = h.reactor({
    codec,
    transport: { listen: () => Promise.reject(), connect: () => Promise.reject() } as Transport,
  });
  expect(r.r.send(12345, pattern(1))).toBe('no-such-peer');
  expect(r.r.disconnect(12345)).toBe(false);
  expect(r.r.peerStats(12345)).toBeUndefined();
});
