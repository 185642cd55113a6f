import type { Codec } from '@peerlink/codec';
import type { StreamConfig } from '@peerlink/stream';
import type { EventQueue } from './event-queue.js';
import type { PeerId, ReactorEvent } from './events.js';
import type { Log } from './log.js';
import type { Peer } from './peer.js';
import type { PeerLifecycle } from './peer-lifecycle.js';
import type { Registry } from './registry.js';
import type { Turn } from './turn.js';

/**
 * What a {@link Peer} needs from its reactor: where its messages and events go, the clock, and
 * the few registry changes that its lifecycle causes. The reactor is the only implementation.
 */
export interface PeerHost<M> {
  /** The codec shared by every peer (`undefined` when each peer has its own). */
  readonly codec: Codec<M> | undefined;
  readonly config: StreamConfig;
  readonly log: Log;
  /** Log every message received and every flush. */
  readonly trace: boolean;
  /** Emit `outbound-telemetry` events. */
  readonly telemetry: boolean;
  /** Counters of peers already reported gone (bytes a closing peer still flushes go here). */
  readonly departed: Totals;
  /** The clock, in milliseconds. */
  clock(): number;
  /** The clock, read at most once per turn of the event loop. */
  turnClock(): number;
  /** Emits one event. */
  emit(event: ReactorEvent<M>): void;
  /** Hands over one received message; `false` stops decoding (the event queue is full). */
  deliver(peer: PeerId, message: M, size: number): boolean;
  /** Whether the event queue is at capacity. */
  eventQueueFull(): boolean;
  /** Bytes a peer may deliver per turn of the event loop (`Infinity`: no budget). */
  readonly readBudget: number;
  /** The current read turn, as a counter (call after `turnRead`, which may start a new one). */
  readTurn(): number;
  /**
   * Counts bytes delivered in the current read turn, or starts one (see `Turn.readBytes`);
   * returns the turn's total, every peer together.
   */
  turnRead(n: number): number;
  /** The peer spent its read budget and paused: call its `budgetRenewed` at the turn's end. */
  budgetSpent(peer: Peer<M>): void;
  /** The peer stopped reading until the event queue has room; it is resumed with `resume`. */
  paused(peer: Peer<M>): void;
  /** The peer no longer waits for room in the event queue. */
  unpaused(peer: PeerLifecycle<M>): void;
  /** The peer has data queued: call its `flush` at the end of the turn. */
  scheduleFlush(peer: Peer<M>): void;
  /** The peer was reported `disconnected`: it is no longer a peer (its connection may live on). */
  forget(peer: PeerLifecycle<M>): void;
  /** The peer flushes its queue before it ends its connection. */
  closing(peer: PeerLifecycle<M>): void;
  /** The peer's connection is gone for good. */
  released(peer: PeerLifecycle<M>): void;
}

/** Byte and message counters. */
export interface Totals {
  bytesIn: number;
  bytesOut: number;
  messagesIn: number;
  messagesOut: number;
}

/**
 * The reactor's {@link PeerHost}: `base` as it is, the event queue, the registry's counters and
 * changes, and the per-turn work of `turn`.
 */
export function reactorHost<M>(
  r: Registry<M>,
  turn: Turn<M>,
  queue: EventQueue<M>,
  base: Pick<
    PeerHost<M>,
    'codec' | 'config' | 'log' | 'trace' | 'telemetry' | 'clock' | 'readBudget'
  >,
): PeerHost<M> {
  return {
    codec: base.codec,
    config: base.config,
    log: base.log,
    trace: base.trace,
    telemetry: base.telemetry,
    departed: r.departed,
    clock: base.clock,
    turnClock: () => turn.now(),
    emit: (event) => {
      if (event.type === 'disconnected') {
        const kind = event.reason.kind;
        r.disconnects[kind] = (r.disconnects[kind] ?? 0) + 1;
      }
      queue.emit(event);
    },
    deliver: queue.deliver,
    eventQueueFull: () => queue.full,
    readBudget: base.readBudget,
    readTurn: () => turn.readTurnNow(),
    turnRead: (n) => turn.readBytes(n),
    budgetSpent: (p) => turn.budgetSpent(p),
    paused: (p) => queue.pause(p),
    unpaused: (p) => queue.unpause(p),
    scheduleFlush: (p) => turn.scheduleFlush(p),
    forget: (p) => r.forget(p),
    closing: (p) => r.closing.add(p),
    released: (p) => r.released(p),
  };
}
