/**
 * The suite's assertions and bounded waits: every wait is event driven, and every await on the
 * transport under test fails with the step's name after the `timeout` option instead of hanging.
 */

/** A recorded contract violation, reported when the test ends. */
export type Violations = string[];

/** Throws `message` unless `condition` holds. */
export function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

/**
 * Waits until `predicate()` holds, re-checking whenever `subscribe`'s callback fires. Rejects
 * after `timeout` ms with `what` and the current `state()` in the message.
 */
export function waitFor(
  waiters: Set<() => void>,
  predicate: () => boolean,
  what: string,
  timeout: number,
  state: () => string,
): Promise<void> {
  if (predicate()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const waiter = (): void => {
      if (!predicate()) return;
      clearTimeout(timer);
      waiters.delete(waiter);
      resolve();
    };
    const timer = setTimeout(() => {
      waiters.delete(waiter);
      reject(new Error(`timed out after ${timeout} ms waiting for ${what} (${state()})`));
    }, timeout);
    waiters.add(waiter);
  });
}

/** A step of the suite that did not settle within the `timeout` option. */
export class StepTimeout extends Error {
  constructor(step: string, timeout: number) {
    super(`timed out after ${timeout} ms: ${step} never settled`);
    this.name = 'StepTimeout';
  }
}

/**
 * Settles as `promise` does, or rejects after `timeout` ms with an error naming `step`: every
 * await on the transport under test goes through it, so that a call that never settles (a
 * `listener.close()` that waits for its connections, a connect that hangs) fails the test with
 * the step's name instead of hanging it.
 */
export function bounded<T>(promise: T | Promise<T>, step: string, timeout: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new StepTimeout(step, timeout)), timeout);
    Promise.resolve(promise).then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** Awaits `promise` and returns what it rejected with; throws if it resolved. */
export async function rejectionOf(
  promise: Promise<unknown>,
  what: string,
  timeout: number,
  onResolved?: (value: unknown) => void,
): Promise<unknown> {
  let value: unknown;
  try {
    value = await bounded(promise, what, timeout);
  } catch (error) {
    if (error instanceof StepTimeout) throw error;
    return error;
  }
  onResolved?.(value);
  throw new Error(`${what}: resolved, expected a rejection`);
}
