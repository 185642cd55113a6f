/**
 * The transport-agnostic `MessageStream` core of peerlink, its `StreamConfig`, and the transport
 * contract every adapter implements.
 *
 * @packageDocumentation
 */
export { formatAddress, type HostPort, parseAddress } from './address.js';
export {
  DEFAULT_STREAM_CONFIG,
  resolveStreamConfig,
  type StreamConfig,
  type StreamConfigOptions,
} from './config.js';
export { type MessageSink, MessageStream } from './message-stream.js';
export type {
  Connection,
  ConnectionHandler,
  ConnectOptions,
  Listener,
  ListenHandler,
  Transport,
} from './transport.js';
