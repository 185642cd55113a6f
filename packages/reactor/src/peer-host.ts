import type { Codec } from '@peerlink/codec';
import type { StreamConfig } from '@peerlink/stream';
import type { PeerId, ReactorEvent } from './events.js';
import type { Log } from './log.js';
import type { Peer } from './peer.js';

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
  /** The current turn of the event loop, as a counter (starts the turn's end if need be). */
  readTurn(): number;
  /** The peer spent its read budget and paused: call its `budgetRenewed` at the turn's end. */
  budgetSpent(peer: Peer<M>): void;
  /** The peer stopped reading until the event queue has room; it is resumed with `resume`. */
  paused(peer: Peer<M>): void;
  /** The peer no longer waits for room in the event queue. */
  unpaused(peer: Peer<M>): void;
  /** The peer has data queued: call its `flush` at the end of the turn. */
  scheduleFlush(peer: Peer<M>): void;
  /** The peer was reported `disconnected`: it is no longer a peer (its connection may live on). */
  forget(peer: Peer<M>): void;
  /** The peer flushes its queue before it ends its connection. */
  closing(peer: Peer<M>): void;
  /** The peer's connection is gone for good. */
  released(peer: Peer<M>): void;
}

/** Byte and message counters. */
export interface Totals {
  bytesIn: number;
  bytesOut: number;
  messagesIn: number;
  messagesOut: number;
}
