import fc from 'fast-check';
import { ByteSink, type Codec } from 'peerlink';
import { describe, expect, it } from 'vitest';
import { type BValue, bdecode, bencode } from '../src/bencode.js';
import { makeTorrent, pieceSize, readTorrent, sha1 } from '../src/torrent.js';
import {
  HANDSHAKE_SIZE,
  handshakeCodec,
  MAX_BLOCK,
  type PeerWireMessage,
  peerWireCodecs,
  wireCodec,
} from '../src/wire.js';

function encode(codec: Codec<PeerWireMessage>, message: PeerWireMessage): Uint8Array {
  const sink = new ByteSink();
  const n = codec.encode(message, sink);
  const bytes = sink.peek().slice();
  expect(bytes.length).toBe(n);
  expect(codec.sizeHint?.(message)).toBe(n);
  return bytes;
}

const PIECES = 33;
const u32 = fc.nat({ max: 0xffffffff });
const index = fc.nat({ max: PIECES - 1 });
const message: fc.Arbitrary<PeerWireMessage> = fc.oneof(
  fc.constantFrom(
    { type: 'keep-alive' as const },
    { type: 'choke' as const },
    { type: 'unchoke' as const },
    { type: 'interested' as const },
    { type: 'not-interested' as const },
  ),
  index.map((i) => ({ type: 'have' as const, index: i })),
  // 33 pieces: 5 bytes, the last one with only its top bit in use.
  fc.uint8Array({ minLength: 5, maxLength: 5 }).map((bits) => ({
    type: 'bitfield' as const,
    bits: Uint8Array.of(...bits.subarray(0, 4), bits[4]! & 0x80),
  })),
  fc
    .record({
      index,
      begin: u32,
      length: fc.integer({ min: 1, max: MAX_BLOCK }),
      cancel: fc.boolean(),
    })
    .map(({ cancel, ...r }) => ({
      type: cancel ? ('cancel' as const) : ('request' as const),
      ...r,
    })),
  fc
    .record({ index, begin: u32, block: fc.uint8Array({ maxLength: 2000 }) })
    .map((r) => ({ type: 'piece' as const, ...r })),
  fc.nat({ max: 0xffff }).map((port) => ({ type: 'port' as const, port })),
  fc
    .record({ id: fc.integer({ min: 10, max: 255 }), payload: fc.uint8Array({ maxLength: 100 }) })
    .map((r) => ({ type: 'other' as const, ...r })),
);

const handshake: PeerWireMessage = {
  type: 'handshake',
  reserved: new Uint8Array(8),
  infoHash: new Uint8Array(20).fill(0xab),
  peerId: new Uint8Array(20).fill(0x2d),
};

