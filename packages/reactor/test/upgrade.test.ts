import { lengthPrefixed } from '@peerlink/codec';
import { Reactor, type Upgrade } from '@peerlink/reactor';
import { MemoryNetwork } from '@peerlink/transport-memory';
import { afterEach, describe, expect, it } from 'vitest';
import { isType, Recorder } from './fixtures.js';

const codec = lengthPrefixed({ maxSize: 1024 });
const reactors: Reactor<Uint8Array>[] = [];
afterEach(async () => {
  await Promise.all(reactors.splice(0).map((r) => r.shutdown({ flushTimeout: 0 })));
});

function reactor(
  network: MemoryNetwork,
  host: string,
  upgrade?: Upgrade,
  upgradeTimeout?: number,
  maxOutbound?: number,
) {
  const r = new Reactor({
    codec,
    transport: network.transport(host),
    ...(maxOutbound === undefined ? {} : { maxOutbound }),
    ...(upgrade === undefined ? {} : { upgrade }),
    ...(upgradeTimeout === undefined ? {} : { upgradeTimeout }),
  });
  reactors.push(r);
  return { reactor: r, events: new Recorder(r) };
}

/** A plaintext handshake: each side writes one byte, 0x42, and reads the other's. */
const greet: Upgrade = async (context) => {
  context.write(Uint8Array.of(0x42));
  const [byte] = await context.read(1);
  if (byte !== 0x42) throw new Error('no greeting');
};

describe('connection upgrades', () => {
  it('hand bytes that came with the handshake, unread, to the message stream', async () => {
    const network = new MemoryNetwork({ seed: 3, defaults: { chunking: false } });
    const infos: string[] = [];
    const seen: Upgrade = async (context) => {
      infos.push(`${context.direction}:${context.target ?? ''}`);
      await greet(context);
    };
    const server = reactor(network, 'server', seen);
    const [address] = await server.reactor.listen('server:0');
    // A raw client that sends its greeting and a whole message in one write.
    const conn = await network.transport('client').connect(address!);
    conn.start({ onData() {}, onDrain() {}, onEnd() {}, onClose() {} });
    conn.write(Uint8Array.of(0x42, 0, 0, 0, 5, 0x68, 0x65, 0x6c, 0x6c, 0x6f));
    const message = await server.events.waitFor(isType('message'));
    expect(message).toMatchObject({ message: new TextEncoder().encode('hello') });
    expect(infos).toEqual(['inbound:']);
    conn.close();
  });

  it('run on both sides: `connected` and `accepted` come after the handshake', async () => {
    const network = new MemoryNetwork({ seed: 4 });
    const order: string[] = [];
    const tracked: Upgrade = async (context) => {
      await greet(context);
      order.push(`${context.direction} upgraded`);
    };
    const server = reactor(network, 'server', tracked);
    const client = reactor(network, 'client', tracked);
    const [address] = await server.reactor.listen('server:0');
    const peer = await client.reactor.connect(address!);
    order.push('connected');
    expect(order.indexOf('outbound upgraded')).toBeLessThan(order.indexOf('connected'));
    await server.events.waitFor(isType('accepted'));
    expect(order).toContain('inbound upgraded');
    client.reactor.send(peer, Uint8Array.of(1, 2, 3));
    expect(await server.events.waitFor(isType('message'))).toMatchObject({
      message: Uint8Array.of(1, 2, 3),
    });
  });

  it('are aborted by shutdown: the connect fails with ERR_SHUTDOWN', async () => {
    const network = new MemoryNetwork({ seed: 5 });
    const raw = await network.transport('server').listen('server:0', {
      onConnection: (conn) => conn.start({ onData() {}, onDrain() {}, onEnd() {}, onClose() {} }),
    });
    const client = reactor(network, 'client', greet);
    const connecting = client.reactor.connect(raw.address);
    await new Promise((resolve) => setImmediate(resolve));
    await client.reactor.shutdown({ flushTimeout: 0 });
    await expect(connecting).rejects.toMatchObject({ code: 'ERR_SHUTDOWN' });
    await raw.close();
  });

  it('refuse a throwing upgrade on the inbound side with a listen-error, and never admit it', async () => {
    const network = new MemoryNetwork({ seed: 6 });
    const server = reactor(network, 'server', async () => {
      throw new Error('no');
    });
    const [address] = await server.reactor.listen('server:0');
    const client = reactor(network, 'client');
    const peer = await client.reactor.connect(address!);
    expect(await server.events.waitFor(isType('listen-error'))).toMatchObject({
      error: { code: 'ERR_UPGRADE_FAILED', cause: { message: 'no' } },
    });
    await client.events.waitFor(isType('disconnected', peer));
    expect(server.events.events.filter(isType('accepted'))).toHaveLength(0);
  });

  it('count against `maxOutbound` while they run', async () => {
    const network = new MemoryNetwork({ seed: 7 });
    let release: () => void = () => {};
    let started: () => void = () => {};
    const upgradeStarted = new Promise<void>((resolve) => {
      started = resolve;
    });
    const upgrading: Upgrade = async () => {
      started();
      await new Promise<void>((resolve) => {
        release = resolve;
      });
    };
    const server = reactor(network, 'server');
    const [address] = await server.reactor.listen('server:0');
    const client = reactor(network, 'client', upgrading, undefined, 1);
    const first = client.reactor.connect(address!);
    await upgradeStarted;
    await expect(client.reactor.connect(address!)).rejects.toMatchObject({
      code: 'ERR_OUTBOUND_LIMIT',
    });
    release();
    await expect(first).resolves.toBeGreaterThan(0);
  });

  it('refuses an `upgradeTimeout` that is not a whole number of ms from 1 to 2^31 − 1', () => {
    const network = new MemoryNetwork();
    for (const upgradeTimeout of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31]) {
      expect(() => reactor(network, 'a', greet, upgradeTimeout)).toThrow(
        expect.objectContaining({
          code: 'ERR_INVALID_CONFIG',
          message: expect.stringMatching(/^upgradeTimeout/),
        }),
      );
    }
    // The longest delay a timer takes is accepted.
    expect(() => reactor(network, 'b', greet, 2 ** 31 - 1)).not.toThrow();
  });
});
