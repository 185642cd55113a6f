const MARKER = Symbol.for('peerlink.error');

/** Options accepted by {@link PeerlinkError}. */
export interface PeerlinkErrorOptions {
  /** The underlying error, kept as `error.cause`. */
  cause?: unknown;
}

/**
 * The one base class for every error peerlink raises or reports.
 *
 * Each failure has a stable string {@link PeerlinkError.code}; assert on the code, never on the
 * message text. The underlying error, if any, is chained as `cause`.
 *
 * `C` narrows the type of `code` where the set of codes is known: an event typed
 * `PeerlinkError<StreamErrorCode>` lets `switch (error.code)` be checked by the compiler.
 *
 * Use {@link PeerlinkError.isInstance} rather than `instanceof` when two copies of the package may
 * be installed: it recognises errors from any copy.
 *
 * Naming rule for codes: peerlink's own codes are `ERR_*` (upper case, underscores); codes of
 * Node.js and of the operating system (`ECONNRESET`, `EADDRINUSE`, ...) are passed through exactly
 * as Node reports them, with the original error as `cause`.
 */
export class PeerlinkError<C extends string = string> extends Error {
  /** A stable identifier of the failure, for example `ERR_CODEC_FAILURE`. */
  readonly code: C;
  // biome-ignore lint/correctness/noUnusedPrivateClassMembers: read through `in` by isInstance.
  private readonly [MARKER] = true;

  constructor(code: C, message: string, options?: PeerlinkErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PeerlinkError';
    this.code = code;
  }

  /**
   * Whether `value` is a {@link PeerlinkError} from any installed copy of peerlink. Never throws
   * (a Proxy whose `has` trap throws is not one).
   */
  static isInstance(value: unknown): value is PeerlinkError {
    if (typeof value !== 'object' || value === null) return false;
    try {
      return MARKER in value;
    } catch {
      return false;
    }
  }
}

/**
 * The stable codes of errors raised by the codec and stream layers (a frozen object; each value is
 * one {@link ErrorCode}). Other packages keep their own table of the same shape
 * (`ReactorErrorCodes`, `TcpErrorCodes`, ...).
 */
export const ErrorCodes = Object.freeze({
  /** A configuration value is out of range; the message names the field. */
  INVALID_CONFIG: 'ERR_INVALID_CONFIG',
  /** An argument passed to a function is invalid (wrong type or range); the message names it. */
  INVALID_ARGUMENT: 'ERR_INVALID_ARGUMENT',
  /** The codec reported malformed input: the peer violates the protocol. */
  MALFORMED: 'ERR_MALFORMED_MESSAGE',
  /** A message (declared or decoded) is larger than the codec's `maxSize`. */
  MESSAGE_TOO_LARGE: 'ERR_MESSAGE_TOO_LARGE',
  /** A partial message cannot fit in `rxBufMaxSize`: the peer sent more than we will buffer. */
  RX_LIMIT: 'ERR_RX_LIMIT',
  /** The codec broke its contract: it threw, or returned something that is not a valid result. */
  CODEC_FAILURE: 'ERR_CODEC_FAILURE',
  /** The codec's `encode` or `sizeHint` threw or reported a size different from what it wrote. */
  ENCODE_FAILURE: 'ERR_ENCODE_FAILURE',
  /**
   * A `MessageStream` sink threw: the exception propagates to the caller, and the stream ends with
   * this code (its `error`), since the input after the message is lost.
   */
  SINK_FAILURE: 'ERR_SINK_FAILURE',
  /**
   * `queue` (the reactor's `send`) was called for a stream from inside its own codec's `encode` or
   * `sizeHint`: refused, since the message would land inside the one being encoded.
   */
  REENTRANT_QUEUE: 'ERR_REENTRANT_QUEUE',
} as const);

/** One of the {@link ErrorCodes} values. */
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/**
 * An `ERR_INVALID_ARGUMENT` error for a public function given a value of the wrong type or range:
 * the message names the argument (`name`), says what it should be (`expected`) and what it got.
 */
export function invalidArgument(name: string, expected: string, got: unknown): PeerlinkError {
  return new PeerlinkError(
    ErrorCodes.INVALID_ARGUMENT,
    `${name}: expected ${expected}, got ${describe(got)}`,
  );
}

/** A short description of any value's type, for error messages. Never throws. */
function describe(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'object':
      try {
        return Array.isArray(value) ? 'an array' : 'an object';
      } catch {
        return 'an object'; // a revoked Proxy
      }
    case 'function':
      return 'a function';
    case 'string':
      return 'a string';
    case 'symbol':
      return 'a symbol';
    case 'bigint':
      return `${value}n`;
    default:
      return String(value);
  }
}
