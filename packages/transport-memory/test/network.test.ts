import type { Connection, ListenHandler } from '@peerlink/stream';
import { MemoryNetwork, VirtualScheduler } from '@peerlink/transport-memory';
import { describe, expect, it } from 'vitest';
import { compareBytes, pattern, Recorder, startBoth } from './helpers.js';

/** A listen handler that queues accepted connections for the test to take. */
function acceptor(): ListenHandler & { next(): Promise<Connection>; count: number } {
  const ready: Connection[] = [];
  const waiting: ((c: Connection) => void)[] = [];
  return {
    count: 0,
    onConnection(connection) {
      this.count++;
      const w = waiting.shift();
      if (w) w(connection);
      else ready.push(connection);
    },
    next() {
      const c = ready.shift();
      return c ? Promise.resolve(c) : new Promise((resolve) => waiting.push(resolve));
    },
  };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('MemoryNetwork: listen and connect', () => {
  it('connects by name, with addresses that match on both sides', async () => {
    const net = new MemoryNetwork();
    const nodeA = net.transport('node-a');
    const nodeB = net.transport('node-b');
    const accept = acceptor();
    const listener = await nodeB.listen('node-b:1', accept);
    expect(listener.address).toBe('node-b:1');
    const [a, b] = await Promise.all([nodeA.connect('node-b:1'), accept.next()]);
    expect(a.remoteAddress).toBe('node-b:1');
    expect(b.localAddress).toBe('node-b:1');
    expect(b.remoteAddress).toBe(a.localAddress);
    expect(a.localAddress).toMatch(/^node-a:\d+$/);
    const [ra, rb] = startBoth(a, b);
    a.write(pattern(10_000));
    b.write(pattern(300, 3));
    await Promise.all([rb.untilBytes(10_000), ra.untilBytes(300)]);
    expect(compareBytes(rb.bytes(), pattern(10_000))).toBe('equal');
    expect(compareBytes(ra.bytes(), pattern(300, 3))).toBe('equal');
    a.close();
    await Promise.all([ra.untilClosed(), rb.untilClosed()]);
    expect(net.stats()).toEqual({ listeners: 1, connections: 0, pendingConnects: 0 });
    await listener.close();
    await listener.close(); // idempotent
    expect(net.stats().listeners).toBe(0);
  });

  it('allocates a port for port 0 and reports it', async () => {
    const net = new MemoryNetwork();
    const t = net.transport('host');
    const l1 = await t.listen('host:0', acceptor());
    const l2 = await t.listen('host:0', acceptor());
    const [, p1] = l1.address.split(':');
    expect(Number(p1)).toBeGreaterThan(0);
    expect(l2.address).not.toBe(l1.address);
    const v6 = await t.listen('[::1]:0', acceptor());
    expect(v6.address).toMatch(/^\[::1\]:\d+$/);
    const accept = acceptor();
    const l3 = await t.listen('host:0', accept);
    const [conn] = await Promise.all([t.connect(l3.address), accept.next()]);
    expect(conn.remoteAddress).toBe(l3.address);
    conn.close();
  });

  it('reports the bound address of a wildcard listen and accepts connects to its node and loopback', async () => {
    const net = new MemoryNetwork();
    const node = net.transport('node-a');
    const other = net.transport('node-b');
    const accept = acceptor();
    const l = await node.listen('0.0.0.0:0', accept);
    expect(l.address).toMatch(/^0\.0\.0\.0:\d+$/);
    const port = l.address.split(':')[1];
    for (const [t, target] of [
      [node, `127.0.0.1:${port}`],
      [node, `[::1]:${port}`],
      [other, `node-a:${port}`],
    ] as const) {
      const [a, b] = await Promise.all([t.connect(target), accept.next()]);
      expect(b.localAddress).toBe(target);
      a.close();
    }
    expect(await rejection(other.connect(`127.0.0.1:${port}`))).toMatchObject({
      code: 'ECONNREFUSED',
    });
  });

  it('rejects a second listen on the same address with `EADDRINUSE`, and frees it on close', async () => {
    const net = new MemoryNetwork();
    const t = net.transport();
    const l = await t.listen('x:7', acceptor());
    expect(await rejection(t.listen('x:7', acceptor()))).toMatchObject({ code: 'EADDRINUSE' });
    await l.close();
    const again = await t.listen('x:7', acceptor());
    expect(again.address).toBe('x:7');
  });

  it('refuses a connect with `ECONNREFUSED` when nobody listens, leaving nothing behind', async () => {
    const net = new MemoryNetwork();
    const error = await rejection(net.transport().connect('nobody:1'));
    expect(error).toMatchObject({ code: 'ECONNREFUSED' });
    expect(net.stats()).toEqual({ listeners: 0, connections: 0, pendingConnects: 0 });
  });

  it('refuses a connect to a listener that has closed', async () => {
    const net = new MemoryNetwork();
    const t = net.transport();
    const accept = acceptor();
    const l = await t.listen('srv:1', accept);
    await l.close();
    expect(await rejection(t.connect('srv:1'))).toMatchObject({ code: 'ECONNREFUSED' });
    expect(accept.count).toBe(0);
  });

  it('rejects a malformed address with `ERR_INVALID_ARGUMENT`', async () => {
    const t = new MemoryNetwork().transport();
    expect(await rejection(t.connect('no-port'))).toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    expect(await rejection(t.listen('::1:5', acceptor()))).toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    });
  });

  it('keeps networks apart: no state is shared between instances', async () => {
    const one = new MemoryNetwork();
    const two = new MemoryNetwork();
    await one.transport().listen('shared:1', acceptor());
    await two.transport().listen('shared:1', acceptor());
    expect(await rejection(new MemoryNetwork().transport().connect('shared:1'))).toMatchObject({
      code: 'ECONNREFUSED',
    });
  });

  it('resets the connector when onConnection throws, and reports the error to onError', async () => {
    const net = new MemoryNetwork();
    const t = net.transport();
    const errors: Error[] = [];
    await t.listen('srv:1', {
      onConnection() {
        throw new Error('boom');
      },
      onError: (e) => errors.push(e),
    });
    const a = await t.connect('srv:1');
    const ra = new Recorder();
    a.start(ra);
    await ra.untilClosed();
    expect(ra.closeError).toMatchObject({ code: 'ECONNRESET' });
    expect(errors.map((e) => e.message)).toEqual(['boom']);
  });
});

