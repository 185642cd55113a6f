import { ErrorCodes, MAX_DATA_CHUNK, PeerlinkError } from '@peerlink/stream';

/** Which direction of a connection a fault applies to. In a network, `a` is the connecting side. */
export type FaultDirection = 'a-to-b' | 'b-to-a' | 'both';

/**
 * A fault that strikes an established connection once `afterBytes` bytes have been delivered in
 * the given direction (`direction` defaults to `'a-to-b'`; `'both'` arms each direction on its
 * own counter). With `afterBytes: 0` it strikes as the first byte would be delivered.
 *
 * - `reset`: exactly `afterBytes` bytes are delivered, then both sides see `onClose` with an
 *   `ECONNRESET` error (what a middlebox reset looks like); undelivered bytes are lost.
 * - `stall`: `afterBytes` bytes are delivered, then nothing more in that direction, not even the
 *   end of stream: writes are still accepted (so the writer fills up and stops seeing `onDrain`).
 * - `half-close`: `afterBytes` bytes are delivered, then the reader sees `onEnd` as if the writer
 *   had ended; the writer is not told, and what it writes afterwards is silently dropped.
 */
export interface StreamFault {
  readonly kind: 'reset' | 'stall' | 'half-close';
  /** Bytes delivered in `direction` before the fault strikes. Default 0. */
  readonly afterBytes?: number;
  /** The direction watched. Default `'a-to-b'`. */
  readonly direction?: FaultDirection;
}

/**
 * A fault that strikes a connection attempt in a {@link MemoryNetwork}:
 * - `refuse`: the connect rejects with `ECONNREFUSED`, whether or not someone listens.
 * - `blackhole`: the connect never completes (until its `AbortSignal` fires), as with a host that
 *   drops every packet. Use it to test connect timeouts.
 */
export interface ConnectFault {
  readonly kind: 'refuse' | 'blackhole';
}

/** Any fault a network link can carry. */
export type Fault = StreamFault | ConnectFault;

/** How writes are cut into delivered chunks. */
export interface ChunkingOptions {
  /** Smallest chunk, in bytes. Default 1. */
  readonly min?: number;
  /** Largest chunk, in bytes; at most 65536 (the contract's limit per `onData`). Default 65536. */
  readonly max?: number;
}

/**
 * The behaviour of one connection (both directions alike, except for faults, which name theirs).
 * Every field is optional; defaults in each field's doc.
 */
export interface LinkOptions {
  /**
   * Seeds this link's random choices (chunk sizes, jitter). In a network it is mixed with the
   * network seed and the connection's serial number. Default 0.
   */
  readonly seed?: number;
  /**
   * Chunking: each write is cut into pieces whose sizes are drawn log-uniformly from
   * [`min`, `max`] (so one-byte pieces are common), never spanning two writes. `false` delivers
   * each write whole (split at 64 KiB). Default `{ min: 1, max: 65536 }`.
   */
  readonly chunking?: ChunkingOptions | false;
  /** One-way latency added to every chunk and to the end of stream, in milliseconds. Default 0. */
  readonly latency?: number;
  /**
   * Extra random delay per chunk, uniform in [0, `jitter`) milliseconds; order is always kept.
   * Default 0.
   */
  readonly jitter?: number;
  /** Bandwidth per direction, in bytes per second; `Infinity` for unlimited. Default `Infinity`. */
  readonly bandwidth?: number;
  /**
   * Bytes in flight per direction (written, not yet delivered to the reader's `onData`) at which
   * `write` starts returning `false`. `onDrain` follows once the reader has brought it down to
   * half. Default 65536 (64 KiB).
   */
  readonly capacity?: number;
  /**
   * Delivers every chunk from one reused buffer that is overwritten after each `onData` call, so
   * that a reader keeping a view of a chunk past the call (a contract violation) sees garbage and
   * fails its tests. Default `false`.
   */
  readonly scribble?: boolean;
  /** Faults for this link. Default none. */
  readonly faults?: readonly Fault[];
}

/** The resolved settings of one direction. */
export interface DirectionConfig {
  readonly chunkMin: number;
  readonly chunkMax: number;
  readonly latency: number;
  readonly jitter: number;
  readonly bandwidth: number;
  readonly capacity: number;
  readonly lowWater: number;
  readonly scribble: boolean;
  readonly resetAt: number | undefined;
  readonly stallAt: number | undefined;
  readonly halfCloseAt: number | undefined;
  /** Whether timing is involved at all (latency, jitter or bandwidth); else chunks are due at once. */
  readonly timed: boolean;
}

