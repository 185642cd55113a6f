import type { MessageHandler, PeerId, ReactorEvent } from './events.js';

/** A reader the queue paused while it was full; {@link resume} is called once there is room. */
export interface PausedReader {
  /** The queue has room again (the reader is no longer in the paused set), at time `now`. */
  resume(now: number): void;
}

/** One synchronous listener added with `Reactor.onEvent`. */
interface Listener<M> {
  readonly handler: (event: ReactorEvent<M>) => void;
  readonly onMessage: MessageHandler<M> | undefined;
  /** Cleared on unsubscribe: a listener removed during a dispatch gets nothing more. */
  active: boolean;
}

/** A bounded FIFO of events: one per iterator, and the backlog kept while nobody listens. */
class Fifo<M> {
  private items: (ReactorEvent<M> | undefined)[] = [];
  private head = 0;

  get size(): number {
    return this.items.length - this.head;
  }

  push(event: ReactorEvent<M>): void {
    this.items.push(event);
  }

  shift(): ReactorEvent<M> | undefined {
    if (this.head === this.items.length) return undefined;
    const event = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head === this.items.length) {
      this.items.length = 0;
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return event;
  }
}

/** One `events()` iterator: its own queue, and the `next()` calls waiting on it. */
class Subscription<M> {
  /** `next()` calls waiting for an event, oldest first. */
  readonly waiting: Array<(result: IteratorResult<ReactorEvent<M>>) => void> = [];
  ended = false;
  constructor(readonly fifo: Fifo<M>) {}
}

const DONE: IteratorResult<never> = { done: true, value: undefined };

/**
 * Where a reactor's events go: any number of synchronous listeners (the fast path) and any number
 * of async iterators, each iterator with its own bounded queue. While any iterator's queue is at
 * capacity, readers pause ({@link pause}); they are resumed once every queue is down to half.
 *
 * Events emitted while there is no listener and no iterator are kept (bounded the same way) and
 * handed to the next one to subscribe, first.
 */
export class EventQueue<M> {
  /** Copy-on-write: a dispatch walks the array it started with. */
  private listeners: readonly Listener<M>[] = [];
  /** Copy-on-write, as {@link listeners}. */
  private subscriptions: readonly Subscription<M>[] = [];
  /** Events emitted while nobody listened, for the next subscriber. */
  private backlog = new Fifo<M>();
  private readonly pausedReaders = new Set<PausedReader>();
  /** A dispatch to several listeners is running: events emitted meanwhile wait in `pending`. */
  private dispatching = false;
  private readonly pending: ReactorEvent<M>[] = [];

  /**
   * @param capacity Most events queued for one iterator before readers pause.
   * @param clock The clock, in milliseconds (given to resumed readers).
   * @param finished Whether no event can come any more: iterators end once their queue is empty.
   */
  constructor(
    readonly capacity: number,
    private readonly clock: () => number,
    private readonly finished: () => boolean,
  ) {}

  /** Events waiting: the longest iterator queue, or the backlog while nobody listens. */
  get size(): number {
    let size = this.backlog.size;
    for (const s of this.subscriptions) if (s.fifo.size > size) size = s.fifo.size;
    return size;
  }

  /** Whether a queue is at capacity (never while only synchronous listeners subscribe). */
  get full(): boolean {
    const subs = this.subscriptions;
    if (subs.length === 0) {
      return this.listeners.length === 0 && this.backlog.size >= this.capacity;
    }
    for (let i = 0; i < subs.length; i++) if (subs[i]!.fifo.size >= this.capacity) return true;
    return false;
  }

  /** Readers paused until the queues have room. */
  get pausedCount(): number {
    return this.pausedReaders.size;
  }

  /** Synchronous listeners subscribed now. */
  get listenerCount(): number {
    return this.listeners.length;
  }

  /** Iterators subscribed now. */
  get iteratorCount(): number {
    return this.subscriptions.length;
  }

  /** `reader` stopped reading because a queue is full. */
  pause(reader: PausedReader): void {
    this.pausedReaders.add(reader);
  }

  /** `reader` no longer waits for room (it is gone). */
  unpause(reader: PausedReader): void {
    this.pausedReaders.delete(reader);
  }

