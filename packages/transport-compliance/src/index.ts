/**
 * A test suite that proves a transport adapter honours the peerlink transport contract
 * (`Transport`, `Listener`, `Connection` from `@peerlink/stream`). The test runner is passed in,
 * so the same suite runs under vitest, `node:test`, jest or mocha.
 *
 * @packageDocumentation
 */
export { assertBytes, ByteCollector, pattern, split } from './bytes.js';
export type {
  TestRunner,
  TransportComplianceOptions,
  TransportSide,
} from './options.js';
export { defaultDialAddress } from './options.js';
export { transportCompliance } from './suite.js';
