// The receive loop the stream runs for `lengthPrefixed` codecs with a u32 prefix (issue 15: no
// decode result per message; a split frame assembled once, in unfilled memory of its exact size).
// Everything here compares that loop with the general path, which the same codec takes when it
// is copied into a plain object (`{ ...codec }` is no longer a codec `lengthPrefixed` made).
import { type BodyCodec, type Codec, lengthPrefixed, lengthPrefixedFraming } from '@peerlink/codec';
import { MessageStream, type StreamConfigOptions } from '@peerlink/stream';
import fc from 'fast-check';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { concat } from './helpers.js';

afterEach(() => {
  vi.restoreAllMocks();
});

type Prefix = 'u32le' | 'u32be' | 'varint';

/** A frame of `body` with the prefix declaring `declared` bytes (default: the body's length). */
function frame(prefix: Prefix, body: Uint8Array, declared = body.length): Uint8Array {
  if (prefix === 'varint') {
    const head: number[] = [];
    let n = declared;
    while (n >= 0x80) {
      head.push((n & 0x7f) | 0x80);
      n = Math.floor(n / 128);
    }
    head.push(n);
    return concat([Uint8Array.from(head), body]);
  }
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, declared, prefix === 'u32le');
  out.set(body, 4);
  return out;
}

interface Outcome {
  messages: unknown[];
  sizes: number[];
  error: string | undefined;
  /** Bytes left buffered (a partial frame) when the input ended without an error. */
  buffered: number;
}

/**
 * Feeds `wire` to a fresh stream of `codec` in chunks of the given sizes (cycled). `mode`: each
 * chunk a fresh copy, one read buffer reused for every chunk, or chunks the caller owns. With
 * `stopEvery`, the sink stops after every n-th message and the rest is resumed at once.
 */
function run(
  codec: Codec<unknown>,
  wire: Uint8Array,
  sizes: number[],
  mode: 'fresh' | 'shared' | 'owned',
  stopEvery = 0,
  config: StreamConfigOptions = {},
): Outcome {
  const stream = new MessageStream(codec, config);
  const messages: unknown[] = [];
  const lengths: number[] = [];
  const sink = (m: unknown, size: number) => {
    messages.push(m);
    lengths.push(size);
    return stopEvery === 0 || messages.length % stopEvery !== 0;
  };
  const shared = new Uint8Array(Math.max(...sizes, 1));
  let error: string | undefined;
  let at = 0;
  let i = 0;
  while (at < wire.length && error === undefined) {
    const n = Math.min(sizes[i++ % sizes.length]!, wire.length - at);
    let input: Uint8Array;
    if (mode === 'shared') {
      shared.set(wire.subarray(at, at + n));
      input = shared.subarray(0, n);
    } else {
      input = wire.slice(at, at + n);
    }
    at += n;
    const e = stream.handleData(input, sink, 0, mode === 'owned');
    if (e !== undefined) error = `${e.code}: ${e.message}`;
    if (mode === 'shared') shared.fill(0xee); // the transport reuses its buffer
    while (error === undefined && stream.hasBufferedInput) {
      const r = stream.resumeReceive(sink, 0);
      if (r !== undefined) error = `${r.code}: ${r.message}`;
    }
  }
  // Raw bodies are compared by value after all input went through (they must have survived).
  return {
    messages: messages.map((m) => (m instanceof Uint8Array ? [...m] : m)),
    sizes: lengths,
    error,
    buffered: error === undefined ? stream.bufferedBytes : 0,
  };
}

/** A body codec that sums the body, rejects a body starting with 0xff and throws on 0xfe. */
const checkingBody: BodyCodec<number> = {
  encode: () => {},
  decode(body) {
    if (body[0] === 0xff) return undefined;
    if (body[0] === 0xfe) throw new Error('body codec bug');
    return body.reduce((a, b) => a + b, body.length * 1000);
  },
};
const checkingBodyAt: BodyCodec<number> = {
  ...checkingBody,
  decodeAt(bytes, start, end) {
    return checkingBody.decode(bytes.subarray(start, end));
  },
};

const arbFrames = fc.array(
  fc.oneof(
    { weight: 12, arbitrary: fc.uint8Array({ minLength: 0, maxLength: 300 }) },
    // A body that the checking body codec rejects, or throws on.
    { weight: 1, arbitrary: fc.constantFrom(Uint8Array.of(0xff, 1), Uint8Array.of(0xfe)) },
    // A frame declaring more than maxSize (then nothing after it can count).
    { weight: 1, arbitrary: fc.constant('too-large' as const) },
  ),
  { minLength: 1, maxLength: 30 },
);