describe('peer wire codecs', () => {
  it('writes the 68-byte handshake: 19, `BitTorrent protocol`, reserved, info hash, peer id', () => {
    const bytes = encode(handshakeCodec(), handshake);
    expect(bytes.length).toBe(HANDSHAKE_SIZE);
    expect(bytes[0]).toBe(19);
    expect(new TextDecoder().decode(bytes.subarray(1, 20))).toBe('BitTorrent protocol');
    expect([...bytes.subarray(28, 48)]).toEqual(new Array(20).fill(0xab));
  });

  it('decodes one handshake, then nothing more until the codec is replaced', () => {
    const codec = handshakeCodec();
    const after = encode(wireCodec(PIECES), { type: 'interested' });
    const bytes = Uint8Array.of(...encode(codec, handshake), ...after);
    for (let cut = 0; cut < HANDSHAKE_SIZE; cut++) {
      expect(codec.decode(bytes.subarray(0, cut)).kind).toBe('incomplete');
    }
    expect(codec.decode(bytes)).toEqual({ kind: 'message', message: handshake, consumed: 68 });
    expect(codec.decode(after).kind).toBe('incomplete');
    expect(wireCodec(PIECES).decode(after)).toMatchObject({ message: { type: 'interested' } });
  });

  it('refuses an encrypted (MSE) or foreign handshake at its first byte', () => {
    // MSE starts with a 96-byte Diffie-Hellman public key: random bytes.
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 96 }), (bytes) => {
        fc.pre(bytes[0] !== 19);
        expect(handshakeCodec().decode(bytes).kind).toBe('malformed');
      }),
    );
    expect(handshakeCodec().decode(new TextEncoder().encode('GET / HTTP/1.1\r\n')).kind).toBe(
      'malformed',
    );
  });

  it('decodes every message it encodes, one at a time', () => {
    fc.assert(
      fc.property(fc.array(message, { minLength: 1, maxLength: 5 }), (messages) => {
        const codec = wireCodec(PIECES);
        const all = Buffer.concat(messages.map((m) => encode(codec, m)));
        let at = 0;
        for (const m of messages) {
          const result = codec.decode(new Uint8Array(all.subarray(at)));
          expect(result).toMatchObject({ kind: 'message', message: m });
          at += (result as { consumed: number }).consumed;
        }
        expect(at).toBe(all.length);
      }),
    );
  });

  it('refuses what the torrent makes impossible: wrong bitfield length, spare bits, pieces out of range', () => {
    const codec = wireCodec(PIECES);
    const frame = (id: number, ...payload: number[]) =>
      Uint8Array.of(0, 0, 0, 1 + payload.length, id, ...payload);
    expect(codec.decode(frame(5, 0xff, 0xff, 0xff, 0xff)).kind).toBe('malformed'); // 4 bytes, not 5
    expect(codec.decode(frame(5, 0xff, 0xff, 0xff, 0xff, 0x40)).kind).toBe('malformed'); // spare bit
    expect(codec.decode(frame(5, 0xff, 0xff, 0xff, 0xff, 0x80)).kind).toBe('message');
    expect(codec.decode(frame(4, 0, 0, 0, PIECES)).kind).toBe('malformed');
    expect(codec.decode(frame(6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1)).kind).toBe('malformed'); // 128 KiB + 1
    expect(codec.decode(frame(1, 0)).kind).toBe('malformed'); // unchoke with a payload
    // A length beyond the limit is refused before its body arrives.
    expect(codec.decode(Uint8Array.of(0x00, 0x10, 0x00, 0x00)).kind).toBe('malformed');
  });

  it('never throws on arbitrary input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const info = {
          peer: 1,
          direction: 'inbound',
          remoteAddress: 'a:1',
          localAddress: 'b:2',
        } as const;
        for (const codec of [handshakeCodec(), wireCodec(PIECES), peerWireCodecs.create(info)]) {
          const result = codec.decode(bytes);
          if (result.kind === 'message') expect(result.consumed).toBeLessThanOrEqual(bytes.length);
        }
      }),
    );
  });
});

describe('torrents', () => {
  it('bencode round-trips, and the info hash is the SHA-1 of the exact info bytes', () => {
    const value: BValue = new Map<string, BValue>([
      ['b', [1, -2, new Uint8Array([0x41])]],
      ['a', 0],
    ]);
    const bytes = bencode(value);
    expect(new TextDecoder().decode(bytes)).toBe('d1:ai0e1:bli1ei-2e1:Aee');
    expect(bdecode(bytes).value).toEqual(
      new Map<string, BValue>([
        ['a', 0],
        ['b', [1, -2, new Uint8Array([0x41])]],
      ]),
    );
    expect(() => bdecode(new TextEncoder().encode('i01e'))).toThrow(SyntaxError);
    expect(() => bdecode(new TextEncoder().encode('5:ab'))).toThrow(SyntaxError);

    const data = new Uint8Array(100_000).map((_, i) => i * 7);
    const { torrent, file } = makeTorrent('x.bin', data, 16384, 'http://127.0.0.1:1/announce');
    const info = bencode((bdecode(file).value as Map<string, BValue>).get('info')!);
    expect(torrent.infoHash).toEqual(sha1(info));
    expect(readTorrent(file)).toEqual(torrent);
    expect(torrent.pieces).toHaveLength(7);
    expect(pieceSize(torrent, 6)).toBe(100_000 - 6 * 16384);
    expect(torrent.pieces[6]).toEqual(sha1(data.subarray(6 * 16384)));
  });
});
