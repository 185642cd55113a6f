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
 * Use {@link PeerlinkError.isInstance} rather than `instanceof` when two copies of the package may
 * be installed: it recognises errors from any copy.
 */
export class PeerlinkError extends Error {
  /** A stable identifier of the failure, for example `ERR_CODEC_VIOLATION`. */
  readonly code: string;
  // biome-ignore lint/correctness/noUnusedPrivateClassMembers: read through `in` by isInstance.
  private readonly [MARKER] = true;

  constructor(code: string, message: string, options?: PeerlinkErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PeerlinkError';
    this.code = code;
  }

  /** Whether `value` is a {@link PeerlinkError} from any installed copy of peerlink. */
  static isInstance(value: unknown): value is PeerlinkError {
    return typeof value === 'object' && value !== null && MARKER in value;
  }
}

/**
 * The stable codes of errors raised by the codec and stream layers. Other packages add their own
 * (each documents them); every code starts with `ERR_`.
 */
export const ErrorCodes = {
  /** A configuration value is out of range; the message names the field. */
  INVALID_CONFIG: 'ERR_INVALID_CONFIG',
  /** An argument passed to a function is invalid (wrong type or range). */
  INVALID_ARGUMENT: 'ERR_INVALID_ARGUMENT',
  /** The codec reported malformed input: the peer violates the protocol. */
  MALFORMED: 'ERR_MALFORMED_MESSAGE',
  /** A message (declared or decoded) is larger than the codec's `maxSize`. */
  MESSAGE_TOO_LARGE: 'ERR_MESSAGE_TOO_LARGE',
  /** A partial message cannot fit in `rxBufMaxSize`: the peer sent more than we will buffer. */
  RX_LIMIT: 'ERR_RX_LIMIT',
  /** The codec broke its contract: it threw, or reported an impossible consumed count. */
  CODEC_FAILURE: 'ERR_CODEC_FAILURE',
  /** The codec's `encode` or `sizeHint` threw or reported a size different from what it wrote. */
  ENCODE_FAILURE: 'ERR_ENCODE_FAILURE',
  /**
   * A `MessageStream` sink threw: the exception propagates to the caller, and the stream ends with
   * this code (its `error`), since the input after the message is lost.
   */
  SINK_FAILURE: 'ERR_SINK_FAILURE',
} as const;
