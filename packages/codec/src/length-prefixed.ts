import { readU32BE, readU32LE, readVarint, VARINT_INCOMPLETE, VARINT_MALFORMED } from './bytes.js';
import { type Codec, type Decoded, type DecodeResult, incomplete, malformed } from './codec.js';
import { ErrorCodes, invalidArgument, PeerlinkError } from './errors.js';
import { ByteSink, type ByteWriter, varintSize } from './sink.js';

const EMPTY = new Uint8Array(0);
const FRAME_INCOMPLETE = -1;
const FRAME_BAD_VARINT = -2;
/** Too large: `FRAME_TOO_LARGE - end` carries the declared end. */
const FRAME_TOO_LARGE = -3;

/** The length prefix in front of each body: a 4-byte big- or little-endian u32, or a LEB128 varint. */
export type LengthPrefix = 'u32be' | 'u32le' | 'varint';

/** How a message body maps to bytes, for {@link lengthPrefixed} codecs of typed messages. */
export interface BodyCodec<M> {
  /** Appends the body of `message` (without prefix) to `sink`. */
  encode(message: M, sink: ByteWriter): void;
  /**
   * Parses one whole body. `body` is valid only during the call (copy what you keep). Return
   * `undefined` when the body is malformed.
   */
  decode(body: Uint8Array): M | undefined;
  /** Optional: the body size in bytes without encoding; enables `sizeHint` and a faster encode. */
  size?(message: M): number;
  /**
   * Optional fast path, the same as `decode(bytes.subarray(start, end))` without making the view:
   * parses the body in `bytes[start, end)`, reading nothing outside it. Used instead of `decode`
   * when present.
   */
  decodeAt?(bytes: Uint8Array, start: number, end: number): M | undefined;
}

/**
 * How a codec made by {@link lengthPrefixed} frames its messages, for a receive path that walks
 * frames itself (the stream's loop for these codecs: no decode result per message). See
 * {@link lengthPrefixedFraming}.
 */
export interface LengthPrefixedFraming {
  /** The prefix format. */
  readonly prefix: LengthPrefix;
  /** The largest whole frame, prefix included, in bytes (the codec's `maxSize`). */
  readonly maxSize: number;
  /**
   * The body codec, or `undefined` for the raw codec (a message is the view
   * `bytes.subarray(bodyStart, frameEnd)` of its input).
   */
  readonly body: BodyCodec<unknown> | undefined;
}

/** The framing of every codec `lengthPrefixed` made, with the decode functions it was made with. */
const framings = new WeakMap<
  object,
  { framing: LengthPrefixedFraming; decode: unknown; decodeAt: unknown }
>();

/**
 * The framing of `codec` when {@link lengthPrefixed} made it, else `undefined` (any other codec,
 * including a copy or wrapper of one). A receive path may then decode its frames without calling
 * `decode`, with exactly the same outcome: a message per frame (the raw body as a view of the
 * input, or what the body codec's `decodeAt`/`decode` returns), `malformed` for a frame above
 * `maxSize` or a body the body codec rejects (`undefined`), a codec failure when it throws.
 * A codec whose `decode` or `decodeAt` was replaced since is no longer one of these: `undefined`.
 */
export function lengthPrefixedFraming(codec: unknown): LengthPrefixedFraming | undefined {
  if (typeof codec !== 'object' || codec === null) return undefined;
  const made = framings.get(codec);
  if (made === undefined) return undefined;
  const c = codec as Codec<unknown>;
  return c.decode === made.decode && c.decodeAt === made.decodeAt ? made.framing : undefined;
}

/** Records that `lengthPrefixed` made `codec`, framed as said. */
function register<M>(codec: Codec<M>, framing: LengthPrefixedFraming): Codec<M> {
  framings.set(codec, {
    framing: Object.freeze(framing),
    decode: codec.decode,
    decodeAt: codec.decodeAt,
  });
  return codec;
}