const DEFAULT_CAPACITY = 65536;

function invalid(field: string, value: unknown, expected: string): never {
  throw new PeerlinkError(
    ErrorCodes.INVALID_CONFIG,
    `${field}: expected ${expected}, got ${String(value)}`,
  );
}

function nonNegative(field: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value >= 0) || !Number.isFinite(value)) {
    invalid(field, value, 'a finite number ≥ 0');
  }
  return value;
}

function integerIn(
  field: string,
  value: number | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) {
    invalid(field, value, `an integer in [${min}, ${max}]`);
  }
  return value;
}

/** Validates `options` and resolves the two directions: `[a-to-b, b-to-a]`. */
export function resolveLink(
  options: LinkOptions,
  allowConnectFaults: boolean,
): [DirectionConfig, DirectionConfig] {
  const chunking = options.chunking;
  let chunkMin = 1;
  let chunkMax = MAX_DATA_CHUNK;
  if (chunking === false) {
    chunkMin = MAX_DATA_CHUNK;
  } else if (chunking !== undefined) {
    chunkMin = integerIn('chunking.min', chunking.min, 1, 1, MAX_DATA_CHUNK);
    chunkMax = integerIn('chunking.max', chunking.max, MAX_DATA_CHUNK, 1, MAX_DATA_CHUNK);
    if (chunkMin > chunkMax)
      invalid('chunking.min', chunkMin, `at most chunking.max (${chunkMax})`);
  }
  const latency = nonNegative('latency', options.latency, 0);
  const jitter = nonNegative('jitter', options.jitter, 0);
  const bandwidth = options.bandwidth ?? Number.POSITIVE_INFINITY;
  if (typeof bandwidth !== 'number' || !(bandwidth > 0))
    invalid('bandwidth', bandwidth, 'a number > 0');
  const capacity = integerIn(
    'capacity',
    options.capacity,
    DEFAULT_CAPACITY,
    1,
    Number.MAX_SAFE_INTEGER,
  );
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed)) invalid('seed', seed, 'an integer');

  const thresholds: { resetAt?: number; stallAt?: number; halfCloseAt?: number }[] = [{}, {}];
  for (const [index, fault] of (options.faults ?? []).entries()) {
    if (fault.kind === 'refuse' || fault.kind === 'blackhole') {
      if (!allowConnectFaults)
        invalid(
          `faults[${index}].kind`,
          fault.kind,
          'a stream fault (reset, stall, half-close) for a pair',
        );
      continue;
    }
    if (fault.kind !== 'reset' && fault.kind !== 'stall' && fault.kind !== 'half-close') {
      invalid(
        `faults[${index}].kind`,
        (fault as { kind: unknown }).kind,
        'reset, stall, half-close, refuse or blackhole',
      );
    }
    const after = integerIn(
      `faults[${index}].afterBytes`,
      fault.afterBytes,
      0,
      0,
      Number.MAX_SAFE_INTEGER,
    );
    const direction = fault.direction ?? 'a-to-b';
    if (direction !== 'a-to-b' && direction !== 'b-to-a' && direction !== 'both') {
      invalid(`faults[${index}].direction`, direction, "'a-to-b', 'b-to-a' or 'both'");
    }
    const key =
      fault.kind === 'reset' ? 'resetAt' : fault.kind === 'stall' ? 'stallAt' : 'halfCloseAt';
    for (const d of direction === 'both' ? [0, 1] : direction === 'a-to-b' ? [0] : [1]) {
      const t = thresholds[d]!;
      const previous = t[key];
      t[key] = previous === undefined ? after : Math.min(previous, after);
    }
  }

  const make = (d: 0 | 1): DirectionConfig => ({
    chunkMin,
    chunkMax,
    latency,
    jitter,
    bandwidth,
    capacity,
    lowWater: Math.floor(capacity / 2),
    scribble: options.scribble ?? false,
    resetAt: thresholds[d]!.resetAt,
    stallAt: thresholds[d]!.stallAt,
    halfCloseAt: thresholds[d]!.halfCloseAt,
    timed: latency > 0 || jitter > 0 || bandwidth !== Number.POSITIVE_INFINITY,
  });
  return [make(0), make(1)];
}
