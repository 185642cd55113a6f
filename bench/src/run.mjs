// The SPEC §8 workloads, side by side: `pnpm bench` (full), `pnpm bench --quick`.
//
// Options:
//   --quick            counts scaled down ten times, no 10,000-connection pass (< 2 minutes)
//   --unpinned         do not pin processes with taskset
//   --runs N           runs per figure (default 5, or 3 with --quick; the median is reported)
//   --impl a,b         only these implementations (net-raw is always kept, for the ratios)
//   --workload w1,w2   only these workloads (ids w1..w5, mem1k, mem10k, lat1k)
//   --scale F          multiply every message count by F (e.g. 0.01 for a smoke test)
//   --no-build         skip `tsc -b` at the repository root
//   --no-core          skip the core micro-benchmark
//   --cpu-prof DIR     run every child with node --cpu-prof, profiles written to DIR
//   --out DIR          where to write the JSON and charts (default bench/results, or
//                      bench/results/tmp for --quick and partial runs)
//
// Each trial starts a receiver (or echo server) child process that listens on 127.0.0.1:0 and
// reports its port over IPC, then a sender (or client) child that connects to it. See worker.mjs.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  barChart,
  CHART_METRICS,
  METRICS,
  markdownTable,
  median,
  tables,
  targetTable,
  textTable,
} from './report.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const benchDir = join(here, '..');
const rootDir = join(benchDir, '..');
const WORKER = join(here, 'worker.mjs');

/** Where children write CPU profiles (--cpu-prof), or null. */
let cpuProfDir = /** @type {string | null} */ (null);

/**
 * Every implementation, in table order: a module `src/impl/<name>.mjs` each. `net-raw` (the floor)
 * comes first; `peerlink` is the library on the user's path, the one the targets are about.
 */
const ALL_IMPLS = [
  'net-raw',
  'peerlink',
  'peerlink-tuned',
  'ws',
  'peerlink-ws',
  'it-length-prefixed',
];

/** The SPEC §8 workloads at full size. */
const WORKLOADS = [
  { id: 'w1', name: 'rtt-12B', kind: 'rtt', size: 12, count: 20_000, warmup: 1_000 },
  { id: 'w2', name: 'flood-12B', kind: 'flood', size: 12, count: 1_000_000 },
  { id: 'w3', name: 'bulk-1KiB', kind: 'bulk', size: 1024, count: 200_000 },
  { id: 'w4', name: 'bulk-64KiB', kind: 'bulk', size: 64 * 1024, count: 20_000 },
  { id: 'w5', name: 'bulk-1MiB', kind: 'bulk', size: 1024 * 1024, count: 1_000 },
  { id: 'mem1k', name: 'idle-1000-conns', kind: 'mem', size: 12, conns: 1_000 },
  { id: 'mem10k', name: 'idle-10000-conns', kind: 'mem', size: 12, conns: 10_000 },
  // A 10 ms timer in a node that 1,000 peers flood with 1 KiB messages: how late does it fire?
  // Only for the floor and peerlink (`impls`).
  {
    id: 'lat1k',
    name: 'timer-lateness-1000-peers',
    kind: 'lateness',
    size: 1024,
    conns: 1_000,
    seconds: 4,
    timerMs: 10,
    prefillMs: 1000,
    impls: ['net-raw', 'peerlink', 'peerlink-tuned'],
  },
];

