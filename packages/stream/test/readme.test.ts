// The README's examples, run: a peer driver over a small TCP adapter, both on 127.0.0.1.
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import * as net from 'node:net';
import { lengthPrefixed } from '@peerlink/codec';
import { type Connection, type Listener, MessageStream } from '@peerlink/stream';
import { afterEach, describe, expect, test } from 'vitest';
import { drive } from './readme/drive.js';
import { netTransport } from './readme/net-transport.js';

const codec = lengthPrefixed({ maxSize: 1024 * 1024, prefix: 'varint' });
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function connectedPair(): Promise<[Connection, Connection]> {
  let accept!: (c: Connection) => void;
  const accepted = new Promise<Connection>((r) => {
    accept = r;
  });
  const listener: Listener = await netTransport.listen('127.0.0.1:0', { onConnection: accept });
  cleanup.push(() => listener.close());
  const client = await netTransport.connect(listener.address);
  const server = await accepted;
  cleanup.push(() => {
    client.close();
    server.close();
  });
  return [client, server];
}

describe('README examples', () => {
  test('the README shows the tested example files verbatim', () => {
    const read = (path: string) => readFileSync(new URL(path, import.meta.url), 'utf8');
    const readme = read('../README.md');
    for (const file of ['./readme/net-transport.ts', './readme/drive.ts']) {
      expect(readme.includes(`\`\`\`ts\n${read(file)}\`\`\``), file).toBe(true);
    }
  });

  test('the MessageStream example queues, polls and decodes "hello" with its wire size', () => {
    const codec = lengthPrefixed({ maxSize: 1024 * 1024 });
    const stream = new MessageStream(codec, { txTimeout: 10_000 });
    stream.queue(new TextEncoder().encode('hello'), performance.now());
    const bytes = stream.pollTransmit(performance.now());
    const got: [string, number][] = [];
    const error = stream.handleData(
      bytes!,
      (message, size) => {
        got.push([new TextDecoder().decode(message), size]);
      },
      0,
    );
    expect(error).toBeUndefined();
    expect(got).toEqual([['hello', 9]]);
  });

  test('two driven peers exchange messages both ways and close cleanly', async () => {
    const [a, b] = await connectedPair();
    const gotA: number[] = [];
    const gotB: number[] = [];
    let closeA!: (e: Error | undefined) => void;
    let closeB!: (e: Error | undefined) => void;
    const closedA = new Promise<Error | undefined>((r) => {
      closeA = r;
    });
    const closedB = new Promise<Error | undefined>((r) => {
      closeB = r;
    });
    const n = 2000;
    const peerA = drive(a, codec, {
      message: (m) => gotA.push(m.length) > 0,
      closed: closeA,
    });
    drive(b, codec, {
      message: (m) => gotB.push(m.length) > 0,
      closed: closeB,
    });
    for (let i = 0; i < n; i++) expect(peerA.send(new Uint8Array(i % 300))).toBe(true);
    peerA.end(); // b sees onEnd, ends its side; both close cleanly
    expect(await closedA).toBeUndefined();
    expect(await closedB).toBeUndefined();
    expect(gotB).toEqual(Array.from({ length: n }, (_, i) => i % 300));
    expect(gotA).toEqual([]);
  });

  test('a peer whose consumer is full pauses reading and loses nothing on `resume`', async () => {
    const [a, b] = await connectedPair();
    let taken = 0;
    let resolveDone!: () => void;
    const done = new Promise<void>((r) => {
      resolveDone = r;
    });
    const n = 5000;
    const sender = drive(a, codec, { message: () => true, closed: () => {} });
    const receiver = drive(b, codec, {
      message: (m) => {
        expect(m.length).toBe(100);
        taken++;
        if (taken === n) resolveDone();
        if (taken % 500 !== 0) return true;
        // Full: stop here, and take more on a later turn.
        setImmediate(() => receiver.resume());
        return false;
      },
      closed: () => {},
    });
    let sent = 0;
    const pump = () => {
      while (sent < n && sender.send(new Uint8Array(100).fill(sent % 256))) sent++;
      if (sent < n) setImmediate(pump);
    };
    pump();
    await done;
    expect(taken).toBe(n);
  });

  test('a peer that sends a frame above `maxSize` is reset by the receiver', async () => {
    const [a, b] = await connectedPair();
    const small = lengthPrefixed({ maxSize: 100, prefix: 'varint' });
    let closedB!: (e: Error | undefined) => void;
    const bClosed = new Promise<Error | undefined>((r) => {
      closedB = r;
    });
    let closedA!: (e: Error | undefined) => void;
    const aClosed = new Promise<Error | undefined>((r) => {
      closedA = r;
    });
    const warn = console.warn;
    console.warn = () => {};
    cleanup.push(() => {
      console.warn = warn;
    });
    drive(b, small, { message: () => true, closed: closedB });
    a.start({ onData() {}, onDrain() {}, onEnd() {}, onClose: closedA });
    a.write(Uint8Array.of(0xc8, 0x01)); // declares 200 bytes: refused on the prefix alone
    expect(await bClosed).toBeUndefined(); // our own reset closes us cleanly
    expect(((await aClosed) as { code?: string } | undefined)?.code).toBe('ECONNRESET');
  });

  test('`connect` rejects with the refusal `code`, and with the abort reason', async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((r) => server.close(() => r()));
    await expect(netTransport.connect(`127.0.0.1:${port}`)).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    });
    const reason = new Error('gave up');
    await expect(
      netTransport.connect(`127.0.0.1:${port}`, { signal: AbortSignal.abort(reason) }),
    ).rejects.toBe(reason);
  });

  test('`listen` on a bound address rejects with EADDRINUSE', async () => {
    const listener = await netTransport.listen('127.0.0.1:0', { onConnection: (c) => c.close() });
    cleanup.push(() => listener.close());
    await expect(
      netTransport.listen(listener.address, { onConnection() {} }),
    ).rejects.toMatchObject({
      code: 'EADDRINUSE',
    });
  });
});
