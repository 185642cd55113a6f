import type { Connection, ConnectionHandler } from '@peerlink/stream';
import { MAX_DATA_CHUNK, PeerlinkError } from '@peerlink/stream';
import { MemoryErrorCodes, resetError } from './errors.js';
import type { DirectionConfig } from './options.js';
import { mixSeed, Prng } from './prng.js';
import type { Scheduler, TimerHandle } from './scheduler.js';

/** Bytes delivered to one connection per macrotask turn before it yields (fairness). */
const TURN_BYTES = 65536;
/** `onData` calls per macrotask turn before a connection yields (fairness with tiny chunks). */
const TURN_CALLS = 256;
/** Wake-ups run as microtasks per macrotask turn, per runtime, before wake-ups are deferred. */
const MICRO_BUDGET = 64;

/**
 * What the connections of one pair or one network share: the scheduler, and the budget of
 * microtask wake-ups. A wake-up (after a write, `resume`, `end`, …) runs as a microtask while the
 * budget lasts, for low latency; once spent, wake-ups go to the scheduler's macrotask queue
 * until a macrotask turn has passed and the budget is restored, so a chain of writes answering
 * reads (a ping-pong) can never starve timers and I/O.
 */
export class Runtime {
  readonly scheduler: Scheduler;
  #budget = MICRO_BUDGET;
  #refillPending = false;

  constructor(scheduler: Scheduler) {
    this.scheduler = scheduler;
  }

  wake(run: () => void): void {
    if (this.#budget > 0) {
      this.#budget--;
      if (!this.#refillPending) {
        this.#refillPending = true;
        this.scheduler.defer(this.#refill);
      }
      queueMicrotask(run);
    } else {
      this.scheduler.defer(run);
    }
  }

  readonly #refill = (): void => {
    this.#refillPending = false;
    this.#budget = MICRO_BUDGET;
  };
}

/** Observers a network attaches to its connections. */
export interface ConnectionHooks {
  /** The connection is closing (its `onClose` is due). */
  onClosing(connection: Connection): void;
}

interface Piece {
  bytes: Uint8Array;
  readonly at: number;
}

/** One direction of a connection: the bytes in flight from a writer to a reader. */
class Pipe {
  readonly config: DirectionConfig;
  readonly #chunkRng: Prng;
  readonly #jitterRng: Prng;
  readonly #scheduler: Scheduler;
  pieces: Piece[] = [];
  head = 0;
  /** Bytes written and not yet delivered. */
  inFlight = 0;
  /** Bytes delivered to the reader so far. */
  delivered = 0;
  /** The writer called `end` or `close`. */
  senderEnded = false;
  /** An end of stream is queued (behind the pieces). */
  finQueued = false;
  finAt = 0;
  /** The reader has seen `onEnd`. */
  finDelivered = false;
  /** The reader closed: nothing is delivered any more and writes are dropped. */
  readerGone = false;
  /** A half-close fault cut this direction: writes are dropped. */
  cut = false;
  #wireFreeAt = 0;
  #lastAt = 0;

  constructor(config: DirectionConfig, seed: number, scheduler: Scheduler) {
    this.config = config;
    this.#chunkRng = new Prng(mixSeed(seed, 1));
    this.#jitterRng = new Prng(mixSeed(seed, 2));
    this.#scheduler = scheduler;
  }

