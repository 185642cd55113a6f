/**
 * The peerlink peer manager: listeners, connects, peer ids, commands and events, timers, over any
 * transport that meets the `@peerlink/stream` contract.
 *
 * @packageDocumentation
 */
export type { CodecFactory, ConnectionInfo } from './codec-factory.js';
export { type ReactorErrorCode, ReactorErrorCodes } from './errors.js';
export type {
  DisconnectReason,
  MessageHandler,
  PeerId,
  PeerStats,
  ReactorEvent,
  ReactorStats,
  SendResult,
} from './events.js';
export type { Logger } from './log.js';
export type { ConnectCommandOptions, ReactorOptions, ShutdownOptions } from './options.js';
export { Reactor } from './reactor.js';