describe('MemoryNetwork: connect faults and abort', () => {
  it('refuses with `ECONNREFUSED` under a `refuse` fault even with a listener', async () => {
    const net = new MemoryNetwork().link({ to: 'srv' }, { faults: [{ kind: 'refuse' }] });
    const t = net.transport();
    const accept = acceptor();
    await t.listen('srv:1', accept);
    await t.listen('other:1', acceptor());
    expect(await rejection(t.connect('srv:1'))).toMatchObject({ code: 'ECONNREFUSED' });
    expect(accept.count).toBe(0);
    const ok = await t.connect('other:1');
    ok.close();
  });

  it('never completes a connect under `blackhole`; abort rejects with `signal.reason` and leaves nothing', async () => {
    const net = new MemoryNetwork().link({ to: 'void:1' }, { faults: [{ kind: 'blackhole' }] });
    const t = net.transport();
    const accept = acceptor();
    await t.listen('void:1', accept);
    const controller = new AbortController();
    const attempt = t.connect('void:1', { signal: controller.signal });
    expect(net.stats().pendingConnects).toBe(1);
    const reason = new Error('timed out');
    controller.abort(reason);
    expect(await rejection(attempt)).toBe(reason);
    expect(net.stats()).toEqual({ listeners: 1, connections: 0, pendingConnects: 0 });
    expect(accept.count).toBe(0);
  });

  it('rejects at once with `signal.reason` when the signal is already aborted', async () => {
    const net = new MemoryNetwork();
    const t = net.transport();
    const accept = acceptor();
    await t.listen('srv:1', accept);
    const reason = new Error('cancelled');
    expect(await rejection(t.connect('srv:1', { signal: AbortSignal.abort(reason) }))).toBe(reason);
    expect(net.stats().pendingConnects).toBe(0);
    expect(accept.count).toBe(0);
  });

  it('aborts during the handshake: nothing is accepted and no timer is left', async () => {
    const scheduler = new VirtualScheduler();
    const net = new MemoryNetwork({ scheduler, defaults: { latency: 100 } });
    const t = net.transport();
    const accept = acceptor();
    await t.listen('srv:1', accept);
    const controller = new AbortController();
    const attempt = t.connect('srv:1', { signal: controller.signal });
    expect(scheduler.pendingTimers).toBe(1);
    controller.abort();
    expect(await rejection(attempt)).toBe(controller.signal.reason);
    expect(scheduler.pendingTimers).toBe(0);
    expect(accept.count).toBe(0);
  });

  it('ignores an abort after the connect completed', async () => {
    const net = new MemoryNetwork();
    const t = net.transport();
    const accept = acceptor();
    await t.listen('srv:1', accept);
    const controller = new AbortController();
    const a = await t.connect('srv:1', { signal: controller.signal });
    controller.abort();
    const b = await accept.next();
    const [ra, rb] = startBoth(a, b);
    a.write(pattern(5));
    await rb.untilBytes(5);
    a.close();
    await ra.untilClosed();
  });

  it('completes a connect after one round trip of `latency`', async () => {
    const scheduler = new VirtualScheduler();
    const net = new MemoryNetwork({ scheduler });
    net.link({ from: 'far' }, { latency: 40 });
    const far = net.transport('far');
    const near = net.transport('near');
    await near.listen('srv:1', acceptor());
    await far.connect('srv:1');
    expect(scheduler.now()).toBe(80);
    await near.connect('srv:1');
    expect(scheduler.now()).toBe(80);
  });
});

