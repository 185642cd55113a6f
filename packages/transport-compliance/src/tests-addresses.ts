import { codeOf } from '@peerlink/stream';
import { assertBytes, pattern, split } from './bytes.js';
import { expectAddress, KiB, portOf } from './expect.js';
import type { Env } from './harness.js';
import type { ResolvedOptions } from './options.js';
import { expectNoExtraResources, nextTurn, snapshotResources } from './resources.js';
import { bounded, check, rejectionOf } from './steps.js';
import type { Register } from './suite.js';

/** The suite's tests of listening (addresses, accepting, closing a listener) and of connects that fail. */
export function registerListenTests(test: Register, options: ResolvedOptions): void {
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

export function registerConnectFailureTests(test: Register, options: ResolvedOptions): void {
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
