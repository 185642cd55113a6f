// Core micro-benchmark (issue 2): decoding 12-byte messages from 64 KiB chunks through
// MessageStream.handleData, and queueing 12-byte messages (queue + pollTransmit, with the codec's
// `encodeAt` fast path and each taken run of bytes handed back, as over TCP).
//
// The codec is the fixed-size one of the Rust crate's pingpong example: a 4-byte tag ('ping' or
// 'pong') followed by a u64 little-endian counter, 12 bytes, no length prefix.
//
// Usage: node core/core-bench.mjs [--quick] [--json]   (needs `tsc -b` at the root first)

import { decoded, incomplete, lengthPrefixed, malformed, readU32LE } from '@peerlink/codec';
import { MessageStream } from '@peerlink/stream';
import { rawCopyAudit } from './copy-audit.mjs';

const quick = process.argv.includes('--quick');
const asJson = process.argv.includes('--json');
const CHUNK = 64 * 1024;
const SIZE = 12;
const PING = 0x676e6970; // 'ping' read as u32 LE
const PONG = 0x676e6f70; // 'pong' read as u32 LE

/** @typedef {{ kind: 'ping' | 'pong', n: number }} PingPong */

/** @type {import('@peerlink/codec').Codec<PingPong>} */
export const pingPongCodec = {
  maxSize: SIZE,
  encode(message, sink) {
    const o = sink.reserve(SIZE);
    const b = sink.buffer;
    const tag = message.kind === 'ping' ? PING : PONG;
    b[o] = tag & 0xff;
    b[o + 1] = (tag >>> 8) & 0xff;
    b[o + 2] = (tag >>> 16) & 0xff;
    b[o + 3] = tag >>> 24;
    const lo = message.n >>> 0;
    const hi = Math.floor(message.n / 4294967296) >>> 0;
    sink.view.setUint32(o + 4, lo, true);
    sink.view.setUint32(o + 8, hi, true);
    return SIZE;
  },
  decode(bytes) {
    if (bytes.length < SIZE) return incomplete();
    const tag = readU32LE(bytes, 0);
    const n = readU32LE(bytes, 4) + readU32LE(bytes, 8) * 4294967296;
    if (tag === PING) return decoded({ kind: 'ping', n }, SIZE);
    if (tag === PONG) return decoded({ kind: 'pong', n }, SIZE);
    return malformed('unknown tag');
  },
  sizeHint() {
    return SIZE;
  },
  // The fused send path (`Codec.encodeAt`): the stream reserves the 12 bytes `sizeHint` gave and
  // the codec writes them in place.
  encodeAt(message, b, o) {
    const tag = message.kind === 'ping' ? PING : PONG;
    b[o] = tag;
    b[o + 1] = tag >>> 8;
    b[o + 2] = tag >>> 16;
    b[o + 3] = tag >>> 24;
    const lo = message.n >>> 0;
    const hi = Math.floor(message.n / 4294967296) >>> 0;
    b[o + 4] = lo;
    b[o + 5] = lo >>> 8;
    b[o + 6] = lo >>> 16;
    b[o + 7] = lo >>> 24;
    b[o + 8] = hi;
    b[o + 9] = hi >>> 8;
    b[o + 10] = hi >>> 16;
    b[o + 11] = hi >>> 24;
  },
};

/**
 * The same 12-byte frames through the ready-made builder: a u32 LE length prefix (8) and an
 * 8-byte body holding the counter.
 * @type {import('@peerlink/codec').Codec<{ n: number }>}
 */
export const lengthPrefixedCodec = lengthPrefixed(
  { maxSize: SIZE, prefix: 'u32le' },
  {
    encode(message, sink) {
      sink.writeU32LE(message.n >>> 0);
      sink.writeU32LE(Math.floor(message.n / 4294967296) >>> 0);
    },
    decode(body) {
      return { n: readU32LE(body, 0) + readU32LE(body, 4) * 4294967296 };
    },
    size() {
      return 8;
    },
  },
);

/**
 * A continuous stream of messages, cut into 64 KiB chunks (3 chunks hold exactly 16,384).
 * @param {'pingpong' | 'prefixed'} [layout]
 */
