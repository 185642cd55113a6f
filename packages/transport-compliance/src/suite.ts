import { codeOf, parseAddress } from '@peerlink/stream';
import { assertBytes, pattern, split } from './bytes.js';
import { bounded, check, Env, rejectionOf } from './harness.js';
import {
  type ResolvedOptions,
  resolveOptions,
  type TestRunner,
  type TransportComplianceOptions,
} from './options.js';
import { expectNoExtraResources, nextTurn, snapshotResources } from './resources.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** Write sizes for the ordering tests: single bytes up to a whole MiB, odd sizes between. */
const WRITE_SIZES = [1, 2, 3, 7, 64, 1000, 4096, 16_383, 65_535, 65_536, 65_537, 300_001, MiB];

/** A test body: gets the test's environment. */
type Body = (env: Env, options: ResolvedOptions) => Promise<void>;

/**
 * Marks `promise` as handled (a test that fails before awaiting it must not leave an unhandled
 * rejection behind) and returns it unchanged: awaiting it still throws.
 */
function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

/** Throws unless the connection's close was clean (`onClose(undefined)`). */
function expectCleanClose(side: { closeError: Error | undefined; label: string }): void {
  check(
    side.closeError === undefined,
    `${side.label}: expected a clean close, got ${codeOf(side.closeError) ?? side.closeError?.message}`,
  );
}

/**
 * Throws unless `address` is a non-empty string. Addresses are opaque strings owned by the
 * transport (`host:port` for TCP, a path for a Unix socket, a name for a simulated network).
 */
function expectAddress(address: unknown, what: string): void {
  check(
    typeof address === 'string' && address !== '',
    `${what}: not a non-empty string (${String(address)})`,
  );
}

/** The port of a `host:port` address, or `undefined` for an address of another form. */
function portOf(address: string): number | undefined {
  try {
    return parseAddress(address).port;
  } catch {
    return undefined;
  }
}

/** A test name as `skip` matches it: without the backticks of the README's markdown. */
function plainName(name: string): string {
  return name.replaceAll('`', '');
}

/**
 * Registers the transport compliance suite with the given test runner. Call it at the top level
 * of a test file:
 *
 * ```ts
 * import { afterEach, beforeEach, describe, it } from 'vitest'; // or 'node:test'
 * import { transportCompliance } from '@peerlink/transport-compliance';
 * transportCompliance({ describe, it, beforeEach, afterEach }, {
 *   name: 'tcp', createTransport: () => tcpTransport(), listenAddress: '127.0.0.1:0',
 * });
 * ```
 *
 * Every test opens its own transports, listeners and connections and releases them afterwards;
 * any breach of the contract's calling rules seen during a test (an event after `onClose`, a second
 * `onClose`, `onDrain` without a refused write, overlapping handler calls, …) fails it.
 */
export function transportCompliance(runner: TestRunner, options: TransportComplianceOptions): void {
  const resolved = resolveOptions(options);
  const { describe, it, beforeEach, afterEach } = runner;

  describe(`transport compliance: ${resolved.name}`, () => {
    let env: Env | undefined;
    beforeEach(async () => {
      env = await Env.create(resolved);
    });
    afterEach(async () => {
      const current = env;
      env = undefined;
      await current?.dispose();
    });

    const skip = new Set([...resolved.skip].map(plainName));
    const names = new Set<string>();
    const test: Register = (name, body, enabled = true) => {
      names.add(plainName(name));
      if (!enabled || skip.has(plainName(name))) return;
      it(name, async () => {
        if (env === undefined) throw new Error('transport compliance: environment not set up');
        await body(env, resolved);
      });
    };

    registerListenTests(test, resolved);
    registerDataTests(test);
    registerBackpressureTests(test);
    registerPauseTests(test);
    registerEndTests(test);
    registerConnectFailureTests(test, resolved);

    const unknown = [...skip].filter((name) => !names.has(name));
    if (unknown.length > 0) {
      throw new RangeError(
        `transportCompliance: \`skip\` names no test: ${unknown.map((n) => JSON.stringify(n)).join(', ')}. ` +
          `Valid names:\n  ${[...names].join('\n  ')}`,
      );
    }
  });
}

/** Registers a test; `enabled: false` only records its name (a test the options turn off). */
type Register = (name: string, body: Body, enabled?: boolean) => void;