describe('MemoryNetwork: link rules and stream faults', () => {
  it('applies rules matched by `from` and `to`, later rules overriding earlier ones', async () => {
    const net = new MemoryNetwork({ defaults: { chunking: false } })
      .link({ to: 'srv' }, { chunking: { max: 1 } })
      .link({ from: 'special', to: 'srv:1' }, { chunking: { min: 2, max: 2 } });
    const plain = net.transport('plain');
    const special = net.transport('special');
    const accept = acceptor();
    await net.transport('srv').listen('srv:1', accept);
    await net.transport('srv').listen('srv2:1', acceptor());
    const sizesFor = async (t: typeof plain, target: string, next: () => Promise<Connection>) => {
      const [a, b] = await Promise.all([t.connect(target), next()]);
      const [, rb] = startBoth(a, b);
      a.write(pattern(10));
      await rb.untilBytes(10);
      a.close();
      return rb.sizes();
    };
    expect(await sizesFor(plain, 'srv:1', () => accept.next())).toEqual(new Array(10).fill(1));
    expect(await sizesFor(special, 'srv:1', () => accept.next())).toEqual([2, 2, 2, 2, 2]);
  });

  it('resets mid-stream after `afterBytes` on a matched link', async () => {
    const net = new MemoryNetwork({ seed: 5 });
    net.link(
      { to: 'srv:1' },
      { faults: [{ kind: 'reset', afterBytes: 700, direction: 'b-to-a' }] },
    );
    const t = net.transport();
    const accept = acceptor();
    await t.listen('srv:1', accept);
    const [a, b] = await Promise.all([t.connect('srv:1'), accept.next()]);
    const [ra, rb] = startBoth(a, b);
    b.write(pattern(3000));
    await Promise.all([ra.untilClosed(), rb.untilClosed()]);
    expect(ra.received).toBe(700);
    expect(ra.closeError).toMatchObject({ code: 'ECONNRESET' });
    expect(rb.closeError).toMatchObject({ code: 'ECONNRESET' });
    expect(net.stats().connections).toBe(0);
  });

  it('stalls a link: writes are accepted, nothing is delivered, the writer stops seeing drains', async () => {
    const net = new MemoryNetwork({ defaults: { capacity: 4096 } });
    net.link({}, { faults: [{ kind: 'stall' }] });
    const t = net.transport();
    const accept = acceptor();
    await t.listen('srv:1', accept);
    const [a, b] = await Promise.all([t.connect('srv:1'), accept.next()]);
    const [ra, rb] = startBoth(a, b);
    let writes = 0;
    while (writes < 100 && a.write(pattern(1000))) writes++;
    expect(writes).toBe(4); // the fifth reaches `capacity` (4096)
    b.write(pattern(10));
    await ra.untilBytes(10);
    expect(rb.received).toBe(0);
    expect(ra.drains).toBe(0);
    a.close();
    b.close();
    await Promise.all([ra.untilClosed(), rb.untilClosed()]);
  });

  it('half-closes a link: the listener side sees end of stream mid-stream', async () => {
    const net = new MemoryNetwork();
    net.link({}, { faults: [{ kind: 'half-close', afterBytes: 64 }] });
    const t = net.transport();
    const accept = acceptor();
    await t.listen('srv:1', accept);
    const [a, b] = await Promise.all([t.connect('srv:1'), accept.next()]);
    const [ra, rb] = startBoth(a, b);
    a.write(pattern(1000));
    await rb.untilEnded();
    expect(rb.received).toBe(64);
    expect(ra.events).toEqual([]);
    a.close();
    b.close();
    await Promise.all([ra.untilClosed(), rb.untilClosed()]);
  });
});

