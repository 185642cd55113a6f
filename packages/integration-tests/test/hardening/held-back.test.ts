/**
 * Faults that arrive while the event consumer lags: the reactor holds input back (reading
 * paused, the rest of a chunk kept undecoded) and must still deliver every valid message in
 * order before the one `disconnected` that the fault calls for.
 */
import { Reactor, type ReactorEvent } from '@peerlink/reactor';
import { tcpTransport } from '@peerlink/transport-tcp';
import { describe, expect, it } from 'vitest';
import { concat, Trap, trapCodec, trapFrame } from './codecs.js';
import { PeerLedger, until, useHardening } from './guard.js';
import { memoryNet, type TestNet, tcpNet } from './nets.js';

const h = useHardening();

const nets: Array<[string, () => TestNet]> = [
  ['TCP', () => tcpNet(h)],
  ['the memory network (seeded chunking)', () => memoryNet(h, { seed: 21 })],
];

type Ev = ReactorEvent<Uint8Array>;

/**
 * Iterates `r`'s events slowly: the returned function consumes them, one per macrotask, recording
 * each in `ledger`, until `stop` says so (or the iteration ends), and returns those it saw.
 */
function slowConsumer(
  r: Reactor<Uint8Array>,
  ledger: PeerLedger,
): (stop: (e: Ev) => boolean) => Promise<Ev[]> {
  const events = r.events();
  return async (stop) => {
    const seen: Ev[] = [];
    for (;;) {
      const { value, done } = await events.next();
      if (done) return seen;
      ledger.observe(value as ReactorEvent<unknown>);
      seen.push(value);
      if (stop(value)) return seen;
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
}

/** A server with a tiny event queue, consumed slowly (one event per macrotask). */
async function laggingServer(n: TestNet) {
  const r = new Reactor({ codec: trapCodec, transport: n.transport(), eventCapacity: 4 });
  const ledger = new PeerLedger();
  h.adopt(r, ledger, 'server');
  const [address] = await r.listen(n.listenAddress);
  const consumeUntil = slowConsumer(r, ledger);
  return { r, address: address!, consumeUntil };
}

const bodies = Array.from({ length: 200 }, (_, i) => [i & 0xff, (i >> 8) & 0xff, 7]);
const valid = concat(...bodies.map((b) => trapFrame(b)));

describe.each(nets)('faults behind a lagging consumer over %s', (_name, makeNet) => {
  it('delivers every valid message in order, then one codec violation', async () => {
    const n = makeNet();
    const { r, address, consumeUntil } = await laggingServer(n);
    const raw = await n.raw(address);
    raw.write(concat(valid, trapFrame([Trap.MALFORMED]), trapFrame([1])));
    const seen = await consumeUntil((e) => e.type === 'disconnected');
    const messages = seen.filter((e) => e.type === 'message').map((e) => Array.from(e.message));
    expect(messages).toEqual(bodies);
    expect(seen[seen.length - 1]).toMatchObject({
      type: 'disconnected',
      reason: { kind: 'codec-violation', error: { code: 'ERR_MALFORMED_MESSAGE' } },
    });
    expect(r.queuedEvents).toBe(0);
    await raw.gone;
  });

  it('delivers every message sent before the end of stream, then `left`', async () => {
    const n = makeNet();
    const { address, consumeUntil } = await laggingServer(n);
    const raw = await n.raw(address);
    raw.write(valid);
    raw.end();
    const seen = await consumeUntil((e) => e.type === 'disconnected');
    const messages = seen.filter((e) => e.type === 'message').map((e) => Array.from(e.message));
    expect(messages).toEqual(bodies);
    expect(seen[seen.length - 1]).toMatchObject({ type: 'disconnected', reason: { kind: 'left' } });
    await raw.gone;
  });
});

describe('faults behind a lagging consumer on the memory network', () => {
  it('delivers every message before a reset, then one `error` disconnect', async () => {
    const n = memoryNet(h, { seed: 22 });
    // Reset once every valid byte has been delivered: the reset lands while input is held back.
    n.network.link({ from: 'raw' }, { faults: [{ kind: 'reset', afterBytes: valid.length }] });
    const { address, consumeUntil } = await laggingServer(n);
    const raw = await n.raw(address);
    raw.write(concat(valid, trapFrame([9])));
    const seen = await consumeUntil((e) => e.type === 'disconnected');
    const messages = seen.filter((e) => e.type === 'message').map((e) => Array.from(e.message));
    expect(messages).toEqual(bodies);
    expect(seen[seen.length - 1]).toMatchObject({
      type: 'disconnected',
      reason: { kind: 'error', error: { code: 'ECONNRESET' } },
    });
    await raw.closed;
  });
});

describe('a transport that closes while input is held back (memory network)', () => {
  // The remote resets while the server holds its input back for a lagging consumer: the close
  // is kept until that input is delivered. A disconnect or shutdown before then must not wait
  // for an `onClose` that already came (shutdown used to hang forever here).
  async function heldBackAndClosed() {
    const n = memoryNet(h, { seed: 23 });
    const { r, address, consumeUntil } = await laggingServer(n);
    const raw = await n.raw(address);
    raw.write(valid);
    await until(() => r.stats({ peers: false }).pausedPeers === 1, 'the server to pause');
    raw.reset();
    await raw.closed;
    return { r, consumeUntil };
  }

  it('shuts down at once', async () => {
    const { r, consumeUntil } = await heldBackAndClosed();
    const started = performance.now();
    await r.shutdown({ flushTimeout: 5000 });
    expect(performance.now() - started).toBeLessThan(1000);
    expect(r.stats({ peers: false }).closing).toBe(0);
    // The held-back messages are still delivered, then the one `disconnected`.
    const seen = await consumeUntil(() => false);
    expect(seen.filter((e) => e.type === 'disconnected')).toHaveLength(1);
  });

  it('is released by a disconnect', async () => {
    const { r, consumeUntil } = await heldBackAndClosed();
    const [peer] = r.peerIds;
    expect(r.disconnect(peer!)).toBe(true);
    expect(r.stats({ peers: false })).toMatchObject({ peers: 0, closing: 0 });
    const seen = await consumeUntil((e) => e.type === 'disconnected');
    expect(seen[seen.length - 1]).toMatchObject({
      type: 'disconnected',
      reason: { kind: 'requested' },
    });
  });
});

describe('a hostile server behind a lagging consumer (TCP, outbound: the `onread` path)', () => {
  // Outbound TCP connections read through Node's `onread` (one shared buffer); pausing them
  // must never lose or reorder bytes either.
  async function laggingClient(send: (socket: import('node:net').Socket) => void) {
    const srv = await h.server(send);
    const port = (srv.address() as import('node:net').AddressInfo).port;
    const r = new Reactor({ codec: trapCodec, transport: tcpTransport(), eventCapacity: 4 });
    const ledger = new PeerLedger();
    h.adopt(r, ledger, 'client');
    const consumeUntil = slowConsumer(r, ledger);
    await r.connect(`127.0.0.1:${port}`);
    return consumeUntil;
  }

  it('delivers 20,000 messages in order, then one codec violation', async () => {
    // First body bytes stay below 0xf0 (the codec's trap bytes).
    const many = Array.from({ length: 20_000 }, (_, i) => [i % 200, (i >> 8) & 0xff, 1]);
    const consumeUntil = await laggingClient((s) => {
      s.write(concat(...many.map((b) => trapFrame(b)), trapFrame([Trap.MALFORMED])));
    });
    const seen = await consumeUntil((e) => e.type === 'disconnected');
    const messages = seen.filter((e) => e.type === 'message').map((e) => Array.from(e.message));
    expect(messages).toEqual(many);
    expect(seen[seen.length - 1]).toMatchObject({
      type: 'disconnected',
      reason: { kind: 'codec-violation' },
    });
  });

  it('delivers every message sent before the server ends the stream, then `left`', async () => {
    const consumeUntil = await laggingClient((s) => {
      s.end(valid);
    });
    const seen = await consumeUntil((e) => e.type === 'disconnected');
    const messages = seen.filter((e) => e.type === 'message').map((e) => Array.from(e.message));
    expect(messages).toEqual(bodies);
    expect(seen[seen.length - 1]).toMatchObject({ type: 'disconnected', reason: { kind: 'left' } });
  });
});