  push(bytes: Uint8Array): void {
    const c = this.config;
    const length = bytes.length;
    const now = c.timed ? this.#scheduler.now() : 0;
    let offset = 0;
    while (offset < length) {
      const drawn = this.#chunkRng.logUniform(c.chunkMin, c.chunkMax);
      const size = Math.min(drawn, length - offset);
      let at = 0;
      if (c.timed) {
        const start = Math.max(now, this.#wireFreeAt);
        const end = start + (size * 1000) / c.bandwidth;
        this.#wireFreeAt = end;
        at = end + c.latency + (c.jitter > 0 ? this.#jitterRng.next() * c.jitter : 0);
        if (at < this.#lastAt) at = this.#lastAt;
        this.#lastAt = at;
      }
      this.pieces.push({ bytes: bytes.subarray(offset, offset + size), at });
      offset += size;
    }
    this.inFlight += length;
  }

  queueFin(): void {
    if (this.finQueued) return;
    this.finQueued = true;
    const c = this.config;
    if (c.timed) {
      const now = this.#scheduler.now();
      this.finAt = Math.max(this.#lastAt, Math.max(now, this.#wireFreeAt) + c.latency);
    }
  }

  /** Removes `n` bytes from the head piece (the caller has read them). */
  consume(n: number): void {
    const piece = this.pieces[this.head]!;
    if (n < piece.bytes.length) {
      piece.bytes = piece.bytes.subarray(n);
    } else {
      this.pieces[this.head] = undefined as unknown as Piece;
      this.head++;
      if (this.head === this.pieces.length) {
        this.pieces = [];
        this.head = 0;
      } else if (this.head >= 1024 && this.head * 2 >= this.pieces.length) {
        this.pieces = this.pieces.slice(this.head);
        this.head = 0;
      }
    }
    this.delivered += n;
    this.inFlight -= n;
  }

  discard(): void {
    this.pieces = [];
    this.head = 0;
    this.inFlight = 0;
  }
}

/** The bytes allowed before the next fault threshold of `c` (Infinity when none is armed). */
function allowance(pipe: Pipe): number {
  const c = pipe.config;
  let limit = Number.POSITIVE_INFINITY;
  if (c.resetAt !== undefined) limit = Math.min(limit, c.resetAt - pipe.delivered);
  if (c.halfCloseAt !== undefined && !pipe.cut)
    limit = Math.min(limit, c.halfCloseAt - pipe.delivered);
  if (c.stallAt !== undefined) limit = Math.min(limit, c.stallAt - pipe.delivered);
  return Math.max(limit, 0);
}

type CloseState = 'open' | 'closing' | 'closed';

/**
 * One side of an in-memory connection. Every handler call runs from the connection's own pump (a
 * microtask or macrotask), never from inside a method call, so calls never overlap.
 */
export class MemoryConnection implements Connection {
  readonly remoteAddress: string;
  readonly localAddress: string;
  readonly #runtime: Runtime;
  readonly #in: Pipe;
  readonly #out: Pipe;
  readonly #hooks: ConnectionHooks | undefined;
  #peer!: MemoryConnection;
  #handler: ConnectionHandler | undefined;
  #started = false;
  #paused = false;
  #needDrain = false;
  /** While waiting for drain: the reader took some of our bytes; `onProgress` is due. */
  #progressDue = false;
  #writable = true;
  #state: CloseState = 'open';
  #closeError: Error | undefined;
  #scheduled = false;
  #timer: TimerHandle | undefined;
  #timerAt = Number.POSITIVE_INFINITY;
  #scratch: Uint8Array | undefined;

  private constructor(
    runtime: Runtime,
    input: Pipe,
    output: Pipe,
    localAddress: string,
    remoteAddress: string,
    hooks: ConnectionHooks | undefined,
  ) {
    this.#runtime = runtime;
    this.#in = input;
    this.#out = output;
    this.localAddress = localAddress;
    this.remoteAddress = remoteAddress;
    this.#hooks = hooks;
  }

  /**
   * Creates two connected sides. `configs` are [a-to-b, b-to-a]; `addresses` are [a's local
   * address, b's local address].
   */
  static pair(
    runtime: Runtime,
    configs: readonly [DirectionConfig, DirectionConfig],
    seed: number,
    addresses: readonly [string, string],
    hooks?: ConnectionHooks,
  ): [MemoryConnection, MemoryConnection] {
    const ab = new Pipe(configs[0], mixSeed(seed, 0xab), runtime.scheduler);
    const ba = new Pipe(configs[1], mixSeed(seed, 0xba), runtime.scheduler);
    const a = new MemoryConnection(runtime, ba, ab, addresses[0], addresses[1], hooks);
    const b = new MemoryConnection(runtime, ab, ba, addresses[1], addresses[0], hooks);
    a.#peer = b;
    b.#peer = a;
    return [a, b];
  }

  start(handler: ConnectionHandler): void {
    if (this.#started) {
      throw new PeerlinkError(MemoryErrorCodes.ALREADY_STARTED, 'connection already started');
    }
    this.#started = true;
    this.#handler = handler;
    this.#wake();
  }

  write(bytes: Uint8Array): boolean {
    if (!this.#writable) return false;
    const out = this.#out;
    if (out.readerGone || out.cut) return true; // dropped: the writer cannot know yet
    if (bytes.length > 0) {
      out.push(bytes);
      this.#peer.#wake();
    }
    if (out.inFlight >= out.config.capacity) {
      this.#needDrain = true;
      return false;
    }
    return true;
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#wake();
  }

  end(): void {
    if (!this.#writable) return;
    this.#writable = false;
    this.#needDrain = false;
    const out = this.#out;
    out.senderEnded = true;
    if (!out.cut && !out.readerGone) {
      out.queueFin();
      this.#peer.#wake();
    }
    this.#maybeCleanClose();
  }

  reset(): void {
    if (this.#state !== 'open') return;
    this.#out.discard();
    this.#peer.#beginClose(resetError());
    this.#beginClose(undefined);
  }

  close(): void {
    if (this.#state !== 'open') return;
    const out = this.#out;
    if (!out.senderEnded) {
      out.senderEnded = true;
      if (!out.cut && !out.readerGone) {
        out.queueFin();
        this.#peer.#wake();
      }
    }
    this.#beginClose(undefined);
  }

  /** Closes when both directions are finished: ours ended and delivered (or unread), theirs ended. */
  #maybeCleanClose(): void {
    if (this.#state !== 'open') return;
    const out = this.#out;
    if (this.#in.finDelivered && ((out.senderEnded && out.finDelivered) || out.readerGone)) {
      this.#beginClose(undefined);
    }
  }

  #beginClose(error: Error | undefined): void {
    if (this.#state !== 'open') return;
    this.#state = 'closing';
    this.#closeError = error;
    this.#writable = false;
    this.#needDrain = false;
    this.#in.discard();
    this.#in.readerGone = true;
    this.#hooks?.onClosing(this);
    this.#wake();
    const peer = this.#peer;
    if (peer.#needDrain) peer.#wake();
    peer.#maybeCleanClose();
  }

  #wake(): void {
    if (this.#scheduled || this.#state === 'closed' || this.#handler === undefined) return;
    this.#scheduled = true;
    this.#runtime.wake(this.#run);
  }

  #arm(at: number, now: number): void {
    if (this.#timer !== undefined) {
      if (this.#timerAt <= at) return;
      this.#runtime.scheduler.clearTimeout(this.#timer);
    }
    this.#timerAt = at;
    this.#timer = this.#runtime.scheduler.setTimeout(this.#onTimer, at - now);
  }

  readonly #onTimer = (): void => {
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
    this.#run();
  };

  /** Delivers due events to the handler, at most one turn's budget, then yields. */
  readonly #run = (): void => {
    this.#scheduled = false;
    const handler = this.#handler;
    if (handler === undefined || this.#state === 'closed') return;
    let bytesLeft = TURN_BYTES;
    let callsLeft = TURN_CALLS;
    const input = this.#in;
    const c = input.config;
    const peer = this.#peer;
    try {
      for (;;) {
        if (this.#state === 'closing') {
          this.#finishClose(handler);
          return;
        }
        if (this.#needDrain && this.#out.inFlight <= this.#out.config.lowWater) {
          this.#needDrain = this.#progressDue = false;
          handler.onDrain();
          continue;
        }
        if (this.#progressDue) {
          this.#progressDue = false;
          if (this.#needDrain) handler.onProgress?.();
          continue;
        }
        if (this.#paused) return;
        if (bytesLeft <= 0 || callsLeft <= 0) {
          this.#scheduled = true;
          this.#runtime.scheduler.defer(this.#run);
          return;
        }
        if (input.head < input.pieces.length) {
          if (c.stallAt !== undefined && input.delivered >= c.stallAt) return;
          const piece = input.pieces[input.head]!;
          if (c.timed) {
            const now = this.#runtime.scheduler.now();
            if (piece.at > now) {
              this.#arm(piece.at, now);
              return;
            }
          }
          const n = Math.min(piece.bytes.length, allowance(input));
          const bytes = piece.bytes.subarray(0, n);
          if (n > 0) input.consume(n);
          if (peer.#needDrain) {
            // The writer waits for drain: tell it the link carried some of its bytes.
            if (input.inFlight <= c.lowWater) peer.#wake();
            else if (n > 0 && !peer.#progressDue) {
              peer.#progressDue = true;
              peer.#wake();
            }
          }
          if (n > 0) {
            bytesLeft -= n;
            callsLeft--;
            this.#deliver(handler, bytes);
          }
          if (c.resetAt !== undefined && input.delivered >= c.resetAt) {
            const error = resetError();
            peer.#beginClose(error);
            this.#beginClose(error);
          } else if (
            c.halfCloseAt !== undefined &&
            !input.cut &&
            input.delivered >= c.halfCloseAt
          ) {
            input.cut = true;
            input.discard();
            input.finQueued = true;
            input.finAt = 0;
            if (peer.#needDrain) peer.#wake();
          }
          continue;
        }
        if (input.finQueued && !input.finDelivered) {
          if (c.stallAt !== undefined && input.delivered >= c.stallAt && !input.cut) return;
          if (c.timed) {
            const now = this.#runtime.scheduler.now();
            if (input.finAt > now) {
              this.#arm(input.finAt, now);
              return;
            }
          }
          input.finDelivered = true;
          handler.onEnd();
          this.#maybeCleanClose();
          peer.#maybeCleanClose();
          continue;
        }
        return;
      }
    } catch (error) {
      this.#wake(); // keep delivering what is due, then let the handler's error surface
      throw error;
    }
  };

  #deliver(handler: ConnectionHandler, bytes: Uint8Array): void {
    if (!this.#in.config.scribble) {
      handler.onData(bytes);
      return;
    }
    const scratch = (this.#scratch ??= new Uint8Array(MAX_DATA_CHUNK));
    scratch.set(bytes);
    const view = scratch.subarray(0, bytes.length);
    handler.onData(view);
    scratch.fill(0xa5, 0, bytes.length);
  }

  #finishClose(handler: ConnectionHandler): void {
    this.#state = 'closed';
    this.#handler = undefined;
    this.#scratch = undefined;
    if (this.#timer !== undefined) {
      this.#runtime.scheduler.clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    handler.onClose(this.#closeError);
  }
}
