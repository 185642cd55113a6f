import { codeOf, parseAddress } from '@peerlink/stream';
import { check } from './steps.js';

export const KiB = 1024;
export const MiB = 1024 * KiB;

/** Write sizes for the ordering tests: single bytes up to a whole MiB, odd sizes between. */
export const WRITE_SIZES = [
  1,
  2,
  3,
  7,
  64,
  1000,
  4096,
  16_383,
  65_535,
  65_536,
  65_537,
  300_001,
  MiB,
];

/**
 * Marks `promise` as handled (a test that fails before awaiting it must not leave an unhandled
 * rejection behind) and returns it unchanged: awaiting it still throws.
 */
export function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

/** Throws unless the connection's close was clean (`onClose(undefined)`). */
export function expectCleanClose(side: { closeError: Error | undefined; label: string }): void {
  check(
    side.closeError === undefined,
    `${side.label}: expected a clean close, got ${codeOf(side.closeError) ?? side.closeError?.message}`,
  );
}

/**
 * Throws unless `address` is a non-empty string. Addresses are opaque strings owned by the
 * transport (`host:port` for TCP, a path for a Unix socket, a name for a simulated network).
 */
export function expectAddress(address: unknown, what: string): void {
  check(
    typeof address === 'string' && address !== '',
    `${what}: not a non-empty string (${String(address)})`,
  );
}

/** The port of a `host:port` address, or `undefined` for an address of another form. */
export function portOf(address: string): number | undefined {
  try {
    return parseAddress(address).port;
  } catch {
    return undefined;
  }
}
