// One side of one trial, run as a child process of run.mjs (IPC channel required).
// argv[2] is a JSON job: { role, impl, size, count, warmup, conns }.
//
// Roles:
// - 'rtt-server': echoes every message back (same seq, same size).
// - 'rtt-client': `warmup` + `count` sequential round trips; reports p50/p99 of the last `count`.
// - 'flood-recv': receives and verifies `count` messages, reports when the last one arrived.
// - 'flood-send': on 'go', sends `count` messages as fast as backpressure allows.
// - 'mem-server' / 'mem-client': opens `conns` idle connections; on 'measure', reports heap and
//   RSS above the baseline taken before the first connection.
// - 'lat-recv' / 'lat-send': `conns` connections from the sender flood the receiver for `seconds`
//   (every connection as fast as backpressure allows); the receiver runs a chain of `timerMs`
//   timers and reports how late each one fired (see 'lat-recv' for how the parent makes the
//   backlog).
//
// Times are process.hrtime (CLOCK_MONOTONIC, shared by every process on the machine), so the
// parent can subtract the sender's start from the receiver's end.

import { cpuSeconds, expectedChecksum, peakRss, settle, u32, Verifier } from './common.mjs';

const job = JSON.parse(process.argv[2] ?? '{}');
const send = (msg) => process.send?.(msg);
const now = () => Number(process.hrtime.bigint());

/** @returns {Promise<import('./common.mjs').Impl>} */
async function loadImpl(name) {
  return import(`./impl/${name}.mjs`);
}

/**
 * Sets the worker's receive callbacks on `conn`: `fn(len, seq, tail)` for every message, whether
 * the implementation parses messages itself or hands out each one as a `Uint8Array`.
 * @param {import('./common.mjs').Conn} conn
 * @param {(len: number, seq: number, tail: number) => void} fn
 */
function onReceive(conn, fn) {
  conn.onMessage = fn;
  conn.onPayload = (b) => fn(b.length, u32(b, 0), u32(b, b.length - 4));
}

function stats(cpu0) {
  return { cpuSeconds: cpuSeconds() - cpu0, peakRss: peakRss() };
}

process.on('message', (msg) => {
  if (msg?.type === 'exit') process.exit(0);
});

