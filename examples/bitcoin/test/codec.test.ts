import fc from 'fast-check';
import { ByteSink, type DecodeResult } from 'peerlink';
import { describe, expect, it } from 'vitest';
import {
  HeaderChain,
  hashValue,
  REGTEST_GENESIS,
  REGTEST_POW_LIMIT_BITS,
  targetOf,
} from '../src/chain.js';
import {
  type BitcoinMessage,
  type BlockHeader,
  bitcoinCodec,
  blockHash,
  HEADER_SIZE,
  hexToHash,
  MAX_MESSAGE_SIZE,
  REGTEST_MAGIC,
  sha256d,
} from '../src/codec.js';

function encode(message: BitcoinMessage): Uint8Array {
  const sink = new ByteSink();
  const n = bitcoinCodec().encode(message, sink);
  const bytes = sink.peek().slice();
  expect(bytes.length).toBe(n);
  return bytes;
}

const none = { services: 0n, ip: new Uint8Array(16), port: 0 };
const version: BitcoinMessage = {
  type: 'version',
  version: 70015,
  services: 1n,
  timestamp: 1_700_000_000n,
  receiver: none,
  sender: { services: 1n, ip: Uint8Array.from({ length: 16 }, (_, i) => i), port: 18444 },
  nonce: 42n,
  userAgent: '/test:1.0/',
  startHeight: 7,
  relay: false,
};

/** A codec that has seen the peer's version and verack. */
function readyCodec() {
  const codec = bitcoinCodec();
  expect(codec.decode(encode(version)).kind).toBe('message');
  expect(codec.decode(encode({ type: 'verack' })).kind).toBe('message');
  expect(codec.state).toBe('ready');
  return codec;
}

function message<M>(result: DecodeResult<M>): M {
  if (result.kind !== 'message')
    throw new Error(`expected a message, got ${JSON.stringify(result)}`);
  return result.message;
}

const hash32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const header: fc.Arbitrary<BlockHeader> = fc.record({
  version: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  prevBlock: hash32,
  merkleRoot: hash32,
  time: fc.nat({ max: 0xffffffff }),
  bits: fc.nat({ max: 0xffffffff }),
  nonce: fc.nat({ max: 0xffffffff }),
});
const anyMessage: fc.Arbitrary<BitcoinMessage> = fc.oneof(
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((nonce) => ({ type: 'ping' as const, nonce })),
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((nonce) => ({ type: 'pong' as const, nonce })),
  fc.constant({ type: 'sendheaders' as const }),
  fc
    .record({
      version: fc.nat({ max: 2 ** 31 - 1 }),
      locator: fc.array(hash32, { maxLength: 101 }),
      stop: hash32,
    })
    .map((m) => ({ type: 'getheaders' as const, ...m })),
  fc.array(header, { maxLength: 40 }).map((headers) => ({ type: 'headers' as const, headers })),
  fc
    .record({
      command: fc.constantFrom('inv', 'addr', 'feefilter', 'sendcmpct'),
      payload: fc.uint8Array({ maxLength: 300 }),
    })
    .map((m) => ({ type: 'other' as const, ...m })),
);