function makeChunks(layout = 'pingpong') {
  const period = 3; // 3 × 65,536 = 16,384 × 12
  const all = new Uint8Array(CHUNK * period);
  const view = new DataView(all.buffer);
  for (let i = 0; i < all.length / SIZE; i++) {
    if (layout === 'prefixed') view.setUint32(i * SIZE, 8, true);
    else view.setUint32(i * SIZE, i % 2 === 0 ? PING : PONG, true);
    view.setUint32(i * SIZE + 4, i, true);
    view.setUint32(i * SIZE + 8, 0, true);
  }
  const chunks = [];
  for (let c = 0; c < period; c++) chunks.push(all.slice(c * CHUNK, (c + 1) * CHUNK));
  return chunks;
}

/**
 * @param {number} totalMessages
 * @param {{ buffers?: boolean, codec?: import('@peerlink/codec').Codec<any> }} [variant]
 *   `buffers`: hand the stream Node Buffers (as the TCP transport does) instead of Uint8Arrays
 */
function decodeBench(totalMessages, variant = {}) {
  const chunks = makeChunks(variant.codec === lengthPrefixedCodec ? 'prefixed' : 'pingpong').map(
    (c) => (variant.buffers ? Buffer.from(c.buffer, c.byteOffset, c.length) : c),
  );
  const perPeriod = (CHUNK * chunks.length) / SIZE;
  const stream = new MessageStream(variant.codec ?? pingPongCodec);
  let count = 0;
  let sum = 0;
  const sink = (m) => {
    count++;
    sum += m.n;
  };
  let maxBuffered = 0;
  let maxCapacity = 0;
  const periods = Math.ceil(totalMessages / perPeriod);
  const t0 = process.hrtime.bigint();
  for (let p = 0; p < periods; p++) {
    for (let c = 0; c < chunks.length; c++) {
      const err = stream.handleData(chunks[c], sink, 0);
      if (err !== undefined) throw err;
      if (stream.bufferedBytes > maxBuffered) maxBuffered = stream.bufferedBytes;
      if (stream.rxCapacity > maxCapacity) maxCapacity = stream.rxCapacity;
    }
  }
  const ns = Number(process.hrtime.bigint() - t0);
  const expected = periods * perPeriod;
  if (count !== expected) throw new Error(`decoded ${count} messages, expected ${expected}`);
  const expectedSum = periods * ((perPeriod * (perPeriod - 1)) / 2);
  if (sum !== expectedSum) throw new Error(`checksum ${sum}, expected ${expectedSum}`);
  return {
    messages: count,
    seconds: ns / 1e9,
    msgsPerSec: count / (ns / 1e9),
    maxBufferedBytes: maxBuffered,
    maxRxCapacity: maxCapacity,
  };
}

/**
 * Counts what the receive path copies: every `Uint8Array.prototype.set` call made inside
 * handleData over a few periods, and how many messages were decoded from memory other than the
 * incoming chunk (that is, from the reassembly buffer).
 */
function copyAudit() {
  const chunks = makeChunks();
  let fromChunk = 0;
  let fromBuffer = 0;
  let current = /** @type {Uint8Array | undefined} */ (undefined);
  const codec = {
    ...pingPongCodec,
    decode(bytes) {
      const r = pingPongCodec.decode(bytes);
      if (r.kind === 'message') {
        if (bytes.buffer === current?.buffer) fromChunk++;
        else fromBuffer++;
      }
      return r;
    },
  };
  const stream = new MessageStream(codec);
  const realSet = Uint8Array.prototype.set;
  let copiedBytes = 0;
  let copies = 0;
  let largestCopy = 0;
  Uint8Array.prototype.set = function (source, offset) {
    copies++;
    const n = source.length ?? 0;
    copiedBytes += n;
    if (n > largestCopy) largestCopy = n;
    return realSet.call(this, source, offset);
  };
  let chunksFed = 0;
  try {
    for (let p = 0; p < 10; p++) {
      for (const chunk of chunks) {
        current = chunk;
        const err = stream.handleData(chunk, () => {}, 0);
        if (err !== undefined) throw err;
        chunksFed++;
      }
    }
  } finally {
    Uint8Array.prototype.set = realSet;
  }
  return {
    chunksFed,
    bytesFed: chunksFed * CHUNK,
    copies,
    copiedBytes,
    largestCopy,
    decodedFromChunk: fromChunk,
    decodedFromReassemblyBuffer: fromBuffer,
  };
}