function registerListenTests(test: Register, options: ResolvedOptions): void {
  test('listening on port 0 reports the bound address, which accepts connections', async (env) => {
    const main = await env.mainListener();
    expectAddress(main.listener.address, 'listener.address');
    if (portOf(options.listenAddress) === 0) {
      check(
        portOf(main.listener.address) !== 0,
        `listener.address kept port 0: ${main.listener.address}`,
      );
    }
    const { client, server } = await env.pair();
    for (const [value, what] of [
      [client.connection.localAddress, 'client localAddress'],
      [client.connection.remoteAddress, 'client remoteAddress'],
      [server.connection.localAddress, 'server localAddress'],
      [server.connection.remoteAddress, 'server remoteAddress'],
    ] as const) {
      check(typeof value === 'string', `${what}: not a string (${String(value)})`);
    }
    check(
      client.connection.remoteAddress === main.target,
      `client remoteAddress ${client.connection.remoteAddress} is not the dialed ${main.target}`,
    );
    if (options.peerAddresses) {
      check(
        server.connection.remoteAddress === client.connection.localAddress,
        `server remoteAddress ${server.connection.remoteAddress} is not the client's localAddress ${client.connection.localAddress} (\`peerAddresses\` is on)`,
      );
    }
    client.write(Uint8Array.of(42));
    await server.receivedAtLeast(1);
    server.write(Uint8Array.of(43));
    await client.receivedAtLeast(1);
    assertBytes(server.received.view(), Uint8Array.of(42), 'server received');
    assertBytes(client.received.view(), Uint8Array.of(43), 'client received');
  });

  test('two listeners on port 0 get different addresses', async (env) => {
    const a = await env.listen();
    const b = await env.listen();
    check(a.listener.address !== b.listener.address, `both bound ${a.listener.address}`);
  });

  const anyAddress = options.anyAddress ?? '';
  test(
    'listening on `anyAddress` reports the bound port, which can be dialed',
    async (env) => {
      const open = await env.listen(anyAddress);
      expectAddress(open.listener.address, 'listener.address');
      check(
        portOf(open.listener.address) !== 0,
        `listener.address kept port 0: ${open.listener.address}`,
      );
      const client = env.side(await env.connect(open.target), 'client').start();
      const server = env.side(await open.accept(), 'server').start();
      client.write(Uint8Array.of(7));
      await server.receivedAtLeast(1);
    },
    options.anyAddress !== undefined,
  );

  test('listening on an address already bound rejects with an error code', async (env) => {
    const main = await env.mainListener();
    const error = await rejectionOf(
      env.listenerTransport.listen(main.listener.address, { onConnection: (c) => c.close() }),
      'second listen on the same address',
      env.options.timeout,
      (listener) => void (listener as { close(): Promise<void> }).close(),
    );
    check(error instanceof Error, `rejected with a non-Error: ${String(error)}`);
    check(codeOf(error) !== undefined, `rejection has no string code: ${String(error)}`);
  });

  test('closing a listener is idempotent, stops accepting, and keeps accepted connections', async (env) => {
    const main = await env.mainListener();
    const { client, server } = await env.pair();
    await Promise.all([env.closeListener(main.listener), env.closeListener(main.listener)]);
    await env.closeListener(main.listener);
    const error = await rejectionOf(
      env.connect(main.target),
      'connect after listener.close()',
      env.options.timeout,
    );
    check(
      codeOf(error) !== undefined,
      `connect after close rejected without a code: ${String(error)}`,
    );
    const data = pattern(11, 64 * KiB);
    await client.writeAll(split(data, [4096]));
    await server.receivedAtLeast(data.length);
    assertBytes(server.received.view(), data, 'bytes on a connection accepted before close');
  });
}

