/**
 * Durations past the longest timer (2^31 − 1 ms): `setTimeout` fires such a delay after 1 ms, so
 * every duration option is either refused (`ERR_INVALID_CONFIG` naming the field) or a documented
 * "never" (`Infinity`) that runs no timer at all.
 */
import { Reactor } from '@peerlink/reactor';
import { tcpTransport } from '@peerlink/transport-tcp';
import { describe, expect, it } from 'vitest';
import { bytesCodec, isType, pattern } from '../../../reactor/test/fixtures.js';
import { trapCodec } from './codecs.js';
import { useHardening } from './guard.js';
import { memoryNet, type TestNet, tcpNet } from './nets.js';

const h = useHardening();
const LONGEST = 2 ** 31 - 1;

/** A promise's state after the macrotasks that are due have run. */
async function settledYet(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  promise.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  await new Promise((resolve) => setImmediate(resolve));
  return settled;
}

describe('durations past the longest timer', () => {
  it('refuses a `connectTimeout` above 2^31 − 1 ms with ERR_INVALID_CONFIG naming it, instead of timing out every connect at once', () => {
    for (const connectTimeout of [2 ** 31, 2 ** 40, Number.MAX_SAFE_INTEGER]) {
      expect(
        () =>
          new Reactor({ codec: trapCodec, transport: tcpTransport(), config: { connectTimeout } }),
      ).toThrow(
        expect.objectContaining({
          code: 'ERR_INVALID_CONFIG',
          message: expect.stringMatching(/^connectTimeout: /),
        }),
      );
    }
  });

  it('keeps a connect with `connectTimeout` 2^31 − 1 or `Infinity` pending (memory blackhole) until its signal aborts it', async () => {
    const n = memoryNet(h);
    n.network.link({ to: 'void' }, { faults: [{ kind: 'blackhole' }] });
    for (const connectTimeout of [LONGEST, Number.POSITIVE_INFINITY]) {
      const r = h.reactor({
        codec: trapCodec,
        transport: n.transport(),
        config: { connectTimeout },
      });
      const controller = new AbortController();
      const pending = r.r.connect('void:1', { signal: controller.signal });
      // Past the 1 ms after which an overflowing timer fires.
      await new Promise((resolve) => setTimeout(resolve, 30));
      expect(await settledYet(pending), `connectTimeout ${connectTimeout}`).toBe(false);
      expect(r.r.stats().pendingConnects).toBe(1);
      controller.abort();
      await expect(pending).rejects.toMatchObject({ code: 'ERR_ABORTED' });
      expect(r.rec.events.filter(isType('connect-failed'))).toHaveLength(1);
    }
  });

  it('connects over TCP with `connectTimeout: Infinity` and leaves no timer behind', async () => {
    const server = h.reactor({ codec: trapCodec, transport: tcpTransport(), name: 'server' });
    const [address] = await server.r.listen('127.0.0.1:0');
    const client = h.reactor({
      codec: trapCodec,
      transport: tcpTransport(),
      config: { connectTimeout: Number.POSITIVE_INFINITY },
    });
    const peer = await client.r.connect(address!);
    expect(client.r.peerIds).toEqual([peer]);
    // The harness checks after the test that no `Timeout` outlives the reactors.
  });

  it('refuses `housekeepingInterval` values that are not 1 to 2^31 − 1 ms, and `shrinkInterval` values that are not positive', () => {
    const base = { codec: trapCodec, transport: tcpTransport() };
    const bad: unknown[] = [0, -1, Number.NaN, '100', 2 ** 31, Number.POSITIVE_INFINITY, {}];
    for (const housekeepingInterval of bad) {
      expect(
        () => new Reactor({ ...base, housekeepingInterval: housekeepingInterval as number }),
        String(housekeepingInterval),
      ).toThrow(
        expect.objectContaining({
          code: 'ERR_INVALID_CONFIG',
          message: expect.stringMatching(/^housekeepingInterval: /),
        }),
      );
    }
    for (const shrinkInterval of [0, -1, Number.NaN, '100', {}]) {
      expect(
        () => new Reactor({ ...base, shrinkInterval: shrinkInterval as number }),
        String(shrinkInterval),
      ).toThrow(
        expect.objectContaining({
          code: 'ERR_INVALID_CONFIG',
          message: expect.stringMatching(/^shrinkInterval: /),
        }),
      );
    }
    // `Infinity` never shrinks; a long finite interval is only counted, never a timer.
    for (const shrinkInterval of [Number.POSITIVE_INFINITY, 2 ** 40]) {
      const r = new Reactor({ ...base, shrinkInterval });
      h.defer(() => r.shutdown());
    }
  });

  it('refuses a `flushTimeout` that is not 0 to 2^31 − 1 ms or `Infinity` (the reactor keeps running)', async () => {
    const r = h.reactor({ codec: trapCodec, transport: tcpTransport() });
    for (const flushTimeout of [-1, Number.NaN, '5', 2 ** 31, {}]) {
      await expect(
        r.r.shutdown({ flushTimeout: flushTimeout as number }),
        String(flushTimeout),
      ).rejects.toMatchObject({
        code: 'ERR_INVALID_CONFIG',
        message: expect.stringMatching(/^flushTimeout: /),
      });
    }
    // Not shut down by a refused call.
    const [address] = await r.r.listen('127.0.0.1:0');
    expect(address).toMatch(/^127\.0\.0\.1:\d+$/);
  });
});

