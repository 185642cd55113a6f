/**
 * Handle accounting through `process.getActiveResourcesInfo()` (Node 17+). On runtimes without it
 * every function here reports "not available" and the checks that use it are skipped, not failed.
 */

interface ProcessLike {
  getActiveResourcesInfo?: () => string[];
}

interface GlobalLike {
  process?: ProcessLike;
  setImmediate?: (callback: () => void) => unknown;
  setTimeout: (callback: () => void, ms: number) => unknown;
}

const global = globalThis as unknown as GlobalLike;

/** Timers come and go with the test runner's own work; they are not handles an adapter leaks. */
const IGNORED = new Set(['Timeout', 'Immediate']);

/** How many of each kind of resource is active, or `undefined` where the runtime cannot tell. */
export type ResourceSnapshot = ReadonlyMap<string, number> | undefined;

/** Counts the active resources by kind (`TCPWRAP`, `TCPSERVERWRAP`, `FSReqCallback`, ...). */
export function snapshotResources(): ResourceSnapshot {
  const info = global.process?.getActiveResourcesInfo;
  if (typeof info !== 'function') return undefined;
  const counts = new Map<string, number>();
  for (const kind of info.call(global.process)) {
    if (IGNORED.has(kind)) continue;
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  return counts;
}

/** The kinds present now beyond what `before` had, e.g. `['TCPWRAP +1']`; empty when none. */
export function extraResources(before: ResourceSnapshot): string[] {
  const now = snapshotResources();
  if (before === undefined || now === undefined) return [];
  const extra: string[] = [];
  for (const [kind, count] of now) {
    const had = before.get(kind) ?? 0;
    if (count > had) extra.push(`${kind} +${count - had}`);
  }
  return extra;
}

/** Yields to the event loop for one macrotask turn (so close callbacks can run). */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => {
    if (typeof global.setImmediate === 'function') global.setImmediate(resolve);
    else global.setTimeout(resolve, 0);
  });
}

/**
 * Waits, turn by turn, until no resource beyond `before` is active; throws after `timeout` ms
 * naming the extra handles. Handles close asynchronously (a socket's handle is released in a
 * later loop phase than its error), so this waits for that to happen rather than sampling once.
 */
export async function expectNoExtraResources(
  before: ResourceSnapshot,
  timeout: number,
  what: string,
): Promise<void> {
  if (before === undefined) return;
  const deadline = Date.now() + timeout;
  for (;;) {
    const extra = extraResources(before);
    if (extra.length === 0) return;
    if (Date.now() > deadline) {
      throw new Error(`${what}: handles left behind after ${timeout} ms: ${extra.join(', ')}`);
    }
    await nextTurn();
  }
}