function registerDataTests(test: Register): void {
  test('delivers bytes intact and in order for writes of 1 byte to 1 MiB', async (env) => {
    const { client, server } = await env.pair();
    const total = WRITE_SIZES.reduce((sum, size) => sum + size, 0);
    const data = pattern(1, total);
    await client.writeAll(split(data, WRITE_SIZES));
    await server.receivedAtLeast(total);
    assertBytes(server.received.view(), data, 'client → server');
  });

  test('delivers bytes intact in both directions at once', async (env) => {
    const { client, server } = await env.pair();
    const up = pattern(2, 2 * MiB);
    const down = pattern(3, 2 * MiB);
    await Promise.all([
      client.writeAll(split(up, [...WRITE_SIZES].reverse())),
      server.writeAll(split(down, WRITE_SIZES)),
      server.receivedAtLeast(up.length),
      client.receivedAtLeast(down.length),
    ]);
    assertBytes(server.received.view(), up, 'client → server');
    assertBytes(client.received.view(), down, 'server → client');
  });

  test('`releasesWrites`: each write is released at most once, every write of up to 64 KiB is, and memory reused after its release never changes what arrives', async (env, options) => {
    const { client, server } = await env.pair();
    const declared = client.connection.releasesWrites;
    check(
      declared === undefined || typeof declared === 'boolean',
      `releasesWrites is ${typeof declared}, not a boolean`,
    );
    const data = pattern(5, 4 * MiB + 12_345);
    // Small writes, slab-sized ones and a few above any slicing threshold, in a burst to a paused
    // reader: the first ones go out at once, the rest wait in the transport.
    const parts = split(data, [1, 100, 4096, 64 * KiB, 65_535, 300_001, 64 * KiB, 7]);
    const released = new Set<Uint8Array>();
    let twice = 0;
    const release = (bytes: Uint8Array): void => {
      if (released.has(bytes)) twice++;
      released.add(bytes);
      bytes.fill(0xee); // the writer fills the memory again at once
    };
    // Copies: the writer scribbles over what was released.
    const written: Uint8Array[] = parts.map((part) => part.slice());
    server.pause();
    for (const part of written) client.write(part, release);
    server.resume();
    await server.receivedAtLeast(data.length);
    assertBytes(server.received.view(), data, 'client → server, with released memory reused');
    check(twice === 0, `${twice} writes were released twice`);
    if (declared !== true) {
      check(released.size === 0, `releasesWrites is not true, yet ${released.size} writes were released`);
      return;
    }
    const due = written.filter((part) => part.length <= 64 * KiB);
    const deadline = Date.now() + options.timeout;
    // Releases may trail delivery by a few turns (a write's completion is a later event).
    while (due.some((part) => !released.has(part)) && Date.now() < deadline) await nextTurn();
    const missing = due.filter((part) => !released.has(part)).length;
    check(missing === 0, `${missing} of ${due.length} writes of up to 64 KiB were never released`);
    for (const bytes of released) {
      check(written.includes(bytes), 'release was called with bytes that were not written');
    }
  });

  test('delivers at most `maxChunkSize` bytes per `onData` call', async (env, options) => {
    const { client, server } = await env.pair();
    const data = pattern(4, MiB);
    await client.writeAll([data]);
    await server.receivedAtLeast(data.length);
    check(
      server.largestChunk <= options.maxChunkSize,
      `an onData chunk had ${server.largestChunk} bytes (max ${options.maxChunkSize})`,
    );
  });

  test('keeps concurrent connections apart', async (env) => {
    const main = await env.mainListener();
    const count = 8;
    const payloads = Array.from({ length: count }, (_, i) => pattern(100 + i, 48 * KiB + i));
    const clients = await Promise.all(
      payloads.map(async (_, i) =>
        env.side(await env.connect(main.target), `client#c${i}`).start(),
      ),
    );
    const servers = [];
    for (let i = 0; i < count; i++)
      servers.push(env.side(await main.accept(), `server#c${i}`).start());
    await Promise.all(
      clients.map(async (client, i) => {
        await client.writeAll(split(payloads[i]!, [1000, 5000]));
        client.connection.end();
      }),
    );
    await Promise.all(servers.map((server) => server.ended()));
    const unmatched = new Set(payloads);
    for (const server of servers) {
      const got = server.received.view();
      const match = [...unmatched].find(
        (p) => p.length === got.length && p.every((byte, i) => byte === got[i]),
      );
      check(match !== undefined, `${server.label} received ${got.length} bytes matching no sender`);
      unmatched.delete(match);
    }
  });
}

function registerBackpressureTests(test: Register): void {
  test('`write` returns false under a 16 MiB burst to a paused reader, `onDrain` follows, and every byte arrives', async (env, options) => {
    const { client, server } = await env.pair();
    server.pause();
    const data = pattern(5, 16 * MiB);
    let refused = 0;
    // The transport takes every write whole, refused or not; the burst ignores the refusals.
    for (const part of split(data, [64 * KiB])) if (!client.write(part)) refused++;
    if (options.backpressure) {
      check(refused > 0, 'no write returned false while 16 MiB were written at once');
    }
    server.resume();
    await server.receivedAtLeast(data.length);
    if (refused > 0) await client.drained();
    assertBytes(server.received.view(), data, 'burst');
  });

  test('a writer that waits for `onDrain` delivers 4 MiB to a reader that pauses and resumes', async (env) => {
    const { client, server } = await env.pair();
    const data = pattern(6, 4 * MiB);
    let nextPause = 256 * KiB;
    server.onDataHook = () => {
      if (server.received.length < nextPause) return;
      nextPause += 256 * KiB;
      server.pause();
      env.background(env.roundTrip().then(() => server.resume()));
    };
    await Promise.all([
      client.writeAll(split(data, [16 * KiB, 100_000, 3])),
      server.receivedAtLeast(data.length),
    ]);
    assertBytes(server.received.view(), data, 'paced transfer');
  });
}

