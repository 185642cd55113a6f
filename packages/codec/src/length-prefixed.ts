import { readU32BE, readU32LE, readVarint, VARINT_INCOMPLETE, VARINT_MALFORMED } from './bytes.js';
import { type Codec, type Decoded, type DecodeResult, incomplete, malformed } from './codec.js';
import { ErrorCodes, PeerlinkError } from './errors.js';
import { ByteSink, varintSize } from './sink.js';

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
  encode(message: M, sink: ByteSink): void;
  /**
   * Parses one whole body. `body` is valid only during the call (copy what you keep). Return
   * `undefined` when the body is malformed.
   */
  decode(body: Uint8Array): M | undefined;
  /** Optional: the body size in bytes without encoding; enables `sizeHint` and a faster encode. */
  size?(message: M): number;
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
 * Without `body`, messages are the raw body bytes (`Uint8Array`; decoded bodies are copies, so
 * they stay valid). With `body`, the body is encoded and parsed by your functions.
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
  const prefix = options.prefix ?? 'u32be';
  const maxSize = options.maxSize;
  if (prefix !== 'u32be' && prefix !== 'u32le' && prefix !== 'varint') {
    throw new PeerlinkError(ErrorCodes.INVALID_CONFIG, `prefix: unknown prefix ${String(prefix)}`);
  }
  const minPrefix = prefix === 'varint' ? 1 : 4;
  if (!Number.isSafeInteger(maxSize) || maxSize <= minPrefix) {
    throw new PeerlinkError(
      ErrorCodes.INVALID_CONFIG,
      `maxSize: must be an integer above the prefix size (${minPrefix}), got ${maxSize}`,
    );
  }
  if (prefix !== 'varint' && maxSize > 0xffffffff + 4) {
    throw new PeerlinkError(ErrorCodes.INVALID_CONFIG, 'maxSize: a u32 prefix cannot declare it');
  }
  const prefixSize = prefix === 'varint' ? varintSize : () => 4;
  const little = prefix === 'u32le';

  /** Returns the declared body length, or a negative VARINT_* value. */
  const readPrefix =
    prefix === 'varint'
      ? (bytes: Uint8Array) => readVarint(bytes, 0)
      : little
        ? (bytes: Uint8Array) => (bytes.length < 4 ? VARINT_INCOMPLETE : readU32LE(bytes, 0))
        : (bytes: Uint8Array) => (bytes.length < 4 ? VARINT_INCOMPLETE : readU32BE(bytes, 0));

  const writePrefix = (sink: ByteSink, length: number): number =>
    prefix === 'varint'
      ? sink.writeVarint(length)
      : little
        ? sink.writeU32LE(length)
        : sink.writeU32BE(length);

  // Where the body of the frame last examined by `frameEnd` starts (set before it returns).
  let bodyStart = 0;
  /**
   * Examines the frame at the front of `bytes`: returns its end offset, or a negative FRAME_*
   * code. Allocation-free, since it runs once per received message.
   */
  function frameEnd(bytes: Uint8Array): number {
    const length = readPrefix(bytes);
    if (length === VARINT_INCOMPLETE) return FRAME_INCOMPLETE;
    if (length === VARINT_MALFORMED) return FRAME_BAD_VARINT;
    bodyStart = prefixSize(length);
    const end = bodyStart + length;
    if (end > maxSize) return FRAME_TOO_LARGE - end;
    if (bytes.length < end) return FRAME_INCOMPLETE;
    return end;
  }

  function failure(code: number): DecodeResult<never> {
    if (code === FRAME_INCOMPLETE) return incomplete();
    if (code === FRAME_BAD_VARINT) return malformed('invalid varint length prefix');
    return malformed(
      `declared frame of ${FRAME_TOO_LARGE - code} bytes exceeds maxSize ${maxSize}`,
    );
  }

  if (body === undefined) {
    // One result object, refilled by every decode: the stream reads it at once and never keeps
    // it, so a message costs no result allocation.
    const result = { kind: 'message' as const, message: EMPTY, consumed: 0 };
    return {
      maxSize,
      encode(message: Uint8Array, sink: ByteSink): number {
        return writePrefix(sink, message.length) + sink.writeBytes(message);
      },
      decode(bytes: Uint8Array): DecodeResult<Uint8Array> {
        const end = frameEnd(bytes);
        if (end < 0) return failure(end);
        result.message = bytes.slice(bodyStart, end);
        result.consumed = end;
        return result;
      },
      sizeHint(message: Uint8Array): number {
        return prefixSize(message.length) + message.length;
      },
    };
  }

  const bodySize = body.size?.bind(body);
  // Reused by every decode, as above.
  const scratchResult: { kind: 'message'; message: M | undefined; consumed: number } = {
    kind: 'message',
    message: undefined,
    consumed: 0,
  };
  let scratch: ByteSink | undefined;
  const codec: Codec<M> = {
    maxSize,
    encode(message: M, sink: ByteSink): number {
      if (bodySize !== undefined) {
        const n = bodySize(message);
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
      if (prefix !== 'varint') {
        // Offsets relative to `head`: a write that grows the sink moves the held bytes.
        const at = sink.reserve(4) - sink.head;
        const before = sink.size;
        body.encode(message, sink);
        const n = sink.size - before;
        sink.view.setUint32(sink.head + at, n, little);
        return 4 + n;
      }
      scratch ??= new ByteSink();
      scratch.head = scratch.length = 0;
      body.encode(message, scratch);
      const bytes = scratch.peek();
      return writePrefix(sink, bytes.length) + sink.writeBytes(bytes);
    },
    decode(bytes: Uint8Array): DecodeResult<M> {
      const end = frameEnd(bytes);
      if (end < 0) return failure(end);
      const message = body.decode(bytes.subarray(bodyStart, end));
      if (message === undefined) return malformed('body rejected by decoder');
      scratchResult.message = message;
      scratchResult.consumed = end;
      return scratchResult as Decoded<M>;
    },
  };
  if (bodySize !== undefined) {
    codec.sizeHint = (message: M) => {
      const n = bodySize(message);
      return prefixSize(n) + n;
    };
  }
  return codec;
}
