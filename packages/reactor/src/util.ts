import { ErrorCodes, invalidArgument, PeerlinkError } from '@peerlink/stream';
import { type ReactorErrorCode, ReactorErrorCodes } from './errors.js';
import type { PeerId } from './events.js';
import type { ReactorTimers } from './options.js';

export function noop(): void {}

/** `value` if it is an `Error`, else an `Error` with its text. */
export function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

export function shutdownError(): PeerlinkError<ReactorErrorCode> {
  return new PeerlinkError(ReactorErrorCodes.SHUTDOWN, 'the reactor is shut down');
}

export function noSuchPeer(peer: PeerId): PeerlinkError<ReactorErrorCode> {
  return new PeerlinkError(ReactorErrorCodes.NO_SUCH_PEER, `no such peer: ${peer}`);
}

/** `value` if it is a positive integer (or `Infinity` when `infinityOk`), else `ERR_INVALID_CONFIG`. */
export function positiveInt(field: string, value: number, infinityOk = false): number {
  if (
    (infinityOk && value === Number.POSITIVE_INFINITY) ||
    (Number.isInteger(value) && value > 0)
  ) {
    return value;
  }
  throw new PeerlinkError(
    ErrorCodes.INVALID_CONFIG,
    `${field}: must be a positive integer, got ${String(value)}`,
  );
}

/** The longest delay `setTimeout` and `setInterval` take (2^31 − 1 ms, about 24.8 days). */
export const MAX_TIMER_DELAY = 2 ** 31 - 1;

/**
 * A deadline run by one timer, in whole ms: an integer from 1 to {@link MAX_TIMER_DELAY} (a longer
 * delay would fire at once on the platform's timers). Else `ERR_INVALID_CONFIG` naming `field`.
 */
export function timerDelay(field: string, value: number): number {
  if (!Number.isInteger(value) || !(value >= 1 && value <= MAX_TIMER_DELAY)) {
    throw new PeerlinkError(
      ErrorCodes.INVALID_CONFIG,
      `${field}: must be a whole number of milliseconds from 1 to ${MAX_TIMER_DELAY}, got ${String(value)}`,
    );
  }
  return value;
}

/**
 * A timer's period, in ms: a number from 1 to {@link MAX_TIMER_DELAY}, or `undefined` (the
 * default applies). Else `ERR_INVALID_CONFIG` naming `field`.
 */
export function timerInterval(field: string, value: number | undefined): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !(value >= 1 && value <= MAX_TIMER_DELAY)) {
    throw new PeerlinkError(
      ErrorCodes.INVALID_CONFIG,
      `${field}: must be a number of milliseconds from 1 to ${MAX_TIMER_DELAY}, got ${String(value)}`,
    );
  }
  return value;
}

/** A period counted by housekeeping, in ms: a positive number, or `Infinity` for never. */
export function interval(field: string, value: number): number {
  if (typeof value !== 'number' || !(value > 0)) {
    throw new PeerlinkError(
      ErrorCodes.INVALID_CONFIG,
      `${field}: must be a positive number of milliseconds (Infinity: never), got ${String(value)}`,
    );
  }
  return value;
}

/**
 * `shutdown`'s `flushTimeout`, in ms (default 1000): from 0 to {@link MAX_TIMER_DELAY}, or
 * `Infinity` to flush until done. Else `ERR_INVALID_CONFIG` naming the field.
 */
export function flushTimeoutOf(options: { flushTimeout?: number }): number {
  if (typeof options !== 'object' || options === null) {
    throw invalidArgument('options', 'an object ({ flushTimeout })', options);
  }
  const value = options.flushTimeout ?? 1000;
  if (
    typeof value !== 'number' ||
    !((value >= 0 && value <= MAX_TIMER_DELAY) || value === Number.POSITIVE_INFINITY)
  ) {
    throw new PeerlinkError(
      ErrorCodes.INVALID_CONFIG,
      `flushTimeout: must be a number of milliseconds from 0 to ${MAX_TIMER_DELAY}, or Infinity (flush until done), got ${String(value)}`,
    );
  }
  return value;
}

/** `value` if it is a finite number ≥ 0, else `ERR_INVALID_CONFIG` naming `field`. */
export function nonNegative(field: string, value: number): number {
  if (Number.isFinite(value) && value >= 0) return value;
  throw new PeerlinkError(
    ErrorCodes.INVALID_CONFIG,
    `${field}: must be a finite number ≥ 0, got ${value}`,
  );
}

/** `ERR_BANNED`: a connect to a banned address. */
export function bannedError(target: string): PeerlinkError<ReactorErrorCode> {
  return new PeerlinkError(ReactorErrorCodes.BANNED, `connect to ${target}: the address is banned`);
}

/**
 * Runs `callback` once after `ms` milliseconds on `timers`, the reactor's injected timers, or on
 * the platform's `setTimeout` when none were injected (unref'd when `unref`, so that it does not
 * keep the process alive on its own). Returns its cancel. Every deadline of the reactor goes
 * through here, so that with injected timers all of them run on the same (simulated) time.
 */
export function after(
  timers: ReactorTimers | undefined,
  ms: number,
  callback: () => void,
  unref: boolean,
): () => void {
  if (timers === undefined) {
    const timer = setTimeout(callback, ms);
    if (unref) (timer as { unref?: () => void }).unref?.();
    return () => clearTimeout(timer);
  }
  const handle = timers.setTimeout(callback, ms);
  return () => timers.clearTimeout(handle);
}
