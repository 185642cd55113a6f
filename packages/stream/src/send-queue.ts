import { ByteSink } from '@peerlink/codec';

const EMPTY = new Uint8Array(0);

/**
 * The smallest `bytes` (in bytes) that {@link SendQueue.writeShared} appends by reference; smaller
 * ones are copied, which is cheaper than a segment of their own.
 */
export const SHARE_MIN = 16384;

/** Options for {@link SendQueue}. */
export interface SendQueueOptions {
  /** Capacity of the first slab, in bytes. Default 256. No memory is taken until the first write. */
  initialCapacity?: number;
  /**
   * Growth doubles the slab up to this capacity, in bytes; a fresh slab (after everything was
   * taken) starts again at most this large. Past it, a queue that holds more grows to twice what
   * it holds (or what a write needs). Default 65536 (64 KiB).
   */
  slabSize?: number;
}

/**
 * A `MessageStream`'s send queue: the {@link ByteWriter} that codecs encode into, holding the
 * encoded bytes until the transport takes them. Internal to `@peerlink/stream`; every field is
 * private or protected.
 *
 * {@link take} hands held bytes out as views and forgets them: the queue never writes over taken
 * bytes again (a later write goes after them, or into a new slab), so a taken view stays valid for
 * as long as its holder wants it. This is what lets the send path hand encoded bytes to a socket
 * without copying them.
 *
 * Segments: held bytes may span several pieces of memory, handed out in order by successive
 * {@link take} calls. A queue whose owner calls {@link mark} at every message boundary never
 * copies whole messages when it grows: the complete messages before the mark become a segment of
 * their own and only the message being written moves to the new slab. {@link writeShared} appends
 * a large byte array by reference, as a segment, without copying it. Indexes among the held bytes
 * (for `patchU32`) stay valid until the next {@link take}.
 *
 * @internal
 */
export class SendQueue extends ByteSink {
  /** Offset in the slab of the last {@link mark} (never below `start`). */
  private boundary = 0;
  /** Held segments before `buf[start..end)`, oldest first from `segHead`; none when idle. */
  private segs: Uint8Array[] | undefined;
  private segHead = 0;
  /** Bytes held in `segs`. */
  private sealedBytes = 0;
  /** Capacity of the slab {@link retire} let go: the next slab starts this large. */
  private retired = 0;
  private readonly slabSize: number;

  constructor(options: SendQueueOptions = {}) {
    super({ initialCapacity: options.initialCapacity ?? 256 });
    this.slabSize = options.slabSize ?? 65536;
  }

  /** Number of bytes held (written and not yet taken), in every segment. */
  override get size(): number {
    return this.sealedBytes + this.end - this.start;
  }

  /** Bytes held in the current slab (the part {@link resize} moves). */
  get openBytes(): number {
    return this.end - this.start;
  }

  /** Free room at the end of the current slab, in bytes. */
  get room(): number {
    return this.buf.length - this.end;
  }

  /** Number of views {@link take} would hand out for the held bytes (0 when none is held). */
  get segments(): number {
    const open = this.end > this.start ? 1 : 0;
    return this.segs === undefined ? open : this.segs.length - this.segHead + open;
  }

  /**
   * Appends `bytes` without copying them when they are large (at least {@link SHARE_MIN} bytes):
   * the view itself becomes a segment that {@link take} hands out, so the caller must never modify
   * those bytes again. Smaller arrays are copied. Returns `bytes.length`.
   */
  override writeShared(bytes: Uint8Array): number {
    if (!(bytes instanceof Uint8Array) || bytes.length < SHARE_MIN) return this.writeBytes(bytes);
    this.seal(this.end);
    this.pushSegment(bytes);
    return bytes.length;
  }

  /**
   * Marks a message boundary at the current end: when the queue next grows, the bytes written
   * before the mark are kept where they are, as a segment of their own, and only the bytes written
   * after it are moved. Called before encoding each message.
   */
  mark(): void {
    this.boundary = this.end;
  }

