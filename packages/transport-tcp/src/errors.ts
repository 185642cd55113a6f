/**
 * The error codes of the TCP transport. Socket errors keep Node's own code (`ECONNREFUSED`,
 * `ECONNRESET`, `EPIPE`, `EADDRINUSE`, `EMFILE`, ...), wrapped in a `PeerlinkError` whose `cause`
 * is the original error; the codes below are the ones this package adds.
 */
export const TcpErrorCodes = Object.freeze({
  /** A target name could not be resolved (the resolver's error, e.g. `ENOTFOUND`, is the cause). */
  DNS: 'ERR_DNS',
  /** A socket error without a code of its own (from a custom duplex); the original is the cause. */
  SOCKET: 'ERR_SOCKET',
  /** `start` was called a second time on a connection (nothing changes). */
  ALREADY_STARTED: 'ERR_ALREADY_STARTED',
  /** A connector broke its contract: it returned something that is not an open duplex. */
  CONNECTOR: 'ERR_CONNECTOR',
  /** The SOCKS5 proxy could not be reached (the connect error, e.g. `ECONNREFUSED`, is the cause). */
  PROXY_UNREACHABLE: 'ERR_PROXY_UNREACHABLE',
  /** The SOCKS5 proxy refused our credentials, or wants an authentication method we do not offer. */
  PROXY_AUTH: 'ERR_PROXY_AUTH',
  /** The SOCKS5 proxy could not reach the target; `replyCode` holds the SOCKS5 reply code (1–8). */
  PROXY_TARGET_UNREACHABLE: 'ERR_PROXY_TARGET_UNREACHABLE',
  /** The "proxy" does not speak SOCKS5: a malformed reply, or it hung up during the handshake. */
  PROXY_PROTOCOL: 'ERR_PROXY_PROTOCOL',
  /** The socks package's own 30 s handshake timer fired (only without a shorter abort signal). */
  PROXY_TIMEOUT: 'ERR_PROXY_TIMEOUT',
} as const);

/** One of {@link TcpErrorCodes}. */
export type TcpErrorCode = (typeof TcpErrorCodes)[keyof typeof TcpErrorCodes];