function queueBench(totalMessages) {
  const stream = new MessageStream(pingPongCodec);
  const msg = { kind: /** @type {'ping'} */ ('ping'), n: 0 };
  let bytesOut = 0;
  let polls = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < totalMessages; i++) {
    msg.n = i;
    if (!stream.queue(msg, 0)) {
      bytesOut += takeAll(stream);
      polls++;
      if (!stream.queue(msg, 0)) throw new Error('queue refused after pollTransmit');
    }
  }
  bytesOut += takeAll(stream);
  const ns = Number(process.hrtime.bigint() - t0);
  if (bytesOut !== totalMessages * SIZE) throw new Error(`sent ${bytesOut} bytes`);
  return {
    messages: totalMessages,
    seconds: ns / 1e9,
    msgsPerSec: totalMessages / (ns / 1e9),
    pollTransmitCalls: polls + 1,
    bytesPerPoll: Math.round(bytesOut / (polls + 1)),
  };
}

/**
 * Takes every queued run of bytes and hands it back at once, as a transport that releases writes
 * (TCP, when the kernel takes a write whole) lets the reactor do: the stream reuses its slab.
 * Returns how many bytes that was.
 */
function takeAll(stream) {
  let n = 0;
  for (let bytes = stream.pollTransmit(0, true); bytes !== undefined; ) {
    n += bytes.length;
    stream.releaseTransmitted?.(bytes);
    bytes = stream.pollTransmit(0, true);
  }
  return n;
}

