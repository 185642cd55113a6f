import type { Codec } from '@peerlink/codec';
import { type Connection, MessageStream, type StreamConfigOptions } from '@peerlink/stream';

/** What {@link drive} reports to its owner. */
export interface PeerEvents<M> {
  /** A message arrived. Return `false` when you cannot take more; call `resume()` later. */
  message(message: M, size: number): boolean;
  /** The connection is gone: `error` is undefined for a clean close. */
  closed(error: Error | undefined): void;
}

/** Runs a MessageStream over a Connection, in the calling order the stream README describes. */
export function drive<M>(
  conn: Connection,
  codec: Codec<M>,
  events: PeerEvents<M>,
  config: StreamConfigOptions = {},
) {
  const stream = new MessageStream(codec, config);
  const now = () => performance.now();
  const sink = (message: M, size: number) => events.message(message, size);
  let blocked = false; // the last write returned false: wait for onDrain
  let flushQueued = false;
  let ending = false; // end our side once everything queued is written

  const flush = () => {
    flushQueued = false;
    if (blocked) return;
    // Usually one view holds everything queued; take them all, in order, until one blocks.
    for (let bytes = stream.pollTransmit(now()); bytes !== undefined; ) {
      if (!conn.write(bytes)) {
        blocked = true;
        stream.handleBlocked(now());
        return;
      }
      bytes = stream.pollTransmit(now());
    }
    if (ending) conn.end();
  };
  const violation = (error: Error) => {
    conn.reset(); // `onClose` follows
    console.warn('peer violated the protocol:', error);
  };

  const timer = setInterval(() => {
    const t = now();
    if (stream.isWriteStale(t)) conn.reset();
  }, 1000);
  const shrink = setInterval(() => stream.shrinkBuffers(), 30_000);
  timer.unref?.();
  shrink.unref?.();

  conn.start({
    onData(chunk) {
      const error = stream.handleData(chunk, sink, now());
      if (error !== undefined) violation(error);
      else if (stream.hasBufferedInput) conn.pause(); // the consumer is full
    },
    onDrain() {
      blocked = false;
      stream.handleDrain(now());
      flush();
    },
    onEnd() {
      // The peer finished sending: finish ours once what we queued is out.
      ending = true;
      flush();
    },
    onClose(error) {
      clearInterval(timer);
      clearInterval(shrink);
      events.closed(error);
    },
  });

  return {
    /** Queues a message; `false` when the send buffer is full (try again after a drain). */
    send(message: M): boolean {
      if (ending || !stream.queue(message, now())) return false;
      if (!flushQueued) {
        flushQueued = true;
        queueMicrotask(flush); // many sends, one write
      }
      return true;
    },
    /** The consumer can take messages again after `message` returned `false`. */
    resume(): void {
      const error = stream.resumeReceive(sink, now());
      if (error !== undefined) violation(error);
      else if (!stream.hasBufferedInput) conn.resume();
    },
    /** Sends what is queued, then ends the connection. */
    end(): void {
      ending = true;
      flush();
    },
  };
}