/** Options of {@link lengthPrefixed}. */
export interface LengthPrefixedOptions {
  /**
   * The largest whole frame, prefix included, in bytes. A declared body length that would exceed
   * it is reported malformed as soon as the prefix is read, before any of the body is buffered.
   */
  maxSize: number;
  /** The prefix format. Default `'u32be'`. */
  prefix?: LengthPrefix;
}

/**
 * Builds a codec whose frames are a length prefix followed by that many body bytes.
 *
 * Without `body`, messages are the raw body bytes (`Uint8Array`). A decoded body is a view of
 * memory the receive path never writes again (the codec declares `retainsInput`), so it stays
 * valid for as long as you keep it; it pins the memory it views (at most the 64 KiB chunk it
 * arrived in, or its own buffer when it was split across chunks): `slice()` a small body you keep
 * for long. A body of 16 KiB or more is sent by reference, not copied: do not modify
 * it after `send`, as with Node's `socket.write` (smaller bodies are copied at once).
 * With `body`, the body is encoded and parsed by your functions.
 *
 * @example
 * ```ts
 * const codec = lengthPrefixed({ maxSize: 1024 * 1024, prefix: 'varint' });
 * ```
 */
export function lengthPrefixed(options: LengthPrefixedOptions): Codec<Uint8Array>;
export function lengthPrefixed<M>(options: LengthPrefixedOptions, body: BodyCodec<M>): Codec<M>;
export function lengthPrefixed<M>(
  options: LengthPrefixedOptions,
  body?: BodyCodec<M>,
): Codec<M> | Codec<Uint8Array> {
  if (typeof options !== 'object' || options === null) {
    throw invalidArgument('options', 'an object', options);
  }
  if (
    body !== undefined &&
    (typeof body !== 'object' ||
      body === null ||
      typeof body.encode !== 'function' ||
      typeof body.decode !== 'function')
  ) {
    throw invalidArgument('body', 'an object with encode and decode functions', body);
  }
  const prefix = options.prefix ?? 'u32be';
  const maxSize = options.maxSize;
  if (prefix !== 'u32be' && prefix !== 'u32le' && prefix !== 'varint') {
    throw new PeerlinkError(ErrorCodes.INVALID_CONFIG, `prefix: unknown prefix ${String(prefix)}`);
  }
  const minPrefix = prefix === 'varint' ? 1 : 4;
  if (!Number.isSafeInteger(maxSize) || maxSize <= minPrefix) {
    throw new PeerlinkError(
      ErrorCodes.INVALID_CONFIG,
      `maxSize: must be an integer above the prefix size (${minPrefix}), got ${String(maxSize)}`,
    );
  }
  if (prefix !== 'varint' && maxSize > 0xffffffff + 4) {
    throw new PeerlinkError(ErrorCodes.INVALID_CONFIG, 'maxSize: a u32 prefix cannot declare it');
  }
  const varint = prefix === 'varint';
  const little = prefix === 'u32le';
  const prefixSize = (length: number): number => (varint ? varintSize(length) : 4);

  /** Appends the prefix for a body of `length` bytes (checked by the caller against maxSize). */
  function writePrefix(sink: ByteWriter, length: number): number {
    if (varint) return sink.writeVarint(length);
    if (length > 0xffffffff) return sink.writeU32BE(length); // throws the range error
    const at = sink.reserve(4);
    const b = sink.buffer;
    if (little) {
      b[at] = length;
      b[at + 1] = length >>> 8;
      b[at + 2] = length >>> 16;
      b[at + 3] = length >>> 24;
    } else {
      b[at] = length >>> 24;
      b[at + 1] = length >>> 16;
      b[at + 2] = length >>> 8;
      b[at + 3] = length;
    }
    return 4;
  }

  // Where the body of the frame last examined by `frameEnd` starts (set before it returns).
  let bodyStart = 0;
  /**
   * Examines the frame at `bytes[at]`, reading nothing at or past `limit`: returns the index one
   * past its end, or a negative FRAME_* code. Allocation-free: it runs once per message.
   */
  function frameEnd(bytes: Uint8Array, at: number, limit: number): number {
    let length: number;
    let head = 4;
    if (varint) {
      length = readVarint(bytes, at, limit);
      if (length === VARINT_INCOMPLETE) return FRAME_INCOMPLETE;
      if (length === VARINT_MALFORMED) return FRAME_BAD_VARINT;
      head = varintSize(length);
    } else {
      if (limit - at < 4) return FRAME_INCOMPLETE;
      length = little ? readU32LE(bytes, at) : readU32BE(bytes, at);
    }
    const size = head + length;
    if (size > maxSize) return FRAME_TOO_LARGE - size;
    if (limit - at < size) return FRAME_INCOMPLETE;
    bodyStart = at + head;
    return at + size;
  }

  function failure(code: number): DecodeResult<never> {
    if (code === FRAME_INCOMPLETE) return incomplete();
    if (code === FRAME_BAD_VARINT) return malformed('invalid varint length prefix');
    return malformed(
      `declared frame of ${FRAME_TOO_LARGE - code} bytes exceeds maxSize ${maxSize}`,
    );
  }

  /** The frame size at `bytes[at]` once its prefix is readable, else -1 (see `Codec.frameSize`). */
  function frameSize(bytes: Uint8Array, at: number, limit: number): number {
    if (varint) {
      const length = readVarint(bytes, at, limit);
      if (length === VARINT_INCOMPLETE) return -1;
      if (length === VARINT_MALFORMED) return 0; // not a size: decode reports the bad varint
      return varintSize(length) + length;
    }
    if (limit - at < 4) return -1;
    return 4 + (little ? readU32LE(bytes, at) : readU32BE(bytes, at));
  }

  if (body === undefined) {
    // One result object, refilled by every decode: the stream reads it at once and never keeps
    // it, so a message costs no result allocation. The body is a view of the input: the stream
    // hands this codec (`retainsInput`) only bytes it never writes again.
    const result = { kind: 'message' as const, message: EMPTY as Uint8Array, consumed: 0 };
    const decodeRaw = (bytes: Uint8Array, offset: number, limit: number) => {
      const end = frameEnd(bytes, offset, limit);
      if (end < 0) return failure(end);
      result.message = bytes.subarray(bodyStart, end);
      result.consumed = end - offset;
      return result;
    };
    const raw: Codec<Uint8Array> = {
      maxSize,
      retainsInput: true,
      encode(message: Uint8Array, sink: ByteWriter): number {
        if (!(message instanceof Uint8Array)) throw notBytes(message);
        // A large body goes by reference (`writeShared`): no copy, and the caller does not
        // modify it afterwards, as with `socket.write`.
        return writePrefix(sink, message.length) + sink.writeShared(message);
      },
      decode: (bytes: Uint8Array) => decodeRaw(bytes, 0, bytes.length),
      decodeAt: decodeRaw,
      frameSize,
      sizeHint(message: Uint8Array): number {
        if (!(message instanceof Uint8Array)) throw notBytes(message);
        return prefixSize(message.length) + message.length;
      },
      encodeAt(message: Uint8Array, bytes: Uint8Array, at: number, size: number): void {
        if (!(message instanceof Uint8Array)) throw notBytes(message);
        const length = message.length;
        if ((varint ? varintSize(length) : 4) + length !== size) {
          throw new PeerlinkError(
            ErrorCodes.ENCODE_FAILURE,
            `encodeAt: size ${String(size)} is not the message's encoded size, ${prefixSize(length) + length}`,
          );
        }
        let o = at;
        if (varint) {
          let v = length;
          while (v >= 128) {
            bytes[o++] = (v % 128) | 0x80;
            v = Math.floor(v / 128);
          }
          bytes[o++] = v;
        } else if (little) {
          bytes[o] = length;
          bytes[o + 1] = length >>> 8;
          bytes[o + 2] = length >>> 16;
          bytes[o + 3] = length >>> 24;
          o += 4;
        } else {
          bytes[o] = length >>> 24;
          bytes[o + 1] = length >>> 16;
          bytes[o + 2] = length >>> 8;
          bytes[o + 3] = length;
          o += 4;
        }
        bytes.set(message, o); // as fast as a byte loop for 12 bytes here, faster above
      },
    };
    return register(raw, { prefix, maxSize, body: undefined });
  }

  const sized = body.size !== undefined;
  // The message `sizeHint` sized last, and its body size, for the `encode` that follows.
  let hinted: M | undefined;
  let hintedSize = 0;
  let hintValid = false;
  // Reused by every decode, as above.
  const scratchResult: { kind: 'message'; message: M | undefined; consumed: number } = {
    kind: 'message',
    message: undefined,
    consumed: 0,
  };
  let scratch: ByteSink | undefined;
  const hasDecodeAt = body.decodeAt !== undefined;
  function decodeFrame(bytes: Uint8Array, offset: number, limit: number): DecodeResult<M> {
    const end = frameEnd(bytes, offset, limit);
    if (end < 0) return failure(end);
    // Method calls on `body`, not bound copies: a bound function is slower to call.
    const message = hasDecodeAt
      ? body!.decodeAt!(bytes, bodyStart, end)
      : body!.decode(bytes.subarray(bodyStart, end));
    if (message === undefined) return malformed('body rejected by decoder');
    scratchResult.message = message;
    scratchResult.consumed = end - offset;
    return scratchResult as Decoded<M>;
  }
  const codec: Codec<M> = {
    maxSize,
    encode(message: M, sink: ByteWriter): number {
      if (sized) {
        // `sizeHint` just sized this message (the stream asks it first): do not size it twice.
        const n = hintValid && message === hinted ? hintedSize : body.size!(message);
        hintValid = false;
        hinted = undefined;
        const p = writePrefix(sink, n);
        // Sizes, not offsets: a write that grows the sink moves the held bytes.
        const before = sink.size;
        body.encode(message, sink);
        if (sink.size - before !== n) {
          throw new PeerlinkError(
            ErrorCodes.ENCODE_FAILURE,
            `body.size() said ${n} bytes but body.encode() wrote ${sink.size - before}`,
          );
        }
        return p + n;
      }
      if (!varint) {
        // An index among the held bytes, not an offset: a write that grows the sink moves them.
        const at = sink.size;
        sink.reserve(4);
        body.encode(message, sink);
        const n = sink.size - at - 4;
        sink.patchU32(at, n, little);
        return 4 + n;
      }
      // A varint's width depends on the length: encode the body aside, then copy it after it.
      scratch ??= new ByteSink();
      scratch.clear();
      body.encode(message, scratch);
      return writePrefix(sink, scratch.size) + sink.writeBytes(scratch.peek());
    },
    decode(bytes: Uint8Array): DecodeResult<M> {
      return decodeFrame(bytes, 0, bytes.length);
    },
    decodeAt: (bytes: Uint8Array, offset: number, limit: number) =>
      decodeFrame(bytes, offset, limit),
  };
  if (sized) {
    codec.sizeHint = (message: M) => {
      const n = body.size!(message);
      hinted = message;
      hintedSize = n;
      hintValid = true;
      return prefixSize(n) + n;
    };
  }
  return register(codec, { prefix, maxSize, body: body as BodyCodec<unknown> });
}

/** The raw codec's refusal of a message that is not a `Uint8Array` (`{ length: 5 }`, say). */
function notBytes(message: unknown): PeerlinkError {
  return invalidArgument('message', 'a Uint8Array (the raw codec sends bytes)', message);
}
