#!/usr/bin/env node
/**
 * Application-level backpressure: a sender streams N numbered messages to a slow receiver over
 * TCP on 127.0.0.1, with the drain signal as its flow control. It sends until `send()` says
 * `'full'`, awaits `reactor.drained(peer)`, then sends the same message again: nothing is lost,
 * nothing is reordered, and the sender's memory stays bounded by the peer's send buffer. It
 * prints the throughput and, each time the buffer was full, the peer's `bytesQueued` and
 * `oldestQueuedAge` from `reactor.peerStats(peer)`; with `--telemetry` it also prints every
 * `outbound-telemetry` event.
 *
 *   node examples/dist/backpressure.js [--count 50000] [--size 1024] [--pause 1] [--every 64]
 *                                      [--telemetry]
 *
 * `--count`: messages to send. `--size`: payload bytes per message. The receiver is slow on
 * purpose: it consumes its events with `for await` (a queue of 64 events) and sleeps `--pause` ms
 * after every `--every` messages. Exit code 0 when every message arrived in order, else 1.
 */
import { realpathSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type ByteSink, lengthPrefixed, type PeerStats, type ReactorEvent, run } from 'peerlink';
import { formatBytes, formatCount, positiveInt } from './stats.js';

/** One message of the stream: its sequence number and some payload. */
export interface Chunk {
  readonly seq: number;
  readonly payload: Uint8Array;
}

/** Largest payload, in bytes. */
export const MAX_CHUNK_PAYLOAD = 1024 * 1024;

/**
 * The codec: u32 BE length, then the sequence number (u32 BE) and the payload, for payloads of
 * up to `maxPayload` bytes. Its `maxSize` (8 + `maxPayload`) sets the send buffer's limit:
 * `max(2 × maxSize, 64 KiB)` by default.
 */
export const chunkCodec = (maxPayload: number) =>
  lengthPrefixed<Chunk>(
    { maxSize: 4 + 4 + maxPayload },
    {
      encode(chunk: Chunk, sink: ByteSink) {
        sink.writeU32BE(chunk.seq);
        sink.writeBytes(chunk.payload);
      },
      decode(body) {
        if (body.length < 4) return undefined;
        const seq = new DataView(body.buffer, body.byteOffset, 4).getUint32(0);
        return { seq, payload: body.slice(4) }; // a copy: `body` is only valid during this call
      },
      size: (chunk) => 4 + chunk.payload.length,
    },
  );

/** The outbound-telemetry event of the reactor. */
export type TelemetryEvent = Extract<ReactorEvent<Chunk>, { type: 'outbound-telemetry' }>;

/** Options of {@link runBackpressure}. */
export interface BackpressureOptions {
  /** Messages to send. */
  count: number;
  /** Payload bytes per message (at most {@link MAX_CHUNK_PAYLOAD}). Default 1024. */
  size?: number;
  /** The receiver sleeps this long, in ms, after every {@link every} messages. Default 1. */
  pause?: number;
  /** See {@link pause}. Default 64. */
  every?: number;
  /** Turn on the sender's `outbound-telemetry` events and pass each to this function. */
  onTelemetry?: (event: TelemetryEvent) => void;
  /** Called by the receiver with each message's sequence number, in arrival order. */
  onReceive?: (seq: number) => void;
  /** Called after every tenth of the messages is queued. */
  onProgress?: (progress: BackpressureProgress) => void;
}

/** How far the sender is. */
export interface BackpressureProgress {
  /** Messages queued so far. */
  readonly sent: number;
  /** Since the first send, in ms. */
  readonly elapsedMs: number;
  /** Times `send()` returned `'full'` so far. */
  readonly full: number;
  /** The peer as `peerStats()` sees it now. */
  readonly peer: PeerStats | undefined;
}

/** What {@link runBackpressure} measured. */
export interface BackpressureResult {
  /** Messages the receiver got. */
  readonly received: number;
  /** Whether the receiver got 0, 1, 2, … with none missing, repeated or out of order. */
  readonly inOrder: boolean;
  /** From the first send until the receiver had the last message, in ms. */
  readonly elapsedMs: number;
  /** Times `send()` returned `'full'` (and the loop awaited `drained()`). */
  readonly full: number;
  /** Most bytes `peerStats()` showed queued for the receiver (sampled at each `'full'`). */
  readonly maxBytesQueued: number;
  /** Longest `oldestQueuedAge` `peerStats()` showed, in ms (sampled at each `'full'`). */
  readonly maxOldestQueuedAge: number;
  /** `outbound-telemetry` events seen (0 without `onTelemetry`). */
  readonly telemetryEvents: number;
  /**
   * Whether at every telemetry event the running sum of the `delta`s equalled `bytesQueued`, and
   * the last event left nothing queued.
   */
  readonly telemetryAddsUp: boolean;
}

