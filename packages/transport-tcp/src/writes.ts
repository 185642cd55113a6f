import type { Duplex } from 'node:stream';

/** What `Connection.write` is given to hand written bytes back. */
export type Release = (bytes: Uint8Array) => void;

/**
 * Writes larger than this go to the socket one slice (a view, never a copy) at a time, the next
 * one when the socket drained the last. Node reports a write only once all of it has left, so
 * without slices a large message to a slow reader would show no progress for as long as the whole
 * of it takes; with them, each slice the kernel takes is reported as progress (`onProgress`).
 */
export const WRITE_SLICE = 256 * 1024;

/** The write state of a socket connection that the functions below work on. */
export interface Writes {
  readonly socket: Duplex;
  /** What is left of writes larger than {@link WRITE_SLICE}, in order; `undefined` when none. */
  rest: Uint8Array[] | undefined;
  /** For each entry of `rest`: the whole bytes written, and their `release` or `undefined`. */
  restOwners: Array<Uint8Array | Release | undefined> | undefined;
  /** Made on the first write with a `release`. */
  releases: WriteReleases | undefined;
}

/** Writes `slice`, the last part of `bytes`, and releases `bytes` once the socket is done. */
export function writeReleased(
  c: Writes,
  slice: Uint8Array,
  bytes: Uint8Array,
  release: Release,
): boolean {
  return (c.releases ??= new WriteReleases()).write(c.socket, slice, bytes, release);
}

/**
 * Writes the next slices of `c.rest` (a view each, never a copy). Returns `true` when all of it is
 * written and the socket takes more; `false` when it waits for the next `'drain'`.
 */
export function writeRest(c: Writes): boolean {
  const { socket } = c;
  const rest = c.rest!;
  const owners = c.restOwners!;
  for (;;) {
    const head = rest[0];
    if (head === undefined) {
      c.rest = c.restOwners = undefined;
      return true;
    }
    let ok: boolean;
    if (head.length > WRITE_SLICE) {
      rest[0] = head.subarray(WRITE_SLICE);
      ok = socket.write(head.subarray(0, WRITE_SLICE));
    } else {
      rest.shift();
      const bytes = owners.shift() as Uint8Array;
      const release = owners.shift() as Release | undefined;
      ok = release === undefined ? socket.write(head) : writeReleased(c, head, bytes, release);
    }
    if (!ok) {
      if (rest.length === 0) c.rest = c.restOwners = undefined;
      return false;
    }
  }
}

/** Hands every slice of `c.rest` to the socket at once (before an end). */
export function writeAllRest(c: Writes): void {
  const rest = c.rest!;
  const owners = c.restOwners!;
  c.rest = c.restOwners = undefined;
  for (let i = 0; i < rest.length; i++) {
    const release = owners[2 * i + 1] as Release | undefined;
    if (release === undefined) c.socket.write(rest[i]!);
    else writeReleased(c, rest[i]!, owners[2 * i] as Uint8Array, release);
  }
}

/**
 * Hands a socket's written bytes back once the socket is done with them (see
 * `Connection.releasesWrites`): at once when Node wrote them to the kernel during the `write` call
 * (and everything before them), else at the write's callback. Node calls the callbacks of a
 * socket's writes once each, in write order, so one shared callback and a count match each
 * callback to its write. Made on a connection's first write with a `release`: an idle connection
 * has none. Internal to `@peerlink/transport-tcp`.
 */
export class WriteReleases {
  /** Writes waiting for their callback, oldest first, as triples: write number, bytes, release. */
  private pending: Array<number | Uint8Array | Release> = [];
  /** Socket writes made with {@link onWritten} as their callback, and their callbacks so far. */
  private issued = 0;
  private completed = 0;
  private readonly onWritten = (): void => {
    this.completed++;
    this.releaseUpTo(this.completed);
  };

  /**
   * Writes `slice`, the last part of `bytes` still to go, to `socket`; releases `bytes` once the
   * socket is done with it. Returns what `socket.write` returned.
   */
  write(socket: Duplex, slice: Uint8Array, bytes: Uint8Array, release: Release): boolean {
    const ok = socket.write(slice, this.onWritten);
    this.issued++;
    if (socket.writableLength === 0) {
      // Nothing is held in Node: the kernel took this write and every one before it.
      this.releaseUpTo(this.issued);
      release(bytes);
    } else {
      this.pending.push(this.issued, bytes, release);
    }
    return ok;
  }

  /** Releases the writes made among the first `n` socket writes with {@link onWritten}. */
  private releaseUpTo(n: number): void {
    const list = this.pending;
    let i = 0;
    while (i < list.length && (list[i] as number) <= n) i += 3;
    if (i === 0) return;
    const done = list.splice(0, i);
    for (let j = 0; j < done.length; j += 3) (done[j + 2] as Release)(done[j + 1] as Uint8Array);
  }
}
