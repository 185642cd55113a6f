/**
 * Errors for adapters and the layers above the stream: the codec package's error base class and
 * code table re-exported (so that an adapter depends on `@peerlink/stream` alone), the code
 * unions the stream and transports report, and the small helpers every package needs.
 */
import { type ErrorCodes, PeerlinkError } from '@peerlink/codec';

export {
  type ErrorCode,
  ErrorCodes,
  invalidArgument,
  PeerlinkError,
  type PeerlinkErrorOptions,
} from '@peerlink/codec';

/** The codes of the errors that end a `MessageStream`'s receive side (the peer's fault, or the codec's). */
export type StreamErrorCode =
  | typeof ErrorCodes.MALFORMED
  | typeof ErrorCodes.MESSAGE_TOO_LARGE
  | typeof ErrorCodes.RX_LIMIT
  | typeof ErrorCodes.CODEC_FAILURE
  | typeof ErrorCodes.SINK_FAILURE;

/**
 * Codes of Node.js and the operating system that transports pass through as Node reports them:
 * socket errors (`errno` names) and DNS resolver errors. Listed so that a `switch` over a
 * transport error's `code` is checked by the compiler.
 */
export type SystemErrorCode =
  | 'EACCES'
  | 'EADDRINUSE'
  | 'EADDRNOTAVAIL'
  | 'EAFNOSUPPORT'
  | 'EAI_AGAIN'
  | 'EAI_FAIL'
  | 'EAI_NODATA'
  | 'EAI_NONAME'
  | 'EALREADY'
  | 'EBADF'
  | 'ECANCELED'
  | 'ECANCELLED'
  | 'ECONNABORTED'
  | 'ECONNREFUSED'
  | 'ECONNRESET'
  | 'EHOSTDOWN'
  | 'EHOSTUNREACH'
  | 'EINVAL'
  | 'EISCONN'
  | 'EMFILE'
  | 'EMSGSIZE'
  | 'ENETDOWN'
  | 'ENETRESET'
  | 'ENETUNREACH'
  | 'ENFILE'
  | 'ENOBUFS'
  | 'ENODATA'
  | 'ENOENT'
  | 'ENOMEM'
  | 'ENOTCONN'
  | 'ENOTFOUND'
  | 'ENOTSOCK'
  | 'ENOTSUP'
  | 'EOF'
  | 'EPERM'
  | 'EPIPE'
  | 'EPROTO'
  | 'EREFUSED'
  | 'ESERVFAIL'
  | 'ETIMEDOUT'
  | 'ETIMEOUT';

/**
 * The `code` of an error a transport reports: a {@link SystemErrorCode} passed through as it is,
 * or a peerlink or adapter code, which always starts with `ERR_` (`ERR_DNS`, `ERR_PROXY_AUTH`,
 * `ERR_TLS_CERT_UNTRUSTED`, Node's own `ERR_*`).
 */
export type TransportErrorCode = SystemErrorCode | `ERR_${string}`;

/**
 * An error a transport reported (`onClose`, a `connect` rejection, `ListenHandler.onError`). Its
 * `code` is a {@link TransportErrorCode}; it is absent only when a third-party adapter broke the
 * contract and reported an error without one.
 */
export type TransportError = Error & { readonly code?: TransportErrorCode };

/** The `code` of `error` when it has a string one, else `undefined`. Never throws. */
export function codeOf(error: unknown): string | undefined {
  try {
    const code = (error as { code?: unknown } | null | undefined)?.code;
    return typeof code === 'string' ? code : undefined;
  } catch {
    return undefined; // a throwing getter, or a Proxy with a throwing trap
  }
}

/**
 * `error` as a {@link PeerlinkError}: returned as it is when it already is one, else wrapped in
 * one with the error's own string `code` (a system code such as `ECONNRESET` is kept) or
 * `fallback` when it has none. The original is the `cause`. Never throws.
 */
export function withCode<C extends string>(error: unknown, fallback: C): PeerlinkError {
  if (PeerlinkError.isInstance(error)) return error;
  return new PeerlinkError(codeOf(error) ?? fallback, messageOf(error), { cause: error });
}

/** A printable message for any thrown value (its `message` when it has one). Never throws. */
export function messageOf(value: unknown): string {
  try {
    if (value instanceof Error) return String(value.message);
    return String(value);
  } catch {
    return 'an unprintable value'; // a throwing toString, getter or Proxy trap
  }
}

/**
 * Settles like `promise`, or rejects with `signal.reason` as soon as `signal` aborts (at once if it
 * already has), whichever comes first. A value that arrives after the abort is handed to `late`
 * (close a late connection there, so that nothing leaks); a late rejection is dropped.
 */
export function abortable<T>(
  promise: Promise<T>,
  signal: AbortSignal,
  late?: (value: T) => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const onAbort = () => {
      settled = true;
      reject(signal.reason);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        if (!settled) resolve(value);
        else late?.(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        if (!settled) reject(error);
      },
    );
  });
}
