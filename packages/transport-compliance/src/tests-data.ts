import { assertBytes, pattern, split } from './bytes.js';
import { handled, KiB, MiB, WRITE_SIZES } from './expect.js';
import { nextTurn } from './resources.js';
import { check } from './steps.js';
import type { Register } from './suite.js';

/** The suite's tests of data: bytes intact and in order, backpressure (write, drain), pause and resume. */
export function registerDataTests(test: Register): void {
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
      check(
        released.size === 0,
        `releasesWrites is not true, yet ${released.size} writes were released`,
      );
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

export function registerBackpressureTests(test: Register): void {
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

export function registerPauseTests(test: Register): void {
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
