/**
 * An in-process transport for peerlink: connected pairs ({@link memoryPair}) and a simulated
 * network of named hosts ({@link MemoryNetwork}), with seeded chunking, bounded capacity,
 * latency, bandwidth and faults. Imports nothing from `node:*`: it runs in browsers too.
 *
 * @packageDocumentation
 */
export { type MemoryErrorCode, MemoryErrorCodes } from './errors.js';
export {
  type LinkMatch,
  MemoryNetwork,
  type MemoryNetworkOptions,
  type MemoryNetworkStats,
  type MemoryTransport,
} from './network.js';
export type {
  ChunkingOptions,
  ConnectFault,
  Fault,
  FaultDirection,
  LinkOptions,
  StreamFault,
} from './options.js';
export { type MemoryPairOptions, memoryPair } from './pair.js';
export { realScheduler, type Scheduler, type TimerHandle, VirtualScheduler } from './scheduler.js';
