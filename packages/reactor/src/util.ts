import { ErrorCodes, PeerlinkError } from '@peerlink/stream';
import { type ReactorErrorCode, ReactorErrorCodes } from './errors.js';
import type { PeerId } from './events.js';

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
    `${field}: must be a positive integer, got ${value}`,
  );
}

/** `value` if it is a finite number ≥ 0, else `ERR_INVALID_CONFIG` naming `field`. */
export function nonNegative(field: string, value: number): number {
  if (Number.isFinite(value) && value >= 0) return value;
  throw new PeerlinkError(
    ErrorCodes.INVALID_CONFIG,
    `${field}: must be a finite number ≥ 0, got ${value}`,
  );
}
