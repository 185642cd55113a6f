import type { Connection } from '@peerlink/stream';

export interface PendingConnect {
  readonly target: string;
  readonly controller: AbortController;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * Settles with `promise`, or rejects with the signal's reason as soon as it aborts, whichever is
 * first; a connection that arrives after the abort is closed so that nothing leaks.
 */
export function raceAbort(promise: Promise<Connection>, signal: AbortSignal): Promise<Connection> {
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (conn) => {
        signal.removeEventListener('abort', onAbort);
        if (signal.aborted) {
          conn.close();
          reject(signal.reason);
        } else {
          resolve(conn);
        }
      },
      (error) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
