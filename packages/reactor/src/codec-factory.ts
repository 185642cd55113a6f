import type { Codec } from '@peerlink/codec';
import { ErrorCodes, PeerlinkError } from '@peerlink/stream';
import type { PeerId } from './events.js';

/** What is known about a connection when its codec is made. */
export interface ConnectionInfo {
  /** The peer id the connection will have. */
  readonly peer: PeerId;
  /** `outbound` when we connected, `inbound` when it connected to us. */
  readonly direction: 'inbound' | 'outbound';
  readonly remoteAddress: string;
  readonly localAddress: string;
  /** The target as given to `connect` (outbound connections only). */
  readonly target?: string;
}

/**
 * Makes one codec per connection, so that a codec can keep per-connection state (a handshake seen
 * or not, what was negotiated). Give it to the reactor as `codec` in place of a plain codec.
 *
 * `create` is called once per connection, as it becomes a peer (before its `connected` or
 * `accepted` event). `maxSize` sizes the stream limits of every connection (`rxBufMaxSize`,
 * `txBufMaxSize` multiples); a codec it makes must not declare a larger `maxSize`.
 */
export interface CodecFactory<M> {
  /** The largest encoded message of any codec `create` makes, in bytes (a positive integer). */
  readonly maxSize: number;
  /** Makes the codec of one connection. A throw refuses the connection. */
  create(info: ConnectionInfo): Codec<M>;
}

/** Whether `codec` is a {@link CodecFactory} (it has `create`, not `decode`). */
export function isCodecFactory<M>(codec: Codec<M> | CodecFactory<M>): codec is CodecFactory<M> {
  return typeof (codec as Partial<CodecFactory<M>>).create === 'function';
}

/** Calls `factory.create(info)` and checks what it returns against the factory's `maxSize`. */
export function createCodec<M>(factory: CodecFactory<M>, info: ConnectionInfo): Codec<M> {
  let codec: Codec<M>;
  try {
    codec = factory.create(info);
  } catch (cause) {
    throw new PeerlinkError(ErrorCodes.CODEC_FAILURE, 'codec factory threw', { cause });
  }
  checkCodec(codec, factory.maxSize);
  return codec;
}

/** Throws `ERR_CODEC_FAILURE` unless `codec` looks like a codec whose `maxSize` is within `max`. */
export function checkCodec<M>(codec: Codec<M>, max: number): void {
  if (
    codec === null ||
    typeof codec !== 'object' ||
    typeof codec.decode !== 'function' ||
    typeof codec.encode !== 'function' ||
    !Number.isSafeInteger(codec.maxSize) ||
    codec.maxSize <= 0 ||
    codec.maxSize > max
  ) {
    throw new PeerlinkError(
      ErrorCodes.CODEC_FAILURE,
      `not a codec with a maxSize from 1 to ${max} bytes`,
    );
  }
}
