import { lengthPrefixed } from '@peerlink/codec';
import { Reactor } from '@peerlink/reactor';
import type { Connection, ConnectionHandler, Transport } from '@peerlink/stream';
import { afterEach, describe, expect, it } from 'vitest';

/** A connection driven by the test: it records pause/resume and delivers what the test says. */
class ScriptedConnection implements Connection {
  readonly remoteAddress = 'remote:1';
  readonly localAddress = 'local:1';
  handler: ConnectionHandler | undefined;
  paused = false;
  pauses = 0;
  resumes = 0;
  start(handler: ConnectionHandler): void {
    this.handler = handler;
  }
  write(): boolean {
    return true;
  }
  pause(): void {
    this.paused = true;
    this.pauses++;
  }
  resume(): void {
    this.paused = false;
    this.resumes++;
  }
  end(): void {}
  reset(): void {
    this.close();
  }
  close(): void {
    const h = this.handler;
    this.handler = undefined;
    h?.onClose(undefined);
  }
  /** Delivers `chunk`, as an adapter would: never while paused. */
  deliver(chunk: Uint8Array): void {
    expect(this.paused).toBe(false);
    this.handler!.onData(chunk);
  }
}

const codec = lengthPrefixed({ maxSize: 64, prefix: 'u32be' });

function frame(n: number): Uint8Array {
  return Uint8Array.of(0, 0, 0, 1, n);
}

describe('receive backpressure on the event iterator', () => {
  const reactors: Reactor<Uint8Array>[] = [];
  afterEach(async () => {
    await Promise.all(reactors.splice(0).map((r) => r.shutdown({ flushTimeout: 0 })));
  });

  async function connected(eventCapacity: number) {
    const conn = new ScriptedConnection();
    const transport: Transport = {
      listen: () => Promise.reject(new Error('unused')),
      connect: () => Promise.resolve(conn),
    };
    const reactor = new Reactor({ codec, transport, eventCapacity });
    reactors.push(reactor);
    const it = reactor.events();
    await reactor.connect('remote:1');
    const first = await it.next();
    expect(first.value).toMatchObject({ type: 'connected' });
    return { conn, reactor, it };
  }

  it('pauses the connection when the queue fills exactly at the end of a chunk (nothing held back)', async () => {
    const { conn, reactor, it } = await connected(4);
    // One whole message per chunk: the queue fills with the fourth, and nothing is left over.
    for (let i = 0; i < 4; i++) conn.deliver(frame(i));
    expect(reactor.queuedEvents).toBe(4);
    expect(conn.paused).toBe(true);
    // The consumer catches up: reading resumes, and what follows arrives in order.
    const got: number[] = [];
    for (let i = 0; i < 4; i++) {
      const { value } = await it.next();
      got.push((value as { message: Uint8Array }).message[0]!);
    }
    expect(conn.paused).toBe(false);
    for (let i = 4; i < 8; i++) conn.deliver(frame(i));
    expect(conn.paused).toBe(true);
    for (let i = 4; i < 8; i++) {
      const { value } = await it.next();
      got.push((value as { message: Uint8Array }).message[0]!);
    }
    expect(got).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(conn.resumes).toBe(2);
  });

  it('does not pause while the queue has room', async () => {
    const { conn, reactor } = await connected(4);
    for (let i = 0; i < 3; i++) conn.deliver(frame(i));
    expect(reactor.queuedEvents).toBe(3);
    expect(conn.pauses).toBe(0);
  });
});
