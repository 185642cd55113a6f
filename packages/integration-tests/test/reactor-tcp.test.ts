import { spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { type Codec, decoded, incomplete } from '@peerlink/codec';
import { Reactor } from '@peerlink/reactor';
import type { StreamConfigOptions } from '@peerlink/stream';
import { tcpTransport } from '@peerlink/transport-tcp';
import { afterEach, describe, expect, it } from 'vitest';
import {
  bytesCodec,
  isType,
  pattern,
  ping,
  pingPongCodec,
  Recorder,
  smallCodec,
} from '../../reactor/test/fixtures.js';
import { reactorSuite } from '../../reactor/test/suite.js';

reactorSuite('TCP (IPv4)', { transport: () => tcpTransport(), listenAddress: '127.0.0.1:0' });

describe('reactor over TCP against hostile and faulty peers', () => {
  const cleanup: Array<() => unknown> = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f();
  });

  async function server<M>(codec: Codec<M>, config?: StreamConfigOptions, eventCapacity?: number) {
    const r = new Reactor<M>({
      codec,
      transport: tcpTransport(),
      ...(config ? { config } : {}),
      ...(eventCapacity ? { eventCapacity } : {}),
    });
    cleanup.push(() => r.shutdown({ flushTimeout: 0 }));
    const [address] = await r.listen('127.0.0.1:0');
    const port = Number(address!.split(':')[1]);
    return { r, address: address!, port };
  }

  async function raw(port: number): Promise<net.Socket> {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.on('error', () => {});
    cleanup.push(() => s.destroy());
    await once(s, 'connect');
    return s;
  }

  it('delivers valid messages in order, then reports one codec violation for malformed bytes', async () => {
    const { r, port } = await server(pingPongCodec);
    const rec = new Recorder(r);
    const s = await raw(port);
    const good = Buffer.concat(
      [0, 1, 2].map((n) => Buffer.from([...Buffer.from('ping'), n, 0, 0, 0, 0, 0, 0, 0])),
    );
    s.write(Buffer.concat([good, Buffer.from('xxxxxxxxxxxx')]));
    const d = await rec.waitFor(isType('disconnected'));
    expect(d).toMatchObject({
      reason: { kind: 'codec-violation', error: { code: 'ERR_MALFORMED_MESSAGE' } },
    });
    const peer = (d as { peer: number }).peer;
    expect(rec.messagesFrom(peer).map((m) => Number(m.n))).toEqual([0, 1, 2]);
    expect(rec.disconnects(peer)).toHaveLength(1);
    await once(s, 'close');
  });

  it('reports a length prefix above `maxSize` as a violation before any body arrives', async () => {
    const { r, port } = await server(smallCodec);
    const rec = new Recorder(r);
    const s = await raw(port);
    s.write(Buffer.from([0x7f, 0, 0, 0])); // declares ~2 GiB; no body follows
    const d = await rec.waitFor(isType('disconnected'));
    expect(d).toMatchObject({
      reason: { kind: 'codec-violation', error: { code: 'ERR_MALFORMED_MESSAGE' } },
    });
  });

  it('cuts off a codec that never finds a message end once the receive limit is reached', async () => {
    // A newline-delimited codec: junk without newlines can only grow the buffer.
    const lines: Codec<string> = {
      maxSize: 4096,
      encode: (m, sink) => sink.writeUtf8(`${m}\n`),
      decode: (bytes) => {
        const nl = bytes.indexOf(10);
        return nl < 0
          ? incomplete()
          : decoded(new TextDecoder().decode(bytes.subarray(0, nl)), nl + 1);
      },
    };
    const { r, port } = await server(lines);
    const rec = new Recorder(r);
    const s = await raw(port);
    s.write(Buffer.alloc(10_000, 0x61));
    const d = await rec.waitFor(isType('disconnected'));
    expect(d).toMatchObject({
      reason: { kind: 'codec-violation', error: { code: 'ERR_RX_LIMIT' } },
    });
  });

  it('cuts off a peer trickling a started message past `messageTimeout`', async () => {
    const { r, port } = await server(smallCodec, { messageTimeout: 100 });
    const rec = new Recorder(r);
    const s = await raw(port);
    s.write(Buffer.from([0, 0, 2, 0, 1])); // a 512-byte message, one byte of it
    const timer = setInterval(() => s.write(Buffer.from([1])), 20);
    cleanup.push(() => clearInterval(timer));
    const d = await rec.waitFor(isType('disconnected'));
    expect(d).toMatchObject({ reason: { kind: 'read-stale' } });
  });

  it('reports a peer that never reads as write-stale after `txTimeout`', async () => {
    const { r, port } = await server(bytesCodec, { txTimeout: 200 });
    const rec = new Recorder(r);
    const s = await raw(port);
    s.pause();
    const accepted = await rec.waitFor(isType('accepted'));
    const peer = (accepted as { peer: number }).peer;
    const big = pattern(1024 * 1024);
    const sending = (async () => {
      for (;;) {
        const res = r.send(peer, big);
        if (res === 'no-such-peer') return;
        if (res === 'full') await r.drained(peer).catch(() => {});
      }
    })();
    const d = await rec.waitFor(isType('disconnected', peer));
    expect(d).toMatchObject({ reason: { kind: 'write-stale' } });
    await sending;
  });

  it("delivers another peer's message while one peer floods (fairness)", async () => {
    const { r, port } = await server(pingPongCodec);
    let floodCount = 0;
    let floodAtOther = -1;
    let otherPeer = -1;
    const done = new Promise<void>((resolve) => {
      r.onEvent((e) => {
        if (e.type === 'message') {
          if (e.message.kind === 'pong') {
            floodAtOther = floodCount;
            otherPeer = e.peer;
            resolve();
          } else floodCount++;
        }
      });
    });
    const flooder = await raw(port);
    const chunk = Buffer.alloc(12 * 5000);
    for (let i = 0; i < 5000; i++) chunk.write('ping', i * 12);
    let flooding = true;
    const pump = () => {
      while (flooding && flooder.write(chunk)) {}
      if (flooding) flooder.once('drain', pump);
    };
    pump();
    // Wait until the flood is being received, then send the other message.
    while (floodCount === 0) await new Promise((res) => setImmediate(res));
    const other = await raw(port);
    other.write(Buffer.from([...Buffer.from('pong'), 7, 0, 0, 0, 0, 0, 0, 0]));
    await done;
    flooding = false;
    expect(otherPeer).toBeGreaterThan(0);
    expect(floodAtOther).toBeGreaterThan(0);
  });

  it('keeps memory bounded while the event consumer stops for 100 MiB, then delivers everything', async () => {
    const { r, port } = await server(bytesCodec, undefined, 64);
    const client = new Reactor({ codec: bytesCodec, transport: tcpTransport() });
    cleanup.push(() => client.shutdown({ flushTimeout: 0 }));
    const peer = await client.connect(`127.0.0.1:${port}`);
    const msg = pattern(256 * 1024, 1);
    const count = 400; // 100 MiB
    let sent = 0;
    const sending = (async () => {
      while (sent < count) {
        if (client.send(peer, msg) === 'queued') sent++;
        else await client.drained(peer);
      }
    })();
    const it = r.events();
    // Take the `accepted` event, then stop consuming until the sender is stuck.
    await it.next();
    const before = process.memoryUsage().arrayBuffers;
    while (!(sent > 0 && sent < count)) await new Promise((res) => setImmediate(res));
    let maxQueued = 0;
    let got = 0;
    let peak = 0;
    for (;;) {
      maxQueued = Math.max(maxQueued, r.queuedEvents);
      peak = Math.max(peak, process.memoryUsage().arrayBuffers - before);
      const { value } = await it.next();
      if (value?.type === 'message' && ++got === count) break;
    }
    await sending;
    expect(maxQueued).toBeLessThanOrEqual(64);
    expect(peak).toBeLessThan(64 * 1024 * 1024);
  });

  it('fails a connect to a closed port with `ECONNREFUSED`', async () => {
    const probe = net.createServer();
    await new Promise<void>((res) => probe.listen(0, '127.0.0.1', res));
    const { port } = probe.address() as net.AddressInfo;
    await new Promise((res) => probe.close(res));
    const r = new Reactor({ codec: pingPongCodec, transport: tcpTransport() });
    cleanup.push(() => r.shutdown());
    const rec = new Recorder(r);
    await expect(r.connect(`127.0.0.1:${port}`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(rec.events[0]).toMatchObject({
      type: 'connect-failed',
      error: { code: 'ECONNREFUSED' },
    });
  });

  it('notices promptly when a client process holding the connection is killed', async () => {
    const { r, port } = await server(pingPongCodec);
    const rec = new Recorder(r);
    const child = spawn(process.execPath, [
      '-e',
      `const s=require('net').connect(${port},'127.0.0.1',()=>console.log('up'));setInterval(()=>{},1000)`,
    ]);
    cleanup.push(() => child.kill('SIGKILL'));
    await once(child.stdout, 'data');
    const acc = await rec.waitFor(isType('accepted'));
    child.kill('SIGKILL');
    const d = await rec.waitFor(isType('disconnected', (acc as { peer: number }).peer));
    expect(['left', 'error']).toContain((d as { reason: { kind: string } }).reason.kind);
  });

  it('notices promptly when a server process holding the connection is killed', async () => {
    const child = spawn(process.execPath, [
      '-e',
      `const srv=require('net').createServer(()=>{}).listen(0,'127.0.0.1',()=>console.log(srv.address().port));`,
    ]);
    cleanup.push(() => child.kill('SIGKILL'));
    const [data] = (await once(child.stdout, 'data')) as [Buffer];
    const port = Number(data.toString().trim());
    const r = new Reactor({ codec: pingPongCodec, transport: tcpTransport() });
    cleanup.push(() => r.shutdown());
    const rec = new Recorder(r);
    const peer = await r.connect(`127.0.0.1:${port}`);
    r.send(peer, ping(1));
    child.kill('SIGKILL');
    const d = await rec.waitFor(isType('disconnected', peer));
    expect(['left', 'error']).toContain((d as { reason: { kind: string } }).reason.kind);
  });
});
