#!/usr/bin/env node
/**
 * The peerlink demo (`pnpm demo`): one pingpong server and several clients, each in its own
 * process, talking over TCP on 127.0.0.1. Shows live progress and a live view of the server built
 * from its `reactor.stats()` (peers, messages per second in and out, bytes queued, paused peers,
 * events queued), then a summary: messages exchanged, round-trip p50/p99, messages per second,
 * and the server's pings answered and peak figures.
 *
 *   node examples/dist/demo.js [--clients N] [--count N]
 *
 * `--clients` (or `PEERLINK_DEMO_CLIENTS`): client processes, default 4. `--count` (or
 * `PEERLINK_DEMO_COUNT`): sequential round trips per client, default 25000. Every process it
 * starts is stopped by pid when it ends, on an error, or on Ctrl-C; a run that takes longer than
 * `PEERLINK_DEMO_TIMEOUT` ms (default 55000) is abandoned with exit code 1.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { describeSample, LiveArea, type LiveSample } from './live.js';
import { formatBytes, formatCount, formatMicros, percentile, positiveInt } from './stats.js';

const { values } = parseArgs({
  options: { clients: { type: 'string' }, count: { type: 'string' } },
});
const clients = positiveInt('--clients', values.clients ?? process.env.PEERLINK_DEMO_CLIENTS, 4);
const count = positiveInt('--count', values.count ?? process.env.PEERLINK_DEMO_COUNT, 25_000);
const timeoutMs = positiveInt('PEERLINK_DEMO_TIMEOUT', process.env.PEERLINK_DEMO_TIMEOUT, 55_000);
const total = clients * count;
const tty = process.stdout.isTTY === true;
/** On a terminal: the progress bar and the server's live view, redrawn in place. */
const area = tty ? new LiveArea() : undefined;

const children = new Set<ChildProcess>();
let stopping = false;

/** Sends SIGTERM to every child still running, by pid (their stdin closing stops them too). */
function killAll(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  }
}

/** Stops every child and waits until each has exited (SIGKILL for any still there after 3 s). */
async function stopAll(): Promise<void> {
  stopping = true;
  const exits = [...children].map(
    (child) =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) resolve();
        else child.once('exit', () => resolve());
      }),
  );
  killAll();
  const force = setTimeout(() => {
    for (const child of children) child.kill('SIGKILL');
  }, 3000);
  await Promise.all(exits);
  clearTimeout(force);
}

let ending: Promise<never> | undefined;

/** Ends the demo with `code` after stopping every process it started (the first call wins). */
function abandon(code: number, message: string): Promise<never> {
  ending ??= (async () => {
    area?.done();
    process.stderr.write(`demo: ${message}\n`);
    await stopAll();
    process.stderr.write('demo: every process it started has exited\n');
    process.exit(code);
  })();
  return ending;
}

function fail(message: string): void {
  void abandon(1, message);
}

process.on('exit', killAll); // last resort: never leave a child behind
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => void abandon(130, `interrupted (${signal})`));
}

const overall = setTimeout(() => fail(`gave up after ${timeoutMs} ms`), timeoutMs);

type Line = { event: string; [key: string]: unknown };

/** Starts `script` with `args` in its own node process; calls `onLine` for each JSON line. */
function start(name: string, script: string, args: string[], onLine: (line: Line) => void) {
  const child = spawn(
    process.execPath,
    [fileURLToPath(new URL(script, import.meta.url)), ...args, '--json'],
    // Own process group: a Ctrl-C reaches the demo only, which then stops each child by pid.
    { stdio: ['pipe', 'pipe', 'inherit'], detached: true },
  );
  children.add(child);
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      children.delete(child);
      if (code === 0) resolve();
      else if (!stopping) {
        fail(`${name} (pid ${child.pid}) ended with ${signal ?? `exit code ${code}`}`);
      }
    });
  });
  child.once('error', (error) => fail(`${name}: ${error.message}`));
  createInterface({ input: child.stdout! }).on('line', (text) => {
    let line: Line;
    try {
      line = JSON.parse(text) as Line;
    } catch {
      fail(`${name} printed something unexpected: ${text}`);
      return;
    }
    onLine(line);
  });
  return { child, exited };
}

