import { PeerlinkError } from '@peerlink/stream';

/**
 * The error codes of the WebSocket transport, beside the system codes it passes on
 * (`ECONNREFUSED`, `ECONNRESET`, `EADDRINUSE`, ...).
 */
export const WsErrorCodes = {
  /** The server answered the opening handshake with something other than `101` (a 404, a plain HTTP server). */
  HANDSHAKE: 'ERR_WS_HANDSHAKE',
  /**
   * A browser could not open the connection: refused, unreachable or a failed handshake (a
   * browser does not tell which).
   */
  CONNECT_FAILED: 'ERR_WS_CONNECT_FAILED',
  /** The peer broke the WebSocket protocol or sent a text frame that is not ours (close codes 1002, 1003, 1007). */
  PROTOCOL: 'ERR_WS_PROTOCOL',
  /** A frame was larger than the receiver's `maxPayload` (close code 1009). */
  MESSAGE_TOO_BIG: 'ERR_WS_MESSAGE_TOO_BIG',
  /** The peer closed with any other code (1008, 1011–1015, 3000–4999 but ours); see `closeCode`. */
  CLOSED: 'ERR_WS_CLOSED',
  /** `listen` where this build cannot listen (the browser build). */
  UNSUPPORTED: 'ERR_WS_UNSUPPORTED',
} as const;

/** One of {@link WsErrorCodes}. */
export type WsErrorCode = (typeof WsErrorCodes)[keyof typeof WsErrorCodes];

/** The close code a `reset()` sends where no TCP reset can be sent (a browser): read as `ECONNRESET`. */
export const RESET_CLOSE_CODE = 4001;

/** The text frame that means "I finished sending" (the half-close of the contract's `end()`). */
export const END_MARKER = 'peerlink:end';

/** A close with one of these codes is an end of stream (the `left` disconnect reason), not an error. */
const CLEAN_CODES = new Set([1000, 1001, 1005]);

/** A transport error that came from a close frame (or its absence): `closeCode` and `closeReason` say which. */
export class WsCloseError extends PeerlinkError {
  /** The WebSocket close code (1006 when the connection dropped without a close frame). */
  readonly closeCode: number;
  /** The reason text of the close frame ('' when none). */
  readonly closeReason: string;

  constructor(code: string, closeCode: number, closeReason: string) {
    super(
      code,
      `WebSocket closed with code ${closeCode}${closeReason === '' ? '' : ` (${closeReason})`}`,
    );
    this.closeCode = closeCode;
    this.closeReason = closeReason;
  }
}

/**
 * Maps a close code to the error `onClose` reports, or `undefined` for an end of stream:
 *
 * | close code | error `code` |
 * |---|---|
 * | 1000, 1001, 1005 | none: an end of stream |
 * | 1006 (no close frame) when `droppedIsEnd` (Node: the socket's own error, if any, is reported instead) | none: an end of stream |
 * | 1006 otherwise (a browser cannot tell a reset from a close), 4001 (a browser's `reset()`) | `ECONNRESET` |
 * | 1002, 1003, 1007 | `ERR_WS_PROTOCOL` |
 * | 1009 | `ERR_WS_MESSAGE_TOO_BIG` |
 * | any other | `ERR_WS_CLOSED` |
 */
export function closeError(
  closeCode: number,
  closeReason: string,
  droppedIsEnd = false,
): WsCloseError | undefined {
  if (CLEAN_CODES.has(closeCode) || (closeCode === 1006 && droppedIsEnd)) return undefined;
  let code: string = WsErrorCodes.CLOSED;
  if (closeCode === 1006 || closeCode === RESET_CLOSE_CODE) code = 'ECONNRESET';
  else if (closeCode === 1002 || closeCode === 1003 || closeCode === 1007)
    code = WsErrorCodes.PROTOCOL;
  else if (closeCode === 1009) code = WsErrorCodes.MESSAGE_TOO_BIG;
  return new WsCloseError(code, closeCode, closeReason);
}
