// The copy audit of the receive path for the raw codec (issue 15): how many bytes the core copies
// per delivered message when a stream of raw `lengthPrefixed({ prefix: 'u32le' })` messages is
// handed over in 64 KiB chunks. Counted by wrapping `Uint8Array.prototype.set` and `slice` (every
// copy the stream and the codec make goes through one of them) while `handleData` runs: a count,
// not a time, so a test asserts it (bench/test/copy-audit.test.ts).

import { lengthPrefixed } from '@peerlink/codec';
import { MessageStream } from '@peerlink/stream';

const CHUNK = 64 * 1024;

/**
 * @param {object} options
 * @param {number} options.bodySize bytes of each message body
 * @param {number} options.messages how many messages to send
 * @param {'fresh' | 'shared' | 'owned'} options.chunks how the transport hands chunks over:
 *   `fresh` (a new chunk each, valid only during the call), `shared` (one read buffer reused for
 *   every chunk, as Node's `onread` option does), `owned` (the caller owns each chunk and never
 *   reuses it, as Node's `'data'` chunks are)
 */
export function rawCopyAudit({ bodySize, messages, chunks = 'fresh' }) {
  const codec = lengthPrefixed({ maxSize: bodySize + 4, prefix: 'u32le' });
  const frame = 4 + bodySize;
  const wire = new Uint8Array(frame * messages);
  const view = new DataView(wire.buffer);
  for (let i = 0; i < messages; i++) {
    view.setUint32(i * frame, bodySize, true);
    if (bodySize >= 4) view.setUint32(i * frame + 4, i, true);
  }
  const stream = new MessageStream(codec);
  const shared = new Uint8Array(CHUNK);
  /** @type {Uint8Array[]} */
  const kept = [];
  const realSet = Uint8Array.prototype.set;
  const realSlice = Uint8Array.prototype.slice;
  let copies = 0;
  let copiedBytes = 0;
  let largestCopy = 0;
  const count = (n) => {
    copies++;
    copiedBytes += n;
    if (n > largestCopy) largestCopy = n;
  };
  const chunkList = [];
  for (let at = 0; at < wire.length; at += CHUNK) chunkList.push(wire.slice(at, at + CHUNK));
  Uint8Array.prototype.set = function (source, offset) {
    count(source.length ?? 0);
    return realSet.call(this, source, offset);
  };
  Uint8Array.prototype.slice = function (start, end) {
    const out = realSlice.call(this, start, end);
    count(out.length);
    return out;
  };
  let delivered = 0;
  try {
    for (const c of chunkList) {
      let input = c;
      if (chunks === 'shared') {
        realSet.call(shared, c, 0);
        input = shared.subarray(0, c.length);
      }
      const copiesBefore = copies;
      const err = stream.handleData(
        input,
        (m) => {
          delivered++;
          kept.push(m);
        },
        0,
        chunks === 'owned',
      );
      if (err !== undefined) throw err;
      // The staging copy into the shared buffer above is the transport's, not the core's.
      void copiesBefore;
      if (chunks === 'shared') shared.fill(0xee);
    }
  } finally {
    Uint8Array.prototype.set = realSet;
    Uint8Array.prototype.slice = realSlice;
  }
  // Every kept body must still hold its message (its sequence number), the transport's buffer
  // having been overwritten since.
  let intact = 0;
  for (let i = 0; i < kept.length; i++) {
    const b = kept[i];
    const seq = bodySize >= 4 ? b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24) : i;
    if (b.length === bodySize && seq === i) intact++;
  }
  return {
    bodySize,
    chunks,
    chunksFed: chunkList.length,
    bytesFed: wire.length,
    delivered,
    intact,
    copies,
    copiedBytes,
    largestCopy,
    copiesPerMessage: copies / delivered,
    bytesCopiedPerMessage: copiedBytes / delivered,
  };
}
