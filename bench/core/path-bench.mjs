// The per-message cost of each layer of the send and receive paths, in one process, with no
// socket: where W2's CPU per message goes. Run after `pnpm build`:
//
//   node bench/core/path-bench.mjs [--count 20000000]
//
// - slab: 16-byte frames written straight into 64 KiB Uint8Array slabs (the floor of any framer);
// - ByteSink: the same frames through a plain `ByteSink`'s `reserve` (the writer codecs get);
// - MessageStream.queue: with a hand-written codec (prefix included), then with `lengthPrefixed`
//   and a body codec (the W2 bench's codec);
// - Reactor.send: the whole send path over a connection whose `write` takes everything at once;
//   then on the user's path (the raw codec, a 12-byte `Uint8Array` rewritten per message), over a
//   connection that releases each write at once (`releasesWrites`, as TCP) and one that does not;
// - Reactor receive: 64 KiB chunks of 16-byte frames handed to the connection's `onData`, each
//   message delivered to an `onEvent` message handler.
// - Reactor receive on the user's path: the raw codec, 12-byte and 1 KiB bodies in 64 KiB chunks
//   the transport never reuses (TCP `'data'` chunks: the bodies are views of them), and 1 KiB
//   bodies through one reused read buffer (a chunk's whole frames copied once); no read budget.
//
// Each figure is the best of 5 rounds, in ns per message.

import { parseArgs } from 'node:util';
import { ByteSink, lengthPrefixed } from '@peerlink/codec';
import { Reactor } from '@peerlink/reactor';
import { MessageStream } from '@peerlink/stream';

const { values } = parseArgs({ options: { count: { type: 'string', default: '20000000' } } });
const N = Number(values.count);
const ROUNDS = 5;
const BODY = 12;

/** Writes message `seq` (12 bytes: seq, filler, tail) at `o`. */
function writeBody(b, o, seq) {
  b[o] = seq;
  b[o + 1] = seq >>> 8;
  b[o + 2] = seq >>> 16;
  b[o + 3] = seq >>> 24;
  b[o + 4] = 0x5a;
  b[o + 5] = 0x5a;
  b[o + 6] = 0x5a;
  b[o + 7] = 0x5a;
  b[o + 8] = 1;
  b[o + 9] = 2;
  b[o + 10] = 3;
  b[o + 11] = 4;
}

const bodyCodec = lengthPrefixed(
  { maxSize: BODY + 4, prefix: 'u32le' },
  {
    encode(seq, sink) {
      writeBody(sink.buffer, sink.reserve(BODY), seq);
    },
    decode: (body) => body[0],
    decodeAt: (bytes, start) => bytes[start],
    size: () => BODY,
  },
);

/** The same frames from a hand-written codec (no `lengthPrefixed` layer). */
const handCodec = {
  maxSize: BODY + 4,
  encode(seq, sink) {
    const o = sink.reserve(BODY + 4);
    const b = sink.buffer;
    b[o] = BODY;
    b[o + 1] = 0;
    b[o + 2] = 0;
    b[o + 3] = 0;
    writeBody(b, o + 4, seq);
    return BODY + 4;
  },
  decode: () => ({ kind: 'incomplete' }),
  sizeHint: () => BODY + 4,
};

/** Runs `fn(n)` ROUNDS times; returns the best time in ns per message. */
async function best(fn) {
  let min = Number.POSITIVE_INFINITY;
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    await fn(N);
    min = Math.min(min, Number(process.hrtime.bigint() - t0) / N);
  }
  return min;
}

function slab(n) {
  let b = new Uint8Array(65536);
  let pos = 0;
  for (let i = 0; i < n; i++) {
    if (pos + 16 > b.length) {
      b = new Uint8Array(65536);
      pos = 0;
    }
    b[pos] = BODY;
    b[pos + 1] = 0;
    b[pos + 2] = 0;
    b[pos + 3] = 0;
    writeBody(b, pos + 4, i);
    pos += 16;
  }
}

function sink(n) {
  const s = new ByteSink({ initialCapacity: 65536 });
  for (let i = 0; i < n; i++) {
    if (s.size >= 65536) s.clear();
    handCodec.encode(i, s);
  }
}

function streamQueue(codec) {
  return (n) => {
    const s = new MessageStream(codec);
    for (let i = 0; i < n; i++) {
      if (!s.queue(i, 0)) {
        while (s.pollTransmit(0) !== undefined);
        s.queue(i, 0);
      }
    }
  };
}

/** The raw codec of the user's path: messages are `Uint8Array` bodies. */
const rawCodec = lengthPrefixed({ maxSize: BODY + 4, prefix: 'u32le' });
/** The user's 12-byte payload, rewritten for each message (as the bench's `PayloadSource`). */
const payload = new Uint8Array(BODY).fill(0x5a);
function nextPayload(seq) {
  payload[0] = seq;
  payload[1] = seq >>> 8;
  payload[2] = seq >>> 16;
  payload[3] = seq >>> 24;
  return payload;
}

function streamQueueRaw(n) {
  const s = new MessageStream(rawCodec);
  for (let i = 0; i < n; i++) {
    if (!s.queue(nextPayload(i), 0)) {
      while (s.pollTransmit(0) !== undefined);
      s.queue(payload, 0);
    }
  }
}

/**
 * A connection that takes every write at once and lets the test deliver chunks; with `releases`,
 * it declares `releasesWrites` and releases each write at once (as TCP does when the kernel takes
 * a write whole).
 */
