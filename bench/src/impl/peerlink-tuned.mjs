// peerlink-tuned: this project through its public API, tuned the way the bench can afford and a
// README reader would not write: a codec from `lengthPrefixed({ prefix: 'u32le' })` whose message
// type is the sequence number. Its body codec writes a message straight into the send buffer (a
// large body's constant filler by reference, with `ByteSink.writeShared`) and checks the received
// body's length and tail word while parsing, in place (it returns the sequence number; a bad body
// is a codec violation, which fails the run): no payload object on either side. The glue (events,
// 'full' answered by `drained(peer)`) is the user-path row's, in peerlink-glue.mjs.

import { lengthPrefixed } from '@peerlink/codec';
import { tcpTransport } from '@peerlink/transport-tcp';
import { FILLER, tailOf, u32, writeMessage } from '../common.mjs';
import { peerlinkImpl } from './peerlink-glue.mjs';

/** The send queue keeps `writeShared` bytes by reference from this size on (16 KiB). */
const SHARE_MIN = 16384;

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

export const { name, listen, connect } = peerlinkImpl({
  name: 'peerlink-tuned',
  codec,
  transport: () => tcpTransport(),
  message: (_conn, seq) => seq,
  deliver: (conn, seq, size) => conn.onMessage(size - 4, seq, tailOf(seq, size - 4)),
});
