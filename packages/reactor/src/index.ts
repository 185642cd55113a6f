/**
 * The peerlink peer manager: listeners, connects, peer ids, commands and events, timers, over any
 * transport that meets the `@peerlink/stream` contract.
 *
 * @packageDocumentation
 */
export type { Ban, EvictionOptions } from './admission.js';
export type { CodecFactory, ConnectionInfo } from './codec-factory.js';
export { type ReactorErrorCode, ReactorErrorCodes } from './errors.js';
export type {
  DisconnectReason,
  MessageHandler,
  PeerId,
  PeerStats,
  ReactorEvent,
  ReactorStats,
  RefusalReason,
  SendManyResult,
  SendResult,
} from './events.js';
export {
  type Backoff,
  type BackoffOptions,
  backoffDelay,
  type KeepEvent,
  type KeepHost,
  type KeepOptions,
  type KeepTimers,
  type Kept,
  keep,
  resolveBackoff,
} from './keep.js';
export type { Logger } from './log.js';
export type {
  ConnectCommandOptions,
  DrainedOptions,
  ListenOptions,
  ReactorOptions,
  ReactorTimers,
  ShutdownOptions,
} from './options.js';
export { Reactor } from './reactor.js';
export type { ConnectionTransform, Upgrade, UpgradeContext } from './upgrade.js';