describe('MemoryNetwork: determinism', () => {
  /** A small multi-node exchange; returns a log of every delivery (time, link, size). */
  async function scenario(seed: number, scheduler?: VirtualScheduler): Promise<string[]> {
    const net = new MemoryNetwork({
      seed,
      ...(scheduler ? { scheduler } : {}),
      defaults: { latency: scheduler ? 3 : 0, jitter: scheduler ? 5 : 0, capacity: 1 << 20 },
    });
    const log: string[] = [];
    const server = net.transport('server');
    const done: Promise<void>[] = [];
    await server.listen('server:1', {
      onConnection(conn) {
        const r = new Recorder();
        r.onChunk = (chunk) => {
          log.push(
            `${scheduler ? scheduler.now().toFixed(3) : ''} ${conn.remoteAddress} ${chunk.length}`,
          );
          conn.write(chunk.slice());
        };
        conn.start(r);
        done.push(r.untilEnded().then(() => conn.end()));
      },
    });
    const clients = await Promise.all(
      ['c1', 'c2', 'c3'].map((name) => net.transport(name).connect('server:1')),
    );
    const echoes = clients.map((c, i) => {
      const r = new Recorder();
      c.start(r);
      for (let k = 0; k < 5; k++) c.write(pattern(3000 + 1000 * i, k));
      c.end();
      return r.untilClosed().then(() => {
        log.push(`client ${i} echoed ${r.received} in ${r.sizes().join(',')}`);
      });
    });
    await Promise.all(echoes);
    await Promise.all(done);
    return log;
  }

  it('replays the same run byte for byte for the same seed (real timers)', async () => {
    const first = await scenario(1234);
    expect(await scenario(1234)).toEqual(first);
    expect(await scenario(4321)).not.toEqual(first);
  });

  it('replays the same timing and interleaving for the same seed on a `VirtualScheduler`', async () => {
    const first = await scenario(99, new VirtualScheduler());
    expect(first.length).toBeGreaterThan(10);
    expect(await scenario(99, new VirtualScheduler())).toEqual(first);
    expect(await scenario(100, new VirtualScheduler())).not.toEqual(first);
  });
});