// 1. The server, on any free port of 127.0.0.1; it reports the address it got, then a sample of
// its reactor's stats() every 250 ms (every second without a terminal, one line each) and, when
// it stops, a last sample and the peaks.
let serverSample: LiveSample | undefined;
let serverLabel = 'server';
let showSamples = false;
let stopped: Line | undefined;
const address = await new Promise<string>((resolve) => {
  const args = ['127.0.0.1', '0', '--stats', tty ? '250' : '1000'];
  start('server', './pingpong-server.js', args, (line) => {
    if (line.event === 'listening') resolve(String(line.address));
    else if (line.event === 'stats') {
      serverSample = line as unknown as LiveSample;
      if (line.final === true) serverLabel = 'server at stop';
      if (!tty && showSamples) console.log(`${serverLabel}: ${describeSample(serverSample)}`);
    } else if (line.event === 'stopped') stopped = line;
  });
});
const server = [...children][0]!;
const separator = address.lastIndexOf(':');
const [host, port] = [address.slice(0, separator), address.slice(separator + 1)];
console.log(
  `peerlink demo: ${clients} client processes × ${formatCount(count)} round trips against one ` +
    'pingpong server, over TCP on 127.0.0.1',
);
console.log(`server: pid ${server.pid}, listening on ${address}`);

// 2. The clients.
const done = new Array<number>(clients).fill(0);
const results: Array<{ rtts: number[]; elapsedMs: number }> = [];
const startedAt = performance.now();
const runs = Array.from({ length: clients }, (_, i) =>
  start(
    `client ${i + 1}`,
    './pingpong-client.js',
    [host, port, '--count', String(count)],
    (line) => {
      if (line.event === 'progress') done[i] = Number(line.done);
      else if (line.event === 'result') {
        done[i] = count;
        results.push({ rtts: line.rtts as number[], elapsedMs: Number(line.elapsedMs) });
      }
    },
  ),
);
console.log(`clients: pids ${runs.map((r) => r.child.pid).join(', ')}`);
showSamples = true;

// 3. Live progress: an updating bar and the server's live view on a terminal; otherwise a plain
// line every 20%, and one for each server sample.
let lastStep = -1;
function progress(final = false): void {
  const sum = done.reduce((a, b) => a + b, 0);
  const fraction = total === 0 ? 1 : sum / total;
  const seconds = (performance.now() - startedAt) / 1000;
  const rate = seconds > 0 ? (2 * sum) / seconds : 0;
  if (area !== undefined) {
    const width = 30;
    const filled = Math.round(fraction * width);
    const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
    area.update([
      `[${bar}] ${Math.floor(fraction * 100)}%  ${formatCount(sum)}/${formatCount(total)} round trips  ${formatCount(rate)} msg/s`,
      serverSample === undefined
        ? 'server: waiting for the first stats() sample'
        : `${serverLabel}: ${describeSample(serverSample)}`,
    ]);
    if (final) area.done();
  } else {
    const step = Math.floor(fraction * 5);
    if (step > lastStep) {
      lastStep = step;
      console.log(
        `progress: ${step * 20}% (${formatCount(sum)} of ${formatCount(total)} round trips)`,
      );
    }
  }
}
progress();
const ticker = setInterval(progress, 100);
await Promise.all(runs.map((r) => r.exited));
clearInterval(ticker);
progress(); // 100%; the final drawing follows the server's last sample

// 4. Stop the server: closing its stdin asks it to shut down cleanly. It reports a last stats()
// sample and its peaks first.
// 'close' comes after its output has ended, so every line it printed has been read by then.
const serverClosed = new Promise<void>((resolve) => {
  if (server.exitCode !== null && server.stdout!.readableEnded) resolve();
  else server.once('close', () => resolve());
});
server.stdin!.end();
await serverClosed;
clearTimeout(overall);
progress(true);
if (stopped === undefined) await abandon(1, 'the server stopped without its report');

// 5. The summary.
if (results.length !== clients)
  await abandon(1, `expected ${clients} results, got ${results.length}`);
const rtts = Float64Array.from(results.flatMap((r) => r.rtts)).sort();
const exchangeMs = Math.max(...results.map((r) => r.elapsedMs));
const messages = 2 * rtts.length;
console.log('summary:');
console.log(
  `  messages exchanged: ${formatCount(messages)} (${formatCount(rtts.length)} pings, ${formatCount(rtts.length)} pongs, 12 bytes each)`,
);
console.log(
  `  round trip: p50 ${formatMicros(percentile(rtts, 50))}, p99 ${formatMicros(percentile(rtts, 99))}`,
);
console.log(
  `  throughput: ${formatCount(messages / (exchangeMs / 1000))} messages/s (all clients together, over ${(exchangeMs / 1000).toFixed(2)} s)`,
);
const peak = stopped!.peak as LiveSample;
console.log(
  `  server: ${formatCount(Number(stopped!.answered))} pings answered; from ${stopped!.samples} stats() ${stopped!.samples === 1 ? 'sample' : 'samples'}, ` +
    `peak ${formatCount(peak.peers)} peers, ${formatCount(peak.messagesInPerSecond)} msg/s in, ` +
    `${formatCount(peak.messagesOutPerSecond)} msg/s out, ${formatBytes(peak.bytesQueued)} queued, ` +
    `${peak.pausedPeers} paused peers, ${peak.queuedEvents} events queued`,
);
console.log(`  processes: 1 server + ${clients} clients, all exited`);
