/**
 * Tracks, for bytes queued to be sent, when each message was queued and how many of its bytes are
 * still unsent, so that a stalled peer can be recognised (write staleness).
 *
 * @packageDocumentation
 */

const MIN_CAPACITY = 8;
const NO_POINTS = new Float64Array(0);

/**
 * A FIFO of queue points, oldest first. Each point is a time (any monotonic unit; peerlink uses
 * milliseconds) and a count of bytes still unsent.
 *
 * Points are kept in two parallel ring buffers of numbers: no object per message. A point appended
 * with the same time as the newest one is merged into it, since it can never be told apart.
 *
 * Marking more bytes written than are queued is a programming error: {@link QueuePoints.markWritten}
 * throws a `RangeError` and leaves the queue unchanged.
 */
export class QueuePoints {
  // Allocated on the first append: an idle connection's queue costs no arrays.
  private times: Float64Array = NO_POINTS;
  private lefts: Float64Array = NO_POINTS;
  private headIndex = 0;
  /** Index of the newest point (meaningful while `count > 0`). */
  private tailIndex = 0;
  private count = 0;
  private total = 0;

  /** Number of points held. */
  get length(): number {
    return this.count;
  }

  /** Total bytes still unsent across all points. */
  get queuedBytes(): number {
    return this.total;
  }

  /** Number of points the queue can hold before it grows. */
  get capacity(): number {
    return this.times.length;
  }

  /**
   * Appends a point: `size` bytes queued at `time`. A size of 0 adds nothing. `size` must be a
   * non-negative integer (a `RangeError` otherwise).
   */
  append(size: number, time: number): void {
    if (!(size >= 0) || !Number.isInteger(size)) {
      throw new RangeError(`queue point size must be a non-negative integer, got ${size}`);
    }
    if (size === 0) return;
    this.total += size;
    // The usual case when many messages are queued in one turn: the same time as the newest.
    if (this.count > 0 && this.times[this.tailIndex] === time) {
      this.lefts[this.tailIndex]! += size;
      return;
    }
    const cap = this.times.length;
    if (this.count === cap) this.resize(Math.max(MIN_CAPACITY, cap * 2));
    let at = this.count === 0 ? this.headIndex : this.tailIndex + 1;
    if (at === this.times.length) at = 0;
    this.times[at] = time;
    this.lefts[at] = size;
    this.tailIndex = at;
    this.count++;
  }

  /**
   * Records that `written` bytes left the queue, oldest first, possibly across several points.
   * Throws a `RangeError` (and changes nothing) when `written` exceeds {@link queuedBytes}.
   */
  markWritten(written: number): void {
    if (!(written >= 0) || !Number.isInteger(written)) {
      throw new RangeError(`written must be a non-negative integer, got ${written}`);
    }
    if (written > this.total) {
      throw new RangeError(`marked ${written} bytes written but only ${this.total} are queued`);
    }
    this.total -= written;
    const cap = this.times.length;
    while (written > 0) {
      const left = this.lefts[this.headIndex]!;
      if (left > written) {
        this.lefts[this.headIndex] = left - written;
        return;
      }
      written -= left;
      this.headIndex = (this.headIndex + 1) % cap;
      this.count--;
    }
  }

  /** The time of the oldest point, or `undefined` when nothing is queued. */
  oldest(): number | undefined {
    return this.count === 0 ? undefined : this.times[this.headIndex];
  }

  /** Bytes still unsent of the point at `index` (0 = oldest), or `undefined` past the end. */
  leftAt(index: number): number | undefined {
    if (index < 0 || index >= this.count) return undefined;
    return this.lefts[(this.headIndex + index) % this.times.length];
  }

  /** Drops every point. */
  clear(): void {
    this.headIndex = 0;
    this.tailIndex = 0;
    this.count = 0;
    this.total = 0;
  }

  /**
   * Shrinks the capacity by a quarter, never below 8 points nor below what is held (as the Rust
   * crate's `Queue::shrink`).
   */
  shrink(): void {
    const cap = this.times.length;
    if (cap <= MIN_CAPACITY) return;
    const target = Math.max(MIN_CAPACITY, Math.floor(cap / 4) * 3, this.count);
    if (target < cap) this.resize(target);
  }

  private resize(capacity: number): void {
    const times = new Float64Array(capacity);
    const lefts = new Float64Array(capacity);
    const cap = this.times.length;
    for (let i = 0; i < this.count; i++) {
      const from = (this.headIndex + i) % cap;
      times[i] = this.times[from]!;
      lefts[i] = this.lefts[from]!;
    }
    this.times = times;
    this.lefts = lefts;
    this.headIndex = 0;
    this.tailIndex = this.count === 0 ? 0 : this.count - 1;
  }
}
