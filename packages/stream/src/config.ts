import { ErrorCodes, invalidArgument, PeerlinkError } from '@peerlink/codec';

/**
 * Stream limits and timeouts, as given by the user. Every field is optional; the defaults are
 * peerlink 0.10.0's, except the send-buffer byte floor (see {@link txBufMaxFloor}).
 */
export interface StreamConfigOptions {
  /**
   * Floor of the receive (reassembly) buffer's capacity, in bytes: once allocated it never shrinks
   * below this (an empty buffer is released after shrinking to it). Default 4096 (4 KiB), capped
   * at the receive limit.
   */
  rxBufMinSize?: number;
  /**
   * Receive limit, as a whole multiple (1–255) of the codec's `maxSize`: a partial message is
   * never buffered past `rxBufMaxSize × maxSize` bytes; one that cannot complete within it is a
   * codec violation. Default 1.
   */
  rxBufMaxSize?: number;
  /**
   * Receive limit in bytes, in place of `rxBufMaxSize × maxSize` (which it overrides): any
   * positive integer, at least the largest message this connection must be able to receive. A
   * message larger than it is a codec violation (`ERR_RX_LIMIT`) even when `maxSize` allows it,
   * so a protocol whose `maxSize` is large (Bitcoin: 32 MiB) can give each peer a smaller
   * allowance (Bitcoin Core: 5 MB). Default: unset (the multiple applies).
   */
  rxBufMaxBytes?: number | undefined;
  /** Floor of the send buffer's capacity, in bytes. Default 4096 (4 KiB), capped at the send limit. */
  txBufMinSize?: number;
  /**
   * Send limit, as a whole multiple (1–255) of the codec's `maxSize`. A send buffer holding this
   * many bytes refuses new messages (outbound backpressure). Default 2.
   */
  txBufMaxSize?: number;
  /**
   * Byte floor of the send limit: the limit is `max(txBufMaxSize × maxSize, txBufMaxFloor)`, so
   * that codecs with tiny messages still get a useful batch. Default 65536 (64 KiB). This is a
   * deliberate difference from the Rust crate (whose 12-byte codecs got a 24-byte send buffer).
   */
  txBufMaxFloor?: number;
  /**
   * Send limit in bytes, in place of `max(txBufMaxSize × maxSize, txBufMaxFloor)` (which it
   * overrides): any positive integer, at least the largest message you send to one peer. A send
   * buffer holding this many bytes refuses new messages; a message whose size hint exceeds it can
   * never be queued and throws `ERR_MESSAGE_TOO_LARGE`. Default: unset (the multiple applies).
   */
  txBufMaxBytes?: number | undefined;
  /**
   * Write-stale timeout, in milliseconds: a peer whose oldest unsent bytes (or a blocked transport)
   * have waited longer than this, with no write progress for as long, is disconnected. Default
   * 30000 (30 s).
   */
  txTimeout?: number;
  /**
   * Outbound connect timeout, in milliseconds: at most 2^31 − 1 (about 24.8 days, the longest
   * timer), or `Infinity` for none. Default 5000 (5 s).
   */
  connectTimeout?: number;
  /**
   * Deadline for completing a started message, in milliseconds: a peer that began a message and
   * has not completed it this long after is disconnected. Reset after every complete message.
   * Default 0 (off): a peer that is merely idle is never dropped.
   */
  messageTimeout?: number;
}

/** A validated configuration with every limit resolved to bytes for one codec's `maxSize`. */
export interface StreamConfig {
  /** Receive buffer capacity floor, in bytes. */
  readonly rxBufMinSize: number;
  /** Receive limit multiple (1–255). */
  readonly rxBufMaxSize: number;
  /** Send buffer capacity floor, in bytes. */
  readonly txBufMinSize: number;
  /** Send limit multiple (1–255). */
  readonly txBufMaxSize: number;
  /** Send limit byte floor, in bytes. */
  readonly txBufMaxFloor: number;
  /** Receive limit in bytes when given in bytes (else `undefined`: the multiple applies). */
  readonly rxBufMaxBytes: number | undefined;
  /** Send limit in bytes when given in bytes (else `undefined`: the multiple applies). */
  readonly txBufMaxBytes: number | undefined;
  /** Write-stale timeout, in milliseconds. */
  readonly txTimeout: number;
  /** Connect timeout, in milliseconds (`Infinity`: none). */
  readonly connectTimeout: number;
  /** Message completion deadline, in milliseconds (0 = off). */
  readonly messageTimeout: number;
  /** The codec's `maxSize` the limits were computed for, in bytes. */
  readonly maxSize: number;
  /** The receive limit in bytes: `rxBufMaxBytes`, else `rxBufMaxSize × maxSize`. */
  readonly rxLimit: number;
  /** The send limit in bytes: `txBufMaxBytes`, else `max(txBufMaxSize × maxSize, txBufMaxFloor)`. */
  readonly txLimit: number;
}

