import { codeOf, PeerlinkError } from '@peerlink/stream';

/**
 * The codes of TLS handshake failures. A connect that fails during the handshake rejects with a
 * {@link PeerlinkError} carrying one of these, and the original Node/OpenSSL error as `cause`;
 * failures before the TCP connection is up keep their socket code (`ECONNREFUSED`, ...).
 */
export const TlsErrorCodes = Object.freeze({
  /** The peer's certificate does not chain to a trusted CA (unknown CA, self-signed, revoked). */
  CERT_UNTRUSTED: 'ERR_TLS_CERT_UNTRUSTED',
  /** A certificate in the chain has expired (ours, as the peer reported it, or the peer's). */
  CERT_EXPIRED: 'ERR_TLS_CERT_EXPIRED',
  /** A certificate in the chain is not valid yet. */
  CERT_NOT_YET_VALID: 'ERR_TLS_CERT_NOT_YET_VALID',
  /** The server requires a client certificate and this client presented none. */
  CERT_REQUIRED: 'ERR_TLS_CERT_REQUIRED',
  /** The peer refused the certificate we presented (alerts `unknown_ca`, `bad_certificate`, …). */
  CERT_REJECTED: 'ERR_TLS_CERT_REJECTED',
  /** The server's certificate does not name the host dialed (or `servername`). */
  HOSTNAME_MISMATCH: 'ERR_TLS_HOSTNAME_MISMATCH',
  /** Any other handshake failure: protocol or cipher mismatch, or the peer closed mid-handshake. */
  HANDSHAKE_FAILED: 'ERR_TLS_HANDSHAKE_FAILED',
  /** A socket error that carried no code of its own, or an `onConnection` handler that threw. */
  SOCKET: 'ERR_TLS_SOCKET',
} as const);

/** One of {@link TlsErrorCodes}. */
export type TlsErrorCode = (typeof TlsErrorCodes)[keyof typeof TlsErrorCodes];

/** Node's certificate verification codes (OpenSSL `X509_V_ERR_*` names) and what they become. */
const VERIFY_CODES: Readonly<Record<string, TlsErrorCode>> = {
  CERT_HAS_EXPIRED: TlsErrorCodes.CERT_EXPIRED,
  CERT_NOT_YET_VALID: TlsErrorCodes.CERT_NOT_YET_VALID,
  ERR_TLS_CERT_ALTNAME_INVALID: TlsErrorCodes.HOSTNAME_MISMATCH,
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: TlsErrorCodes.CERT_UNTRUSTED,
  UNABLE_TO_GET_ISSUER_CERT: TlsErrorCodes.CERT_UNTRUSTED,
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: TlsErrorCodes.CERT_UNTRUSTED,
  DEPTH_ZERO_SELF_SIGNED_CERT: TlsErrorCodes.CERT_UNTRUSTED,
  SELF_SIGNED_CERT_IN_CHAIN: TlsErrorCodes.CERT_UNTRUSTED,
  CERT_UNTRUSTED: TlsErrorCodes.CERT_UNTRUSTED,
  CERT_REJECTED: TlsErrorCodes.CERT_UNTRUSTED,
  CERT_REVOKED: TlsErrorCodes.CERT_UNTRUSTED,
  CERT_SIGNATURE_FAILURE: TlsErrorCodes.CERT_UNTRUSTED,
  INVALID_CA: TlsErrorCodes.CERT_UNTRUSTED,
  INVALID_PURPOSE: TlsErrorCodes.CERT_UNTRUSTED,
  PATH_LENGTH_EXCEEDED: TlsErrorCodes.CERT_UNTRUSTED,
  UNABLE_TO_DECRYPT_CERT_SIGNATURE: TlsErrorCodes.CERT_UNTRUSTED,
  UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY: TlsErrorCodes.CERT_UNTRUSTED,
  // Alerts the peer sent about the certificate we presented (Node: ERR_SSL_<alert name>).
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: TlsErrorCodes.CERT_REQUIRED,
  ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE: TlsErrorCodes.CERT_REQUIRED,
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED: TlsErrorCodes.CERT_EXPIRED,
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: TlsErrorCodes.CERT_REJECTED,
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: TlsErrorCodes.CERT_REJECTED,
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN: TlsErrorCodes.CERT_REJECTED,
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_REVOKED: TlsErrorCodes.CERT_REJECTED,
  ERR_SSL_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE: TlsErrorCodes.CERT_REJECTED,
};

/**
 * Turns an error raised while a connection was being set up into the error a connect rejects
 * with. `phase` says how far it got: `'tcp'` (no TCP connection yet: the socket code is kept),
 * `'tls'` (handshake under way) or `'confirm'` (TLS 1.3: our handshake is done, the server has not
 * confirmed it yet; a close here means the server refused us).
 */
export function handshakeError(
  error: Error | undefined,
  phase: 'tcp' | 'tls' | 'confirm',
  target: string,
  presentedCert = false,
): PeerlinkError {
  const code = codeOf(error);
  const mapped = code === undefined ? undefined : VERIFY_CODES[code];
  if (mapped !== undefined) {
    return new PeerlinkError(mapped, `TLS connect to ${target}: ${error?.message}`, {
      cause: error,
    });
  }
  if (phase === 'tcp' && code !== undefined) {
    return new PeerlinkError(code, `connect to ${target}: ${error?.message}`, { cause: error });
  }
  if (error === undefined && phase === 'confirm' && presentedCert) {
    return new PeerlinkError(
      TlsErrorCodes.CERT_REJECTED,
      `TLS connect to ${target}: the server closed the connection instead of confirming the handshake: it refused our certificate`,
    );
  }
  const why =
    error === undefined
      ? phase === 'confirm'
        ? 'the server closed the connection after the handshake (it refused our certificate?)'
        : 'the peer closed the connection during the handshake'
      : error.message;
  return new PeerlinkError(TlsErrorCodes.HANDSHAKE_FAILED, `TLS connect to ${target}: ${why}`, {
    cause: error,
  });
}

/**
 * A server-side handshake failure, for `ListenHandler.onError`, mapped like a client's.
 * `authorizationError` is the verification code of the client's certificate, when Node refused
 * it (Node then reports the failure itself only as a hang-up).
 */
export function acceptError(
  error: Error,
  remote: string,
  authorizationError?: Error | string | null,
): PeerlinkError {
  const verify =
    typeof authorizationError === 'string' ? authorizationError : codeOf(authorizationError);
  const code = codeOf(error);
  const mapped =
    (verify === undefined ? undefined : VERIFY_CODES[verify]) ??
    (code === undefined ? undefined : VERIFY_CODES[code]) ??
    TlsErrorCodes.HANDSHAKE_FAILED;
  return new PeerlinkError(mapped, `TLS handshake from ${remote} failed: ${error.message}`, {
    cause: error,
  });
}

/**
 * An error of a listening server (an accept that failed: `EMFILE`, `ENFILE`, …), for
 * `ListenHandler.onError`: a {@link PeerlinkError} with the error's own code (`ERR_TLS_SOCKET`
 * when it has none) and the original as `cause`.
 */
export function acceptFailure(error: Error, address: string): PeerlinkError {
  return new PeerlinkError(
    codeOf(error) ?? TlsErrorCodes.SOCKET,
    `accept on ${address}: ${error.message}`,
    {
      cause: error,
    },
  );
}
