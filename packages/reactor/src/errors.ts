/** Error codes raised or reported by the reactor (all on `PeerlinkError`). */
export const ReactorErrorCodes = Object.freeze({
  /** A command named a peer that does not exist or no longer does. */
  NO_SUCH_PEER: 'ERR_NO_SUCH_PEER',
  /** An outbound connect did not complete within `connectTimeout`. */
  CONNECT_TIMEOUT: 'ERR_CONNECT_TIMEOUT',
  /** The operation was aborted by the caller's `AbortSignal`. */
  ABORTED: 'ERR_ABORTED',
  /** The reactor is shutting down or has shut down. */
  SHUTDOWN: 'ERR_SHUTDOWN',
  /** The peer disconnected while the caller waited on it. */
  PEER_DISCONNECTED: 'ERR_PEER_DISCONNECTED',
  /** Binding a listen address failed; `cause` holds the transport's error (e.g. `EADDRINUSE`). */
  LISTEN_FAILED: 'ERR_LISTEN_FAILED',
  /** A connect named an address that is banned (`Reactor.ban`). */
  BANNED: 'ERR_BANNED',
  /** A connect would exceed `maxOutbound`. */
  OUTBOUND_LIMIT: 'ERR_OUTBOUND_LIMIT',
  /** A connection upgrade failed (it threw, or the connection ended first); `cause` says why. */
  UPGRADE_FAILED: 'ERR_UPGRADE_FAILED',
  /** A connection upgrade did not complete within `upgradeTimeout`. */
  UPGRADE_TIMEOUT: 'ERR_UPGRADE_TIMEOUT',
} as const);

/** One of the {@link ReactorErrorCodes} values. */
export type ReactorErrorCode = (typeof ReactorErrorCodes)[keyof typeof ReactorErrorCodes];