function registerPauseTests(test: Register): void {
  test('`pause` stops delivery and `resume` restarts it without loss', async (env) => {
    const { client, server } = await env.pair();
    server.pause();
    const data = pattern(7, 256 * KiB);
    const writing = handled(client.writeAll(split(data, [10_000])));
    await env.roundTrip();
    await env.roundTrip();
    check(server.dataCalls === 0, `onData was called ${server.dataCalls} times while paused`);
    server.resume();
    await Promise.all([writing, server.receivedAtLeast(data.length)]);
    assertBytes(server.received.view(), data, 'after resume');
  });

  test('`pause` inside `onData` holds back the next chunk until `resume`', async (env) => {
    const { client, server } = await env.pair();
    const data = pattern(8, 256 * KiB);
    let held = 0;
    server.onDataHook = () => {
      server.pause();
      held++;
    };
    const writing = handled(client.writeAll(split(data, [1, 30_000, 70_000])));
    // The first chunks are checked against a round trip on another connection; after that, any
    // onData while paused is still caught by the handler's own check.
    for (let checked = 0; server.received.length < data.length; checked++) {
      const before = held;
      await server.until(() => held > before, 'a chunk');
      if (checked < 8 && server.received.length < data.length) {
        await env.roundTrip();
        check(held === before + 1, `onData came ${held - before} times after pause inside onData`);
      }
      server.resume();
    }
    await writing;
    assertBytes(server.received.view(), data, 'chunk-by-chunk delivery');
  });

  test('`pause` and `resume` are idempotent', async (env) => {
    const { client, server } = await env.pair();
    server.pause();
    server.pause();
    server.resume();
    server.resume();
    const data = pattern(9, 64 * KiB);
    await client.writeAll([data]);
    await server.receivedAtLeast(data.length);
    server.pause();
    server.pause();
    const more = pattern(10, 1000);
    client.write(more);
    await env.roundTrip();
    check(server.received.length === data.length, 'bytes arrived while paused twice');
    server.resume();
    await server.receivedAtLeast(data.length + more.length);
  });

  test('`onEnd` waits behind the data held by `pause`', async (env) => {
    const { client, server } = await env.pair();
    server.pause();
    const data = pattern(12, 200 * KiB);
    for (const part of split(data, [50_000])) client.write(part);
    client.connection.end();
    await env.roundTrip();
    check(server.ends === 0 && server.dataCalls === 0, `while paused: ${server.describe()}`);
    server.resume();
    await server.ended();
    assertBytes(server.received.view(), data, 'bytes before onEnd');
  });
}

