import {
  ErrorCodes,
  PeerlinkError,
  resolveStreamConfig,
  type StreamConfigOptions,
} from '@peerlink/stream';

/** Options of `webSocketTransport`, in Node and in a browser. */
export interface WebSocketTransportOptions {
  /**
   * The URL path of the WebSocket endpoint, for `listen` (other paths are refused with HTTP 400)
   * and for the default {@link url}. Default `'/'`.
   */
  path?: string;
  /**
   * Maps a `connect` target (`host:port`, `[v6]:port`) to the URL to open. Default
   * `` ws://${target}${path} ``; return a `wss://` URL to connect over TLS.
   */
  url?: (target: string) => string;
  /**
   * Bytes a connection may buffer for sending before `write` returns `false`. Default 1048576
   * (1 MiB). In Node the buffered bytes are those not yet handed to the socket; in a browser,
   * `WebSocket.bufferedAmount`.
   */
  highWaterMark?: number;
  /**
   * The largest frame this side sends, in bytes: larger writes are split (a frame boundary means
   * nothing to the receiver). Default 65536 (64 KiB).
   */
  frameSize?: number;
  /**
   * The codec's limits, to size `maxPayload` (Node only; a browser applies its own): with
   * `{ maxSize }` (the codec, or any object with its `maxSize`) and optional stream options,
   * `maxPayload` is the receive limit `rxBufMaxSize × maxSize`, never below `frameSize`.
   */
  limits?: { maxSize: number; stream?: StreamConfigOptions };
  /**
   * The largest frame accepted, in bytes (Node only); a larger frame closes the connection with
   * 1009 (`ERR_WS_MESSAGE_TOO_BIG`). Default: from {@link limits} when given, else 1048576 (1 MiB).
   */
  maxPayload?: number;
}

/** @internal The options with their defaults applied. */
export interface ResolvedOptions {
  path: string;
  url: (target: string) => string;
  highWaterMark: number;
  frameSize: number;
  maxPayload: number;
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0)
    throw new PeerlinkError(
      ErrorCodes.INVALID_CONFIG,
      `${name}: must be a positive integer, got ${value}`,
    );
  return value;
}

/** @internal Applies the defaults; throws `ERR_INVALID_CONFIG` naming the field on a bad value. */
export function resolveOptions(options: WebSocketTransportOptions): ResolvedOptions {
  const path = options.path ?? '/';
  const frameSize = positive('frameSize', options.frameSize, 64 * 1024);
  const fromLimits =
    options.limits === undefined
      ? 1024 * 1024
      : resolveStreamConfig(options.limits.maxSize, options.limits.stream ?? {}).rxLimit;
  return {
    path,
    url: options.url ?? ((target) => `ws://${target}${path}`),
    highWaterMark: positive('highWaterMark', options.highWaterMark, 1024 * 1024),
    frameSize,
    maxPayload: Math.max(frameSize, positive('maxPayload', options.maxPayload, fromLimits)),
  };
}
