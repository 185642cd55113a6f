import type { Codec } from '@peerlink/codec';
import { type ConnectionHandler, ErrorCodes, MessageStream, PeerlinkError } from '@peerlink/stream';
import type { SendManyResult, SendResult } from './events.js';
import {
  BUDGET,
  DIRTY,
  PAUSED,
  PeerLifecycle,
  REMOTE_ENDED,
  REPORTED,
  WANTS_DRAIN,
} from './peer-lifecycle.js';

/**
 * How many read budgets the node as a whole may read in a turn of the event loop before a peer
 * past its own budget pauses (see `ReactorOptions.readBudget`): past this many, not at it.
 */
export const TURN_FREE = 8;

/**
 * One connection the reactor manages, and its state machine: it is the connection's handler
 * (data, drain, end, close), frames through its {@link MessageStream}, pauses its reading while the
 * event queue is full, flushes its queue, and goes `open` → (`closing`) → `closed`, reporting its
 * one `disconnected` event on the way. It reaches the reactor only through its {@link PeerHost}.
 */
export class Peer<M> extends PeerLifecycle<M> implements ConnectionHandler {
  // The stream's message sink (`sink`), the counters, the read budget's and telemetry's
  // bookkeeping live in `io` (`PeerLifecycle.work`), made with the stream: not on an idle peer.

  private get stream(): MessageStream<M> {
    if (this.s === undefined) {
      const host = this.host;
      this.s = new MessageStream((this.codec ?? host.codec)!, host.config);
      const io = this.work;
      io.sink = (message, size) => {
        if (this.state !== 'open') return false;
        io.messagesIn++;
        if (host.trace) host.log.write('debug', { peer: this.id, size }, 'message');
        return host.deliver(this.id, message, size);
      };
    }
    return this.s;
  }

  // ------------------------------------------------------------------ connection callbacks

  onData(chunk: Uint8Array): void {
    if (this.state !== 'open') return;
    this.bytesIn += chunk.length;
    const host = this.host;
    // The last guard at the transport boundary: nothing thrown on the receive path may escape
    // into the transport's callback (a socket listener); it ends this peer only.
    try {
      const stream = this.stream;
      const now = host.turnClock();
      this.lastRx = now;
      // A transport whose chunks are never reused lets a codec keep views of them, uncopied.
      const error = stream.handleData(chunk, this.sink, now, this.conn.stableChunks === true);
      if (error !== undefined) this.violation(error);
      else if (this.state === 'open' && (stream.hasBufferedInput || host.eventQueueFull())) {
        // Held-back input, or a full queue even though the last message ended with the chunk
        // (nothing held back): either way, no more input until the consumer catches up.
        this.pause();
      }
      if (host.readBudget !== Number.POSITIVE_INFINITY) this.spend(chunk.length);
    } catch (cause) {
      this.receiveThrew(cause);
    }
  }

  /**
   * Something on the receive path threw (the stream itself never does; its sink or a logger
   * might): the peer is disconnected as a codec violation, the stream's error (or the exception,
   * as `cause`) its reason, and the connection closed. Never throws.
   */
  private receiveThrew(cause: unknown): void {
    try {
      const error =
        this.s?.error ??
        new PeerlinkError(ErrorCodes.SINK_FAILURE, 'the receive path threw', { cause });
      this.drop({ kind: 'codec-violation', error }, 'close');
    } catch {
      try {
        this.conn.close();
      } catch {}
      this.release();
    }
  }

  onDrain(): void {
    if (this.state === 'closed') return;
    this.stream.handleDrain(this.host.clock());
    this.flush();
  }

  /** The transport, still blocked, passed on part of a large write: write progress. */
  onProgress(): void {
    if (this.state === 'closed') return;
    this.stream.handleProgress(this.host.clock());
  }

  onEnd(): void {
    if (this.state === 'closed') return;
    this.set(REMOTE_ENDED, true);
    if (this.state === 'open' && this.s?.hasBufferedInput === true) return; // after delivery
    this.endOfStream();
  }

  onClose(error: Error | undefined): void {
    if (this.state === 'closed') return;
    if (this.state === 'open' && this.s?.hasBufferedInput === true) {
      this.closedWith = error ?? null; // deliver the held-back input first
      return;
    }
    this.transportClosed(error);
  }

  // ------------------------------------------------------------------ reading

  /** Counts `n` bytes against this turn's read budget; pauses reading once it is spent. */
  private spend(n: number): void {
    const host = this.host;
    // The node's total first: it may start a new read turn (see `Turn.readBytes`).
    const total = host.turnRead(n);
    const turn = host.readTurn();
    if (this.readTurn !== turn) {
      this.readTurn = turn;
      this.turnBytes = 0;
    }
    this.turnBytes += n;
    // The budget applies once the node as a whole has read more than `TURN_FREE` budgets this
    // turn: a lone busy peer is not paused and resumed every turn, which cost it 14-40 % of its
    // receive CPU. libuv reads a socket at most 32 times (32 × 64 KiB, exactly `TURN_FREE`
    // default budgets) per turn, so such a peer reaches the allowance but never passes it; many
    // flooding peers still do.
    if (
      this.turnBytes < host.readBudget ||
      total <= TURN_FREE * host.readBudget ||
      this.state !== 'open' ||
      this.has(BUDGET)
    ) {
      return;
    }
    this.set(BUDGET, true);
    host.budgetSpent(this);
    this.conn.pause();
  }

