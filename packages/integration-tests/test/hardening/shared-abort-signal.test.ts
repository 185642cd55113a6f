/**
 * Many connects sharing one `AbortSignal`: the reactor puts one listener on the signal however
 * many connects share it, so Node never prints `MaxListenersExceededWarning` (the harness fails a
 * test on that warning), and the listener goes once the last of them is over.
 */
import { getEventListeners } from 'node:events';
import { tcpTransport } from '@peerlink/transport-tcp';
import { describe, expect, it } from 'vitest';
import { isType } from '../../../reactor/test/fixtures.js';
import { trapCodec } from './codecs.js';
import { until, useHardening } from './guard.js';
import { memoryNet } from './nets.js';

const h = useHardening();

describe('100 concurrent connects sharing one AbortSignal', () => {
  it('over TCP: put one listener on the signal, print no MaxListenersExceededWarning, and leave no listener', async () => {
    const server = h.reactor({ codec: trapCodec, transport: tcpTransport(), name: 'server' });
    const [address] = await server.r.listen('127.0.0.1:0');
    const client = h.reactor({ codec: trapCodec, transport: tcpTransport(), name: 'client' });
    const controller = new AbortController();
    const connects = Array.from({ length: 100 }, () =>
      client.r.connect(address!, { signal: controller.signal }),
    );
    expect(getEventListeners(controller.signal, 'abort').length).toBeLessThanOrEqual(1);
    const peers = await Promise.all(connects);
    expect(new Set(peers).size).toBe(100);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    await until(() => server.r.peerCount === 100, 'the server to accept 100 peers');
    // Let a warning emitted on the next tick reach the harness.
    await new Promise((resolve) => setImmediate(resolve));
  });

  it('on the memory network (blackholed): one abort fails all 100 with ERR_ABORTED and removes the listener', async () => {
    const n = memoryNet(h);
    n.network.link({ to: 'void' }, { faults: [{ kind: 'blackhole' }] });
    const client = h.reactor({ codec: trapCodec, transport: n.transport() });
    const controller = new AbortController();
    const connects = Array.from({ length: 100 }, (_, i) =>
      client.r.connect(`void:${i + 1}`, { signal: controller.signal }),
    );
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    expect(client.r.stats().pendingConnects).toBe(100);
    controller.abort(new Error('enough'));
    for (const c of connects) await expect(c).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    expect(client.rec.events.filter(isType('connect-failed'))).toHaveLength(100);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    expect(client.r.stats().pendingConnects).toBe(0);
    // A connect given the signal after it aborted fails at once, adding no listener.
    await expect(client.r.connect('void:1', { signal: controller.signal })).rejects.toMatchObject({
      code: 'ERR_ABORTED',
    });
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    await new Promise((resolve) => setImmediate(resolve));
  });
});