  /**
   * Hands out the oldest held segment as a view and forgets it. The queue never writes into the
   * returned range again. Returns an empty view when nothing is held. While {@link segments} is
   * above 1, more views follow: call it until {@link size} is 0 to take everything, in order.
   */
  take(): Uint8Array {
    const segs = this.segs;
    if (segs !== undefined) {
      const out = segs[this.segHead]!;
      segs[this.segHead] = EMPTY;
      this.segHead++;
      this.sealedBytes -= out.length;
      if (this.segHead === segs.length) {
        this.segs = undefined;
        this.segHead = 0;
      }
      return out;
    }
    const out = this.buf.subarray(this.start, this.end);
    this.start = this.boundary = this.end;
    return out;
  }

  /** Drops the last `n` held bytes, whatever segments they are in (used to undo a partial encode). */
  truncate(n: number): void {
    let left = Math.min(n, this.size);
    const open = this.end - this.start;
    if (left <= open) {
      this.end -= left;
      if (this.boundary > this.end) this.boundary = this.end;
      return;
    }
    left -= open;
    this.end = this.start = this.boundary = 0;
    this.setBuffer(EMPTY);
    const segs = this.segs!;
    while (left > 0) {
      const last = segs[segs.length - 1]!;
      if (last.length > left) {
        segs[segs.length - 1] = last.subarray(0, last.length - left);
        this.sealedBytes -= left;
        break;
      }
      segs.pop();
      this.sealedBytes -= last.length;
      left -= last.length;
    }
    if (this.segHead === segs.length) {
      this.segs = undefined;
      this.segHead = 0;
    }
  }

  /**
   * Empties the queue: forgets every held byte and keeps the current slab for reuse, writing over
   * it from the start. Only when no view that {@link take} handed out of it is still in use.
   */
  override clear(): void {
    this.start = this.end = this.boundary = 0;
    this.segs = undefined;
    this.segHead = 0;
    this.sealedBytes = 0;
  }

  /**
   * Lets the current slab go when it holds nothing (a no-op otherwise): the next write starts a
   * fresh slab as large as this one was. For an owner that knows the room left is too small for
   * its next batch, which would otherwise straddle two slabs.
   */
  retire(): void {
    if (this.end !== this.start || this.buf.length === 0) return;
    this.retired = this.buf.length;
    this.setBuffer(EMPTY);
    this.start = this.end = this.boundary = 0;
  }

  /**
   * Moves the held bytes of the current slab into fresh memory of `capacity` bytes (or exactly
   * what it holds, if larger); with nothing held there and `capacity` 0, the memory is released
   * entirely. Held segments before it are not touched.
   */
  resize(capacity: number): void {
    this.boundary -= this.start;
    this.retired = 0;
    this.moveTo(Math.max(capacity, this.end - this.start));
  }

  protected override grow(n: number): void {
    // Complete messages before the mark stay where they are, as a segment: only the message
    // being written moves.
    if (this.boundary > this.start) this.seal(this.boundary);
    const size = this.end - this.start;
    const need = size + n;
    const base = Math.max(this.buf.length * 2, this.retired, this.initialCapacity);
    let cap = Math.min(base, this.slabSize);
    // Past the slab size, grow with what is held (doubling it), so that many small writes into a
    // large message cost amortised linear time, not one full copy each.
    if (need > cap) cap = Math.max(need, size * 2);
    this.resize(cap);
  }

  protected override setHeldByte(index: number, value: number): void {
    const segs = this.segs;
    if (segs !== undefined) {
      for (let i = this.segHead; i < segs.length; i++) {
        const seg = segs[i]!;
        if (index < seg.length) {
          seg[index] = value;
          return;
        }
        index -= seg.length;
      }
    }
    this.buf[this.start + index] = value;
  }

  /** Makes `buf[start, end)` a held segment of its own; later writes go after `end`. */
  private seal(end: number): void {
    if (end > this.start) this.pushSegment(this.buf.subarray(this.start, end));
    this.start = end;
    if (this.boundary < end) this.boundary = end;
  }

  private pushSegment(bytes: Uint8Array): void {
    if (this.segs === undefined) this.segs = [];
    this.segs.push(bytes);
    this.sealedBytes += bytes.length;
  }
}
