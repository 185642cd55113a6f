import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { type PeerId, PeerlinkError, type Reactor, run } from 'peerlink';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { lineCodec, sendToAll, startChat } from '../src/lifetime.js';
import { buildProject } from './build.js';

const PROGRAM = fileURLToPath(new URL('../dist/lifetime.js', import.meta.url));

const stops: Array<() => unknown> = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

beforeAll(() => buildProject('examples'), 120_000);

/** Starts the program; `line(test)` resolves with the first line of output that passes `test`. */
function program() {
  const child: ChildProcess = spawn(process.execPath, [PROGRAM], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  stops.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const lines: string[] = [];
  const waiters: Array<() => void> = [];
  createInterface({ input: child.stdout! }).on('line', (l) => {
    lines.push(l);
    for (const w of waiters.splice(0)) w();
  });
  const line = (test: (l: string) => boolean) =>
    new Promise<string>((resolve) => {
      const check = () => {
        const found = lines.find(test);
        if (found !== undefined) resolve(found);
        else waiters.push(check);
      };
      check();
    });
  return { child, lines, line };
}

/** A chat client: connects to `address`; `received()` resolves with the next line it gets. */
async function client(address: string) {
  const node = await run({ codec: lineCodec });
  stops.push(() => node.shutdown({ flushTimeout: 0 }));
  const peer = await node.connect(address);
  const received = () =>
    new Promise<string>((resolve) => {
      const stop = node.onEvent((e) => {
        if (e.type !== 'message') return;
        stop();
        resolve(new TextDecoder().decode(e.message));
      });
    });
  const say = (text: string) => node.send(peer, new TextEncoder().encode(text));
  return { node, peer, received, say };
}

describe('lifetime example (AbortSignal, unref)', () => {
  it('outlives its input while a peer is connected, and exits by itself once the peer leaves (`unref()`)', async () => {
    const { child, lines, line } = program();
    const address = (await line((l) => l.startsWith('listening '))).slice('listening '.length);
    const c = await client(address);
    await line((l) => l.endsWith(' connected'));
    const hi = c.received();
    child.stdin!.write('hi\n');
    expect(await hi).toBe('hi');
    child.stdin!.end(); // no more input: only the peer keeps the process alive now
    c.say('still here');
    await line((l) => l.endsWith(': still here'));
    const exited = once(child, 'exit');
    c.node.disconnect(c.peer);
    expect(await exited).toEqual([0, null]);
    expect(lines.at(-1)).toMatch(/^peer \d+ left \(left\)$/);
  });

  it('shuts down on SIGTERM: its peers see the connection end', async () => {
    const { child, line } = program();
    const address = (await line((l) => l.startsWith('listening '))).slice('listening '.length);
    const c = await client(address);
    await line((l) => l.endsWith(' connected'));
    const gone = new Promise((resolve) =>
      c.node.onEvent((e) => e.type === 'disconnected' && resolve(e.reason.kind)),
    );
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    expect(await gone).toBe('left');
    expect(await exited).toEqual([0, null]);
    expect(await line((l) => l === 'stopped')).toBe('stopped');
  });

  it('gives up listening with `ERR_ABORTED` when the program’s signal has aborted', async () => {
    const error = await startChat('127.0.0.1:0', AbortSignal.abort(), () => {}).catch((e) => e);
    expect(PeerlinkError.isInstance(error) && error.code).toBe('ERR_ABORTED');
  });

  it('stops waiting on a full peer when the program’s signal aborts, and cuts the flush short on the second', async () => {
    const stopping = new AbortController(); // the program's signal
    const node: Reactor<Uint8Array> = await startChat('127.0.0.1:0', stopping.signal, () => {});
    stops.push(() => node.shutdown({ flushTimeout: 0 }));
    const accepted = new Promise<PeerId>((resolve) =>
      node.onEvent((e) => e.type === 'accepted' && resolve(e.peer)),
    );
    const [host, port] = node.listenAddresses[0]!.split(':');
    const reader = connect({ host: host!, port: Number(port) }).on('error', () => {});
    reader.pause(); // a peer that reads nothing: the kernel buffers fill, then the send buffer
    const peer = await accepted;
    const big = 'x'.repeat(60_000);
    const bytes = new TextEncoder().encode(big);
    let result = node.send(peer, bytes);
    for (let i = 0; i < 10_000 && result === 'queued'; i++) {
      await new Promise((r) => setImmediate(r)); // let the reactor write it out
      result = node.send(peer, bytes);
    }
    expect(result).toBe('full');
    const waiting = sendToAll(node, big, stopping.signal); // in `drained(peer, { signal })`
    stopping.abort();
    await waiting; // returned without the peer taking anything
    const flush = new AbortController();
    const done = node.shutdown({ flushTimeout: Number.POSITIVE_INFINITY, signal: flush.signal });
    flush.abort(); // without this, the flush would wait for the reader until `txTimeout` (30 s)
    await done;
    reader.resume();
    await once(reader, 'close'); // the connection is gone
  });
});