function scriptedTransport(releases = false) {
  const state = { handler: undefined, written: 0 };
  const conn = {
    remoteAddress: 'remote:1',
    localAddress: 'local:1',
    releasesWrites: releases,
    start(h) {
      state.handler = h;
    },
    write(bytes, release) {
      state.written += bytes.length;
      if (releases) release?.(bytes);
      return true;
    },
    pause() {},
    resume() {},
    end() {},
    reset() {},
    close() {},
  };
  return {
    state,
    transport: { listen: () => Promise.reject(new Error('unused')), connect: async () => conn },
  };
}

const { state, transport } = scriptedTransport();
const reactor = new Reactor({ codec: bodyCodec, transport });
let received = 0;
reactor.onEvent(
  () => {},
  () => {
    received++;
  },
);
const peer = await reactor.connect('remote:1');

async function reactorSend(n) {
  for (let i = 0; i < n; ) {
    if (reactor.send(peer, i) === 'queued') i++;
    else await reactor.drained(peer);
    if ((i & 0xffff) === 0) await null; // let the turn's flush run now and then
  }
  await new Promise((resolve) => setImmediate(resolve));
}

/** `Reactor.send` on the user's path: the raw codec, a rewritten `Uint8Array` payload. */
async function rawSender(releases) {
  const { state: st, transport: t } = scriptedTransport(releases);
  const r = new Reactor({ codec: rawCodec, transport: t });
  r.onEvent(() => {});
  const p = await r.connect('remote:1');
  const run = async (n) => {
    for (let i = 0; i < n; ) {
      if (r.send(p, nextPayload(i)) === 'queued') i++;
      else await r.drained(p);
      if ((i & 0xffff) === 0) await null;
    }
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { run, state: st, reactor: r };
}
const rawReleasing = await rawSender(true);
const rawKeeping = await rawSender(false);

// 64 KiB chunks of whole 16-byte frames, as Node Buffers (what TCP hands over).
const frames = new MessageStream(bodyCodec);
for (let i = 0; i < 4096; i++) frames.queue(i, 0);
const chunk = Buffer.alloc(65536);
for (let o = 0, b = frames.pollTransmit(0); b !== undefined; b = frames.pollTransmit(0)) {
  chunk.set(b, o);
  o += b.length;
}
function reactorReceive(n) {
  for (let i = 0; i < n; i += 4096) state.handler.onData(chunk);
}

/**
 * The receive path on the user's path: the raw codec, `bodySize`-byte bodies, over a connection
 * whose 64 KiB chunks are never reused (`stableChunks`, as TCP's `'data'` chunks), or over one
 * read buffer reused for every chunk (the `onread` mode). Returns a runner for `best`.
 */
async function rawReceiver(bodySize, stable) {
  const { state: st, transport: t } = scriptedTransport();
  const codec = lengthPrefixed({ maxSize: bodySize + 4, prefix: 'u32le' });
  const r = new Reactor({ codec, transport: t, readBudget: Number.POSITIVE_INFINITY });
  let got = 0;
  r.onEvent(
    () => {},
    (_peer, message) => {
      got += message.length === bodySize ? 1 : 0;
    },
  );
  await r.connect('remote:1');
  const conn = await t.connect();
  conn.stableChunks = stable;
  // 1,024 frames, cut into 64 KiB chunks as a socket would (the last one shorter).
  const frames = 1024;
  const wire = Buffer.alloc(frames * (bodySize + 4));
  for (let i = 0; i < frames; i++) wire.writeUInt32LE(bodySize, i * (bodySize + 4));
  const chunks = [];
  for (let o = 0; o < wire.length; o += 65536) chunks.push(wire.subarray(o, o + 65536));
  const shared = Buffer.alloc(65536);
  const run = (n) => {
    for (let i = 0; i < n; i += frames) {
      for (const c of chunks) {
        if (stable) {
          st.handler.onData(c);
        } else {
          c.copy(shared);
          st.handler.onData(shared.subarray(0, c.length));
        }
      }
    }
  };
  return { run, reactor: r, got: () => got };
}
const rawSmall = await rawReceiver(BODY, true);
const rawKiB = await rawReceiver(1020, true);
const rawKiBShared = await rawReceiver(1020, false);

const rows = [
  ['slab writes (the floor)', await best(slab)],
  ['ByteSink.reserve (a plain writer)', await best(sink)],
  ['MessageStream.queue, hand-written codec', await best(streamQueue(handCodec))],
  ['MessageStream.queue, lengthPrefixed + body codec', await best(streamQueue(bodyCodec))],
  ['Reactor.send (whole send path, no socket)', await best(reactorSend)],
  ['MessageStream.queue, raw lengthPrefixed (Uint8Array)', await best(streamQueueRaw)],
  ['Reactor.send, raw codec, writes released', await best(rawReleasing.run)],
  ['Reactor.send, raw codec, writes kept', await best(rawKeeping.run)],
  ['Reactor receive: onData → onEvent message handler', await best(reactorReceive)],
  ['Reactor receive, raw codec, 12-byte bodies', await best(rawSmall.run)],
  ['Reactor receive, raw codec, 1 KiB bodies (W3)', await best(rawKiB.run)],
  ['  the same, one reused read buffer', await best(rawKiBShared.run)],
];
for (const r of [rawSmall, rawKiB, rawKiBShared]) {
  if (r.got() === 0) throw new Error('nothing received');
  await r.reactor.shutdown({ flushTimeout: 0 });
}
if (received === 0 || state.written === 0 || rawReleasing.state.written === 0) {
  throw new Error('nothing went through');
}
await reactor.shutdown({ flushTimeout: 0 });
await rawReleasing.reactor.shutdown({ flushTimeout: 0 });
await rawKeeping.reactor.shutdown({ flushTimeout: 0 });
console.log(
  `per message, best of ${ROUNDS} × ${N.toLocaleString('en')} messages (${process.version})`,
);
for (const [name, ns] of rows) console.log(`${name.padEnd(52)} ${ns.toFixed(1).padStart(6)} ns`);
