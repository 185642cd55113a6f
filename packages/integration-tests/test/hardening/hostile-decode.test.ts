import type { Codec, DecodeResult } from '@peerlink/codec';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  anyCodecAct,
  type CodecAct,
  revokedProxy,
  throwingProxy,
} from '../../../stream/test/hostile-values.js';
import { concat, trapCodec, trapFrame } from './codecs.js';
import { bystander, useHardening } from './guard.js';
import { memoryNet } from './nets.js';

const h = useHardening();

/** Input that starts with this byte makes the codec do the current act; anything else is trapCodec's. */
const HOSTILE = 0xee;

/**
 * trapCodec, except that input starting with {@link HOSTILE} makes `decode` (and `decodeAt`) return
 * or throw whatever `act()` says: the bystander's frames stay valid.
 */
function hostileCodec(act: () => CodecAct): Codec<Uint8Array> {
  const decode = (bytes: Uint8Array): DecodeResult<Uint8Array> => {
    if (bytes[0] !== HOSTILE) return trapCodec.decode(bytes);
    const { throws, value } = act();
    if (throws) throw value;
    return value as DecodeResult<Uint8Array>;
  };
  return {
    ...trapCodec,
    decode,
    decodeAt: (bytes, offset, end) => decode(bytes.subarray(offset, end)),
  };
}

async function setup(act: () => CodecAct) {
  const n = memoryNet(h, { seed: 5 });
  const codec = hostileCodec(act);
  const server = h.reactor({ codec, transport: n.transport(), name: 'server' });
  const [address] = await server.r.listen(n.listenAddress);
  const by = await bystander(h, server, address!, {
    codec: trapCodec,
    transport: n.transport(),
    sample: Uint8Array.of(1, 2, 3),
  });
  await by.roundTrip();
  return { n, server, address: address!, by };
}

describe('a reactor whose codec returns or throws anything (memory network)', () => {
  const cases: Array<[string, unknown]> = [
    ['a `consumed` that is a Symbol', { kind: 'message', message: 1, consumed: Symbol('n') }],
    [
      'a `consumed` whose `valueOf` throws',
      {
        kind: 'message',
        message: 1,
        consumed: {
          valueOf() {
            throw new Error('valueOf');
          },
        },
      },
    ],
    ['a Symbol `reason`', { kind: 'malformed', reason: Symbol('why') }],
    [
      'a `reason` whose `toString` throws',
      {
        kind: 'malformed',
        reason: {
          toString() {
            throw new Error('toString');
          },
        },
      },
    ],
    [
      'a `message` getter that throws',
      Object.defineProperty({ kind: 'message', consumed: 1 }, 'message', {
        get() {
          throw new Error('message');
        },
      }),
    ],
    ['a result whose getters throw (a Proxy)', throwingProxy({ kind: 'message', consumed: 1 })],
    ['a revoked Proxy', revokedProxy()],
  ];

  it.each(cases)(
    'disconnects only that peer, as a codec violation, on %s',
    async (_what, value) => {
      const { n, server, address, by } = await setup(() => ({ throws: false, value }));
      const raw = await n.raw(address);
      raw.write(concat(Uint8Array.of(HOSTILE), trapFrame([1])));
      const d = await server.rec.waitFor(
        (e) => e.type === 'disconnected' && e.peer !== by.serverPeer,
      );
      if (d.type !== 'disconnected' || d.reason.kind !== 'codec-violation') {
        throw new Error(`expected a codec violation, got ${String(d.type)}`);
      }
      expect(['ERR_CODEC_FAILURE', 'ERR_MALFORMED_MESSAGE']).toContain(d.reason.error.code);
      expect(server.rec.disconnects(d.peer)).toHaveLength(1);
      await raw.gone;
      await by.roundTrip();
      expect(h.faults).toEqual([]);
    },
  );

  it('no decode result or thrown value escapes: each ends that peer only (property)', async () => {
    let current: CodecAct = { throws: false, value: undefined };
    const { n, server, address, by } = await setup(() => current);
    await fc.assert(
      fc.asyncProperty(anyCodecAct, async (makeAct) => {
        current = makeAct();
        const before = server.rec.events.length;
        const raw = await n.raw(address);
        raw.write(concat(Uint8Array.of(HOSTILE), new Uint8Array(7)));
        // Either the codec's answer ends the peer, or (incomplete, a valid message) it stays
        // until we reset it: one disconnect either way, and the bystander is untouched.
        await by.roundTrip();
        const ended = server.rec.events
          .slice(before)
          .some((e) => e.type === 'disconnected' && e.peer !== by.serverPeer);
        if (!ended) raw.reset();
        const d = await server.rec.waitFor(
          (e) =>
            e.type === 'disconnected' &&
            e.peer !== by.serverPeer &&
            server.rec.events.indexOf(e) >= before,
        );
        if (d.type !== 'disconnected') throw new Error('unreachable');
        expect(server.rec.disconnects(d.peer)).toHaveLength(1);
        if (d.reason.kind === 'codec-violation' && current.throws) {
          expect(d.reason.error.cause).toBe(current.value);
        }
        await raw.gone;
        await by.roundTrip();
        expect(h.faults).toEqual([]);
      }),
      { numRuns: 60 },
    );
  });

  it('turns anything thrown on the receive path into a disconnect of that peer only (the last guard)', async () => {
    // A logger that throws for one peer's messages: the throw happens inside the stream's sink,
    // on the transport's data callback.
    const n = memoryNet(h, { seed: 9 });
    const logger = {
      debug(record: object) {
        if ((record as { size?: number }).size === 5) throw new Error('logger broke');
      },
      info() {},
      warn() {},
      error() {},
    };
    const server = h.reactor({
      codec: trapCodec,
      transport: n.transport(),
      name: 'server',
      logger,
      trace: true,
    });
    const [address] = await server.r.listen(n.listenAddress);
    const by = await bystander(h, server, address!, {
      codec: trapCodec,
      transport: n.transport(),
      sample: Uint8Array.of(1, 2, 3),
    });
    await by.roundTrip();
    const raw = await n.raw(address!);
    raw.write(trapFrame([1, 2, 3, 4]));
    const d = await server.rec.waitFor(
      (e) => e.type === 'disconnected' && e.peer !== by.serverPeer,
    );
    if (d.type !== 'disconnected' || d.reason.kind !== 'codec-violation') {
      throw new Error(`expected a codec violation, got ${String(d.type)}`);
    }
    expect(d.reason.error.code).toBe('ERR_SINK_FAILURE');
    await raw.gone;
    await by.roundTrip();
    expect(h.faults).toEqual([]);
  });
});