  /** A new turn of the event loop: reads on, unless paused for the event queue meanwhile. */
  budgetRenewed(): void {
    this.set(BUDGET, false);
    this.turnBytes = 0;
    if (this.state === 'open' && !this.paused) this.conn.resume();
  }

  /** Stops reading until the event queue has room (the host calls {@link resume} then). */
  private pause(): void {
    if (this.paused) return;
    this.set(PAUSED, true);
    this.host.paused(this);
    this.conn.pause();
  }

  /**
   * The event queue has room again: delivers held-back input, then either reads on, pauses
   * again, or reports the end or close that was held back behind that input.
   */
  resume(now: number): void {
    this.set(PAUSED, false);
    if (this.state !== 'open') return;
    this.lastRx = now; // we were not reading: the peer was not idle meanwhile
    try {
      const stream = this.stream;
      const error = stream.resumeReceive(this.sink, now);
      if (error !== undefined) this.violation(error);
      else if (stream.hasBufferedInput || this.host.eventQueueFull()) this.pause();
      else if (this.closedWith !== undefined) this.transportClosed(this.closedWith ?? undefined);
      else if (this.has(REMOTE_ENDED)) this.endOfStream();
      else if (!this.has(BUDGET)) this.conn.resume(); // else at the turn's end
    } catch (cause) {
      this.receiveThrew(cause);
    }
  }

  /**
   * Replaces this connection's codec (see `Reactor.setCodec`); the peer is `open`. Input the old
   * codec left as a partial message is decoded with the new one after the current delivery.
   */
  setCodec(codec: Codec<M>): void {
    this.codec = codec;
    const s = this.s;
    if (s === undefined) return;
    s.setCodec(codec);
    if (s.bufferedBytes > 0) queueMicrotask(() => this.decodeBuffered());
  }

  private decodeBuffered(): void {
    if (this.state !== 'open' || this.paused) return; // a paused peer decodes when resumed
    try {
      const stream = this.stream;
      const error = stream.decodeBuffered(this.sink, this.host.clock());
      if (error !== undefined) this.violation(error);
      else if (this.state === 'open' && (stream.hasBufferedInput || this.host.eventQueueFull())) {
        this.pause();
      }
    } catch (cause) {
      this.receiveThrew(cause); // a microtask: an exception here would be uncaught
    }
  }

  // ------------------------------------------------------------------ sending

  /**
   * Queues `message` (the peer is `open`). Returns `'queued'`; `'full'` when the send buffer has
   * no room and the transport is blocked; `'no-such-peer'` when an event handler disconnected the
   * peer during the flush made to admit it. Emits the matching event for the last two.
   */
  send(message: M): SendResult {
    const host = this.host;
    if (!this.stream.queue(message, host.turnClock()) && !this.flushToAdmit(message)) {
      return this.refused(message);
    }
    this.work.messagesOut++;
    if (!this.has(DIRTY) && !this.blocked) {
      this.set(DIRTY, true);
      host.scheduleFlush(this);
    }
    return 'queued';
  }

  /**
   * Queues `messages` in order (the peer is `open`) until one is not queued; see
   * `Reactor.sendMany`. One clock read and at most one scheduled flush for the batch.
   */
  sendMany(messages: readonly M[]): SendManyResult {
    const host = this.host;
    const stream = this.stream;
    const now = host.turnClock();
    const n = messages.length;
    let i = 0;
    let result: SendResult | 'error' = 'queued';
    let error: Error | undefined;
    try {
      for (; i < n; i++) {
        const message = messages[i] as M;
        // An event handler run by a flush (or a codec) may have disconnected the peer.
        if (this.state !== 'open') {
          result = this.refused(message);
          break;
        }
        if (!stream.queue(message, now) && !this.flushToAdmit(message)) {
          result = this.refused(message);
          break;
        }
        if (i === 0 && !this.has(DIRTY) && !this.blocked) {
          // Before any more user code runs (a codec, an event handler during a flush).
          this.set(DIRTY, true);
          host.scheduleFlush(this);
        }
      }
    } catch (cause) {
      result = 'error';
      error = cause instanceof Error ? cause : new Error(String(cause), { cause });
    }
    this.work.messagesOut += i;
    return error === undefined ? { queued: i, result } : { queued: i, result, error };
  }

