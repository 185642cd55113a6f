/**
 * Time and task scheduling for the memory transport, injectable so that tests can run on a virtual
 * clock. Nothing here imports from `node:*`: only web-standard globals are used.
 */

/** An opaque timer handle returned by {@link Scheduler.setTimeout}. */
export type TimerHandle = unknown;

/**
 * The clock and task queue the memory transport runs on. The default, {@link realScheduler},
 * uses the platform's timers; {@link VirtualScheduler} runs on simulated time.
 */
export interface Scheduler {
  /** The current time, in milliseconds (any origin; only differences matter). */
  now(): number;
  /** Runs `callback` once, `delay` milliseconds from now (`delay` ≥ 0). */
  setTimeout(callback: () => void, delay: number): TimerHandle;
  /** Cancels a timer set by {@link setTimeout}; a no-op for a timer that already ran. */
  clearTimeout(handle: TimerHandle): void;
  /**
   * Runs `callback` in a later macrotask, after the microtask queue and other pending tasks: the
   * memory transport yields here between delivery slices so that one busy connection cannot
   * starve the rest of the program.
   */
  defer(callback: () => void): void;
}

interface TimerGlobals {
  setImmediate?: (callback: () => void) => unknown;
  MessageChannel?: typeof MessageChannel;
  performance?: { now(): number };
}

/**
 * The best "next macrotask" primitive the platform has: `setImmediate` (Node, Bun, Deno), else a
 * `MessageChannel` (browsers; no 4 ms clamping), else `setTimeout(0)`.
 */
function platformDefer(): (callback: () => void) => void {
  const g = globalThis as unknown as TimerGlobals;
  const immediate = g.setImmediate;
  if (typeof immediate === 'function') return (callback) => void immediate(callback);
  if (typeof g.MessageChannel === 'function') {
    const channel = new g.MessageChannel();
    const queue: (() => void)[] = [];
    channel.port1.onmessage = () => queue.shift()?.();
    // Where ports can hold a process open (Node without setImmediate: not a real platform, but
    // tests simulate it), do not let an idle channel do so.
    (channel.port1 as { unref?: () => void }).unref?.();
    return (callback) => {
      queue.push(callback);
      channel.port2.postMessage(null);
    };
  }
  return (callback) => void setTimeout(callback, 0);
}

/**
 * A {@link Scheduler} on the platform's real timers: `performance.now()` (else `Date.now()`),
 * `setTimeout`, and `setImmediate` / `MessageChannel` for yields. Each call returns a new instance;
 * there is no shared state.
 */
export function realScheduler(): Scheduler {
  const g = globalThis as unknown as TimerGlobals;
  const perf = g.performance;
  const now = perf && typeof perf.now === 'function' ? () => perf.now() : () => Date.now();
  return {
    now,
    setTimeout: (callback, delay) => setTimeout(callback, delay),
    clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
    defer: platformDefer(),
  };
}

interface VirtualTimer {
  readonly at: number;
  readonly seq: number;
  readonly callback: () => void;
  cancelled: boolean;
}

/**
 * A {@link Scheduler} on simulated time, for deterministic tests of latency and bandwidth.
 *
 * Time starts at 0 and moves only forward, and only when the scheduler is idle: it runs deferred
 * tasks first (in order), and when none is left it jumps straight to the earliest timer. Each task
 * or timer runs in its own real macrotask, so promises and microtasks settle between them. A
 * 100 ms latency therefore costs no wall-clock time, and the same program produces the same
 * interleaving of events on every run.
 *
 * Work scheduled outside this scheduler (the platform's own timers) does not hold simulated time
 * back: only tasks and timers given to this scheduler count.
 */
export class VirtualScheduler implements Scheduler {
  #now = 0;
  #seq = 0;
  readonly #timers: VirtualTimer[] = [];
  readonly #tasks: (() => void)[] = [];
  #driving = false;
  readonly #platformDefer = platformDefer();

  /** The simulated time, in milliseconds since the scheduler was created. */
  now(): number {
    return this.#now;
  }

  /** Runs `callback` when the simulated clock reaches now + `delay` ms. */
  setTimeout(callback: () => void, delay: number): TimerHandle {
    const timer: VirtualTimer = {
      at: this.#now + (delay > 0 && Number.isFinite(delay) ? delay : 0),
      seq: this.#seq++,
      callback,
      cancelled: false,
    };
    heapPush(this.#timers, timer);
    this.#drive();
    return timer;
  }

  /** Cancels a timer set by {@link setTimeout}. */
  clearTimeout(handle: TimerHandle): void {
    if (handle !== null && typeof handle === 'object' && 'cancelled' in handle) {
      (handle as VirtualTimer).cancelled = true;
    }
  }

  /** Queues `callback` to run at the current simulated time, after tasks queued before it. */
  defer(callback: () => void): void {
    this.#tasks.push(callback);
    this.#drive();
  }

  /** The number of pending timers (cancelled ones excluded); for tests that check cleanup. */
  get pendingTimers(): number {
    return this.#timers.filter((t) => !t.cancelled).length;
  }

  #drive(): void {
    if (this.#driving) return;
    this.#driving = true;
    this.#platformDefer(this.#step);
  }

  readonly #step = (): void => {
    this.#driving = false;
    const task = this.#tasks.shift();
    if (task !== undefined) {
      this.#continue();
      task();
      return;
    }
    let timer = heapPop(this.#timers);
    while (timer?.cancelled) timer = heapPop(this.#timers);
    if (timer === undefined) return;
    if (timer.at > this.#now) this.#now = timer.at;
    this.#continue();
    timer.callback();
  };

  #continue(): void {
    if (this.#tasks.length > 0 || this.#timers.length > 0) this.#drive();
  }
}

function before(a: VirtualTimer, b: VirtualTimer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

function heapPush(heap: VirtualTimer[], item: VirtualTimer): void {
  heap.push(item);
  let i = heap.length - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    const p = heap[parent]!;
    if (!before(item, p)) break;
    heap[i] = p;
    i = parent;
  }
  heap[i] = item;
}

function heapPop(heap: VirtualTimer[]): VirtualTimer | undefined {
  const top = heap[0];
  const last = heap.pop();
  if (top === undefined || last === undefined || heap.length === 0) return top;
  let i = 0;
  for (;;) {
    const l = 2 * i + 1;
    if (l >= heap.length) break;
    const r = l + 1;
    const child = r < heap.length && before(heap[r]!, heap[l]!) ? r : l;
    if (!before(heap[child]!, last)) break;
    heap[i] = heap[child]!;
    i = child;
  }
  heap[i] = last;
  return top;
}