/** Streams `options.count` messages from a sender to a slow receiver, with `drained()` as flow control. */
export async function runBackpressure(options: BackpressureOptions): Promise<BackpressureResult> {
  const { count } = options;
  const payload = new Uint8Array(options.size ?? 1024).fill(0x2a);
  const pause = options.pause ?? 1;
  const every = options.every ?? 64;
  const codec = chunkCodec(payload.length);

  // The receiver: a small event queue and a slow consumer, so its sockets get paused, TCP fills
  // up, and the sender's writes block.
  const receiver = await run({ codec, listen: '127.0.0.1:0', eventCapacity: 64 });
  const sender = await run({ codec, telemetry: options.onTelemetry !== undefined });
  try {
    let telemetryEvents = 0;
    let telemetryAddsUp = true;
    let queuedSum = 0;
    let lastQueued = 0;
    sender.onEvent((event) => {
      if (event.type !== 'outbound-telemetry') return; // 'send-buffer-full' too: we kept the message
      telemetryEvents++;
      queuedSum += event.delta;
      lastQueued = event.bytesQueued;
      if (queuedSum !== event.bytesQueued) telemetryAddsUp = false;
      options.onTelemetry?.(event);
    });

    let received = 0;
    let inOrder = true;
    const allReceived = (async () => {
      if (count === 0) return performance.now();
      for await (const event of receiver.events()) {
        if (event.type !== 'message') continue;
        options.onReceive?.(event.message.seq);
        if (event.message.seq !== received) inOrder = false;
        received++;
        if (received === count) return performance.now();
        if (received % every === 0) await sleep(pause);
      }
      throw new Error(`the receiver stopped after ${received} of ${count} messages`);
    })();

    const peer = await sender.connect(receiver.listenAddresses[0]!);
    const startedAt = performance.now();
    const step = Math.max(1, Math.ceil(count / 10));
    let full = 0;
    let maxBytesQueued = 0;
    let maxOldestQueuedAge = 0;

    // The loop: send until 'full', wait for the drain signal, go on with the same message.
    for (let seq = 0; seq < count; ) {
      const result = sender.send(peer, { seq, payload });
      if (result === 'queued') {
        seq++;
        if (seq % step === 0 || seq === count) {
          const elapsedMs = performance.now() - startedAt;
          options.onProgress?.({ sent: seq, elapsedMs, full, peer: sender.peerStats(peer) });
        }
        continue;
      }
      if (result === 'no-such-peer') throw new Error(`the receiver went away after ${seq}`);
      // 'full': the peer's send buffer is at its limit and the socket takes no more. Look at it,
      // then wait until it drains.
      full++;
      const stats = sender.peerStats(peer);
      if (stats !== undefined) {
        maxBytesQueued = Math.max(maxBytesQueued, stats.bytesQueued);
        maxOldestQueuedAge = Math.max(maxOldestQueuedAge, stats.oldestQueuedAge ?? 0);
      }
      await sender.drained(peer);
    }

    const doneAt = await allReceived;
    return {
      received,
      inOrder,
      elapsedMs: doneAt - startedAt,
      full,
      maxBytesQueued,
      maxOldestQueuedAge,
      telemetryEvents,
      telemetryAddsUp: telemetryAddsUp && lastQueued === 0,
    };
  } finally {
    await Promise.all([sender.shutdown(), receiver.shutdown({ flushTimeout: 0 })]);
  }
}

const times = (n: number) => `${formatCount(n)} ${n === 1 ? 'time' : 'times'}`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      count: { type: 'string' },
      size: { type: 'string' },
      pause: { type: 'string' },
      every: { type: 'string' },
      telemetry: { type: 'boolean', default: false },
    },
  });
  const count = positiveInt('--count', values.count, 50_000);
  const size = positiveInt('--size', values.size, 1024);
  if (size > MAX_CHUNK_PAYLOAD) throw new Error(`--size must be at most ${MAX_CHUNK_PAYLOAD}`);
  const pause = positiveInt('--pause', values.pause, 1);
  const every = positiveInt('--every', values.every, 64);
  console.log(
    `backpressure: ${formatCount(count)} messages of ${formatCount(size)} bytes to a slow receiver ` +
      `(${pause} ms pause every ${every} messages), over TCP on 127.0.0.1`,
  );
  const result = await runBackpressure({
    count,
    size,
    pause,
    every,
    onProgress: (p) =>
      console.log(
        `sent ${formatCount(p.sent)} (${Math.round((100 * p.sent) / count)}%), ` +
          `${formatCount(p.sent / (p.elapsedMs / 1000))} msg/s; peer: ${formatBytes(p.peer?.bytesQueued ?? 0)} queued, ` +
          `oldest ${(p.peer?.oldestQueuedAge ?? 0).toFixed(1)} ms; 'full' ${times(p.full)} so far`,
      ),
    ...(values.telemetry
      ? {
          onTelemetry: (e: TelemetryEvent) =>
            console.log(
              `telemetry: peer ${e.peer} ${e.delta >= 0 ? '+' : ''}${e.delta} B -> ${e.bytesQueued} B queued, ` +
                `${e.bytesFree} B free, oldest ${e.oldestQueuedAge === undefined ? '-' : `${e.oldestQueuedAge.toFixed(1)} ms`}`,
            ),
        }
      : {}),
  });
  const seconds = result.elapsedMs / 1000;
  console.log(
    `received ${formatCount(result.received)} of ${formatCount(count)} messages, ` +
      `${result.inOrder ? 'in order' : 'OUT OF ORDER'}, in ${seconds.toFixed(2)} s: ` +
      `${formatCount(result.received / seconds)} msg/s, ${formatBytes((result.received * (size + 8)) / seconds)}/s`,
  );
  console.log(
    `send() returned 'full' ${times(result.full)}; each time the loop awaited drained(peer) ` +
      'and sent the same message again',
  );
  console.log(
    `peerStats at those times: at most ${formatBytes(result.maxBytesQueued)} queued, ` +
      `oldest queued byte at most ${result.maxOldestQueuedAge.toFixed(1)} ms old`,
  );
  if (values.telemetry) {
    console.log(
      `telemetry: ${formatCount(result.telemetryEvents)} outbound-telemetry events; their deltas ` +
        `${result.telemetryAddsUp ? 'add up to bytesQueued at every event' : 'DO NOT add up to bytesQueued'}`,
    );
  }
  process.exitCode = result.inOrder && result.received === count ? 0 : 1;
}

// Run as a program (not when imported, as the tests do).
if (
  process.argv[1] !== undefined &&
  realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)
) {
  await main();
}
