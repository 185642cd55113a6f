// peerlink: this project, through its public API only — a Reactor over the TCP transport, with
// a codec built by `lengthPrefixed` (u32 little-endian prefix) whose message type is the
// sequence number: the body codec writes a message straight into the send buffer (a large body's
// constant filler by reference, with `ByteSink.writeShared`, as net-raw writes it) and checks the
// received body's length and tail word while parsing (it returns the sequence number; a bad body
// is a codec violation, which fails the run). Events are taken with the synchronous `onEvent`
// handler (the fast path), messages with its message handler (no event object per message). A
// send refused with 'full' is retried after `drained(peer)`.
//
// One reactor per process serves every connection of that process (listen or connect).

import { lengthPrefixed } from '@peerlink/codec';

/** The send queue keeps `writeShared` bytes by reference from this size on (16 KiB). */
const SHARE_MIN = 16384;

import { Reactor } from '@peerlink/reactor';
import { tcpTransport } from '@peerlink/transport-tcp';
import { FILLER, tailOf, u32, writeMessage } from '../common.mjs';

export const name = 'peerlink';

/** @type {Reactor<number> | undefined} */
let reactor;
/** @type {Map<number, PeerConn>} */
const conns = new Map();
/** @type {((conn: PeerConn) => void) | undefined} */
let onAccepted;
/** @type {PeerConn | undefined} the connection the last message came from */
let lastConn;

/**
 * Messages are numbers (the sequence number); every message of a workload has `size` bytes.
 * @param {number} size
 */
function codec(size) {
  return lengthPrefixed(
    { maxSize: size + 4, prefix: 'u32le' },
    {
      encode(seq, sink) {
        if (size - 8 < SHARE_MIN) {
          const o = sink.reserve(size);
          writeMessage(sink.buffer, o, seq, size);
          return;
        }
        // A large body goes by reference, as net-raw writes it: the constant filler is shared
        // (never copied into the send buffer), the sequence number and tail word are written.
        sink.writeU32LE(seq);
        sink.writeShared(FILLER.subarray(0, size - 8));
        sink.writeU32LE(tailOf(seq, size));
      },
      decode(body) {
        if (body.length !== size) return undefined;
        const seq = u32(body, 0);
        if (u32(body, size - 4) !== tailOf(seq, size)) return undefined;
        return seq;
      },
      // The offset-taking fast path: the same checks on bytes[start, end), no view per message.
      decodeAt(bytes, start, end) {
        if (end - start !== size) return undefined;
        const seq = u32(bytes, start);
        if (u32(bytes, end - 4) !== tailOf(seq, size)) return undefined;
        return seq;
      },
      size() {
        return size;
      },
    },
  );
}

/** @param {{ size: number }} opts */
function getReactor(opts) {
  if (reactor !== undefined) return reactor;
  const r = new Reactor({
    codec: codec(opts.size),
    transport: tcpTransport(),
    maxInbound: 1 << 20,
    eventCapacity: 1024,
  });
  r.onEvent(
    (event) => {
      switch (event.type) {
        case 'accepted': {
          const c = new PeerConn(r, event.peer);
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
    // The message fast path: no event object per message. A run of messages from one peer
    // skips the map lookup (net-raw's handler has its connection at hand too).
    (peer, seq, size) => {
      let c = lastConn;
      if (c === undefined || c.peer !== peer) {
        c = conns.get(peer);
        lastConn = c;
        if (c === undefined) return;
      }
      c.onMessage(size - 4, seq, tailOf(seq, size - 4));
    },
  );
  reactor = r;
  return r;
}

class PeerConn {
  /**
   * @param {Reactor<number>} r
   * @param {number} peer
   */
  constructor(r, peer) {
    this.reactor = r;
    this.peer = peer;
    /** @type {(len: number, seq: number, tail: number) => void} */
    this.onMessage = () => {};
    /** A message refused with 'full', sent again once the peer drains. */
    this.pending = -1;
  }

  /**
   * @param {number} seq
   * @param {number} _len every message of the workload has the codec's size
   */
  send(seq, _len) {
    const result = this.reactor.send(this.peer, seq);
    if (result === 'queued') return true;
    if (result === 'full') {
      this.pending = seq;
      return false;
    }
    throw new Error(`send: ${result}`);
  }

  /** @param {() => void} cb */
  onDrain(cb) {
    this.reactor.drained(this.peer).then(() => {
      if (this.pending >= 0) {
        const seq = this.pending;
        this.pending = -1;
        if (!this.send(seq, 0)) {
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

/** @type {import('../common.mjs').Impl['listen']} */
export async function listen(onConnection, opts) {
  const r = getReactor(opts);
  onAccepted = onConnection;
  const [bound] = await r.listen('127.0.0.1:0');
  const port = Number(bound.slice(bound.lastIndexOf(':') + 1));
  return { port, close: () => r.shutdown({ flushTimeout: 0 }) };
}

/** @type {import('../common.mjs').Impl['connect']} */
export async function connect(port, opts) {
  const r = getReactor(opts);
  const peer = await r.connect(`127.0.0.1:${port}`);
  let c = conns.get(peer);
  if (c === undefined) {
    c = new PeerConn(r, peer);
    conns.set(peer, c);
  }
  return c;
}
