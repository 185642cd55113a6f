import type { Connection, ConnectionHandler } from '@peerlink/stream';

/** What a {@link Recorder} saw, in order. */
export type RecordedEvent =
  | { type: 'data'; size: number }
  | { type: 'drain' }
  | { type: 'end' }
  | { type: 'close'; code: string | undefined; error: Error | undefined };

/** A handler that records every event and lets a test wait for one. */
export class Recorder implements ConnectionHandler {
  readonly events: RecordedEvent[] = [];
  readonly chunks: Uint8Array[] = [];
  received = 0;
  drains = 0;
  ends = 0;
  closes = 0;
  closeError: Error | undefined;
  /** Called from onData, after recording; for tests that answer (echo, pause). */
  onChunk: ((chunk: Uint8Array) => void) | undefined;
  onDrained: (() => void) | undefined;
  onProgress: (() => void) | undefined;
  readonly #waiters: { test: () => boolean; resolve: () => void }[] = [];

  onData(chunk: Uint8Array): void {
    this.chunks.push(chunk.slice());
    this.received += chunk.length;
    this.events.push({ type: 'data', size: chunk.length });
    this.onChunk?.(chunk);
    this.#check();
  }

  onDrain(): void {
    this.drains++;
    this.events.push({ type: 'drain' });
    this.onDrained?.();
    this.#check();
  }

  onEnd(): void {
    this.ends++;
    this.events.push({ type: 'end' });
    this.#check();
  }

  onClose(error: Error | undefined): void {
    this.closes++;
    this.closeError = error;
    this.events.push({
      type: 'close',
      code: (error as { code?: string } | undefined)?.code,
      error,
    });
    this.#check();
  }

  /** All bytes received, concatenated. */
  bytes(): Uint8Array {
    return concat(this.chunks);
  }

  /** Chunk sizes received, in order. */
  sizes(): number[] {
    return this.chunks.map((c) => c.length);
  }

  /** Resolves as soon as `test()` holds (checked after every event). */
  until(test: () => boolean): Promise<void> {
    if (test()) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ test, resolve }));
  }

  untilBytes(n: number): Promise<void> {
    return this.until(() => this.received >= n);
  }

  untilClosed(): Promise<void> {
    return this.until(() => this.closes > 0);
  }

  untilEnded(): Promise<void> {
    return this.until(() => this.ends > 0);
  }

  untilDrained(): Promise<void> {
    const before = this.drains;
    return this.until(() => this.drains > before);
  }

  #check(): void {
    for (let i = 0; i < this.#waiters.length; ) {
      const w = this.#waiters[i]!;
      if (w.test()) {
        this.#waiters.splice(i, 1);
        w.resolve();
      } else {
        i++;
      }
    }
  }
}

/** Starts both sides with recorders. */
export function startBoth(a: Connection, b: Connection): [Recorder, Recorder] {
  const ra = new Recorder();
  const rb = new Recorder();
  a.start(ra);
  b.start(rb);
  return [ra, rb];
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** `n` bytes of a recognisable pattern starting at `start`. */
export function pattern(n: number, start = 0): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (start + i * 7) & 0xff;
  return out;
}

/**
 * Lets the event loop run `turns` macrotask turns. Used only to show that something does NOT
 * happen (a paused or stalled connection delivers nothing): the memory transport has nothing
 * pending after a few turns unless a timer is armed, and these tests arm none.
 */
export async function turns(count = 10): Promise<void> {
  for (let i = 0; i < count; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * Compares two byte arrays quickly (vitest's deep equality is slow on large arrays): returns
 * `'equal'`, or where they first differ.
 */
export function compareBytes(actual: Uint8Array, expected: Uint8Array): string {
  const n = Math.min(actual.length, expected.length);
  for (let i = 0; i < n; i++) {
    if (actual[i] !== expected[i]) return `differ at ${i}: ${actual[i]} != ${expected[i]}`;
  }
  if (actual.length !== expected.length) return `length ${actual.length} != ${expected.length}`;
  return 'equal';
}
