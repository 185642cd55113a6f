import { PeerlinkError } from '@peerlink/stream';

/**
 * The codes of the errors the memory transport reports. Transport failures use the POSIX names
 * the TCP adapter reports too, so that code written against one transport works on the other.
 */
export const MemoryErrorCodes = Object.freeze({
  /** The connection was reset: by the remote side's `reset()`, or by a `reset` fault. */
  CONNECTION_RESET: 'ECONNRESET',
  /** Nobody listens on the target address, or a `refuse` fault applies to the link. */
  CONNECTION_REFUSED: 'ECONNREFUSED',
  /** `listen` on an address that already has a listener in the same network. */
  ADDRESS_IN_USE: 'EADDRINUSE',
  /** `start` was called twice on the same connection. */
  ALREADY_STARTED: 'ERR_ALREADY_STARTED',
} as const);

/** One of the {@link MemoryErrorCodes} values. */
export type MemoryErrorCode = (typeof MemoryErrorCodes)[keyof typeof MemoryErrorCodes];

export function resetError(): PeerlinkError {
  return new PeerlinkError(MemoryErrorCodes.CONNECTION_RESET, 'connection reset by peer');
}