function parseArgs(argv) {
  const o = {
    quick: false,
    pinned: true,
    runs: /** @type {number | null} */ (null),
    impls: ALL_IMPLS,
    workloads: /** @type {string[] | null} */ (null),
    scale: 1,
    build: true,
    core: true,
    out: /** @type {string | null} */ (null),
    cpuProf: /** @type {string | null} */ (null),
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--') continue;
    else if (a === '--quick') o.quick = true;
    else if (a === '--unpinned') o.pinned = false;
    else if (a === '--runs') o.runs = Math.max(1, Number(next()));
    else if (a === '--impl') o.impls = next().split(',');
    else if (a === '--workload') o.workloads = next().split(',');
    else if (a === '--scale') o.scale = Number(next());
    else if (a === '--no-build') o.build = false;
    else if (a === '--no-core') o.core = false;
    else if (a === '--out') o.out = next();
    else if (a === '--cpu-prof') o.cpuProf = next();
    else throw new Error(`unknown option ${a}`);
  }
  for (const impl of o.impls) {
    if (!ALL_IMPLS.includes(impl)) throw new Error(`unknown implementation ${impl}`);
  }
  if (!o.impls.includes('net-raw')) o.impls = ['net-raw', ...o.impls];
  o.impls = ALL_IMPLS.filter((x) => o.impls.includes(x));
  return o;
}

/** A child process with an inbox of its IPC messages. */
class Child {
  /**
   * @param {object} job
   * @param {number | undefined} cpu core to pin to, or undefined
   */
  constructor(job, cpu) {
    const prof = cpuProfDir === null ? [] : ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`];
    const nodeArgs = [...prof, '--expose-gc', WORKER, JSON.stringify(job)];
    const pinned = cpu !== undefined;
    this.proc = spawn(
      pinned ? 'taskset' : process.execPath,
      pinned ? ['-c', String(cpu), process.execPath, ...nodeArgs] : nodeArgs,
      { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
    );
    this.role = job.role;
    /** @type {any[]} */
    this.inbox = [];
    /** @type {((m: any) => void)[]} */
    this.waiters = [];
    this.exited = false;
    this.exitCode = /** @type {number | null} */ (null);
    this.proc.on('message', (m) => {
      this.inbox.push(m);
      for (const w of this.waiters.splice(0)) w(m);
    });
    this.proc.on('exit', (code, signal) => {
      this.exited = true;
      this.exitCode = code ?? (signal ? 128 : 0);
      for (const w of this.waiters.splice(0)) w(undefined);
    });
  }

  /** Waits for the next message of `type` (rejects if the child exits or time runs out). */
  next(type, timeoutMs = 60_000) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${this.role}: no '${type}' within ${timeoutMs} ms`));
      }, timeoutMs);
      const check = () => {
        const i = this.inbox.findIndex((m) => m?.type === type);
        if (i >= 0) {
          cleanup();
          resolve(this.inbox.splice(i, 1)[0]);
          return true;
        }
        if (this.exited) {
          cleanup();
          reject(new Error(`${this.role} exited with code ${this.exitCode} before '${type}'`));
          return true;
        }
        return false;
      };
      const waiter = () => {
        if (!check()) this.waiters.push(waiter);
      };
      const cleanup = () => clearTimeout(timer);
      if (!check()) this.waiters.push(waiter);
    });
  }

  send(msg) {
    if (!this.exited && this.proc.connected) this.proc.send(msg);
  }

  /** Asks the child to exit; kills it (by its pid) if it has not within 3 s. */
  async stop() {
    if (this.exited) return;
    const gone = new Promise((r) => this.proc.once('exit', r));
    this.send({ type: 'exit' });
    const timer = setTimeout(() => {
      if (!this.exited) this.proc.kill('SIGKILL');
    }, 3000);
    await gone;
    clearTimeout(timer);
  }
}

/** @param {number} ms */
function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/** Cores for the two processes of a trial: W1 shares one core, the floods use one each. */
function cores(kind, opts) {
  if (!opts.pinned || kind === 'mem') return { server: undefined, client: undefined };
  if (kind === 'rtt') return { server: 0, client: 0 };
  return { server: 1, client: 0 };
}

