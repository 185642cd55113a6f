import { type Codec, invalidArgument } from '@peerlink/codec';

/** Throws `ERR_INVALID_ARGUMENT` unless `now` is a number of milliseconds (not NaN). */
export function checkNow(now: number): void {
  if (typeof now !== 'number' || Number.isNaN(now)) {
    throw invalidArgument('now', 'a number of milliseconds', now);
  }
}

/** Throws `ERR_INVALID_ARGUMENT` unless `codec` is an object with `encode` and `decode` functions. */
export function checkCodec(codec: unknown): void {
  if (
    typeof codec !== 'object' ||
    codec === null ||
    typeof (codec as Codec<unknown>).encode !== 'function' ||
    typeof (codec as Codec<unknown>).decode !== 'function'
  ) {
    throw invalidArgument('codec', 'an object with encode and decode functions', codec);
  }
}
