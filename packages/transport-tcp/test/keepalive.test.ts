import net from 'node:net';
import { PeerlinkError } from '@peerlink/codec';
import { tcpTransport } from '@peerlink/transport-tcp';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { accepting, Cleanup } from './helpers.js';

const cleanup = new Cleanup();
afterEach(async () => {
  vi.restoreAllMocks();
  await cleanup.run();
});

/** Connects a pair through `transport` and returns the sockets `setKeepAlive` was called on. */
async function keepAliveCalls(options: Parameters<typeof tcpTransport>[0]) {
  const calls: Array<{ socket: net.Socket; args: unknown[] }> = [];
  const original = net.Socket.prototype.setKeepAlive;
  vi.spyOn(net.Socket.prototype, 'setKeepAlive').mockImplementation(function (
    this: net.Socket,
    ...args: unknown[]
  ) {
    calls.push({ socket: this, args });
    return original.apply(this, args as Parameters<typeof original>);
  });
  const transport = tcpTransport(options);
  const acc = await accepting(transport, '127.0.0.1:0');
  cleanup.add(() => acc.listener.close());
  cleanup.conn(await transport.connect(acc.listener.address));
  cleanup.conn(await acc.next());
  return calls;
}

describe('`keepAlive`', () => {
  it('turns TCP keep-alive on, with its delay, for connected and accepted sockets', async () => {
    const calls = await keepAliveCalls({ keepAlive: 15_000 });
    expect(calls.map((c) => c.args)).toEqual([
      [true, 15_000],
      [true, 15_000],
    ]);
    expect(new Set(calls.map((c) => c.socket)).size).toBe(2);
  });

  it('applies to the sockets of the `data` read mode as well', async () => {
    const calls = await keepAliveCalls({ keepAlive: 1000, readMode: 'data' });
    expect(calls).toHaveLength(2);
  });

  it('leaves the system default when not set, `false` or 0', async () => {
    for (const keepAlive of [undefined, false, 0] as const) {
      const calls = await keepAliveCalls(keepAlive === undefined ? {} : { keepAlive });
      expect(calls).toEqual([]);
      vi.restoreAllMocks();
    }
  });

  it('refuses a negative or non-finite delay with `ERR_INVALID_ARGUMENT`', () => {
    for (const keepAlive of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      try {
        tcpTransport({ keepAlive });
        expect.unreachable();
      } catch (error) {
        expect(PeerlinkError.isInstance(error) && error.code).toBe('ERR_INVALID_ARGUMENT');
        expect((error as Error).message).toMatch(/^keepAlive/);
      }
    }
  });
});