/** The defaults of {@link StreamConfigOptions} (peerlink 0.10.0's, plus the send-buffer floor). */
export const DEFAULT_STREAM_CONFIG = Object.freeze({
  rxBufMinSize: 4096,
  rxBufMaxSize: 1,
  txBufMinSize: 4096,
  txBufMaxSize: 2,
  txBufMaxFloor: 65536,
  txTimeout: 30_000,
  connectTimeout: 5_000,
  messageTimeout: 0,
});

/**
 * Validates `options` and resolves every limit for a codec whose largest message is `maxSize`
 * bytes. Throws a `PeerlinkError` with code `ERR_INVALID_CONFIG` whose message starts with the name
 * of the offending field.
 */
export function resolveStreamConfig(
  maxSize: number,
  options: StreamConfigOptions = {},
): StreamConfig {
  if (!Number.isSafeInteger(maxSize) || maxSize <= 0) {
    invalid('maxSize', `must be a positive integer, got ${String(maxSize)}`);
  }
  if (typeof options !== 'object' || options === null) {
    throw invalidArgument('options', 'an object', options);
  }
  const d = DEFAULT_STREAM_CONFIG;
  const rxBufMaxSize = multiple('rxBufMaxSize', options.rxBufMaxSize ?? d.rxBufMaxSize);
  const txBufMaxSize = multiple('txBufMaxSize', options.txBufMaxSize ?? d.txBufMaxSize);
  const txBufMaxFloor = bytes('txBufMaxFloor', options.txBufMaxFloor ?? d.txBufMaxFloor, true);
  const rxBufMaxBytes =
    options.rxBufMaxBytes === undefined
      ? undefined
      : bytes('rxBufMaxBytes', options.rxBufMaxBytes, false);
  const txBufMaxBytes =
    options.txBufMaxBytes === undefined
      ? undefined
      : bytes('txBufMaxBytes', options.txBufMaxBytes, false);
  const rxLimit = rxBufMaxBytes ?? rxBufMaxSize * maxSize;
  const txLimit = txBufMaxBytes ?? Math.max(txBufMaxSize * maxSize, txBufMaxFloor);
  const rxBufMinSize = minimum('rxBufMinSize', options.rxBufMinSize, d.rxBufMinSize, rxLimit);
  const txBufMinSize = minimum('txBufMinSize', options.txBufMinSize, d.txBufMinSize, txLimit);
  return Object.freeze({
    rxBufMinSize,
    rxBufMaxSize,
    txBufMinSize,
    txBufMaxSize,
    txBufMaxFloor,
    rxBufMaxBytes,
    txBufMaxBytes,
    txTimeout: duration('txTimeout', options.txTimeout ?? d.txTimeout, false),
    connectTimeout: timerDuration('connectTimeout', options.connectTimeout ?? d.connectTimeout),
    messageTimeout: duration('messageTimeout', options.messageTimeout ?? d.messageTimeout, true),
    maxSize,
    rxLimit,
    txLimit,
  });
}

function invalid(field: string, why: string): never {
  throw new PeerlinkError(ErrorCodes.INVALID_CONFIG, `${field}: ${why}`);
}

function multiple(field: string, value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > 255) {
    invalid(field, `must be a whole multiple of maxSize from 1 to 255, got ${value}`);
  }
  return value;
}

function bytes(field: string, value: number, zeroOk: boolean): number {
  if (!Number.isSafeInteger(value) || value < 0 || (!zeroOk && value === 0)) {
    invalid(
      field,
      `must be a ${zeroOk ? 'non-negative' : 'positive'} integer number of bytes, got ${value}`,
    );
  }
  return value;
}

function minimum(field: string, given: number | undefined, fallback: number, max: number): number {
  if (given === undefined) return Math.min(fallback, max);
  bytes(field, given, false);
  if (given > max) invalid(field, `${given} is above the corresponding maximum of ${max} bytes`);
  return given;
}

function duration(field: string, value: number, zeroOk: boolean): number {
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value < 0 ||
    (!zeroOk && value === 0)
  ) {
    invalid(
      field,
      `must be a ${zeroOk ? 'non-negative' : 'positive'} number of milliseconds, got ${value}`,
    );
  }
  return value;
}

/** The longest delay a timer takes (2^31 − 1 ms); a longer one would fire at once. */
const MAX_TIMER_DELAY = 2 ** 31 - 1;

/** A duration run by a timer: positive, at most {@link MAX_TIMER_DELAY}, or `Infinity` (none). */
function timerDuration(field: string, value: number): number {
  if (value === Number.POSITIVE_INFINITY) return value;
  duration(field, value, false);
  if (value > MAX_TIMER_DELAY) {
    invalid(
      field,
      `must be at most ${MAX_TIMER_DELAY} ms (the longest timer), or Infinity, got ${value}`,
    );
  }
  return value;
}