/** Runs one trial; returns { metric: value }. */
async function trial(impl, w, opts) {
  const c = cores(w.kind, opts);
  const limit = 300_000;
  if (w.kind === 'rtt') {
    const job = { impl, size: w.size, count: w.count, warmup: w.warmup };
    const server = new Child({ ...job, role: 'rtt-server' }, c.server);
    let client;
    try {
      const { port } = await server.next('ready');
      client = new Child({ ...job, role: 'rtt-client', port }, c.client);
      await client.next('connected');
      client.send({ type: 'go' });
      const done = await client.next('done', limit);
      const sdone = await server.next('done', limit);
      if (done.checksum !== done.expectedChecksum || sdone.checksum !== done.expectedChecksum) {
        throw new Error(`${impl} ${w.name}: checksum mismatch`);
      }
      return {
        p50: done.p50,
        p99: done.p99,
        cpuClient: done.cpuSeconds,
        cpuServer: sdone.cpuSeconds,
        rssClient: done.peakRss / 2 ** 20,
        rssServer: sdone.peakRss / 2 ** 20,
      };
    } finally {
      await Promise.all([client?.stop(), server.stop()]);
    }
  }
  if (w.kind === 'flood' || w.kind === 'bulk') {
    const job = { impl, size: w.size, count: w.count };
    const recv = new Child({ ...job, role: 'flood-recv' }, c.server);
    let sender;
    try {
      const { port } = await recv.next('ready');
      sender = new Child({ ...job, role: 'flood-send', port }, c.client);
      await sender.next('connected');
      sender.send({ type: 'go' });
      const done = await recv.next('done', limit);
      const sent = await sender.next('sent', limit);
      if (done.checksum !== done.expectedChecksum || done.received !== w.count) {
        throw new Error(`${impl} ${w.name}: received ${done.received}, checksum mismatch`);
      }
      const seconds = (done.end - sent.start) / 1e9;

      return {
        msgsPerSec: w.count / seconds,
        mibPerSec: (w.count * w.size) / seconds / 2 ** 20,
        cpuSender: sent.cpuSeconds,
        cpuReceiver: done.cpuSeconds,
        nsPerMsgSender: (sent.cpuSeconds / w.count) * 1e9,
        nsPerMsgReceiver: (done.cpuSeconds / w.count) * 1e9,
        rssSender: sent.peakRss / 2 ** 20,
        rssReceiver: done.peakRss / 2 ** 20,
      };
    } finally {
      await Promise.all([sender?.stop(), recv.stop()]);
    }
  }
  if (w.kind === 'lateness') {
    const job = {
      impl,
      size: w.size,
      conns: w.conns,
      seconds: w.seconds,
      timerMs: w.timerMs,
    };
    const recv = new Child({ ...job, role: 'lat-recv' }, c.server);
    let sender;
    try {
      const { port } = await recv.next('ready');
      // The sender floods through the stop and the measured window, and a little past it.
      const floodSeconds = w.prefillMs / 1000 + w.seconds + 1;
      sender = new Child({ ...job, seconds: floodSeconds, role: 'lat-send', port }, c.client);
      await sender.next('connected', limit);
      await recv.next('accepted', limit);
      // The receiver starts its timers, is stopped while the sender fills every connection's
      // receive buffer, then continues into a full backlog with the sender still flooding.
      recv.send({ type: 'arm' });
      await recv.next('armed');
      recv.proc.kill('SIGSTOP');
      sender.send({ type: 'go' });
      await sleep(w.prefillMs);
      const continuedAt = Number(process.hrtime.bigint());
      recv.proc.kill('SIGCONT');
      await sleep(w.seconds * 1000);
      recv.send({ type: 'finish', continuedAt });
      const done = await recv.next('done', limit);
      sender.send({ type: 'report' });
      const sent = await sender.next('sent');
      return {
        lateP50: done.lateP50,
        lateMax: done.lateMax,
        msgsPerSec: done.msgsPerSec,
        cpuSender: sent.cpuSeconds,
        cpuReceiver: done.cpuSeconds,
        rssSender: sent.peakRss / 2 ** 20,
        rssReceiver: done.peakRss / 2 ** 20,
      };
    } finally {
      await sender?.stop();
      await recv.stop();
    }
  }
  // Memory per idle connection.
  const job = { impl, size: w.size, conns: w.conns };
  const server = new Child({ ...job, role: 'mem-server' }, c.server);
  let client;
  try {
    const { port } = await server.next('ready');
    client = new Child({ ...job, role: 'mem-client', port }, c.client);
    await client.next('connected', limit);
    await server.next('accepted', limit);
    server.send({ type: 'measure' });
    client.send({ type: 'measure' });
    const s = await server.next('measured');
    const k = await client.next('measured');
    return {
      heapPerConnServer: s.heapPerConn,
      rssPerConnServer: s.rssPerConn,
      heapPerConnClient: k.heapPerConn,
      rssPerConnClient: k.rssPerConn,
      rssServer: s.peakRss / 2 ** 20,
      rssClient: k.peakRss / 2 ** 20,
    };
  } finally {
    // The accepting side closes first, so TIME_WAIT stays off the connecting side's ports.
    await server.stop();
    await client?.stop();
  }
}

