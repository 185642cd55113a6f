import type { Connection, ConnectionHandler } from '@peerlink/stream';
import { codeOf } from '@peerlink/stream';
import { ByteCollector } from './bytes.js';
import { type Violations, waitFor } from './steps.js';

/**
 * One side of a connection under test: its handler records every event, copies received bytes,
 * and notes every breach of the calling rules (events after `onClose`, two `onClose`, `onData`
 * after `onEnd` or while paused, `onDrain` without a refused write, overlapping calls).
 */
export class Side implements ConnectionHandler {
  readonly connection: Connection;
  readonly label: string;
  /** Every byte delivered through `onData`, copied. */
  readonly received = new ByteCollector();
  /** Number of `onData` calls and the largest chunk seen, in bytes. */
  dataCalls = 0;
  largestChunk = 0;
  drains = 0;
  ends = 0;
  closes = 0;
  /** The error `onClose` reported (`undefined` for a clean close or before it). */
  closeError: Error | undefined;
  /** `false` returns from {@link write} (each one allows one `onDrain`). */
  refusedWrites = 0;
  /** Whether the test paused this side (cleared by `resume`). */
  paused = false;
  /** Whether `start` was called (then `onClose` is expected before the test ends). */
  started = false;
  /** Called at the end of each `onData`, after recording (tests pause or close from here). */
  onDataHook: ((chunk: Uint8Array) => void) | undefined;
  /** Called from `onEnd`, after recording. */
  onEndHook: (() => void) | undefined;
  #drainOwed = false;
  #inCall: string | undefined;
  readonly #waiters = new Set<() => void>();
  readonly #violations: Violations;
  readonly #timeout: number;

  constructor(connection: Connection, label: string, violations: Violations, timeout: number) {
    this.connection = connection;
    this.label = label;
    this.#violations = violations;
    this.#timeout = timeout;
  }

  /** Starts the connection with this side as its handler. */
  start(): this {
    this.started = true;
    this.connection.start(this);
    return this;
  }

  /** `connection.write`, counting refusals so that `onDrain` can be checked. */
  write(bytes: Uint8Array, release?: (bytes: Uint8Array) => void): boolean {
    const ok = this.connection.write(bytes, release);
    if (typeof ok !== 'boolean') this.#violate(`write returned ${typeof ok}, not a boolean`);
    if (!ok) {
      this.refusedWrites++;
      this.#drainOwed = true;
    }
    return ok;
  }

  /** Writes every part in order, waiting for `onDrain` whenever a write returns `false`. */
  async writeAll(parts: readonly Uint8Array[]): Promise<void> {
    for (const part of parts) {
      if (this.closes > 0) throw new Error(`${this.label}: closed while writing`);
      if (!this.write(part)) await this.drained();
    }
  }

  /** Pauses delivery (and remembers it, so `onData` while paused is a violation). */
  pause(): void {
    this.paused = true;
    this.connection.pause();
  }

  /** Resumes delivery. */
  resume(): void {
    this.paused = false;
    this.connection.resume();
  }

  /** Resolves once `onDrain` followed the latest refused write. */
  drained(): Promise<void> {
    const target = this.refusedWrites;
    return this.until(() => !this.#drainOwed || this.closes > 0, `onDrain after write #${target}`);
  }

  /** Resolves once at least `bytes` bytes were received. */
  receivedAtLeast(bytes: number): Promise<void> {
    return this.until(() => this.received.length >= bytes, `${bytes} bytes received`);
  }

  /** Resolves once `onEnd` came. */
  ended(): Promise<void> {
    return this.until(() => this.ends > 0, 'onEnd');
  }

  /** Resolves once `onClose` came. */
  closed(): Promise<void> {
    return this.until(() => this.closes > 0, 'onClose');
  }

  /** Resolves once `onEnd` or `onClose` came (what a remote `close` may produce). */
  endedOrClosed(): Promise<void> {
    return this.until(() => this.ends > 0 || this.closes > 0, 'onEnd or onClose');
  }

  /** Resolves when `predicate` holds; re-checked after every event on this side. */
  until(predicate: () => boolean, what: string): Promise<void> {
    return waitFor(this.#waiters, predicate, `${this.label}: ${what}`, this.#timeout, () =>
      this.describe(),
    );
  }

  /** A one-line summary of this side's state, for failure messages. */
  describe(): string {
    return (
      `${this.label}: ${this.received.length} bytes in ${this.dataCalls} onData, ` +
      `${this.ends} onEnd, ${this.drains} onDrain, ${this.refusedWrites} refused writes, ` +
      `${this.closes} onClose${this.closeError ? ` (${codeOf(this.closeError) ?? this.closeError.message})` : ''}`
    );
  }

  onData(chunk: Uint8Array): void {
    this.#enter('onData');
    try {
      if (!(chunk instanceof Uint8Array)) this.#violate('onData chunk is not a Uint8Array');
      if (this.closes > 0) this.#violate('onData after onClose');
      if (this.ends > 0) this.#violate('onData after onEnd');
      if (this.paused) this.#violate('onData while paused');
      if (chunk.length === 0) this.#violate('onData with an empty chunk');
      this.dataCalls++;
      if (chunk.length > this.largestChunk) this.largestChunk = chunk.length;
      this.received.append(chunk);
      this.onDataHook?.(chunk);
    } finally {
      this.#leave();
    }
  }

  onDrain(): void {
    this.#enter('onDrain');
    try {
      if (this.closes > 0) this.#violate('onDrain after onClose');
      if (!this.#drainOwed) this.#violate('onDrain without a write that returned false');
      this.#drainOwed = false;
      this.drains++;
    } finally {
      this.#leave();
    }
  }

  /** Progress of a write in flight: only while an `onDrain` is owed. */
  progress = 0;

  onProgress(): void {
    this.#enter('onProgress');
    try {
      if (this.closes > 0) this.#violate('onProgress after onClose');
      if (!this.#drainOwed) this.#violate('onProgress without a write that returned false');
      this.progress++;
    } finally {
      this.#leave();
    }
  }

  onEnd(): void {
    this.#enter('onEnd');
    try {
      if (this.closes > 0) this.#violate('onEnd after onClose');
      if (this.ends > 0) this.#violate('onEnd called twice');
      this.ends++;
      this.onEndHook?.();
    } finally {
      this.#leave();
    }
  }

  onClose(error: Error | undefined): void {
    this.#enter('onClose');
    try {
      if (this.closes > 0) this.#violate('onClose called twice');
      if (error !== undefined && !(error instanceof Error)) {
        this.#violate(`onClose with a non-Error ${String(error)}`);
      }
      this.closes++;
      if (this.closes === 1) this.closeError = error;
    } finally {
      this.#leave();
    }
  }

  #enter(name: string): void {
    if (!this.started) this.#violate(`${name} before start`);
    if (this.#inCall !== undefined) this.#violate(`${name} called inside ${this.#inCall}`);
    this.#inCall = name;
  }

  #leave(): void {
    this.#inCall = undefined;
    for (const waiter of [...this.#waiters]) waiter();
  }

  #violate(message: string): void {
    this.#violations.push(`${this.label}: ${message}`);
  }
}
