/**
 * peerlink: low-level peer-to-peer networking for Node.js. Bring a codec for your message type;
 * get listening, connecting, framing, peer tracking, backpressure both ways and protection from
 * hostile peers.
 *
 * This umbrella re-exports the public API of every peerlink package and adds {@link run} (and its
 * variants), which start a reactor on the TCP transport with sensible defaults.
 *
 * @packageDocumentation
 */
export * from '@peerlink/codec';
export * from '@peerlink/queue-points';
export * from '@peerlink/reactor';
export * from '@peerlink/stream';
export * from '@peerlink/transport-memory';
export * from '@peerlink/transport-tcp';
export { type RunOptions, run, runWithConnector, runWithSocks5Proxy } from './run.js';
