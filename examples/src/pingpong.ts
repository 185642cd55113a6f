/**
 * The pingpong protocol of the Rust crate's example, as a peerlink codec, plus a server and a
 * client built on `run()`. The wire format is the Rust one, so either side can talk to a peer
 * written with the Rust crate: the four ASCII bytes `ping` or `pong`, then a u64 little-endian
 * nonce. Every message is exactly 12 bytes.
 */
import {
  type Codec,
  decoded,
  incomplete,
  malformed,
  type PeerId,
  type Reactor,
  readU64LE,
  run,
} from 'peerlink';

/** One pingpong message: `ping n` asks the peer to answer `pong n`. */
export interface PingPong {
  readonly kind: 'ping' | 'pong';
  /** The nonce, an unsigned 64-bit integer. */
  readonly n: bigint;
}

const PING = new TextEncoder().encode('ping');
const PONG = new TextEncoder().encode('pong');

/** The 12-byte pingpong codec: `ping`/`pong` in ASCII, then the nonce as a u64 little-endian. */
export const pingPongCodec: Codec<PingPong> = {
  maxSize: 12,
  encode(message, sink) {
    const offset = sink.reserve(4);
    sink.buffer.set(message.kind === 'ping' ? PING : PONG, offset);
    sink.writeU64LE(message.n);
    return 12;
  },
  decode(bytes) {
    if (bytes.length < 12) return incomplete();
    // 'p' ('i' | 'o') 'n' 'g'
    const second = bytes[1];
    if (bytes[0] !== 0x70 || bytes[2] !== 0x6e || bytes[3] !== 0x67) return malformed('bad tag');
    if (second !== 0x69 && second !== 0x6f) return malformed('neither ping nor pong');
    return decoded({ kind: second === 0x69 ? 'ping' : 'pong', n: readU64LE(bytes, 4) }, 12);
  },
  sizeHint: () => 12,
};

/**
 * Sends `message` to `peer`, keeping order under backpressure: when the peer's send buffer is
 * full, the message waits in `backlog` until the reactor reports the peer `drained`.
 */
function sendInOrder(
  reactor: Reactor<PingPong>,
  backlogs: Map<PeerId, PingPong[]>,
  peer: PeerId,
  message: PingPong,
): void {
  const backlog = backlogs.get(peer);
  if (backlog !== undefined) backlog.push(message);
  else if (reactor.send(peer, message) === 'full') backlogs.set(peer, [message]);
}

/** Sends what waited for `peer`, in order, until the buffer is full again. */
function flushBacklog(
  reactor: Reactor<PingPong>,
  backlogs: Map<PeerId, PingPong[]>,
  peer: PeerId,
): void {
  const backlog = backlogs.get(peer);
  if (backlog === undefined) return;
  let sent = 0;
  while (sent < backlog.length && reactor.send(peer, backlog[sent]!) === 'queued') sent++;
  backlog.splice(0, sent);
  if (backlog.length === 0) backlogs.delete(peer);
}

/** What a running pingpong server reports. */
export interface PingPongServer {
  /** The reactor behind the server. */
  readonly reactor: Reactor<PingPong>;
  /** The bound address, `host:port`. */
  readonly address: string;
  /** Pings answered so far. */
  readonly answered: number;
  /** Stops the server: flushes pending pongs for up to 1 s, then closes every connection. */
  close(): Promise<void>;
}

/** Options of {@link startPingPongServer}. */
export interface PingPongServerOptions {
  /** Where to listen, `host:port` (port 0: any free port). */
  listen: string;
  /** Called for every connect and disconnect, for logs. */
  onPeer?: (peer: PeerId, change: 'accepted' | 'disconnected', detail: string) => void;
}

