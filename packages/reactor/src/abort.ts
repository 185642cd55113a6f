import { invalidArgument, PeerlinkError } from '@peerlink/stream';
import { type ReactorErrorCode, ReactorErrorCodes } from './errors.js';

/** `ERR_ABORTED` for `what`, with the signal's reason as cause. */
export function abortedError(what: string, signal: AbortSignal): PeerlinkError<ReactorErrorCode> {
  return new PeerlinkError(ReactorErrorCodes.ABORTED, `${what} aborted`, { cause: signal.reason });
}

/** `value` is an `AbortSignal` or `undefined`, else `ERR_INVALID_ARGUMENT`. */
export function checkSignal(name: string, value: unknown): AbortSignal | undefined {
  if (value === undefined || value instanceof AbortSignal) return value;
  throw invalidArgument(name, 'an AbortSignal or undefined', value);
}

/**
 * Settles with `promise`, or rejects with `ERR_ABORTED` as soon as `signal` aborts (at once if it
 * already has). A value that arrives after the abort is handed to `late` (to release it).
 */
export function untilAborted<T>(
  promise: Promise<T>,
  signal: AbortSignal | undefined,
  what: string,
  late?: (value: T) => void,
): Promise<T> {
  if (signal === undefined) return promise;
  return new Promise<T>((resolve, reject) => {
    let aborted = false;
    const onAbort = () => {
      aborted = true;
      reject(abortedError(what, signal));
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        if (aborted) late?.(value);
        else resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        if (!aborted) reject(error);
      },
    );
  });
}
