// The glue every peerlink row shares: one Reactor per process serving every connection of that
// process (listen or connect), events through the synchronous `onEvent` handler and messages
// through its message handler (no event object per message), a send refused with 'full' sent
// again once `drained(peer)` resolves. A row supplies its codec, its transport, how a workload
// message becomes a peerlink message, and how a received one reaches the worker.
//
// To add a row (another transport, another codec), write a module in this directory that exports
// `name`, `listen` and `connect` from `peerlinkImpl({...})`, and list it in run.mjs (IMPLS).

import { Reactor } from '@peerlink/reactor';
import { PayloadSource } from '../common.mjs';

/**
 * @template M
 * @typedef {object} PeerlinkRow
 * @property {string} name
 * @property {(size: number) => import('@peerlink/codec').Codec<M>} codec the codec for messages
 *   of `size` bytes
 * @property {() => import('@peerlink/stream').Transport} transport
 * @property {(conn: PeerConn<M>, seq: number, len: number) => M} message the message to send for
 *   workload message `seq` of `len` bytes
 * @property {(conn: PeerConn<M>, message: M, size: number) => void} deliver hands a received
 *   message (of `size` bytes on the wire) to the worker (`conn.onPayload` or `conn.onMessage`)
 * @property {string} [host] the address to listen on and connect to (default 127.0.0.1)
 */

/**
 * @template M
 * @param {PeerlinkRow<M>} row
 * @returns {Pick<import('../common.mjs').Impl, 'listen' | 'connect'> & { name: string }}
 */
export function peerlinkImpl(row) {
  const host = row.host ?? '127.0.0.1';
  /** @type {Reactor<M> | undefined} */
  let reactor;
  /** @type {Map<number, PeerConn<M>>} */
  const conns = new Map();
  /** @type {((conn: PeerConn<M>) => void) | undefined} */
  let onAccepted;
  /** @type {PeerConn<M> | undefined} the connection the last message came from */
  let lastConn;
  const deliver = row.deliver;

  /** @param {{ size: number }} opts */
  function getReactor(opts) {
    if (reactor !== undefined) return reactor;
    const r = new Reactor({
      codec: row.codec(opts.size),
      transport: row.transport(),
      maxInbound: 1 << 20,
    });
    r.onEvent(
      (event) => {
        switch (event.type) {
          case 'accepted': {
            const c = new PeerConn(r, event.peer, row);
            conns.set(event.peer, c);
            onAccepted?.(c);
            break;
          }
          case 'disconnected': {
            conns.delete(event.peer);
            if (lastConn?.peer === event.peer) lastConn = undefined;
            if (event.reason.kind !== 'requested' && event.reason.kind !== 'left') {
              const err = 'error' in event.reason ? event.reason.error : undefined;
              throw new Error(`peer ${event.peer} disconnected: ${event.reason.kind}`, {
                cause: err,
              });
            }
            break;
          }
          default:
            break;
        }
      },
      // A run of messages from one peer skips the map lookup (net-raw's handler has its
      // connection at hand too).
      (peer, message, size) => {
        let c = lastConn;
        if (c === undefined || c.peer !== peer) {
          c = conns.get(peer);
          lastConn = c;
          if (c === undefined) return;
        }
        deliver(c, message, size);
      },
    );
    reactor = r;
    return r;
  }

  return {
    name: row.name,
    async listen(onConnection, opts) {
      const r = getReactor(/** @type {{ size: number }} */ (opts));
      onAccepted = onConnection;
      const [bound] = await r.listen(`${host}:0`);
      const port = Number(bound.slice(bound.lastIndexOf(':') + 1));
      return { port, close: () => r.shutdown({ flushTimeout: 0 }) };
    },
    async connect(port, opts) {
      const r = getReactor(/** @type {{ size: number }} */ (opts));
      const peer = await r.connect(`${host}:${port}`);
      let c = conns.get(peer);
      if (c === undefined) {
        c = new PeerConn(r, peer, row);
        conns.set(peer, c);
      }
      return c;
    },
  };
}

/** @template M */
export class PeerConn {
  /**
   * @param {Reactor<M>} r
   * @param {number} peer
   * @param {PeerlinkRow<M>} row
   */
  constructor(r, peer, row) {
    this.reactor = r;
    this.peer = peer;
    this.row = row;
    this.payloads = new PayloadSource();
    /** @type {(len: number, seq: number, tail: number) => void} */
    this.onMessage = () => {};
    /** @type {(bytes: Uint8Array) => void} */
    this.onPayload = () => {};
    /** @type {{ message: M } | undefined} a message refused with 'full', sent again at the drain */
    this.pending = undefined;
  }

  /**
   * @param {number} seq
   * @param {number} len
   */
  send(seq, len) {
    return this.sendMessage(this.row.message(this, seq, len));
  }

  /** @param {M} message */
  sendMessage(message) {
    const result = this.reactor.send(this.peer, message);
    if (result === 'queued') return true;
    if (result === 'full') {
      this.pending = { message };
      return false;
    }
    throw new Error(`send: ${result}`);
  }

  /** @param {() => void} cb */
  onDrain(cb) {
    this.reactor.drained(this.peer).then(() => {
      const pending = this.pending;
      if (pending !== undefined) {
        this.pending = undefined;
        if (!this.sendMessage(pending.message)) {
          this.onDrain(cb);
          return;
        }
      }
      cb();
    });
  }

  close() {
    this.reactor.disconnect(this.peer);
  }
}
