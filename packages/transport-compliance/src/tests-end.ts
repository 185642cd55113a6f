import { codeOf } from '@peerlink/stream';
import { assertBytes, pattern, split } from './bytes.js';
import { expectCleanClose, KiB, MiB } from './expect.js';
import { expectNoExtraResources, nextTurn, snapshotResources } from './resources.js';
import { check } from './steps.js';
import type { Register } from './suite.js';

/** The suite's tests of ending: half-close, close, reset, and what each side sees. */
export function registerEndTests(test: Register): void {
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
