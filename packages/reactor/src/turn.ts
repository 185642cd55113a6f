import type { Peer } from './peer.js';

/**
 * Runs `callback` at the end of this turn of the event loop, after its I/O (`setImmediate` in
 * Node; a zero-delay timer where there is none, as in browsers).
 */
const nextTurn: (callback: () => void) => void =
  typeof setImmediate === 'function'
    ? (callback) => setImmediate(callback)
    : (callback) => setTimeout(callback, 0);

/**
 * What the reactor does once per turn of the event loop: the clock read once per turn, the peers
 * to flush at its end (every peer sent to in the turn, in one write each), and the read turns of
 * `readBudget` (peers whose budget is spent resume at the next turn). Internal.
 */
export class Turn<M> {
  private dirtyPeers: Peer<M>[] = [];
  private flushScheduled = false;
  private readonly flushAll = () => this.flush();
  /** The clock read once per turn of the event loop (see {@link now}). */
  private turnNow = 0;
  private turnNowValid = false;
  private readonly expireTurnNow = () => {
    this.turnNowValid = false;
  };
  /** Turns of the event loop in which peers read (see `ReactorOptions.readBudget`). */
  private readTurn = 0;
  private readTurnEnding = false;
  /** Bytes every peer delivered in this read turn. */
  private turnRead = 0;
  /** Peers paused for the rest of this turn: their read budget is spent. */
  private budgetPaused: Peer<M>[] = [];
  private readonly endReadTurn = () => {
    this.readTurnEnding = false;
    this.readTurn++;
    this.turnRead = 0;
    const list = this.budgetPaused;
    this.budgetPaused = [];
    for (let i = 0; i < list.length; i++) list[i]!.budgetRenewed();
  };

  /**
   * @param clock the clock, in milliseconds
   * @param readBudget `ReactorOptions.readBudget`: a read turn is measured from the read that
   *   takes the node's count since the last one to this many bytes (see {@link readBytes})
   */
  constructor(
    private readonly clock: () => number,
    private readonly readBudget: number,
  ) {}

  /**
   * The time, read at most once per turn of the event loop: every message queued in one turn
   * shares one queue point, and the hot paths do not pay for a clock read per message. In whole
   * milliseconds (rounded down): a small integer with the default clock, which V8 passes along
   * the send path as it is, where a fractional time was boxed into a fresh heap number for every
   * message sent (16 bytes of garbage each).
   */
  now(): number {
    if (!this.turnNowValid) {
      this.turnNow = Math.floor(this.clock());
      this.turnNowValid = true;
      queueMicrotask(this.expireTurnNow);
    }
    return this.turnNow;
  }

  /** The current read turn, as a counter (see {@link readBytes}). */
  readTurnNow(): number {
    return this.readTurn;
  }

  /**
   * Counts `n` bytes delivered (see {@link readTurnNow}); returns the read turn's total so far,
   * every peer together. A read turn ends with the event loop's turn (`setImmediate`), but only a
   * turn in which a peer could spend its budget is measured: one starts, its end armed, with the
   * read that takes the node's count since the last one to `readBudget`, and the fewer bytes
   * read before it are forgotten (no peer can have spent its budget with them). So a peer that
   * keeps up with its sender (one read a turn) or a round trip of a few bytes costs a
   * `setImmediate` (which also keeps the loop from waiting in its poll) once per budget, not
   * every turn; a turn is undercounted by less than one budget, never overcounted.
   */
  readBytes(n: number): number {
    this.turnRead += n;
    if (!this.readTurnEnding && this.turnRead >= this.readBudget) {
      this.readTurnEnding = true;
      this.readTurn++;
      this.turnRead = n;
      nextTurn(this.endReadTurn);
    }
    return this.turnRead;
  }

  /** `p` spent its read budget and paused: it reads on at the turn's end. */
  budgetSpent(p: Peer<M>): void {
    this.budgetPaused.push(p);
    // Never unarmed here (the reading peer's chunk armed it), but the resume must not be lost.
    if (!this.readTurnEnding) {
      this.readTurnEnding = true;
      nextTurn(this.endReadTurn);
    }
  }

  /** Flushes `p` at the end of this turn, with every other peer sent to in it. */
  scheduleFlush(p: Peer<M>): void {
    this.dirtyPeers.push(p);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(this.flushAll);
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    const list = this.dirtyPeers;
    this.dirtyPeers = [];
    for (let i = 0; i < list.length; i++) list[i]!.flushScheduled();
  }
}