function wireOf(prefix: Prefix, frames: (Uint8Array | 'too-large')[], maxSize: number) {
  return concat(
    frames.map((f) =>
      f === 'too-large' ? frame(prefix, new Uint8Array(2), maxSize + 1) : frame(prefix, f),
    ),
  );
}

describe('the lengthPrefixed receive loop', () => {
  test('the codecs lengthPrefixed makes are recognised, copies and changed ones are not', () => {
    const raw = lengthPrefixed({ maxSize: 100, prefix: 'u32le' });
    expect(lengthPrefixedFraming(raw)).toEqual({ prefix: 'u32le', maxSize: 100, body: undefined });
    const typed = lengthPrefixed({ maxSize: 100 }, checkingBody);
    expect(lengthPrefixedFraming(typed)?.body).toBe(checkingBody);
    expect(lengthPrefixedFraming({ ...raw })).toBeUndefined();
    const patched = lengthPrefixed({ maxSize: 100, prefix: 'u32le' });
    (patched as { decodeAt?: unknown }).decodeAt = undefined;
    expect(lengthPrefixedFraming(patched)).toBeUndefined();
    expect(lengthPrefixedFraming(null)).toBeUndefined();
  });

  test('delivers exactly what the general path delivers, errors included (property)', () => {
    fc.assert(
      fc.property(
        arbFrames,
        fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 6 }),
        fc.constantFrom('u32le' as const, 'u32be' as const),
        fc.constantFrom('raw', 'body', 'bodyAt'),
        fc.constantFrom('fresh' as const, 'shared' as const, 'owned' as const),
        fc.integer({ min: 0, max: 3 }),
        fc.option(fc.integer({ min: 8, max: 400 }), { nil: undefined }),
        (frames, sizes, prefix, kind, mode, stopEvery, rxBufMaxBytes) => {
          const maxSize = 304;
          const codec: Codec<unknown> =
            kind === 'raw'
              ? lengthPrefixed({ maxSize, prefix })
              : lengthPrefixed(
                  { maxSize, prefix },
                  kind === 'body' ? checkingBody : checkingBodyAt,
                );
          expect(lengthPrefixedFraming(codec)).toBeDefined();
          const general = { ...codec } as Codec<unknown>;
          expect(lengthPrefixedFraming(general)).toBeUndefined();
          const wire = wireOf(prefix, frames, maxSize);
          const config = rxBufMaxBytes === undefined ? {} : { rxBufMaxBytes };
          const fast = run(codec, wire, sizes, mode, stopEvery, config);
          const slow = run(general, wire, sizes, mode, stopEvery, config);
          expect(fast).toEqual(slow);
        },
      ),
      { numRuns: 300, seed: 15 },
    );
  });

  test('a body decoder that throws or rejects fails the stream as the codec would', () => {
    const codec = lengthPrefixed({ maxSize: 64, prefix: 'u32le' }, checkingBodyAt);
    const good = frame('u32le', Uint8Array.of(1, 2));
    for (const [bad, code] of [
      [Uint8Array.of(0xff), 'ERR_MALFORMED_MESSAGE'],
      [Uint8Array.of(0xfe), 'ERR_CODEC_FAILURE'],
    ] as const) {
      const stream = new MessageStream(codec);
      const got: unknown[] = [];
      const error = stream.handleData(
        concat([good, frame('u32le', bad), good]),
        (m) => void got.push(m),
        0,
      );
      expect(error?.code).toBe(code);
      expect(got).toEqual([2003]); // the first frame only
    }
  });
});