async function main() {
  const impl = await loadImpl(job.impl);
  const opts = { maxSize: Math.max(job.size + 64, 4096), size: job.size };
  switch (job.role) {
    case 'rtt-server': {
      const server = await impl.listen((conn) => {
        const v = new Verifier(job.size);
        const cpu0 = cpuSeconds();
        onReceive(conn, (len, seq, tail) => {
          v.check(len, seq, tail);
          conn.send(seq, len);
          if (v.next === job.warmup + job.count) {
            send({ type: 'done', ...stats(cpu0), checksum: v.sum, received: v.next });
          }
        });
      }, opts);
      send({ type: 'ready', port: server.port });
      break;
    }
    case 'rtt-client': {
      const conn = await impl.connect(job.port, opts);
      const total = job.warmup + job.count;
      const samples = new Float64Array(job.count);
      const v = new Verifier(job.size);
      let seq = 0;
      let t0 = 0;
      let cpu0 = 0;
      onReceive(conn, (len, s, tail) => {
        const t = now();
        v.check(len, s, tail);
        if (seq >= job.warmup) samples[seq - job.warmup] = (t - t0) / 1000;
        seq++;
        if (seq === job.warmup) cpu0 = cpuSeconds();
        if (seq < total) {
          t0 = now();
          conn.send(seq, job.size);
          return;
        }
        samples.sort();
        const pick = (q) => samples[Math.min(job.count - 1, Math.floor(q * job.count))];
        send({
          type: 'done',
          ...stats(cpu0),
          p50: pick(0.5),
          p99: pick(0.99),
          mean: samples.reduce((a, b) => a + b, 0) / job.count,
          checksum: v.sum,
          expectedChecksum: expectedChecksum(total, job.size),
        });
      });
      process.on('message', (msg) => {
        if (msg?.type !== 'go') return;
        cpu0 = cpuSeconds();
        t0 = now();
        conn.send(0, job.size);
      });
      send({ type: 'connected' });
      break;
    }
    case 'flood-recv': {
      const server = await impl.listen((conn) => {
        const v = new Verifier(job.size);
        const cpu0 = cpuSeconds();
        onReceive(conn, (len, seq, tail) => {
          v.check(len, seq, tail);
          if (v.next === job.count) {
            const end = now();
            send({
              type: 'done',
              end,
              ...stats(cpu0),
              checksum: v.sum,
              expectedChecksum: expectedChecksum(job.count, job.size),
              received: v.next,
            });
          }
        });
      }, opts);
      send({ type: 'ready', port: server.port });
      break;
    }
    case 'flood-send': {
      const conn = await impl.connect(job.port, opts);
      onReceive(conn, () => {
        throw new Error('the receiver sent something');
      });
      process.on('message', (msg) => {
        if (msg?.type !== 'go') return;
        const cpu0 = cpuSeconds();
        const start = now();
        let seq = 0;
        const pump = () => {
          while (seq < job.count) {
            const more = conn.send(seq, job.size);
            seq++;
            if (!more) {
              conn.onDrain(pump);
              return;
            }
          }
          conn.onDrain(() => send({ type: 'sent', start, ...stats(cpu0) }));
        };
        pump();
      });
      send({ type: 'connected' });
      break;
    }
    case 'mem-server': {
      await settle();
      const base = process.memoryUsage();
      const conns = [];
      const server = await impl.listen((conn) => {
        conns.push(conn);
        if (conns.length === job.conns) send({ type: 'accepted' });
      }, opts);
      process.on('message', async (msg) => {
        if (msg?.type !== 'measure') return;
        await settle();
        const m = process.memoryUsage();
        send({
          type: 'measured',
          heapPerConn: (m.heapUsed - base.heapUsed) / conns.length,
          rssPerConn: (m.rss - base.rss) / conns.length,
          peakRss: peakRss(),
          conns: conns.length,
        });
      });
      send({ type: 'ready', port: server.port });
      break;
    }
    case 'mem-client': {
      // Load the implementation's code paths once before the baseline.
      const warm = await impl.connect(job.port, opts);
      await settle();
      const base = process.memoryUsage();
      const conns = [warm];
      const batch = 200;
      while (conns.length < job.conns) {
        const n = Math.min(batch, job.conns - conns.length);
        const opened = await Promise.all(
          Array.from({ length: n }, () => impl.connect(job.port, opts)),
        );
        conns.push(...opened);
      }
      process.on('message', async (msg) => {
        if (msg?.type !== 'measure') return;
        await settle();
        const m = process.memoryUsage();
        send({
          type: 'measured',
          heapPerConn: (m.heapUsed - base.heapUsed) / (conns.length - 1),
          rssPerConn: (m.rss - base.rss) / (conns.length - 1),
          peakRss: peakRss(),
          conns: conns.length,
        });
      });
      send({ type: 'connected' });
      break;
    }
    case 'lat-recv': {
      let accepted = 0;
      let received = 0;
      const server = await impl.listen((conn) => {
        const v = new Verifier(job.size);
        onReceive(conn, (len, seq, tail) => {
          v.check(len, seq, tail);
          received++;
        });
        if (++accepted === job.conns) send({ type: 'accepted' });
      }, opts);
      // 'arm' starts a chain of timers, each recording when it was due and when it fired; the
      // parent then stops this process (SIGSTOP) while the sender fills every connection's
      // receive buffer, continues it, and after a while sends 'finish' with the time it continued:
      // only timers due after that count (the stop itself is not the implementation's doing).
      /** @type {number[]} due and fire times, in pairs */
      const fired = [];
      let cpu0 = 0;
      let received0 = 0;
      let running = false;
      process.on('message', (msg) => {
        if (msg?.type === 'arm') {
          cpu0 = cpuSeconds();
          received0 = received;
          running = true;
          let due = now() + job.timerMs * 1e6;
          const fire = () => {
            const t = now();
            fired.push(due, t);
            if (!running) return;
            due = t + job.timerMs * 1e6;
            setTimeout(fire, job.timerMs);
          };
          setTimeout(fire, job.timerMs);
          send({ type: 'armed' });
        } else if (msg?.type === 'finish') {
          running = false;
          const late = [];
          for (let i = 0; i < fired.length; i += 2) {
            if (fired[i] >= msg.continuedAt) late.push((fired[i + 1] - fired[i]) / 1e6);
          }
          late.sort((a, b) => a - b);
          const seconds = (now() - msg.continuedAt) / 1e9;
          send({
            type: 'done',
            ...stats(cpu0),
            timers: late.length,
            lateP50: late[Math.floor(late.length / 2)],
            lateMax: late[late.length - 1],
            msgsPerSec: (received - received0) / seconds,
          });
        }
      });
      send({ type: 'ready', port: server.port });
      break;
    }
    case 'lat-send': {
      const conns = [];
      const batch = 200;
      while (conns.length < job.conns) {
        const n = Math.min(batch, job.conns - conns.length);
        const opened = await Promise.all(
          Array.from({ length: n }, () => impl.connect(job.port, opts)),
        );
        conns.push(...opened);
      }
      for (const conn of conns) {
        onReceive(conn, () => {
          throw new Error('the receiver sent something');
        });
      }
      let cpu0 = 0;
      let sent = 0;
      process.on('message', (msg) => {
        // Asked once the receiver is done (a connection may still wait for its drain).
        if (msg?.type === 'report') send({ type: 'sent', sent, ...stats(cpu0) });
        if (msg?.type !== 'go') return;
        cpu0 = cpuSeconds();
        const end = now() + job.seconds * 1e9;
        for (const conn of conns) {
          let seq = 0;
          const pump = () => {
            for (;;) {
              // The clock is read once per 64 messages.
              if ((seq & 63) === 0 && now() >= end) return;
              const more = conn.send(seq, job.size);
              seq++;
              sent++;
              if (!more) {
                conn.onDrain(pump);
                return;
              }
            }
          };
          pump();
        }
      });
      send({ type: 'connected' });
      break;
    }
    default:
      throw new Error(`unknown role ${job.role}`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