function registerEndTests(test: Register): void {
  test('`end` delivers the bytes written, then `onEnd`; the remote can still reply; both close cleanly', async (env) => {
    const { client, server } = await env.pair();
    const up = pattern(13, 300 * KiB);
    const down = pattern(14, 300 * KiB);
    await client.writeAll(split(up, [65_536]));
    client.connection.end();
    client.connection.end();
    check(
      client.connection.write(Uint8Array.of(1, 2, 3)) === false,
      '`write` after `end` returned true',
    );
    await server.ended();
    assertBytes(server.received.view(), up, 'bytes before onEnd');
    check(server.closes === 0, 'the remote closed on end of stream, before it ended its own side');
    await server.writeAll(split(down, [65_536]));
    server.connection.end();
    await Promise.all([client.ended(), client.closed(), server.closed()]);
    assertBytes(client.received.view(), down, 'reply after the client ended');
    assertBytes(server.received.view(), up, 'bytes written after `end` were dropped');
    expectCleanClose(client);
    expectCleanClose(server);
  });

  test('`reset` closes the remote with `resetCode` and no `onEnd`', async (env, options) => {
    const { client, server } = await env.pair();
    client.write(Uint8Array.of(1));
    await server.receivedAtLeast(1);
    client.connection.reset();
    client.connection.reset();
    check(
      client.connection.write(Uint8Array.of(1)) === false,
      '`write` after `reset` returned true',
    );
    await Promise.all([client.closed(), server.closed()]);
    check(server.ends === 0, 'the remote saw onEnd after a reset');
    check(
      codeOf(server.closeError) === options.resetCode,
      `remote onClose: expected ${options.resetCode}, got ${codeOf(server.closeError) ?? String(server.closeError)}`,
    );
    check(
      server.connection.write(Uint8Array.of(1)) === false,
      '`write` after onClose returned true',
    );
  });

  test('`close` is idempotent and `onClose` comes exactly once on each side', async (env) => {
    const { client, server } = await env.pair();
    client.write(Uint8Array.of(1));
    await server.receivedAtLeast(1);
    client.connection.close();
    client.connection.close();
    client.connection.end();
    client.connection.reset();
    client.connection.pause();
    client.connection.resume();
    check(
      client.connection.write(Uint8Array.of(1)) === false,
      '`write` after `close` returned true',
    );
    await client.closed();
    expectCleanClose(client);
    await server.endedOrClosed();
    server.connection.close();
    server.connection.close();
    await server.closed();
    await env.roundTrip();
    check(
      client.closes === 1 && server.closes === 1,
      `onClose counts: ${client.closes}, ${server.closes}`,
    );
    check(server.received.length === 1, 'bytes written after `close` arrived');
  });

  test('`close` inside `onData` stops delivery at once', async (env) => {
    const { client, server } = await env.pair();
    server.onDataHook = () => server.connection.close();
    const writing = client
      .writeAll(split(pattern(15, 512 * KiB), [1000, 64 * KiB]))
      .catch(() => {});
    await server.closed();
    check(
      server.dataCalls === 1,
      `onData came ${server.dataCalls} times; close was called in the first`,
    );
    expectCleanClose(server);
    await client.endedOrClosed();
    client.connection.close();
    await writing;
  });

  test('a write to a connection the remote reset ends in `onClose` with an error code, never a throw', async (env) => {
    const { client, server } = await env.pair();
    client.onDataHook = () => client.connection.reset();
    const chunk = pattern(16, 64 * KiB);
    // Bounded, so that a transport that never reports the reset fails instead of looping.
    for (let written = 0; server.closes === 0; written += chunk.length) {
      check(
        written < 256 * MiB,
        `256 MiB written after the remote reset, no onClose (${server.describe()})`,
      );
      if (!server.write(chunk)) await server.drained();
      else if (written % (4 * MiB) === 0) await nextTurn();
    }
    check(server.ends === 0, 'the writer saw onEnd after the remote reset');
    check(
      codeOf(server.closeError) !== undefined,
      `onClose error without a code: ${String(server.closeError)}`,
    );
  });

  test('a connection closed without `start` is released and the dialer sees the end', async (env) => {
    const { client, server } = await env.pair(false);
    server.connection.close();
    server.connection.close();
    await client.endedOrClosed();
    client.connection.close();
    await client.closed();
  });

  test('bytes and `end` that arrive before `start` are delivered after it', async (env) => {
    const { client, server } = await env.pair(false);
    const data = pattern(17, 100 * KiB);
    for (const part of split(data, [10_000])) client.write(part);
    client.connection.end();
    await env.roundTrip();
    server.start();
    await server.ended();
    assertBytes(server.received.view(), data, 'bytes sent before start');
    server.connection.end();
    await Promise.all([server.closed(), client.closed()]);
    expectCleanClose(server);
  });

  test('a reset before `start` is reported once the handler is attached', async (env, options) => {
    const { client, server } = await env.pair(false);
    client.connection.reset();
    await client.closed();
    await env.roundTrip();
    server.start();
    await server.closed();
    check(
      codeOf(server.closeError) === options.resetCode,
      `expected ${options.resetCode}, got ${codeOf(server.closeError) ?? String(server.closeError)}`,
    );
  });

  test('a second `start` throws `ERR_ALREADY_STARTED` and changes nothing', async (env) => {
    const { client, server } = await env.pair();
    let thrown: unknown;
    try {
      server.connection.start(server);
    } catch (error) {
      thrown = error;
    }
    check(thrown instanceof Error, 'a second start() did not throw');
    check(
      codeOf(thrown) === 'ERR_ALREADY_STARTED',
      `a second start() threw ${codeOf(thrown) ?? 'no code'} (${String(thrown)}), not ERR_ALREADY_STARTED`,
    );
    // The connection goes on as before: bytes both ways, then a clean end.
    client.write(Uint8Array.of(1, 2, 3));
    await server.receivedAtLeast(3);
    server.write(Uint8Array.of(4));
    await client.receivedAtLeast(1);
    assertBytes(server.received.view(), Uint8Array.of(1, 2, 3), 'server received');
  });

  test('closing both sides releases every handle', async (env, options) => {
    await env.mainListener();
    const before = snapshotResources();
    const { client, server } = await env.pair();
    client.write(Uint8Array.of(1));
    await server.receivedAtLeast(1);
    client.connection.close();
    server.connection.close();
    await Promise.all([client.closed(), server.closed()]);
    if (options.checkResources) {
      await expectNoExtraResources(before, options.timeout, 'after both sides closed');
    }
  });
}