describe('a split frame of the raw codec is assembled once, in memory of its exact size', () => {
  /** The unfilled memory handed out (full of 0xee, as stale memory would be), by its buffer. */
  let unfilled = new Set<ArrayBufferLike>();

  /** Makes `Buffer.allocUnsafeSlow` hand out memory full of 0xee and records it. */
  function poisonUnfilled(): { calls: number[] } {
    const calls: number[] = [];
    unfilled = new Set();
    const real = Buffer.allocUnsafeSlow;
    vi.spyOn(Buffer, 'allocUnsafeSlow').mockImplementation((size: number) => {
      calls.push(size);
      const b = real(size).fill(0xee);
      unfilled.add(b.buffer);
      return b;
    });
    return { calls };
  }

  /** Whether `a` and `b` hold the same bytes (a loop: large arrays compare fast). */
  function same(a: Uint8Array, b: Uint8Array): boolean {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }

  /**
   * Each delivered body is the sender's, and every byte of unfilled memory a body views was
   * written from the wire: the memory holds exactly the wire's bytes around the body (its own
   * frame, or the chunk's whole frames copied together), nothing stale before or after.
   */
  function expectWhole(got: Uint8Array[], bodies: Uint8Array[], prefix: Prefix) {
    expect(got.length).toBe(bodies.length);
    const wire = concat(bodies.map((b) => frame(prefix, b)));
    let at = 0;
    for (let i = 0; i < got.length; i++) {
      const b = got[i]!;
      expect(same(b, bodies[i]!), `body ${i}`).toBe(true);
      const bodyAt = at + frame(prefix, bodies[i]!).length - bodies[i]!.length;
      at += frame(prefix, bodies[i]!).length;
      if (unfilled.has(b.buffer)) {
        const start = bodyAt - b.byteOffset;
        const memory = new Uint8Array(b.buffer);
        expect(start >= 0 && start + memory.length <= wire.length, `buffer ${i} bounds`).toBe(true);
        expect(same(memory, wire.subarray(start, start + memory.length)), `buffer ${i}`).toBe(true);
      }
    }
  }

  test('split at every boundary: one copy of each byte, no unfilled byte ever shows', () => {
    const { calls } = poisonUnfilled();
    // Frames of 4,096 bytes: small enough for their own buffer from the first byte on (the
    // receive path reserves up to 4 KiB on a declaration alone), large enough to be unfilled.
    const bodyOf = (prefix: Prefix) =>
      Uint8Array.from({ length: prefix === 'varint' ? 4094 : 4092 }, (_, i) => (i * 31 + 7) & 0x7f);
    // Count the bytes the stream copies (it copies with `set` only, on this path).
    const realSet = Uint8Array.prototype.set;
    let copied = 0;
    Uint8Array.prototype.set = function (this: Uint8Array, source: ArrayLike<number>, offset) {
      copied += source.length;
      realSet.call(this, source, offset);
    } as typeof realSet;
    try {
      for (const prefix of ['u32le', 'u32be', 'varint'] as const) {
        const codec = lengthPrefixed({ maxSize: 8192, prefix });
        const body = bodyOf(prefix);
        const wire = frame(prefix, body);
        expect(wire.length).toBe(4096);
        for (let cut = 1; cut < wire.length; cut++) {
          const stream = new MessageStream(codec);
          const got: Uint8Array[] = [];
          const parts = [wire.slice(0, cut), wire.slice(cut)];
          copied = 0;
          for (const part of parts) {
            expect(stream.handleData(part, (m) => void got.push(m), 0)).toBeUndefined();
          }
          // Every byte copied once; a cut before the size is known copies the few bytes taken
          // to learn it (at most 16 after the cut, and those before it) twice.
          if (copied < wire.length || copied > wire.length + 24) {
            expect.fail(`${prefix}, cut at ${cut}: ${copied} bytes copied for ${wire.length}`);
          }
          expectWhole(got, [body], prefix);
          expect(unfilled.has(got[0]!.buffer)).toBe(true);
        }
      }
    } finally {
      Uint8Array.prototype.set = realSet;
    }
    expect(calls.length).toBeGreaterThan(0);
    expect(calls.every((n) => n === 4096)).toBe(true);
  });

  test('a 1 MiB frame cut anywhere: each byte copied once from chunks the caller owns', () => {
    poisonUnfilled();
    const body = Uint8Array.from({ length: 1 << 20 }, (_, i) => (i * 7) & 0x7f);
    const codec = lengthPrefixed({ maxSize: (1 << 20) + 4, prefix: 'u32le' });
    const wire = frame('u32le', body);
    const realSet = Uint8Array.prototype.set;
    let copied = 0;
    Uint8Array.prototype.set = function (this: Uint8Array, source: ArrayLike<number>, offset) {
      copied += source.length;
      realSet.call(this, source, offset);
    } as typeof realSet;
    try {
      // The first piece of every size, then 64 KiB chunks (what TCP hands over).
      for (const first of [1, 3, 4, 5, 100, 4096, 20_000, 65_536, 65_540, 300_000]) {
        const stream = new MessageStream(codec);
        const got: Uint8Array[] = [];
        copied = 0;
        for (let at = 0, n = first; at < wire.length; at += n, n = 65536) {
          const part = wire.slice(at, at + n);
          expect(stream.handleData(part, (m) => void got.push(m), 0, true)).toBeUndefined();
        }
        // A cut inside the prefix copies the bytes taken to learn the size (at most 16 after the
        // cut, and those before it) once more.
        if (copied < wire.length || copied > wire.length + 20) {
          expect.fail(`first piece ${first}: ${copied} bytes copied for ${wire.length}`);
        }
        expectWhole(got, [body], 'u32le');
        expect(unfilled.has(got[0]!.buffer)).toBe(true);
      }
    } finally {
      Uint8Array.prototype.set = realSet;
    }
  });

  test('large frames over seeded chunkings, fresh and shared chunks (property)', () => {
    poisonUnfilled();
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 20_000 }), { minLength: 1, maxLength: 6 }),
        fc.array(fc.integer({ min: 1, max: 9000 }), { minLength: 1, maxLength: 5 }),
        fc.constantFrom('u32le' as const, 'u32be' as const, 'varint' as const),
        fc.constantFrom('fresh' as const, 'shared' as const, 'owned' as const),
        fc.integer({ min: 0, max: 2 }),
        (lengths, sizes, prefix, mode, stopEvery) => {
          const bodies = lengths.map((n, j) =>
            Uint8Array.from({ length: n }, (_, i) => (i + j * 13) & 0x7f),
          );
          const codec = lengthPrefixed({ maxSize: 20_008, prefix });
          const wire = concat(bodies.map((b) => frame(prefix, b)));
          const stream = new MessageStream(codec);
          const got: Uint8Array[] = [];
          const shared = new Uint8Array(9000);
          let at = 0;
          let i = 0;
          const sink = (m: Uint8Array) => {
            got.push(m);
            return stopEvery === 0 || got.length % stopEvery !== 0;
          };
          while (at < wire.length) {
            const n = Math.min(sizes[i++ % sizes.length]!, wire.length - at);
            let input = wire.slice(at, at + n);
            if (mode === 'shared') {
              shared.set(input);
              input = shared.subarray(0, n);
            }
            at += n;
            expect(stream.handleData(input, sink, 0, mode === 'owned')).toBeUndefined();
            if (mode === 'shared') shared.fill(0xee);
            while (stream.hasBufferedInput) expect(stream.resumeReceive(sink, 0)).toBeUndefined();
          }
          expect(stream.bufferedBytes).toBe(0);
          expectWhole(got, bodies, prefix);
        },
      ),
      { numRuns: 200, seed: 1515 },
    );
  });

  test('a declared size the receive limit refuses is refused at every split, nothing reserved', () => {
    const alloc = poisonUnfilled();
    for (const prefix of ['u32le', 'u32be', 'varint'] as const) {
      const codec = lengthPrefixed({ maxSize: 1 << 20, prefix });
      // Within maxSize, above the 64 KiB receive limit; then above maxSize.
      for (const [declared, code] of [
        [100_000, 'ERR_RX_LIMIT'],
        [(1 << 20) + 1, 'ERR_MALFORMED_MESSAGE'],
      ] as const) {
        const wire = frame(prefix, new Uint8Array(20).fill(1), declared);
        for (let cut = 1; cut <= wire.length; cut++) {
          const stream = new MessageStream(codec, { rxBufMaxBytes: 65536 });
          const parts = cut === wire.length ? [wire] : [wire.slice(0, cut), wire.slice(cut)];
          let error: string | undefined;
          for (const part of parts) {
            error ??= stream.handleData(part, () => {}, 0)?.code;
          }
          expect(error).toBe(code);
          expect(stream.rxCapacity).toBe(0);
        }
      }
    }
    expect(alloc.calls).toEqual([]);
  });

  test('a retaining codec that decodes a buffer short of its end never shows its unfilled tail', () => {
    poisonUnfilled();
    // A raw codec, then (mid-frame) a codec whose frames are 4 bytes shorter than the first
    // one's: the first buffer, sized for the longer frame, is decoded before it is full.
    const long = lengthPrefixed({ maxSize: 1 << 16, prefix: 'u32le' });
    const stream = new MessageStream<Uint8Array>(long);
    const wire = frame('u32le', new Uint8Array(8000).fill(3));
    const got: Uint8Array[] = [];
    expect(stream.handleData(wire.slice(0, 5000), (m) => void got.push(m), 0)).toBeUndefined();
    expect(stream.rxCapacity).toBe(8004);
    const short: Codec<Uint8Array> = {
      ...long,
      frameSize: (_bytes, offset, end) => (end - offset >= 4 ? 4996 : -1),
      decodeAt: (bytes, offset, end) =>
        end - offset >= 4996
          ? { kind: 'message', message: bytes.subarray(offset + 4, offset + 4996), consumed: 4996 }
          : { kind: 'incomplete' },
    };
    stream.setCodec(short);
    expect(stream.decodeBuffered((m) => void got.push(m), 0)).toBeUndefined();
    expect(got).toHaveLength(1);
    expect(new Uint8Array(got[0]!.buffer).includes(0xee)).toBe(false);
  });
});
