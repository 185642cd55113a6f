// Runs out of file descriptors on purpose: in a file of its own, so that its vitest worker (one
// per file) holds nothing else while the limit is low.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import type { Connection } from '@peerlink/stream';
import { tcpTransport } from '@peerlink/transport-tcp';
import { afterEach, describe, expect, it } from 'vitest';
import { accepting, Cleanup, recorder } from './helpers.js';

const CAN_LIMIT =
  process.platform === 'linux' &&
  spawnSync('prlimit', ['--version'], { stdio: 'ignore' }).error === undefined &&
  spawnSync('sh', ['-c', 'true'], { stdio: 'ignore' }).error === undefined;

if (!CAN_LIMIT) console.warn('transport-tcp: EMFILE test skipped: needs Linux with `prlimit`');

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

/** A child process whose stdout lines we can wait for. */
function lines(child: ChildProcess) {
  const seen: string[] = [];
  let waiters: { test: () => boolean; resolve: () => void }[] = [];
  let buffered = '';
  child.stdout!.setEncoding('utf8').on('data', (text: string) => {
    buffered += text;
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    seen.push(...parts);
    waiters = waiters.filter((w) => {
      if (!w.test()) return true;
      w.resolve();
      return false;
    });
  });
  const count = (line: string) => seen.filter((l) => l === line).length;
  return {
    count,
    /** Re-checks the waiters (for conditions that also depend on other events). */
    poke() {
      waiters = waiters.filter((w) => {
        if (!w.test()) return true;
        w.resolve();
        return false;
      });
    },
    until(test: () => boolean): Promise<void> {
      if (test()) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ test, resolve }));
    },
  };
}

// Opens N connections for every line N on stdin; says 'open' on each connect, 'gone' on each close.
const CLIENT = `
const net = require('node:net');
const [host, port] = [process.argv[1], Number(process.argv[2])];
const sockets = [];
process.stdin.setEncoding('utf8').on('data', (text) => {
  for (const n of text.trim().split('\\n').map(Number)) {
    for (let i = 0; i < n; i++) {
      const s = net.connect({ host, port });
      sockets.push(s);
      s.on('error', () => {});
      s.on('connect', () => process.stdout.write('open\\n'));
      s.on('close', () => process.stdout.write('gone\\n'));
    }
  }
});
process.stdin.on('end', () => { for (const s of sockets) s.destroy(); });
`;

describe.skipIf(!CAN_LIMIT)('running out of file descriptors', () => {
  it('survives `EMFILE` on accept and accepts again once descriptors are free', async () => {
    const transport = tcpTransport();
    const acc = await accepting(transport, '127.0.0.1:0');
    cleanup.add(() => acc.listener.close());
    const [host, port] = acc.listener.address.split(':') as [string, string];

    // Both helpers start before the limit drops: the shell runs `prlimit` for us later, so that
    // restoring the limit needs no descriptor of ours.
    const client = spawn(process.execPath, ['-e', CLIENT, host, port], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const shell = spawn('sh', [], { stdio: ['pipe', 'pipe', 'inherit'] });
    const exits = [client, shell].map((c) => new Promise((r) => c.once('exit', r)));
    cleanup.add(async () => {
      client.stdin!.end();
      shell.stdin!.end();
      await Promise.all(exits);
    });
    const out = lines(client);
    const sh = lines(shell);
    const soft = /Max open files\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1];
    expect(soft).toBeDefined();
    let step = 0;
    const prlimit = async (limit: string) => {
      const done = `done${++step}`;
      shell.stdin!.write(`prlimit --pid ${process.pid} --nofile=${limit}: ; echo ${done}\n`);
      await sh.until(() => sh.count(done) > 0);
    };

    const accepted: Connection[] = [];
    const closed: Promise<Error | undefined>[] = [];
    const takeAll = async () => {
      for (;;) {
        const conn = await acc.next();
        const r = recorder();
        conn.start(r);
        accepted.push(conn);
        closed.push(r.closed);
        out.poke();
      }
    };
    void takeAll();

    // The limit counts descriptor numbers: leave room for 3 above the highest in use.
    const fds = readdirSync('/proc/self/fd').map(Number);
    const limit = Math.max(...fds) + 4;
    const holes = limit - fds.length;
    const total = holes + 12;
    let restored = false;
    cleanup.add(async () => {
      if (!restored) await prlimit(soft!);
    });
    await prlimit(String(limit));
    client.stdin!.write(`${total}\n`);
    // Every connection either became ours or was closed by libuv's EMFILE handling.
    await out.until(
      () => out.count('open') === total && accepted.length + out.count('gone') >= total,
    );
    expect(out.count('gone')).toBeGreaterThan(0);
    expect(accepted.length).toBeLessThan(total);
    for (const error of acc.errors)
      expect(['EMFILE', 'ENFILE']).toContain((error as { code?: string }).code);

    // Free descriptors and lift the limit: the same listener accepts again.
    for (const conn of accepted) conn.close();
    await Promise.all(closed);
    await prlimit(soft!);
    restored = true;
    const before = accepted.length;
    client.stdin!.write('1\n');
    await out.until(() => accepted.length > before);
    expect(accepted.length).toBe(before + 1);
    accepted.at(-1)!.close();
  });
});