function machineFacts(opts) {
  const cpus = os.cpus();
  let commit = 'unknown';
  const git = spawnSync('git', ['rev-parse', '--short', 'HEAD'], {
    cwd: rootDir,
    encoding: 'utf8',
  });
  if (git.status === 0) commit = git.stdout.trim();
  return {
    cpuModel: cpus[0]?.model ?? 'unknown',
    cpuCount: cpus.length,
    totalMemoryGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    fdLimit: spawnSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).stdout.trim(),
    commit,
    loadAverageAtStart: os.loadavg().map((x) => +x.toFixed(2)),
    pinning: opts.pinned
      ? {
          tool: 'taskset',
          rtt: 'client and echo server both on CPU 0',
          flood: 'sender on CPU 0, receiver on CPU 1',
          lateness: 'sender on CPU 0, receiver on CPU 1',
          mem: 'unpinned',
        }
      : 'unpinned',
  };
}

function build() {
  const tsc = join(rootDir, 'node_modules', '.bin', 'tsc');
  process.stdout.write('building the packages (tsc -b) ... ');
  const r = spawnSync(tsc, ['-b'], { cwd: rootDir, encoding: 'utf8' });
  if (r.status === 0) {
    console.log('done');
    return true;
  }
  console.log('FAILED');
  console.log(`${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n').slice(0, 20).join('\n'));
  return false;
}

/** Whether the peerlink implementation can run here, and if not, why. */
async function peerlinkAvailable() {
  try {
    const reactor = await import('@peerlink/reactor');
    const tcp = await import('@peerlink/transport-tcp');
    if (typeof reactor.Reactor !== 'function') return '@peerlink/reactor exports no Reactor';
    if (Object.keys(tcp).length === 0) return '@peerlink/transport-tcp exports nothing';
    return null;
  } catch (err) {
    return `cannot load it: ${err instanceof Error ? err.message : String(err)}`;
  }
}

function runCore(quick) {
  process.stdout.write('core micro-benchmark ... ');
  const args = [join(benchDir, 'core', 'core-bench.mjs'), '--json'];
  if (quick) args.push('--quick');
  const r = spawnSync(process.execPath, args, { encoding: 'utf8' });
  if (r.status !== 0) {
    console.log('FAILED');
    console.log(r.stderr);
    return null;
  }
  const core = JSON.parse(r.stdout);
  console.log(
    `decode ${(core.decode.medianMsgsPerSec / 1e6).toFixed(2)} M msgs/s, ` +
      `queue ${(core.queue.medianMsgsPerSec / 1e6).toFixed(2)} M msgs/s`,
  );
  return core;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  cpuProfDir = opts.cpuProf;
  opts.runs ??= opts.quick ? 3 : 5;
  if (opts.pinned && spawnSync('taskset', ['-c', '0', 'true']).status !== 0) {
    console.log('taskset is not available here: running unpinned');
    opts.pinned = false;
  }
  const started = new Date();
  const scale = opts.scale * (opts.quick ? 0.1 : 1);
  let workloads = WORKLOADS.map((w) =>
    w.kind === 'mem'
      ? { ...w }
      : w.kind === 'lateness'
        ? { ...w, seconds: opts.quick ? 1.5 : w.seconds }
        : {
            ...w,
            count: Math.max(10, Math.round(w.count * scale)),
            warmup: w.warmup === undefined ? undefined : Math.max(10, Math.round(w.warmup * scale)),
          },
  );
  if (opts.quick) workloads = workloads.filter((w) => w.id !== 'mem10k');
  if (opts.workloads !== null) {
    const wanted = opts.workloads;
    workloads = workloads.filter((w) => wanted.includes(w.id) || wanted.includes(w.name));
  }
  const partial = opts.quick || opts.workloads !== null || opts.scale !== 1;
  const outDir = opts.out ?? join(benchDir, 'results', partial ? 'tmp' : '');

  if (opts.build && !build())
    console.log('(the build failed: built output may be missing or stale)');
  const skipped = {};
  if (opts.impls.includes('peerlink')) {
    const why = await peerlinkAvailable();
    if (why !== null) {
      skipped.peerlink = why;
      opts.impls = opts.impls.filter((x) => x !== 'peerlink');
      console.log(`peerlink skipped: ${why}`);
    }
  }
  const core = opts.core ? runCore(opts.quick) : null;
  const machine = machineFacts(opts);
  console.log(
    `${opts.quick ? 'quick' : 'full'} run: ${opts.runs} runs per figure, ` +
      `${opts.pinned ? 'pinned with taskset' : 'unpinned'}, ${machine.cpuCount} × ${machine.cpuModel}, node ${machine.node}`,
  );

  /** @type {Record<string, Record<string, Record<string, number[]>>>} */
  const samples = {};
  const failures = [];
  for (const w of workloads) {
    samples[w.name] = {};
    const impls = opts.impls.filter((x) => w.impls === undefined || w.impls.includes(x));
    for (let run = 0; run < opts.runs; run++) {
      for (const impl of impls) {
        const t = Date.now();
        try {
          const m = await trial(impl, w, opts);
          const s = (samples[w.name][impl] ??= {});
          for (const [k, v] of Object.entries(m)) (s[k] ??= []).push(v);
          const head = Object.entries(m)
            .slice(0, 2)
            .map(([k, v]) => `${k} ${v.toFixed(1)}`)
            .join(', ');
          console.log(
            `  ${w.id} ${w.name} run ${run + 1}/${opts.runs} ${impl}: ${head} (${((Date.now() - t) / 1000).toFixed(1)} s)`,
          );
        } catch (err) {
          const msg = err instanceof Error ? err.message : String(err);
          failures.push({ implementation: impl, workload: w.name, run: run + 1, error: msg });
          console.log(`  ${w.id} ${w.name} run ${run + 1}/${opts.runs} ${impl}: FAILED ${msg}`);
        }
      }
    }
  }

  /** @type {import('./report.mjs').Row[]} */
  const rows = [];
  for (const w of workloads) {
    for (const impl of opts.impls) {
      const s = samples[w.name]?.[impl];
      if (s === undefined) continue;
      for (const [metric, values] of Object.entries(s)) {
        rows.push({
          implementation: impl,
          workload: w.name,
          metric,
          unit: METRICS[metric]?.unit ?? '',
          median: median(values),
          min: Math.min(...values),
          max: Math.max(...values),
          samples: values,
        });
      }
    }
  }

  const finished = new Date();
  machine.loadAverageAtEnd = os.loadavg().map((x) => +x.toFixed(2));
  const result = {
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    durationSeconds: (finished.getTime() - started.getTime()) / 1000,
    mode: opts.quick ? 'quick' : 'full',
    runsPerFigure: opts.runs,
    machine,
    workloads: workloads.map(({ id, name, kind, size, count, warmup, conns, seconds }) => ({
      id,
      name,
      kind,
      messageBytes: size,
      count,
      warmup,
      connections: conns,
      seconds,
    })),
    implementations: opts.impls,
    skipped,
    failures,
    core,
    results: rows,
  };

  const tbls = tables(rows, opts.impls, workloads);
  console.log('');
  for (const t of tbls) console.log(`${textTable(t)}\n`);
  const targets = opts.impls.includes('peerlink') ? targetTable(rows) : null;
  if (targets !== null) console.log(`${textTable(targets)}\n`);
  if (failures.length > 0) console.log(`${failures.length} trial(s) failed; see the JSON.`);

  mkdirSync(join(outDir, 'charts'), { recursive: true });
  const stamp = started.toISOString().replace(/[:.]/g, '-');
  const json = `${JSON.stringify(result, null, 2)}\n`;
  writeFileSync(join(outDir, `${stamp}.json`), json);
  writeFileSync(join(outDir, 'latest.json'), json);
  const charts = [];
  for (const w of workloads) {
    const wr = rows.filter((r) => r.workload === w.name);
    if (wr.length === 0) continue;
    const file = join(outDir, 'charts', `${w.id}-${w.name}.svg`);
    const title = `${w.id} ${w.name}: median of ${opts.runs}${opts.quick ? ' (quick run)' : ''}`;
    const shown = opts.impls.filter((impl) => wr.some((r) => r.implementation === impl));
    writeFileSync(file, barChart(title, wr, shown, CHART_METRICS[w.kind]));
    charts.push({ w, file });
  }
  console.log(`results: ${relative(process.cwd(), join(outDir, 'latest.json'))}`);
  if (!partial) updateReadme(result, tbls, charts, targets);
  if (failures.length > 0) process.exitCode = 1;
}

/** Rewrites the generated part of bench/README.md (between the markers) after a full run. */
function updateReadme(result, tbls, charts, targets) {
  const file = join(benchDir, 'README.md');
  if (!existsSync(file)) return;
  const text = readFileSync(file, 'utf8');
  const start = '<!-- results:start -->';
  const end = '<!-- results:end -->';
  const a = text.indexOf(start);
  const b = text.indexOf(end);
  if (a < 0 || b < a) return;
  const m = result.machine;
  const lines = [
    start,
    '',
    `Generated by \`pnpm bench\` on ${result.startedAt.slice(0, 16).replace('T', ' ')} UTC ` +
      `(commit ${m.commit}, ${result.durationSeconds.toFixed(0)} s): ${m.cpuCount} × ${m.cpuModel}, ` +
      `${m.totalMemoryGiB} GiB, ${m.os}, node ${m.node}; ${result.runsPerFigure} runs per figure, ` +
      `${typeof m.pinning === 'string' ? m.pinning : 'pinned with taskset (W1 on one core, floods on two)'}. ` +
      `Load average (1 min) ${m.loadAverageAtStart[0]} at the start, ${m.loadAverageAtEnd[0]} at the end ` +
      '(other work shares these 2 cores: short floods move with it; the CPU rows are steadier). ' +
      'Each cell is the median; the ratio is to net-raw. Raw data: `results/latest.json`.',
    '',
  ];
  if (Object.keys(result.skipped).length > 0) {
    for (const [k, v] of Object.entries(result.skipped)) lines.push(`- ${k} not measured: ${v}`);
    lines.push('');
  }
  if (result.failures.length > 0) {
    lines.push(`- ${result.failures.length} trial(s) failed:`);
    for (const f of result.failures) {
      lines.push(`  - ${f.implementation} ${f.workload} run ${f.run}: ${f.error}`);
    }
    lines.push('');
  }
  if (targets !== null) {
    lines.push("### Targets (issue 15, the user's path), this run", '', markdownTable(targets), '');
  }
  lines.push('### Figures', '');
  for (let i = 0; i < tbls.length; i++) {
    lines.push(markdownTable(tbls[i]), '');
    const chart = charts[i];
    if (chart !== undefined) {
      lines.push(`![${chart.w.id} ${chart.w.name}](${relative(benchDir, chart.file)})`, '');
    }
  }
  lines.push(end);
  let next = text.slice(0, a) + lines.join('\n') + text.slice(b + end.length);
  const c = result.core;
  const cs = next.indexOf('<!-- core:start -->');
  const ce = next.indexOf('<!-- core:end -->');
  if (c !== null && cs >= 0 && ce > cs) {
    const M = (v) => `${(v / 1e6).toFixed(1)} M msgs/s`;
    const au = c.copyAudit;
    const core = [
      '<!-- core:start -->',
      '',
      `Latest figures (${result.startedAt.slice(0, 10)}, node ${c.node}, median of ${c.runs} × ${c.messagesPerRun.toLocaleString('en')} messages):`,
      '',
      '| core path | messages/s |',
      '| --- | ---: |',
      `| decode, pingpong codec, chunks as \`Uint8Array\` (target ≥ 10 M) | ${M(c.decode.medianMsgsPerSec)} |`,
      `| decode, pingpong codec, chunks as Node \`Buffer\`s (what TCP hands over) | ${M(c.decodeFromNodeBuffers.medianMsgsPerSec)} |`,
      `| decode, \`lengthPrefixed\` u32le codec (4 + 8 bytes), chunks as \`Uint8Array\` | ${M(c.decodeLengthPrefixedFromUint8Arrays.medianMsgsPerSec)} |`,
      `| decode, \`lengthPrefixed\` u32le codec, chunks as Node \`Buffer\`s | ${M(c.decodeLengthPrefixedFromNodeBuffers.medianMsgsPerSec)} |`,
      `| queue + pollTransmit, one reused message object | ${M(c.queue.medianMsgsPerSec)} |`,
      `| queue + pollTransmit, a fresh message object each | ${M(c.queueFreshObjects.medianMsgsPerSec)} |`,
      '',
      `No copy of a whole message on the receive path: over ${au.chunksFed} chunks (${au.bytesFed.toLocaleString('en')} bytes) ` +
        `the core copied ${au.copiedBytes} bytes in ${au.copies} copies, the largest ${au.largestCopy} bytes (split messages only); ` +
        `${au.decodedFromChunk.toLocaleString('en')} messages were decoded in place from the chunk and ${au.decodedFromReassemblyBuffer} ` +
        `(the split ones) from the reassembly buffer, which never held more than ${c.decode.maxBufferedBytes} bytes ` +
        `nor grew past ${c.decode.maxRxCapacity} bytes.`,
      '',
      ...(c.rawCopyAudit === undefined
        ? []
        : [
            'The raw codec (`lengthPrefixed`, `Uint8Array` bodies, counted by `core/copy-audit.mjs`, asserted by `test/copy-audit.test.ts`):',
            '',
            '| bodies | chunks | bytes copied per message | copies |',
            '| ---: | --- | ---: | ---: |',
            ...c.rawCopyAudit.map(
              (r) =>
                `| ${r.bodySize.toLocaleString('en')} B | ${r.chunks} | ${r.bytesCopiedPerMessage.toFixed(0)} | ${r.copies} for ${r.delivered.toLocaleString('en')} messages |`,
            ),
            '',
          ]),
      '<!-- core:end -->',
    ];
    next = next.slice(0, cs) + core.join('\n') + next.slice(ce + '<!-- core:end -->'.length);
  }
  writeFileSync(file, next);
  console.log('bench/README.md updated');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
