import { keep, Reactor } from '@peerlink/reactor';
import { tcpTransport } from '@peerlink/transport-tcp';
import { afterEach, describe, expect, it } from 'vitest';
import { keepCollector, smallCodec } from '../../reactor/test/fixtures.js';

const reactors: Reactor<Uint8Array>[] = [];
afterEach(async () => {
  await Promise.all(reactors.splice(0).map((r) => r.shutdown({ flushTimeout: 0 })));
});

describe('keep (TCP)', () => {
  it('reconnects to a node that restarts on the same port', async () => {
    const first = new Reactor({ codec: smallCodec, transport: tcpTransport() });
    const b = new Reactor({ codec: smallCodec, transport: tcpTransport() });
    reactors.push(b);
    const [address] = await first.listen('127.0.0.1:0');
    const c = keepCollector();
    const kept = keep(b, address!, {
      backoff: { initial: 5, max: 50 },
      onEvent: c.onEvent,
    });
    await c.nth((e) => e.type === 'connected');
    await first.shutdown({ flushTimeout: 0 });
    await c.nth((e) => e.type === 'retry'); // refused while nobody listens
    const second = new Reactor({ codec: smallCodec, transport: tcpTransport() });
    reactors.push(second);
    const accepted = new Promise<void>((resolve) =>
      second.onEvent((e) => {
        if (e.type === 'accepted') resolve();
      }),
    );
    await second.listen(address!);
    await c.nth((e) => e.type === 'connected', 2);
    await accepted;
    expect(c.events.find((e) => e.type === 'disconnected')).toMatchObject({
      reason: { kind: 'left' },
    });
    kept.unkeep();
  });
});