  /**
   * `message` was not queued: the peer is no longer `open` (`'no-such-peer'`), or its send
   * buffer is full behind a blocked transport (`'full'`). Emits the matching event.
   */
  private refused(message: M): 'full' | 'no-such-peer' {
    const host = this.host;
    if (this.state !== 'open') {
      host.emit({ type: 'no-such-peer', peer: this.id });
      return 'no-such-peer';
    }
    // Logged once per refusal episode, not for every retry before the drain.
    if (!this.has(WANTS_DRAIN) && host.log.enabled) {
      host.log.write(
        'debug',
        { peer: this.id, queued: this.stream.queuedBytes },
        'send buffer full',
      );
    }
    this.set(WANTS_DRAIN, true);
    host.emit({ type: 'send-buffer-full', peer: this.id, message });
    return 'full';
  }

  /**
   * The send buffer refused `message`: if the transport is not blocked, write what is queued now
   * instead of at the end of the turn, and queue `message` again. So a sender is refused only
   * when the transport is blocked too, and a long run of sends streams out in slab-sized writes.
   */
  private flushToAdmit(message: M): boolean {
    if (this.blocked || !this.stream.hasQueuedData) return false;
    // The flush may emit events (telemetry, `drained`) whose handlers send to this peer too:
    // those messages are queued first, and `send` answers 'queued' to them first, so the wire
    // order stays the order of the 'queued' answers.
    this.flush();
    return this.state === 'open' && this.stream.queue(message, this.host.turnClock());
  }

  /** Bytes queued and not yet handed to the transport. */
  get queuedBytes(): number {
    return this.s?.queuedBytes ?? 0;
  }

  /**
   * Whether `send` would admit a message of `size` bytes now (see `Reactor.canSend`). A `false`
   * arms the drain signal, as a refused send does: `drained` follows once there is room.
   */
  canSend(size: number): boolean {
    const s = this.s;
    if (s === undefined) return size <= this.host.config.txLimit;
    const limit = s.config.txLimit;
    const queued = s.queuedBytes;
    // Room as it is, or room once what is queued is written (the transport is not blocked).
    const ok =
      size === 0
        ? queued < limit || !s.isBlocked
        : queued + size <= limit || (!s.isBlocked && size <= limit);
    if (!ok) this.set(WANTS_DRAIN, true);
    return ok;
  }

  /** Resolves once the peer can take more messages (see `Reactor.drained`). */
  drained(): Promise<void> {
    if (!this.has(WANTS_DRAIN) && this.stream.freeBytes > 0) return Promise.resolve();
    this.set(WANTS_DRAIN, true);
    return new Promise((resolve, reject) => {
      this.waiters ??= [];
      this.waiters.push({ resolve, reject });
    });
  }

  /** The scheduled flush (end of the turn): the peer is no longer dirty. */
  flushScheduled(): void {
    this.set(DIRTY, false);
    this.flush();
  }

  /** Hands queued bytes to the transport until it blocks; ends a closing peer once all is out. */
  private flush(): void {
    if (this.state === 'closed' || this.blocked) return;
    const host = this.host;
    const stream = this.stream;
    const now = host.clock();
    if (host.telemetry) this.reportTelemetry(now);
    // A transport that says when it is done with written bytes lets the stream reuse its slabs.
    const release = this.conn.releasesWrites === true ? stream.releaseTransmitted : undefined;
    const willRelease = release !== undefined;
    let bytes = stream.pollTransmit(now, willRelease);
    if (bytes !== undefined) {
      // Usually one run of bytes; more when a large message queued behind unsent ones or the
      // codec shared a large body (no copy either way). Stop at the first write that blocks.
      do {
        this.bytesOut += bytes.length;
        if (this.has(REPORTED)) host.departed.bytesOut += bytes.length; // flushing after `disconnected`
        if (host.trace) host.log.write('debug', { peer: this.id, bytes: bytes.length }, 'flush');
        if (!this.conn.write(bytes, release)) {
          stream.handleBlocked(now);
          break;
        }
        bytes = stream.pollTransmit(now, willRelease);
      } while (bytes !== undefined);
      if (host.telemetry) this.reportTelemetry(now);
    }
    if (this.state === 'closing') {
      if (!stream.isBlocked) this.endOurSide();
      return;
    }
    if (this.has(WANTS_DRAIN) && stream.freeBytes > 0 && !stream.isBlocked) {
      this.set(WANTS_DRAIN, false);
      const waiters = this.waiters;
      this.waiters = undefined;
      host.emit({ type: 'drained', peer: this.id });
      if (waiters !== undefined) for (const w of waiters) w.resolve();
    }
  }

  private reportTelemetry(now: number): void {
    // After `disconnected`, a peer has no more events (its queue still flushes, unreported).
    if (this.state !== 'open') return;
    const stream = this.stream;
    const queued = stream.queuedBytes;
    const delta = queued - this.reportedQueued;
    if (delta === 0) return;
    this.reportedQueued = queued;
    const oldest = stream.oldestQueued;
    this.host.emit({
      type: 'outbound-telemetry',
      peer: this.id,
      bytesFree: stream.freeBytes,
      bytesQueued: queued,
      delta,
      oldestQueuedAge: oldest === undefined ? undefined : now - oldest,
    });
  }
}
