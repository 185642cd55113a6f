import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildProject, root } from './build.js';

const demo = `${root}examples/dist/demo.js`;
/** One sample of the server's live view (after `server: ` or `server at stop: `). */
const LIVE =
  '\\d+ peers?, in [\\d,]+ msg/s, out [\\d,]+ msg/s, queued [\\d.]+ (B|KiB|MiB), paused \\d+, events \\d+';
const started: ChildProcess[] = [];

beforeAll(() => buildProject('examples'), 60_000);
afterEach(() => {
  for (const child of started.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

/** Starts the demo without a terminal; collects its output lines. */
function startDemo(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [demo, ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  const lines: string[] = [];
  const waiters: Array<{ test: (l: string) => boolean; resolve: () => void }> = [];
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(line);
    for (const w of waiters.splice(0)) {
      if (w.test(line)) w.resolve();
      else waiters.push(w);
    }
  });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  return {
    child,
    lines,
    stderr: () => stderr,
    exited,
    waitForLine: (test: (l: string) => boolean) =>
      new Promise<void>((resolve) => {
        if (lines.some(test)) resolve();
        else waiters.push({ test, resolve });
      }),
  };
}

/** Every pid the demo reported starting (server and clients). */
function reportedPids(lines: string[]): number[] {
  const server = lines.find((l) => l.startsWith('server: pid '));
  const clients = lines.find((l) => l.startsWith('clients: pids '));
  const pids = [
    ...(server?.match(/pid (\d+)/)?.slice(1) ?? []),
    ...(clients?.slice('clients: pids '.length).split(', ') ?? []),
  ].map(Number);
  return pids;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('pnpm demo', () => {
  it('runs a server and clients in separate processes and ends with a summary and exit 0', async () => {
    const run = startDemo(['--clients', '3'], { PEERLINK_DEMO_COUNT: '500' });
    const [code] = await run.exited;
    expect(run.stderr()).toBe('');
    expect(code).toBe(0);
    const out = run.lines.join('\n');
    expect(out).toContain('3 client processes × 500 round trips');
    expect(out).toMatch(/progress: 100% \(1,500 of 1,500 round trips\)/);
    expect(out).toContain('messages exchanged: 3,000 (1,500 pings, 1,500 pongs, 12 bytes each)');
    expect(out).toMatch(/round trip: p50 [\d.]+ (µs|ms), p99 [\d.]+ (µs|ms)/);
    expect(out).toMatch(/throughput: [\d,]+ messages\/s/);
    // The server's live view from stats(): at least its last sample, taken as it stops.
    expect(out).toMatch(new RegExp(`^server at stop: ${LIVE}$`, 'm'));
    expect(out).toMatch(
      /server: 1,500 pings answered; from \d+ stats\(\) samples?, peak [\d,]+ peers?, [\d,]+ msg\/s in/,
    );
    const pids = reportedPids(run.lines);
    expect(pids).toHaveLength(4);
    for (const pid of pids) expect(isRunning(pid), `pid ${pid}`).toBe(false);
  });

  it('stops every process it started when interrupted', async () => {
    const run = startDemo(['--clients', '2', '--count', '1000000']);
    await run.waitForLine((l) => l.startsWith('progress: 0%'));
    // A live sample of the server's stats() while both clients run: 2 peers, messages flowing.
    const busy = /^server: 2 peers, in [1-9][\d,]* msg\/s, out [1-9][\d,]* msg\/s/;
    await run.waitForLine((l) => busy.test(l));
    expect(run.lines.find((l) => busy.test(l))).toMatch(new RegExp(`^server: ${LIVE}$`));
    const pids = reportedPids(run.lines);
    expect(pids).toHaveLength(3);
    for (const pid of pids) expect(isRunning(pid), `pid ${pid}`).toBe(true);
    run.child.kill('SIGINT');
    const [code] = await run.exited;
    expect(code).toBe(130);
    expect(run.stderr()).toContain('interrupted (SIGINT)');
    for (const pid of pids) expect(isRunning(pid), `pid ${pid}`).toBe(false);
  });

  // `script` (util-linux) runs the demo on a pseudo-terminal, as a user would see it.
  const hasScript = existsSync('/usr/bin/script');
  it.skipIf(!hasScript)('draws an updating progress bar on a terminal', () => {
    const command = `${JSON.stringify(process.execPath)} ${JSON.stringify(demo)} --clients 1 --count 300`;
    const result = spawnSync('script', ['-qefc', command, '/dev/null'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.status).toBe(0);
    const eraseLine = '\r\u001b[K'; // carriage return, then erase to the end of the line
    expect(result.stdout).toContain(`${eraseLine}[${'█'.repeat(30)}] 100%`);
    expect(result.stdout).not.toContain('progress: ');
    expect(result.stdout).toContain('messages exchanged: 600');
    // The server's live view is redrawn under the bar: cursor up two lines, erase, redraw.
    expect(result.stdout).toContain('\u001b[2A\r\u001b[J');
    expect(result.stdout).toMatch(new RegExp(`\r\u001b\\[Kserver at stop: ${LIVE}\r?\n`));
  });

  it('gives up with exit 1 after `PEERLINK_DEMO_TIMEOUT` ms', async () => {
    const run = startDemo(['--clients', '2', '--count', '1000000'], {
      PEERLINK_DEMO_TIMEOUT: '1',
    });
    const [code] = await run.exited;
    expect(code).toBe(1);
    expect(run.stderr()).toContain('gave up after 1 ms');
  });
});
