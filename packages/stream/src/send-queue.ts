import { ByteSink } from '@peerlink/codec';

const EMPTY = new Uint8Array(0);

/**
 * The smallest `bytes` (in bytes) that {@link SendQueue.writeShared} appends by reference; smaller
 * ones are copied, which is cheaper than a segment of their own.
 */
export const SHARE_MIN = 16384;

/** The most slabs a queue tracks while the transport still reads them (see {@link SendQueue.release}). */
const MAX_IN_FLIGHT = 4;

/** A slab the queue left while views of it were out: reused once `refs` falls to 0. */
interface InFlight {
  readonly slab: Uint8Array;
  /** Views of it handed out and not released, plus held segments of it. */
  refs: number;
}

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
 * Reuse: a view taken with `take(true)` is tracked until its holder hands it back with
 * {@link release} (the transport no longer reads it). A slab none of whose bytes are held, out or
 * untracked is written over again: the current one from its start (so a connection that writes
 * as it sends keeps one slab, warm in the cache), a full-size one left behind as the next slab.
 * Only the queue's own slabs are reused, never `writeShared` bytes, and only by the queue that
 * wrote them, so a slab only ever holds this queue's own frames. A view taken untracked pins its
 * slab for good (it is never written over again).
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
  /**
   * Views of the current slab that are out (tracked, not yet released) or held as sealed
   * segments; `Infinity` once one went out untracked (the slab is then never written over).
   */
  private refs = 0;
  /** Slabs left behind while views of them were out, oldest first (at most {@link MAX_IN_FLIGHT}). */
  private inFlight: InFlight[] | undefined;
  /** A full-size slab nothing reads any more: the next slab. */
  private spare: Uint8Array | undefined;

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
  take(track = false): Uint8Array {
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
      // A sealed segment of a slab was counted when sealed: untracked, it is never released, so
      // its slab is never written over.
      return out;
    }
    const out = this.buf.subarray(this.start, this.end);
    this.start = this.boundary = this.end;
    this.refs = track ? this.refs + 1 : Number.POSITIVE_INFINITY;
    return out;
  }

  /**
   * The holder of a view taken with `take(true)` no longer reads it: once nothing else of its slab
   * is out or held, the slab is written over again. Call it at most once per view; views of
   * other memory (`writeShared` bytes, say) are ignored.
   */
  release(view: Uint8Array): void {
    const memory = view.buffer;
    if (memory === this.buf.buffer) {
      if (--this.refs === 0 && this.start === this.end) this.start = this.end = this.boundary = 0;
      return;
    }
    const list = this.inFlight;
    if (list === undefined) return;
    for (let i = 0; i < list.length; i++) {
      const entry = list[i]!;
      if (entry.slab.buffer !== memory) continue;
      if (--entry.refs === 0) {
        list.splice(i, 1);
        if (list.length === 0) this.inFlight = undefined;
        if (this.spare === undefined && entry.slab.length === this.slabSize)
          this.spare = entry.slab;
      }
      return;
    }
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
    // The slab is let go without being tracked (so never reused): counts of it may be off now.
    this.refs = 0;
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
    this.refs = 0;
    this.inFlight = undefined;
  }

  /**
   * Lets the current slab go when it holds nothing (a no-op otherwise): the next write starts a
   * fresh slab as large as this one was. For an owner that knows the room left is too small for
   * its next batch, which would otherwise straddle two slabs.
   */
  retire(): void {
    if (this.end !== this.start || this.buf.length === 0) return;
    if (this.refs === 0) {
      // Nothing reads it: write over it from the start rather than take another.
      this.start = this.end = this.boundary = 0;
      return;
    }
    this.retired = this.buf.length;
    this.leave();
    this.setBuffer(EMPTY);
    this.start = this.end = this.boundary = 0;
  }

  /**
   * Moves the held bytes of the current slab into fresh memory of `capacity` bytes (or exactly
   * what it holds, if larger); with nothing held there and `capacity` 0, the memory is released
   * entirely. Held segments before it are not touched. Forgets the slabs kept for reuse.
   */
  resize(capacity: number): void {
    this.spare = undefined;
    this.inFlight = undefined;
    this.boundary -= this.start;
    this.retired = 0;
    this.leave();
    this.moveTo(Math.max(capacity, this.end - this.start));
  }

  /** Bytes of memory kept for reuse beyond the current slab (a spare slab), for tests and stats. */
  get spareBytes(): number {
    return this.spare?.length ?? 0;
  }

  /**
   * The queue is about to leave the current slab (its held bytes, if any, move along): keep it
   * for reuse, now if nothing reads it, else once the views of it that are out come back.
   */
  private leave(): void {
    const slab = this.buf;
    const refs = this.refs;
    this.refs = 0;
    if (slab.length === 0 || refs === Number.POSITIVE_INFINITY) return;
    if (refs === 0) {
      if (this.spare === undefined && slab.length === this.slabSize) this.spare = slab;
      return;
    }
    const list = (this.inFlight ??= []);
    if (list.length === MAX_IN_FLIGHT) list.shift(); // given up on: never reused
    list.push({ slab, refs });
  }

  /** Makes `buffer` (of `capacity` bytes) current, holding a copy of the current held bytes. */
  protected override moveTo(capacity: number): void {
    const spare = this.spare;
    if (spare === undefined || capacity !== spare.length) {
      super.moveTo(capacity);
      return;
    }
    // The spare slab: no zero-filled allocation. It holds only frames this queue wrote before.
    this.spare = undefined;
    const size = this.end - this.start;
    if (size > 0) spare.set(this.buf.subarray(this.start, this.end));
    this.setBuffer(spare);
    this.start = 0;
    this.end = size;
  }

  protected override grow(n: number): void {
    if (this.refs === 0 && this.end === this.start && this.buf.length >= n) {
      // Nothing of the current slab is held or read: write over it from the start.
      this.start = this.end = this.boundary = 0;
      return;
    }
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
    this.boundary -= this.start;
    this.retired = 0;
    this.leave();
    this.moveTo(cap);
  }

  /**
   * {@link mark} and {@link reserve} in one, for a message whose size is known before it is
   * written: marks a message boundary, then makes room for its `n` bytes and returns the offset in
   * {@link buffer} where they go.
   */
  reserveMessage(n: number): number {
    let at = this.end;
    this.boundary = at;
    if (this.buf.length - at < n) {
      this.grow(n);
      at = this.end;
    }
    this.end = at + n;
    return at;
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
    if (end > this.start) {
      this.pushSegment(this.buf.subarray(this.start, end));
      this.refs++; // a held segment of this slab: it is not written over before it is taken
    }
    this.start = end;
    if (this.boundary < end) this.boundary = end;
  }

  private pushSegment(bytes: Uint8Array): void {
    if (this.segs === undefined) this.segs = [];
    this.segs.push(bytes);
    this.sealedBytes += bytes.length;
  }
}
