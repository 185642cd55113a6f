import {
  type Connection,
  lengthPrefixed,
  MemoryNetwork,
  type PeerId,
  Reactor,
  type ReactorEvent,
  type Transport,
  tcpTransport,
} from 'peerlink';
import { afterEach, describe, expect, it } from 'vitest';
import { secureChannel } from '../src/secure-channel.js';

const codec = lengthPrefixed({ maxSize: 1024 * 1024 });
const text = (s: string) => new TextEncoder().encode(s);

const reactors: Reactor<Uint8Array>[] = [];
afterEach(async () => {
  await Promise.all(reactors.splice(0).map((r) => r.shutdown({ flushTimeout: 0 })));
});

/** A reactor whose events can be awaited. */
function node(transport: Transport, options: { upgrade?: boolean; upgradeTimeout?: number } = {}) {
  const events: ReactorEvent<Uint8Array>[] = [];
  const waiters: Array<
    [(e: ReactorEvent<Uint8Array>) => boolean, (e: ReactorEvent<Uint8Array>) => void]
  > = [];
  const reactor = new Reactor<Uint8Array>({
    codec,
    transport,
    ...(options.upgrade === false ? {} : { upgrade: secureChannel() }),
    ...(options.upgradeTimeout === undefined ? {} : { upgradeTimeout: options.upgradeTimeout }),
  });
  reactors.push(reactor);
  reactor.onEvent((event) => {
    events.push(event);
    for (const [i, [test, resolve]] of [...waiters.entries()].reverse()) {
      if (test(event)) {
        waiters.splice(i, 1);
        resolve(event);
      }
    }
  });
  const waitFor = (test: (e: ReactorEvent<Uint8Array>) => boolean) =>
    new Promise<ReactorEvent<Uint8Array>>((resolve) => {
      const found = events.find(test);
      if (found !== undefined) resolve(found);
      else waiters.push([test, resolve]);
    });
  return { reactor, events, waitFor };
}

const transports: Array<[string, () => { server: Transport; client: Transport; listen: string }]> =
  [
    ['TCP', () => ({ server: tcpTransport(), client: tcpTransport(), listen: '127.0.0.1:0' })],
    [
      'the memory network',
      () => {
        const network = new MemoryNetwork({ seed: 5 });
        return {
          server: network.transport('server'),
          client: network.transport('client'),
          listen: 'server:0',
        };
      },
    ],
  ];

describe.each(transports)('an encrypted channel (connection upgrade) over %s', (_name, make) => {
  it('carries messages both ways, inbound and outbound, large and small', async () => {
    const { server, client, listen } = make();
    const a = node(server);
    const b = node(client);
    const [address] = await a.reactor.listen(listen);
    const peer = await b.reactor.connect(address!);
    const accepted = await a.waitFor((e) => e.type === 'accepted');
    const large = new Uint8Array(100_000).map((_, i) => i * 13);
    expect(b.reactor.send(peer, text('hello'))).toBe('queued');
    expect(b.reactor.send(peer, large)).toBe('queued');
    const got = await a.waitFor((e) => e.type === 'message' && e.message.length === large.length);
    expect(got.type === 'message' && got.message).toEqual(large);
    expect(a.events.find((e) => e.type === 'message')).toMatchObject({ message: text('hello') });
    a.reactor.send((accepted as { peer: PeerId }).peer, text('and back'));
    expect(await b.waitFor((e) => e.type === 'message')).toMatchObject({
      message: text('and back'),
    });
  });

  it('refuses a peer that does not speak it: the inbound side reports ERR_UPGRADE_FAILED', async () => {
    const { server, client, listen } = make();
    const a = node(server);
    const plain = node(client, { upgrade: false });
    const [address] = await a.reactor.listen(listen);
    const peer = await plain.reactor.connect(address!);
    plain.reactor.send(peer, new Uint8Array(64)); // 68 bytes that are no hello
    const failed = await a.waitFor((e) => e.type === 'listen-error');
    expect(failed).toMatchObject({ error: { code: 'ERR_UPGRADE_FAILED' } });
    await plain.waitFor((e) => e.type === 'disconnected');
    expect(a.events.some((e) => e.type === 'accepted')).toBe(false);
  });

  it('fails an outbound connect whose upgrade does not finish in time (ERR_UPGRADE_TIMEOUT)', async () => {
    const { server, client, listen } = make();
    // Accepts, and never reads nor writes a byte.
    const held: Connection[] = [];
    const silent = await server.listen(listen, {
      onConnection(conn) {
        held.push(conn);
        conn.start({ onData() {}, onDrain() {}, onEnd() {}, onClose() {} });
      },
    });
    const b = node(client, { upgradeTimeout: 200 });
    const address = silent.address;
    await expect(b.reactor.connect(address)).rejects.toMatchObject({
      code: 'ERR_UPGRADE_TIMEOUT',
    });
    expect(await b.waitFor((e) => e.type === 'connect-failed')).toMatchObject({
      error: { code: 'ERR_UPGRADE_TIMEOUT' },
    });
    expect(b.reactor.peerCount).toBe(0);
    for (const conn of held) conn.close();
    await silent.close();
  });
});

describe('an encrypted channel on the wire', () => {
  it('shows only the hello in clear, and a tampered frame disconnects with ERR_UPGRADE_FAILED', async () => {
    const network = new MemoryNetwork({ seed: 9 });
    // A man in the middle: relays both ways, records what the client sends, flips one byte late.
    const a = node(network.transport('server'));
    const [address] = await a.reactor.listen('server:0');
    const seen: number[] = [];
    let tamper = false;
    await network.transport('mitm').listen('mitm:1', {
      onConnection(inbound: Connection) {
        void network
          .transport('relay')
          .connect(address!)
          .then((outbound) => {
            inbound.start({
              onData(chunk) {
                const copy = chunk.slice();
                seen.push(...copy);
                if (tamper) copy[copy.length - 1]! ^= 1;
                outbound.write(copy);
              },
              onDrain() {},
              onEnd: () => outbound.end(),
              onClose: () => outbound.close(),
            });
            outbound.start({
              onData: (chunk) => void inbound.write(chunk.slice()),
              onDrain() {},
              onEnd: () => inbound.end(),
              onClose: () => inbound.close(),
            });
          });
      },
    });
    const b = node(network.transport('client'));
    const peer = await b.reactor.connect('mitm:1');
    b.reactor.send(peer, text('a secret message'));
    const first = await a.waitFor((e) => e.type === 'message');
    expect(first).toMatchObject({ message: text('a secret message') });
    const wire = Buffer.from(seen);
    expect(wire.subarray(0, 4).toString()).toBe('PLS1');
    expect(wire.includes(Buffer.from('a secret message'))).toBe(false);

    tamper = true;
    b.reactor.send(peer, text('tampered'));
    const gone = await a.waitFor((e) => e.type === 'disconnected');
    expect(gone).toMatchObject({
      reason: { kind: 'error', error: { code: 'ERR_UPGRADE_FAILED' } },
    });
    expect(a.events.filter((e) => e.type === 'message')).toHaveLength(1);
  });
});