/** Starts a server that answers every `ping n` with `pong n`. */
export async function startPingPongServer(options: PingPongServerOptions): Promise<PingPongServer> {
  const reactor = await run({ codec: pingPongCodec, listen: options.listen, name: 'server' });
  const backlogs = new Map<PeerId, PingPong[]>();
  let answered = 0;
  reactor.onEvent((event) => {
    switch (event.type) {
      case 'message':
        if (event.message.kind === 'ping') {
          answered++;
          sendInOrder(reactor, backlogs, event.peer, { kind: 'pong', n: event.message.n });
        }
        break;
      case 'send-buffer-full':
        break; // already kept in the backlog by sendInOrder
      case 'drained':
        flushBacklog(reactor, backlogs, event.peer);
        break;
      case 'accepted':
        options.onPeer?.(event.peer, 'accepted', event.remoteAddress);
        break;
      case 'disconnected':
        backlogs.delete(event.peer);
        options.onPeer?.(event.peer, 'disconnected', event.reason.kind);
        break;
    }
  });
  return {
    reactor,
    address: reactor.listenAddresses[0]!,
    get answered() {
      return answered;
    },
    close: () => reactor.shutdown({ flushTimeout: 1000 }),
  };
}

/** Options of {@link runPingPongClient}. */
export interface PingPongClientOptions {
  /** The server, `host:port`. */
  target: string;
  /** How many sequential round trips to make. */
  count: number;
  /** Called after each round trip with the number done so far and its time in microseconds. */
  onRoundTrip?: (done: number, micros: number) => void;
  /** Stops the run early; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** What {@link runPingPongClient} measured. */
export interface PingPongClientResult {
  /** Every round trip's time, in microseconds, in order. */
  readonly rtts: Float64Array;
  /** Wall time from the first ping to the last pong, in milliseconds. */
  readonly elapsedMs: number;
}

/**
 * Connects to a pingpong server and makes `count` sequential round trips: sends `ping n`, waits
 * for `pong n`, then sends the next. Like the Rust example, it answers a `ping` from the server
 * with a `pong`. Resolves once every pong came back and the reactor is shut down.
 */
export async function runPingPongClient(
  options: PingPongClientOptions,
): Promise<PingPongClientResult> {
  const { count, target } = options;
  const reactor = await run({ codec: pingPongCodec, name: 'client' });
  const rtts = new Float64Array(count);
  const backlogs = new Map<PeerId, PingPong[]>();
  try {
    return await new Promise<PingPongClientResult>((resolve, reject) => {
      let server: PeerId | undefined;
      let done = 0;
      let sentAt = 0;
      let startedAt = 0;
      const fail = (error: Error) => reject(error);
      const onAbort = () => fail(options.signal?.reason as Error);
      options.signal?.addEventListener('abort', onAbort, { once: true });
      const ping = () => {
        sentAt = performance.now();
        sendInOrder(reactor, backlogs, server!, { kind: 'ping', n: BigInt(done) });
      };
      reactor.onEvent((event) => {
        switch (event.type) {
          case 'connected':
            server = event.peer;
            startedAt = performance.now();
            if (count === 0) resolve({ rtts, elapsedMs: 0 });
            else ping();
            break;
          case 'connect-failed':
            fail(event.error);
            break;
          case 'message': {
            const { kind, n } = event.message;
            if (kind === 'ping') {
              sendInOrder(reactor, backlogs, event.peer, { kind: 'pong', n });
              break;
            }
            if (n !== BigInt(done)) {
              fail(new Error(`expected pong ${done}, got pong ${n}`));
              break;
            }
            const now = performance.now();
            const micros = (now - sentAt) * 1000;
            rtts[done++] = micros;
            options.onRoundTrip?.(done, micros);
            if (done === count) {
              options.signal?.removeEventListener('abort', onAbort);
              resolve({ rtts, elapsedMs: now - startedAt });
            } else ping();
            break;
          }
          case 'drained':
            flushBacklog(reactor, backlogs, event.peer);
            break;
          case 'disconnected':
            if (done < count) {
              fail(new Error(`the server went away (${event.reason.kind}) after ${done} pongs`));
            }
            break;
        }
      });
      if (options.signal?.aborted) return onAbort();
      reactor.connect(target);
    });
  } finally {
    await reactor.shutdown({ flushTimeout: 1000 });
  }
}