  /** See `Reactor.onEvent`. Returns the unsubscribe function. */
  addListener(
    handler: (event: ReactorEvent<M>) => void,
    onMessage?: MessageHandler<M>,
  ): () => void {
    const listener: Listener<M> = { handler, onMessage, active: true };
    this.listeners = [...this.listeners, listener];
    // Hand over what was kept while nobody listened, in order.
    for (
      let e = this.backlog.shift();
      e !== undefined && listener.active;
      e = this.backlog.shift()
    ) {
      callListener(listener, e);
    }
    this.resumeIfRoom();
    return () => {
      if (!listener.active) return;
      listener.active = false;
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  /** See `Reactor.events`. */
  iterator(): AsyncIterableIterator<ReactorEvent<M>> {
    // The first subscriber takes what was kept while nobody listened.
    const sub = new Subscription(this.backlog);
    this.backlog = new Fifo<M>();
    this.subscriptions = [...this.subscriptions, sub];
    const iterator: AsyncIterableIterator<ReactorEvent<M>> = {
      next: () => this.next(sub),
      return: (value?: unknown) => {
        this.unsubscribe(sub);
        return Promise.resolve({ done: true, value: value as undefined });
      },
      // As a generator with no `catch` would: ends the iterator (a waiting `next()` settles
      // `done`), and rejects with the error thrown into it.
      throw: (error?: unknown) => {
        this.unsubscribe(sub);
        return Promise.reject(error);
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  private next(sub: Subscription<M>): Promise<IteratorResult<ReactorEvent<M>>> {
    if (sub.ended) return Promise.resolve(DONE);
    const event = sub.fifo.shift();
    if (event !== undefined) {
      if (this.pausedReaders.size > 0) this.resumeIfRoom();
      return Promise.resolve({ done: false, value: event });
    }
    if (this.finished()) {
      this.unsubscribe(sub);
      return Promise.resolve(DONE);
    }
    return new Promise((resolve) => {
      sub.waiting.push(resolve);
    });
  }

  /** Ends `sub`: its waiting `next()` calls settle `done`, its queue is dropped. */
  private unsubscribe(sub: Subscription<M>): void {
    if (sub.ended) return;
    sub.ended = true;
    this.subscriptions = this.subscriptions.filter((s) => s !== sub);
    for (const resolve of sub.waiting.splice(0)) resolve(DONE);
    this.resumeIfRoom();
  }

  /** Resumes paused readers once every queue is down to half its capacity. */
  private resumeIfRoom(): void {
    if (this.pausedReaders.size === 0 || this.size > this.capacity >> 1) return;
    const now = this.clock();
    for (const reader of [...this.pausedReaders]) {
      if (this.full) break;
      this.pausedReaders.delete(reader);
      reader.resume(now);
    }
  }

  /**
   * Emits one event: to every iterator's queue (or the waiting `next()`), then to every listener.
   * With several listeners, an event emitted by a listener during the dispatch waits until the
   * current event has reached every listener, so that all of them see one order.
   */
  emit(event: ReactorEvent<M>): void {
    const subs = this.subscriptions;
    const listeners = this.listeners;
    if (subs.length === 0 && listeners.length === 0) {
      this.backlog.push(event);
      return;
    }
    for (let i = 0; i < subs.length; i++) {
      const sub = subs[i]!;
      const waiting = sub.waiting.shift();
      if (waiting !== undefined) waiting({ done: false, value: event });
      else sub.fifo.push(event);
    }
    if (listeners.length === 0) return;
    if (this.dispatching) {
      this.pending.push(event);
      return;
    }
    if (listeners.length === 1) {
      callListener(listeners[0]!, event);
      return;
    }
    this.dispatching = true;
    try {
      for (let e: ReactorEvent<M> | undefined = event; e !== undefined; e = this.pending.shift()) {
        // The listeners as of this event (a listener added by a handler sees the next ones).
        const now = e === event ? listeners : this.listeners;
        for (let i = 0; i < now.length; i++) callListener(now[i]!, e);
      }
    } finally {
      this.dispatching = false;
    }
  }

  /**
   * Emits one received message: to each listener's message handler if it has one, else as a
   * `message` event (made once, only if needed). Returns false when a queue is now full
   * (decoding stops).
   */
  readonly deliver = (peer: PeerId, message: M, size: number): boolean => {
    const listeners = this.listeners;
    if (listeners.length === 1 && this.subscriptions.length === 0 && !this.dispatching) {
      const l = listeners[0]!;
      if (l.onMessage !== undefined) {
        try {
          l.onMessage(peer, message, size);
        } catch (error) {
          rethrow(error);
        }
        return true;
      }
    }
    this.emit({ type: 'message', peer, message, size });
    return !this.full;
  };

  /** Ends iterators waiting on an empty queue once no event can come any more. */
  wake(): void {
    if (!this.finished()) return;
    for (const sub of this.subscriptions) {
      if (sub.waiting.length > 0 && sub.fifo.size === 0) this.unsubscribe(sub);
    }
  }
}

/** Calls one listener; an exception surfaces as an uncaught exception, the dispatch goes on. */
function callListener<M>(listener: Listener<M>, event: ReactorEvent<M>): void {
  if (!listener.active) return;
  try {
    if (event.type === 'message' && listener.onMessage !== undefined) {
      listener.onMessage(event.peer, event.message, event.size);
    } else {
      listener.handler(event);
    }
  } catch (error) {
    rethrow(error);
  }
}

/**
 * A listener's own bug: keep the reactor's state whole and let it surface as an uncaught
 * exception on its own stack, as an EventEmitter listener's would.
 */
function rethrow(error: unknown): void {
  queueMicrotask(() => {
    throw error;
  });
}