/** A fresh object per message, as a user would send (`{ kind: 'ping', n }`). */
function queueFreshBench(totalMessages) {
  const stream = new MessageStream(pingPongCodec);
  const t0 = process.hrtime.bigint();
  let bytesOut = 0;
  for (let i = 0; i < totalMessages; i++) {
    const msg = { kind: /** @type {'ping'} */ ('ping'), n: i };
    if (!stream.queue(msg, 0)) {
      bytesOut += takeAll(stream);
      stream.queue(msg, 0);
    }
  }
  bytesOut += takeAll(stream);
  const ns = Number(process.hrtime.bigint() - t0);
  if (bytesOut !== totalMessages * SIZE) throw new Error(`sent ${bytesOut} bytes`);
  return { messages: totalMessages, seconds: ns / 1e9, msgsPerSec: totalMessages / (ns / 1e9) };
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function main() {
  const total = quick ? 5_000_000 : 30_000_000;
  const runs = quick ? 3 : 5;
  // Warm-up: let the JIT settle before timing.
  decodeBench(2_000_000);
  queueBench(2_000_000);
  const decodeRuns = [];
  const queueRuns = [];
  const queueFreshRuns = [];
  const bufferRuns = [];
  const prefixedRuns = [];
  const prefixedU8Runs = [];
  decodeBench(1_000_000, { buffers: true, codec: lengthPrefixedCodec });
  for (let r = 0; r < runs; r++) {
    decodeRuns.push(decodeBench(total));
    bufferRuns.push(decodeBench(total, { buffers: true }));
    prefixedRuns.push(decodeBench(total, { buffers: true, codec: lengthPrefixedCodec }));
    prefixedU8Runs.push(decodeBench(total, { codec: lengthPrefixedCodec }));
    queueRuns.push(queueBench(total));
    queueFreshRuns.push(queueFreshBench(total));
  }
  const audit = copyAudit();
  const rawAudit = [
    rawCopyAudit({ bodySize: 1020, messages: 2000, chunks: 'fresh' }),
    rawCopyAudit({ bodySize: 1020, messages: 2000, chunks: 'owned' }),
    rawCopyAudit({ bodySize: 1024 * 1024 - 4, messages: 4, chunks: 'shared' }),
  ];
  const result = {
    node: process.version,
    runs,
    messagesPerRun: total,
    decode: {
      medianMsgsPerSec: median(decodeRuns.map((r) => r.msgsPerSec)),
      minMsgsPerSec: Math.min(...decodeRuns.map((r) => r.msgsPerSec)),
      maxMsgsPerSec: Math.max(...decodeRuns.map((r) => r.msgsPerSec)),
      maxBufferedBytes: Math.max(...decodeRuns.map((r) => r.maxBufferedBytes)),
      maxRxCapacity: Math.max(...decodeRuns.map((r) => r.maxRxCapacity)),
    },
    decodeFromNodeBuffers: {
      medianMsgsPerSec: median(bufferRuns.map((r) => r.msgsPerSec)),
    },
    decodeLengthPrefixedFromNodeBuffers: {
      medianMsgsPerSec: median(prefixedRuns.map((r) => r.msgsPerSec)),
    },
    decodeLengthPrefixedFromUint8Arrays: {
      medianMsgsPerSec: median(prefixedU8Runs.map((r) => r.msgsPerSec)),
    },
    queue: {
      medianMsgsPerSec: median(queueRuns.map((r) => r.msgsPerSec)),
      minMsgsPerSec: Math.min(...queueRuns.map((r) => r.msgsPerSec)),
      maxMsgsPerSec: Math.max(...queueRuns.map((r) => r.msgsPerSec)),
      bytesPerPoll: queueRuns[0].bytesPerPoll,
    },
    queueFreshObjects: {
      medianMsgsPerSec: median(queueFreshRuns.map((r) => r.msgsPerSec)),
    },
    copyAudit: audit,
    rawCopyAudit: rawAudit,
  };
  if (asJson) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return;
  }
  const m = (v) => `${(v / 1e6).toFixed(2)} M msgs/s`;
  console.log(`core micro-benchmark, node ${process.version}, median of ${runs} × ${total} msgs`);
  console.log(
    `decode 12-byte msgs from 64 KiB chunks: ${m(result.decode.medianMsgsPerSec)} ` +
      `(min ${m(result.decode.minMsgsPerSec)}, max ${m(result.decode.maxMsgsPerSec)}; target ≥ 10 M)`,
  );
  console.log(
    `  the same chunks as Node Buffers (what the TCP transport hands over): ${m(result.decodeFromNodeBuffers.medianMsgsPerSec)}`,
  );
  console.log(
    `  lengthPrefixed({prefix: 'u32le'}) codec (4 + 8 bytes), Node Buffers: ${m(result.decodeLengthPrefixedFromNodeBuffers.medianMsgsPerSec)}`,
  );
  console.log(
    `  lengthPrefixed codec, chunks as plain Uint8Arrays: ${m(result.decodeLengthPrefixedFromUint8Arrays.medianMsgsPerSec)}`,
  );
  console.log(
    `  reassembly buffer: at most ${result.decode.maxBufferedBytes} bytes held, ` +
      `capacity at most ${result.decode.maxRxCapacity} bytes`,
  );
  console.log(
    `  copy audit over ${audit.chunksFed} chunks (${audit.bytesFed} bytes): ${audit.copies} copies, ` +
      `${audit.copiedBytes} bytes copied, largest ${audit.largestCopy} bytes; ` +
      `${audit.decodedFromChunk} msgs decoded in place, ${audit.decodedFromReassemblyBuffer} from the buffer`,
  );
  for (const r of rawAudit) {
    console.log(
      `  raw codec, ${r.bodySize}-byte bodies, ${r.chunks} chunks: ${r.bytesCopiedPerMessage.toFixed(0)} bytes ` +
        `copied per message in ${r.copies} copies over ${r.delivered} messages`,
    );
  }
  console.log(
    `queue + pollTransmit 12-byte msgs (one reused message object): ${m(result.queue.medianMsgsPerSec)} ` +
      `(min ${m(result.queue.minMsgsPerSec)}, max ${m(result.queue.maxMsgsPerSec)}; ` +
      `${result.queue.bytesPerPoll} bytes per pollTransmit)`,
  );
  console.log(
    `queue + pollTransmit, a fresh message object each: ${m(result.queueFreshObjects.medianMsgsPerSec)}`,
  );
}

main();