function registerConnectFailureTests(test: Register, options: ResolvedOptions): void {
  async function closedAddress(env: Env): Promise<string> {
    if (options.closedAddress !== undefined) {
      return bounded(options.closedAddress(), 'closedAddress()', options.timeout);
    }
    const open = await env.listen();
    await env.closeListener(open.listener);
    return open.target;
  }

  test('a connect to `closedAddress` rejects with `refusedCode` and leaves no handle behind', async (env) => {
    const target = await closedAddress(env);
    const before = snapshotResources();
    const error = await rejectionOf(env.connect(target), `connect to ${target}`, options.timeout);
    check(error instanceof Error, `rejected with a non-Error: ${String(error)}`);
    check(
      codeOf(error) === options.refusedCode,
      `expected code ${options.refusedCode}, got ${codeOf(error) ?? 'none'} (${String(error)})`,
    );
    if (options.checkResources)
      await expectNoExtraResources(before, options.timeout, 'failed connect');
  });

  test('a connect with an aborted signal rejects with the signal reason and leaves no handle behind', async (env) => {
    const open = await env.listen(undefined, true);
    const before = snapshotResources();
    const reason = new Error('aborted by the test');
    const error = await rejectionOf(
      env.connect(open.target, AbortSignal.abort(reason)),
      'connect with an aborted signal',
      options.timeout,
    );
    check(error === reason, `rejected with ${String(error)}, not the signal's reason`);
    if (options.checkResources)
      await expectNoExtraResources(before, options.timeout, 'aborted connect');
  });

  test('aborting a connect in flight rejects with the signal reason and leaves no handle behind', async (env) => {
    const open = await env.listen(undefined, true);
    const before = snapshotResources();
    const controller = new AbortController();
    const reason = new Error('aborted in flight');
    const connecting = env.connect(open.target, controller.signal);
    controller.abort(reason);
    const error = await rejectionOf(connecting, 'connect aborted in flight', options.timeout);
    check(error === reason, `rejected with ${String(error)}, not the signal's reason`);
    if (options.checkResources)
      await expectNoExtraResources(before, options.timeout, 'aborted connect');
  });

  const pendingAddress = options.pendingAddress ?? (() => '');
  test(
    'aborting a pending connect to `pendingAddress` rejects with the signal reason and leaves no handle behind',
    async (env) => {
      const target = await bounded(pendingAddress(), 'pendingAddress()', options.timeout);
      const before = snapshotResources();
      const controller = new AbortController();
      const reason = new Error('aborted while pending');
      let settled = false;
      const connecting = env.connect(target, controller.signal).finally(() => {
        settled = true;
      });
      for (let i = 0; i < 5; i++) await nextTurn();
      check(!settled, `the connect to pendingAddress ${target} settled before the abort`);
      controller.abort(reason);
      const error = await rejectionOf(connecting, 'pending connect', options.timeout);
      check(error === reason, `rejected with ${String(error)}, not the signal's reason`);
      if (options.checkResources)
        await expectNoExtraResources(before, options.timeout, 'aborted connect');
    },
    options.pendingAddress !== undefined,
  );

  test('an abort after the connect resolved leaves the connection working', async (env) => {
    const main = await env.mainListener();
    const controller = new AbortController();
    const client = env.side(await env.connect(main.target, controller.signal), 'client').start();
    const server = env.side(await main.accept(), 'server').start();
    controller.abort(new Error('too late'));
    client.write(Uint8Array.of(5));
    await server.receivedAtLeast(1);
    server.write(Uint8Array.of(6));
    await client.receivedAtLeast(1);
    check(client.closes === 0, 'the connection closed when its signal aborted after connect');
  });
}
