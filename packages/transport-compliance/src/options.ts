import { MAX_DATA_CHUNK, type Transport } from '@peerlink/stream';

/**
 * The parts of a test runner the suite uses. Pass vitest's or `node:test`'s functions (or
 * jest's, mocha's) as they are: `transportCompliance({ describe, it, beforeEach, afterEach }, …)`.
 */
export interface TestRunner {
  /** Groups tests; the callback registers them synchronously. */
  describe(name: string, fn: () => void): unknown;
  /** Registers one test; the test fails when the returned promise rejects. */
  it(name: string, fn: () => Promise<void>): unknown;
  /** Runs before each test of the enclosing `describe`. */
  beforeEach(fn: () => Promise<void>): unknown;
  /** Runs after each test of the enclosing `describe`, also when the test failed. */
  afterEach(fn: () => Promise<void>): unknown;
}

/** Which end of the tests' connections a transport from `createTransport` serves. */
export type TransportSide = 'listener' | 'dialer';

/** What the suite needs to know about the transport under test. */
export interface TransportComplianceOptions {
  /** Names the suite: the tests are grouped under `transport compliance: <name>`. */
  name: string;
  /**
   * Creates a transport. Called twice before each test, first for the listening side, then for
   * the dialing side; the second must be able to reach what the first listens on (return the same
   * instance twice, or two nodes of one simulated network).
   */
  createTransport(side: TransportSide): Transport | Promise<Transport>;
  /**
   * Releases a transport after each test, once every connection and listener of the test was
   * closed. Optional: the contract has no "close transport".
   */
  destroyTransport?(transport: Transport): void | Promise<void>;
  /**
   * The address the tests listen on, asking for any free port: `127.0.0.1:0` for TCP,
   * `node-a:0` for a simulated network. Each test may listen on it several times.
   */
  listenAddress: string;
  /**
   * An address on the unspecified host (`0.0.0.0:0`, `[::]:0`), to check that listening on
   * "any" reports a bound address that can be dialed. Omitted: that test is not registered.
   */
  anyAddress?: string;
  /**
   * Maps a listener's bound address to the address a dialer uses. Default: the unspecified hosts
   * `0.0.0.0` and `::` become `127.0.0.1` and `::1`; anything else is dialed as reported.
   */
  dialAddress?(bound: string): string;
  /**
   * An address nobody listens on, or a function that returns one. Default: the suite listens on
   * {@link listenAddress}, closes the listener, and dials the address it had.
   */
  closedAddress?: string | (() => string | Promise<string>);
  /** The `code` a connect to {@link closedAddress} rejects with. Default `'ECONNREFUSED'`. */
  refusedCode?: string;
  /** The `code` of the error `onClose` reports after the remote called `reset`. Default `'ECONNRESET'`. */
  resetCode?: string;
  /**
   * An address where a connect stays pending until it is aborted (a connector that never
   * finishes, a stalled simulated link), or a function returning one. Enables the test of an
   * abort after the attempt has been pending for a few event-loop turns. Omitted: not registered
   * (the abort of a connect in flight to a live listener is tested either way).
   */
  pendingAddress?: string | (() => string | Promise<string>);
  /**
   * Whether `write` must return `false` at some point while 4 MiB are written at once.
   * Default `true`. A transport that never refuses (and so never calls `onDrain`) sets `false`.
   */
  backpressure?: boolean;
  /**
   * The largest chunk `onData` may deliver, in bytes. Default 65536 (`MAX_DATA_CHUNK`: the
   * contract asks adapters for at most 64 KiB per call). `Infinity` turns the check off.
   */
  maxChunkSize?: number;
  /** Failure guard for each wait, in milliseconds. Default 10000. Nothing sleeps for it. */
  timeout?: number;
  /**
   * Whether to check, with `process.getActiveResourcesInfo()`, that failed and aborted connects
   * and closed connections leave no handle behind. Default `true` where that function exists
   * (Node 17+); elsewhere the check is skipped.
   */
  checkResources?: boolean;
  /**
   * Whether the adapter promises that an accepted connection's `remoteAddress` is the dialing
   * connection's `localAddress` (true of TCP and of the memory network; not of a Unix-domain
   * socket, whose dialer has no address of its own). The contract does not require it; an adapter
   * that promises it sets `true` and the suite checks it. Default `false`.
   */
  peerAddresses?: boolean;
  /**
   * Names of tests to leave out, as listed in the README (backticks optional). A name that is not
   * a test of the suite is refused, with the list of valid names. Default none.
   */
  skip?: readonly string[];
}

/** {@link TransportComplianceOptions} with every default applied. */
export interface ResolvedOptions {
  readonly name: string;
  readonly createTransport: (side: TransportSide) => Transport | Promise<Transport>;
  readonly destroyTransport: ((transport: Transport) => void | Promise<void>) | undefined;
  readonly listenAddress: string;
  readonly anyAddress: string | undefined;
  readonly dialAddress: (bound: string) => string;
  readonly closedAddress: (() => string | Promise<string>) | undefined;
  readonly refusedCode: string;
  readonly resetCode: string;
  readonly pendingAddress: (() => string | Promise<string>) | undefined;
  readonly backpressure: boolean;
  readonly maxChunkSize: number;
  readonly timeout: number;
  readonly checkResources: boolean;
  readonly peerAddresses: boolean;
  readonly skip: ReadonlySet<string>;
}

/** Default {@link TransportComplianceOptions.dialAddress}. */
export function defaultDialAddress(bound: string): string {
  if (bound.startsWith('0.0.0.0:')) return `127.0.0.1:${bound.slice('0.0.0.0:'.length)}`;
  if (bound.startsWith('[::]:')) return `[::1]:${bound.slice('[::]:'.length)}`;
  return bound;
}

function thunk(
  value: string | (() => string | Promise<string>) | undefined,
): (() => string | Promise<string>) | undefined {
  if (value === undefined || typeof value === 'function') return value;
  return () => value;
}

/** Applies defaults and validates. */
export function resolveOptions(options: TransportComplianceOptions): ResolvedOptions {
  if (typeof options.createTransport !== 'function') {
    throw new TypeError('transportCompliance: `createTransport` must be a function');
  }
  if (typeof options.listenAddress !== 'string' || options.listenAddress === '') {
    throw new TypeError('transportCompliance: `listenAddress` must be a non-empty string');
  }
  const timeout = options.timeout ?? 10_000;
  if (!(timeout > 0)) throw new RangeError('transportCompliance: `timeout` must be positive');
  const maxChunkSize = options.maxChunkSize ?? MAX_DATA_CHUNK;
  if (!(maxChunkSize > 0)) {
    throw new RangeError('transportCompliance: `maxChunkSize` must be positive');
  }
  return {
    name: options.name,
    createTransport: options.createTransport.bind(options),
    destroyTransport: options.destroyTransport?.bind(options),
    listenAddress: options.listenAddress,
    anyAddress: options.anyAddress,
    dialAddress: options.dialAddress?.bind(options) ?? defaultDialAddress,
    closedAddress: thunk(options.closedAddress),
    refusedCode: options.refusedCode ?? 'ECONNREFUSED',
    resetCode: options.resetCode ?? 'ECONNRESET',
    pendingAddress: thunk(options.pendingAddress),
    backpressure: options.backpressure ?? true,
    maxChunkSize,
    timeout,
    checkResources: options.checkResources ?? true,
    peerAddresses: options.peerAddresses === true,
    skip: new Set(options.skip ?? []),
  };
}