const nets: Array<[string, () => TestNet]> = [
  ['TCP', () => tcpNet(h)],
  ['the memory network', () => memoryNet(h, { seed: 3, defaults: { capacity: 64 * 1024 } })],
];

describe.each(nets)('shutdown({ flushTimeout: Infinity }) over %s', (_name, makeNet) => {
  it('flushes until everything queued is delivered, however long the reader takes', async () => {
    const n = makeNet();
    const server = h.reactor({ codec: bytesCodec, transport: n.transport(), name: 'server' });
    const [address] = await server.r.listen(n.listenAddress);
    const raw = await n.raw(address!);
    raw.pause();
    const accepted = (await server.rec.waitFor(isType('accepted'))) as { peer: number };
    // More than kernel buffers take: most of it waits in the reactor when shutdown begins.
    const messages = Array.from({ length: 16 }, (_, i) => pattern(1024 * 1024, i));
    for (const m of messages) expect(server.r.send(accepted.peer, m)).toBe('queued');
    await new Promise((resolve) => setImmediate(resolve));
    const done = server.r.shutdown({ flushTimeout: Number.POSITIVE_INFINITY });
    // Longer than an overflowing timer (1 ms): the shutdown is still flushing.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await settledYet(done)).toBe(false);
    raw.resume();
    await raw.ended;
    raw.end();
    await done;
    expect(raw.received).toBe(16 * (1024 * 1024 + 4));
    const got = raw.bytes();
    for (let i = 0; i < messages.length; i++) {
      const at = i * (1024 * 1024 + 4) + 4;
      expect(
        Buffer.from(got.subarray(at, at + 1024 * 1024)).equals(messages[i]!),
        `message ${i}`,
      ).toBe(true);
    }
  });

  it('still resets a peer whose data stops leaving, after `txTimeout`, so the flush cannot hang', async () => {
    const n = makeNet();
    const server = h.reactor({
      codec: bytesCodec,
      transport: n.transport(),
      name: 'server',
      config: { txTimeout: 200 },
      housekeepingInterval: 20,
    });
    const [address] = await server.r.listen(n.listenAddress);
    const raw = await n.raw(address!);
    raw.pause();
    const accepted = (await server.rec.waitFor(isType('accepted'))) as { peer: number };
    for (let i = 0; i < 16; i++) server.r.send(accepted.peer, pattern(1024 * 1024, i));
    await server.r.shutdown({ flushTimeout: Number.POSITIVE_INFINITY });
    expect(server.r.stats()).toMatchObject({ peers: 0, closing: 0 });
    raw.resume();
    await raw.gone;
  });
});