describe('Bitcoin codec', () => {
  it('writes the 24-byte header: magic, NUL-padded command, length, double-SHA-256 checksum', () => {
    const bytes = encode({ type: 'verack' });
    expect(bytes.length).toBe(HEADER_SIZE);
    expect([...bytes.subarray(0, 4)]).toEqual([...REGTEST_MAGIC]);
    expect(new TextDecoder().decode(bytes.subarray(4, 16))).toBe('verack\0\0\0\0\0\0');
    expect([...bytes.subarray(16, 20)]).toEqual([0, 0, 0, 0]);
    // The checksum of an empty payload, as every Bitcoin implementation has it.
    expect(Buffer.from(bytes.subarray(20, 24)).toString('hex')).toBe('5df6e0e2');
    const ping = encode({ type: 'ping', nonce: 0x0102030405060708n });
    expect([...ping.subarray(16, 20)]).toEqual([8, 0, 0, 0]);
    expect([...ping.subarray(20, 24)]).toEqual([...sha256d(ping.subarray(24)).subarray(0, 4)]);
  });

  it('decodes what it encodes, one message at a time, after the handshake', () => {
    fc.assert(
      fc.property(fc.array(anyMessage, { minLength: 1, maxLength: 4 }), (messages) => {
        const codec = readyCodec();
        const all = Buffer.concat(messages.map(encode));
        let at = 0;
        for (const m of messages) {
          const result = codec.decode(all.subarray(at));
          expect(message(result)).toEqual(m);
          at += (result as { consumed: number }).consumed;
        }
        expect(at).toBe(all.length);
      }),
    );
  });

  it('decodes `version` with every field, and asks for more while it is cut short', () => {
    const bytes = encode(version);
    for (let cut = 0; cut < bytes.length; cut++) {
      expect(bitcoinCodec().decode(bytes.subarray(0, cut)).kind).toBe('incomplete');
    }
    expect(message(bitcoinCodec().decode(bytes))).toEqual(version);
  });

  it('reports a wrong magic as malformed as soon as the first byte is there', () => {
    const bytes = encode(version);
    bytes[0] = 0xf9; // mainnet's first magic byte
    expect(bitcoinCodec().decode(bytes.subarray(0, 1)).kind).toBe('malformed');
  });

  it('reports a wrong checksum, a badly padded command and a payload over the limit as malformed', () => {
    const bad = encode(version);
    bad[22] = bad[22]! ^ 1;
    expect(bitcoinCodec().decode(bad).kind).toBe('malformed');
    const padding = encode({ type: 'verack' });
    padding[15] = 0x41; // a byte after the NUL
    expect(bitcoinCodec().decode(padding).kind).toBe('malformed');
    const big = encode({ type: 'verack' });
    new DataView(big.buffer).setUint32(16, MAX_MESSAGE_SIZE, true);
    expect(bitcoinCodec().decode(big).kind).toBe('malformed');
  });

  it('keeps each connection to version first, then verack, then anything', () => {
    expect(bitcoinCodec().decode(encode({ type: 'ping', nonce: 1n })).kind).toBe('malformed');
    const codec = bitcoinCodec();
    message(codec.decode(encode(version)));
    expect(codec.state).toBe('await-verack');
    expect(codec.peerVersion).toBe(70015);
    expect(codec.decode(encode({ type: 'ping', nonce: 1n })).kind).toBe('malformed');
    expect(codec.decode(encode(version)).kind).toBe('malformed');
    // A second codec (another connection) is unaffected by the first one's state.
    expect(bitcoinCodec().state).toBe('await-version');
    const ready = readyCodec();
    expect(ready.decode(encode(version)).kind).toBe('malformed');
  });

  it('never throws on arbitrary input and never consumes more than it was given', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), (junk, withHeader) => {
        const codec = readyCodec();
        const bytes = withHeader
          ? Buffer.concat([
              encode({ type: 'other', command: 'inv', payload: junk }).subarray(0, 24),
              junk,
            ])
          : junk;
        const result = codec.decode(bytes);
        if (result.kind === 'message') expect(result.consumed).toBeLessThanOrEqual(bytes.length);
      }),
    );
  });
});

/** Mines a regtest header on `prev` (about half of all nonces meet the regtest limit). */
function mine(prev: Uint8Array, time: number): BlockHeader {
  for (let nonce = 0; ; nonce++) {
    const h: BlockHeader = {
      version: 0x20000000,
      prevBlock: prev,
      merkleRoot: new Uint8Array(32).fill(7),
      time,
      bits: REGTEST_POW_LIMIT_BITS,
      nonce,
    };
    if (hashValue(blockHash(h)) <= targetOf(h.bits)!) return h;
  }
}

describe('HeaderChain', () => {
  it('decodes compact `bits` to a target', () => {
    expect(targetOf(0x207fffff)).toBe(0x7fffffn << 232n);
    expect(targetOf(0x1d00ffff)).toBe(0xffffn << 208n);
    expect(targetOf(0x04923456 | 0x00800000)).toBeUndefined(); // negative
  });

  it('accepts a chain of linked headers that meet their proof of work', () => {
    const chain = new HeaderChain();
    const headers: BlockHeader[] = [];
    let prev = hexToHash(REGTEST_GENESIS);
    for (let i = 0; i < 20; i++) {
      const h = mine(prev, 1_700_000_000 + i);
      headers.push(h);
      prev = blockHash(h);
    }
    expect(chain.add(headers)).toBeUndefined();
    expect(chain.height).toBe(20);
    expect(chain.tip).toEqual(prev);
    expect(chain.locator()[0]).toEqual(prev);
    expect(chain.locator().at(-1)).toEqual(hexToHash(REGTEST_GENESIS));
  });

  it('refuses a header that does not link to the tip, or whose hash misses its target', () => {
    const chain = new HeaderChain();
    const good = mine(hexToHash(REGTEST_GENESIS), 1_700_000_000);
    expect(chain.add([{ ...good, prevBlock: new Uint8Array(32) }])).toBe('does-not-connect');
    let weak = good;
    for (let nonce = 0; hashValue(blockHash(weak)) <= targetOf(weak.bits)!; nonce++) {
      weak = { ...good, nonce };
    }
    expect(chain.add([weak])).toBe('insufficient-work');
    expect(chain.add([{ ...good, bits: 0x217fffff }])).toBe('bad-bits'); // easier than the limit
    expect(chain.height).toBe(0);
  });
});
