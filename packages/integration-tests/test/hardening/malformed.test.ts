import { describe, expect, it } from 'vitest';
import { isType } from '../../../reactor/test/fixtures.js';
import { concat, Trap, TrapError, trapCodec, trapFrame } from './codecs.js';
import { bystander, useHardening } from './guard.js';
import { memoryNet, type TestNet, tcpNet } from './nets.js';

const h = useHardening();

const nets: Array<[string, () => TestNet]> = [
  ['TCP', () => tcpNet(h)],
  ['TCP over IPv6 (::1)', () => tcpNet(h, true)],
  // One-byte to 64 KiB chunks: every frame boundary and every split of a frame gets exercised.
  ['the memory network (seeded chunking)', () => memoryNet(h, { seed: 11 })],
];

describe.each(nets)('malformed input over %s', (_name, makeNet) => {
  async function setup() {
    const n = makeNet();
    const server = h.reactor({ codec: trapCodec, transport: n.transport(), name: 'server' });
    const [address] = await server.r.listen(n.listenAddress);
    const by = await bystander(h, server, address!, {
      codec: trapCodec,
      transport: n.transport(),
      sample: Uint8Array.of(1, 2, 3),
    });
    await by.roundTrip();
    return { n, server, address: address!, by };
  }

  it('delivers the valid messages in order, then reports one codec violation', async () => {
    const { n, server, address, by } = await setup();
    const raw = await n.raw(address);
    const valid = Array.from({ length: 50 }, (_, i) => trapFrame([i, i + 1, i + 2]));
    // Malformed bytes, then more valid frames and junk that must never be delivered.
    raw.write(concat(...valid, trapFrame([Trap.MALFORMED]), trapFrame([99]), trapFrame([100])));
    const d = await server.rec.waitFor(
      (e) => e.type === 'disconnected' && e.peer !== by.serverPeer,
    );
    if (d.type !== 'disconnected') throw new Error('unreachable');
    expect(d.reason).toMatchObject({
      kind: 'codec-violation',
      error: { code: 'ERR_MALFORMED_MESSAGE' },
    });
    const got = server.rec.messagesFrom(d.peer).map((m) => Array.from(m));
    expect(got).toEqual(valid.map((f) => Array.from(f.subarray(1))));
    expect(server.rec.disconnects(d.peer)).toHaveLength(1);
    await raw.gone;
    await by.roundTrip();
  });

  const contractBreaks: Array<[string, number, string]> = [
    ['throws', Trap.THROW, 'ERR_CODEC_FAILURE'],
    ['reports consuming 0 bytes', Trap.CONSUME_ZERO, 'ERR_CODEC_FAILURE'],
    ['reports consuming a negative count', Trap.CONSUME_NEGATIVE, 'ERR_CODEC_FAILURE'],
    ['reports consuming NaN bytes', Trap.CONSUME_NAN, 'ERR_CODEC_FAILURE'],
    ['reports consuming more bytes than it was given', Trap.CONSUME_TOO_MANY, 'ERR_CODEC_FAILURE'],
    ['returns no result', Trap.NO_RESULT, 'ERR_CODEC_FAILURE'],
  ];

  it('reports a message larger than `maxSize` as a violation, whether decoded or buffered', async () => {
    const { n, server, address, by } = await setup();
    const raw = await n.raw(address);
    // A frame the codec will claim is 300 bytes long (maxSize is 256), with 300 bytes sent.
    raw.write(concat(trapFrame([1]), trapFrame([Trap.OVERSIZE, 0, 0]), new Uint8Array(300)));
    const d = await server.rec.waitFor(
      (e) => e.type === 'disconnected' && e.peer !== by.serverPeer,
    );
    if (d.type !== 'disconnected' || d.reason.kind !== 'codec-violation') {
      throw new Error(`expected a codec violation, got ${JSON.stringify(d)}`);
    }
    // Decoded straight from a chunk: too large; split across chunks: over the receive limit.
    expect(['ERR_MESSAGE_TOO_LARGE', 'ERR_RX_LIMIT']).toContain(d.reason.error.code);
    expect(server.rec.messagesFrom(d.peer).map((m) => Array.from(m))).toEqual([[1]]);
    await raw.gone;
    await by.roundTrip();
  });

  it.each(contractBreaks)(
    'reports a codec that %s as a violation of that peer only, never a loop or a crash',
    async (_what, trap, code) => {
      const { n, server, address, by } = await setup();
      const raw = await n.raw(address);
      raw.write(concat(trapFrame([1]), trapFrame([2]), trapFrame([trap, 0, 0]), trapFrame([3])));
      const d = await server.rec.waitFor(
        (e) => e.type === 'disconnected' && e.peer !== by.serverPeer,
      );
      if (d.type !== 'disconnected' || d.reason.kind !== 'codec-violation') {
        throw new Error(`expected a codec violation, got ${JSON.stringify(d)}`);
      }
      expect(d.reason.error.code).toBe(code);
      if (trap === Trap.THROW) {
        // The codec's own error is attached as the cause.
        expect(d.reason.error.cause).toBeInstanceOf(TrapError);
      }
      expect(server.rec.messagesFrom(d.peer).map((m) => Array.from(m))).toEqual([[1], [2]]);
      expect(server.rec.disconnects(d.peer)).toHaveLength(1);
      // The remote sees its connection end.
      await raw.gone;
      await by.roundTrip();
      // Nothing after the violation was decoded for that peer.
      expect(server.rec.events.filter(isType('message', d.peer))).toHaveLength(2);
    },
  );
});
