import { ErrorCodes, PeerlinkError } from '@peerlink/stream';
import type { MessageHandler, PeerId, ReactorEvent } from './events.js';

/** A reader the queue paused while it was full; {@link resume} is called once there is room. */
export interface PausedReader {
  /** The queue has room again (the reader is no longer in the paused set), at time `now`. */
  resume(now: number): void;
}

/**
 * Where a reactor's events go: a synchronous handler (the fast path), or a bounded queue read
 * through one async iterator. While the queue is at capacity, readers pause ({@link pause}); they
 * are resumed once the consumer has taken it down to half.
 */
export class EventQueue<M> {
  private handler: ((event: ReactorEvent<M>) => void) | undefined;
  private messageHandler: MessageHandler<M> | undefined;
  private queue: (ReactorEvent<M> | undefined)[] = [];
  private head = 0;
  private readonly pausedReaders = new Set<PausedReader>();
  private waiting: ((result: IteratorResult<ReactorEvent<M>>) => void) | undefined;

  /**
   * @param capacity Most events queued for the iterator before readers pause.
   * @param clock The clock, in milliseconds (given to resumed readers).
   * @param finished Whether no event can come any more: the iterator ends once the queue is empty.
   */
  constructor(
    readonly capacity: number,
    private readonly clock: () => number,
    private readonly finished: () => boolean,
  ) {}

  /** Events waiting in the queue. */
  get size(): number {
    return this.queue.length - this.head;
  }

  /** Whether the iterator's queue is at capacity (never, with a synchronous handler). */
  get full(): boolean {
    return this.handler === undefined && this.queue.length - this.head >= this.capacity;
  }

  /** Readers paused until the queue has room. */
  get pausedCount(): number {
    return this.pausedReaders.size;
  }

  /** `reader` stopped reading because the queue is full. */
  pause(reader: PausedReader): void {
    this.pausedReaders.add(reader);
  }

  /** `reader` no longer waits for room (it is gone). */
  unpause(reader: PausedReader): void {
    this.pausedReaders.delete(reader);
  }

  /** See `Reactor.onEvent`. */
  setHandler(handler: (event: ReactorEvent<M>) => void, onMessage?: MessageHandler<M>): void {
    if (this.waiting !== undefined) {
      throw new PeerlinkError(ErrorCodes.INVALID_ARGUMENT, 'events() is being iterated');
    }
    this.handler = handler;
    this.messageHandler = onMessage;
    for (let e = this.dequeue(); e !== undefined; e = this.dequeue()) {
      if (onMessage !== undefined && e.type === 'message') onMessage(e.peer, e.message, e.size);
      else handler(e);
    }
  }

  /** See `Reactor.events`. */
  iterator(): AsyncIterableIterator<ReactorEvent<M>> {
    if (this.handler !== undefined) {
      throw new PeerlinkError(ErrorCodes.INVALID_ARGUMENT, 'an onEvent handler is set');
    }
    const iterator: AsyncIterableIterator<ReactorEvent<M>> = {
      next: () => this.next(),
      return: async () => ({ done: true, value: undefined }),
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  private next(): Promise<IteratorResult<ReactorEvent<M>>> {
    const event = this.dequeue();
    if (event !== undefined) return Promise.resolve({ done: false, value: event });
    if (this.finished()) return Promise.resolve({ done: true, value: undefined });
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  private dequeue(): ReactorEvent<M> | undefined {
    if (this.head === this.queue.length) return undefined;
    const event = this.queue[this.head];
    this.queue[this.head++] = undefined;
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    if (this.pausedReaders.size > 0 && this.size <= this.capacity >> 1) this.resumePaused();
    return event;
  }

  private resumePaused(): void {
    const now = this.clock();
    for (const reader of [...this.pausedReaders]) {
      if (this.size >= this.capacity) break;
      this.pausedReaders.delete(reader);
      reader.resume(now);
    }
  }

  /** Emits one event to the handler, the waiting consumer, or the queue. */
  emit(event: ReactorEvent<M>): void {
    if (this.handler !== undefined) {
      try {
        this.handler(event);
      } catch (error) {
        // The handler's own bug: keep the reactor's state whole and let it surface as an
        // uncaught exception on its own stack, as an EventEmitter listener's would.
        queueMicrotask(() => {
          throw error;
        });
      }
      return;
    }
    const waiting = this.waiting;
    if (waiting !== undefined) {
      this.waiting = undefined;
      waiting({ done: false, value: event });
      return;
    }
    this.queue.push(event);
  }

  /**
   * Emits one received message: to the message handler if set, else as a `message` event.
   * Returns false when the queue is now full (decoding stops).
   */
  readonly deliver = (peer: PeerId, message: M, size: number): boolean => {
    const onMessage = this.messageHandler;
    if (onMessage !== undefined) {
      try {
        onMessage(peer, message, size);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
      return true;
    }
    this.emit({ type: 'message', peer, message, size });
    return !this.full;
  };

  /** Ends an iterator waiting on an empty queue once no event can come any more. */
  wake(): void {
    const waiting = this.waiting;
    if (waiting === undefined || this.size > 0) return;
    if (this.finished()) {
      this.waiting = undefined;
      waiting({ done: true, value: undefined });
    }
  }
}
