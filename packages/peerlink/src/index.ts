/**
 * peerlink: low-level peer-to-peer networking for Node.js. Bring a codec for your message type;
 * get listening, connecting, framing, peer tracking, backpressure both ways and protection from
 * hostile peers.
 *
 * This umbrella re-exports the public API of every peerlink package and adds {@link run} (and its
 * variants), which start a reactor on the TCP transport with sensible defaults. Test tools (the
 * memory network's virtual scheduler and fault types) are on the `peerlink/testing` entry.
 *
 * @packageDocumentation
 */
export * from '@peerlink/codec';
export * from '@peerlink/queue-points';
export * from '@peerlink/reactor';
export * from '@peerlink/stream';
// The in-process transports; the simulator's schedulers and fault types are test tools, on the
// `peerlink/testing` entry.
export {
  type ChunkingOptions,
  type LinkMatch,
  type LinkOptions,
  type MemoryErrorCode,
  MemoryErrorCodes,
  MemoryNetwork,
  type MemoryNetworkOptions,
  type MemoryNetworkStats,
  type MemoryPairOptions,
  type MemoryTransport,
  memoryPair,
} from '@peerlink/transport-memory';
export * from '@peerlink/transport-tcp';
export { type RunOptions, run, runWithConnector, runWithSocks5Proxy } from './run.js';
