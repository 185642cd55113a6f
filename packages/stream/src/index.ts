/**
 * The transport-agnostic `MessageStream` core of peerlink, its `StreamConfig`, and the transport
 * contract every adapter implements, with everything an adapter needs (`PeerlinkError`, the error
 * helpers, addresses): an adapter depends on this package alone.
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
export {
  abortable,
  codeOf,
  type ErrorCode,
  ErrorCodes,
  invalidArgument,
  messageOf,
  PeerlinkError,
  type PeerlinkErrorOptions,
  type StreamErrorCode,
  type SystemErrorCode,
  type TransportError,
  type TransportErrorCode,
  withCode,
} from './errors.js';
export { type MessageSink, MessageStream } from './message-stream.js';
export {
  type Connection,
  type ConnectionHandler,
  type ConnectOptions,
  type Listener,
  type ListenHandler,
  MAX_DATA_CHUNK,
  type Transport,
} from './transport.js';
