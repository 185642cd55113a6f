#!/usr/bin/env node
// Soak test for the peerlink reactor over loopback TCP (not part of the test run).
//
//   node --expose-gc bench/soak/soak.mjs [--cycles 100000] [--duration 3600] [--rate 2000]
//                                         [--peers 50] [--concurrency 32] [--sample 10]
//
// Phase 1, churn: `--cycles` connect/disconnect cycles (`--concurrency` at a time), alternating
//   who disconnects (client, server) and, every third cycle, a message each way first.
// Phase 2, mixed traffic: `--peers` clients send to one server at a fixed total rate (`--rate`
//   messages/s, sizes mixed from 12 B to 64 KiB, the server echoing one in four), while one peer
//   in ten is disconnected and replaced every sampling interval, for `--duration` seconds.
// Every `--sample` seconds it prints heap used after a full GC, RSS and the peer counts.
// At the end it checks: peer maps empty after shutdown, heap flat after GC (last sample vs the
// first after warm-up), no process warning (e.g. MaxListenersExceededWarning), no uncaught error,
// exactly one `disconnected` per peer, every queued message delivered (one refused by a full
// send buffer is counted apart, not retried); prints a Markdown summary; exits 1 on a failure.
//
// Imports the built packages: run `npx tsc -b` at the root first. Traffic stays on 127.0.0.0/8
// (the server listens on 127.0.0.1–127.0.0.8 so that 100,000 connections do not exhaust the
// ephemeral ports of one address pair while closed ones sit in TIME_WAIT).
import { parseArgs } from 'node:util';
import { lengthPrefixed } from '@peerlink/codec';
import { Reactor } from '@peerlink/reactor';
import { tcpTransport } from '@peerlink/transport-tcp';

const { values: opts } = parseArgs({
  options: {
    cycles: { type: 'string', default: '100000' },
    duration: { type: 'string', default: '3600' },
    rate: { type: 'string', default: '2000' },
    peers: { type: 'string', default: '50' },
    concurrency: { type: 'string', default: '32' },
    sample: { type: 'string', default: '10' },
  },
});
const CYCLES = Number(opts.cycles);
const DURATION_S = Number(opts.duration);
const RATE = Number(opts.rate);
const PEERS = Number(opts.peers);
const CONCURRENCY = Number(opts.concurrency);
const SAMPLE_S = Number(opts.sample);

if (typeof globalThis.gc !== 'function') {
  console.error('run with node --expose-gc');
  process.exit(2);
}
const gc = globalThis.gc;

const problems = [];
const warnings = [];
process.on('warning', (w) => warnings.push(`${w.name}: ${w.message}`));
process.on('uncaughtException', (e) => problems.push(`uncaughtException: ${e?.stack ?? e}`));
process.on('unhandledRejection', (e) => problems.push(`unhandledRejection: ${e?.stack ?? e}`));

const MiB = 1024 * 1024;
const codec = lengthPrefixed({ maxSize: 64 * 1024 + 4 });
const log = (...a) => console.log(new Date().toISOString().slice(11, 19), ...a);

/** Counts opened peers and `disconnected` events per reactor; every peer must get exactly one. */
class Ledger {
  open = new Set();
  opened = 0;
  disconnects = 0;
  observe(e) {
    if (e.type === 'connected' || e.type === 'accepted') {
      this.open.add(e.peer);
      this.opened++;
    } else if (e.type === 'disconnected') {
      if (!this.open.delete(e.peer))
        problems.push(`disconnected without open (or twice): ${e.peer}`);
      this.disconnects++;
    }
  }
}

function heapAfterGc() {
  gc();
  gc();
  return process.memoryUsage();
}

const addresses = Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 1}:0`);

/**
 * Waiters keyed by peer id. An event that fires before anyone waits is kept, so that a wait
 * registered late still resolves.
 */
function makeWaiters() {
  const byPeer = new Map();
  const early = new Map();
  return {
    wait(peer) {
      if (early.has(peer)) {
        const value = early.get(peer);
        early.delete(peer);
        return Promise.resolve(value);
      }
      return new Promise((resolve) => byPeer.set(peer, resolve));
    },
    fire(peer, value) {
      const w = byPeer.get(peer);
      if (w) {
        byPeer.delete(peer);
        w(value);
      } else early.set(peer, value);
    },
    /** Forgets early events of `peer` (it is done with). */
    forget(peer) {
      early.delete(peer);
    },
    get size() {
      return byPeer.size + early.size;
    },
  };
}

// ------------------------------------------------------------------------------------ phase 1

async function churn() {
  const server = new Reactor({ codec, transport: tcpTransport(), name: 'soak-server' });
  const client = new Reactor({ codec, transport: tcpTransport(), name: 'soak-client' });
  const sLedger = new Ledger();
  const cLedger = new Ledger();
  // Keyed by both ends: the kernel reuses a client port towards different server addresses.
  const acceptedBy = new Map(); // "client address|server address" -> server peer
  const acceptWaiters = new Map();
  const sGone = makeWaiters();
  const cGone = makeWaiters();
  const sMsg = makeWaiters();
  const cMsg = makeWaiters();
  server.onEvent((e) => {
    sLedger.observe(e);
    if (e.type === 'accepted') {
      const key = `${e.remoteAddress}|${e.localAddress}`;
      const w = acceptWaiters.get(key);
      if (w) {
        acceptWaiters.delete(key);
        w(e.peer);
      } else acceptedBy.set(key, e.peer);
    } else if (e.type === 'disconnected') sGone.fire(e.peer, e.reason.kind);
    else if (e.type === 'message') sMsg.fire(e.peer);
  });
  client.onEvent((e) => {
    cLedger.observe(e);
    if (e.type === 'disconnected') cGone.fire(e.peer, e.reason.kind);
    else if (e.type === 'message') cMsg.fire(e.peer);
  });
  const bound = await server.listen(addresses);
  const serverPeerFor = (key) => {
    const p = acceptedBy.get(key);
    if (p !== undefined) {
      acceptedBy.delete(key);
      return Promise.resolve(p);
    }
    return new Promise((resolve) => acceptWaiters.set(key, resolve));
  };

  const before = heapAfterGc();
  const started = performance.now();
  let done = 0;
  let next = 0;
  const ping = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
  const stages = [];
  let lastDone = -1;
  const watchdog = setInterval(() => {
    if (done === lastDone) {
      log(
        'churn: no progress for 10 s; workers:',
        JSON.stringify(stages.filter((x) => x.stage !== 'idle')),
      );
      log(
        'server stats',
        JSON.stringify(server.stats()),
        'client stats',
        JSON.stringify(client.stats({ peers: false })),
      );
    }
    lastDone = done;
  }, 10_000);
  watchdog.unref();
  async function worker(_, w) {
    const st = { w, i: -1, stage: 'idle' };
    stages.push(st);
    while (next < CYCLES) {
      const i = next++;
      st.i = i;
      const target = bound[i % bound.length];
      st.stage = `connect ${target}`;
      const peer = await client.connect(target);
      const connected = client.peerStats(peer);
      st.stage = `accept of ${connected?.localAddress} (client peer ${peer})`;
      const serverPeer = await serverPeerFor(
        `${connected.localAddress}|${connected.remoteAddress}`,
      );
      st.stage = `cycle client ${peer} server ${serverPeer}`;
      if (i % 3 === 0) {
        const got = sMsg.wait(serverPeer);
        client.send(peer, ping);
        await got;
        const back = cMsg.wait(peer);
        server.send(serverPeer, ping);
        await back;
      }
      const goneS = sGone.wait(serverPeer);
      const goneC = cGone.wait(peer);
      if (i % 2 === 0) client.disconnect(peer);
      else server.disconnect(serverPeer);
      await Promise.all([goneS, goneC]);
      st.stage = 'idle';
      done++;
      if (done % 10_000 === 0) {
        const m = process.memoryUsage();
        log(
          `churn ${done}/${CYCLES} cycles, ${Math.round(done / ((performance.now() - started) / 1000))}/s,`,
          `heap ${(m.heapUsed / MiB).toFixed(1)} MiB, rss ${(m.rss / MiB).toFixed(0)} MiB,`,
          `peers ${server.peerCount}/${client.peerCount}`,
        );
      }
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  clearInterval(watchdog);
  const seconds = (performance.now() - started) / 1000;
  const peersAfter = { server: server.peerCount, client: client.peerCount };
  const after = heapAfterGc();
  await Promise.all([server.shutdown({ flushTimeout: 0 }), client.shutdown({ flushTimeout: 0 })]);
  const result = {
    cycles: done,
    seconds,
    perSecond: done / seconds,
    heapBeforeMiB: before.heapUsed / MiB,
    heapAfterMiB: after.heapUsed / MiB,
    rssAfterMiB: after.rss / MiB,
    peersAfter,
    peersAfterShutdown: { server: server.peerCount, client: client.peerCount },
    ledgerOpen: sLedger.open.size + cLedger.open.size,
    opened: sLedger.opened + cLedger.opened,
    disconnects: sLedger.disconnects + cLedger.disconnects,
  };
  if (peersAfter.server !== 0 || peersAfter.client !== 0) problems.push('churn: peers left');
  if (result.ledgerOpen !== 0) problems.push('churn: peers without a disconnected event');
  return result;
}

// ------------------------------------------------------------------------------------ phase 2

const SIZES = [12, 12, 12, 100, 100, 1024, 4096, 16 * 1024, 64 * 1024];

async function mixed() {
  const server = new Reactor({ codec, transport: tcpTransport(), name: 'soak-server' });
  const sLedger = new Ledger();
  let received = 0;
  let receivedBytes = 0;
  let echoed = 0;
  server.onEvent((e) => {
    sLedger.observe(e);
    if (e.type === 'message') {
      received++;
      receivedBytes += e.size;
      if (e.message[0] === 0xec && server.send(e.peer, e.message) === 'queued') echoed++;
    }
  });
  const bound = await server.listen(addresses);
  const client = new Reactor({ codec, transport: tcpTransport(), name: 'soak-clients' });
  const cLedger = new Ledger();
  let echoes = 0;
  let full = 0;
  client.onEvent((e) => {
    cLedger.observe(e);
    if (e.type === 'message') echoes++;
    else if (e.type === 'send-buffer-full') full++;
  });
  let peers = [];
  let reconnects = 0;
  for (let i = 0; i < PEERS; i++) peers.push(await client.connect(bound[i % bound.length]));
  const payloads = SIZES.map((n, i) => {
    const m = new Uint8Array(n);
    for (let k = 0; k < n; k++) m[k] = (k * 7 + i) & 0xff;
    return m;
  });
  const echoPayload = new Uint8Array(64).fill(0xec);

  let sent = 0;
  let attempts = 0;
  const started = performance.now();
  const endAt = started + DURATION_S * 1000;
  const samples = [];
  let nextSample = started + SAMPLE_S * 1000;
  // Fixed rate: every 10 ms, send what brings the total to RATE × elapsed.
  while (performance.now() < endAt) {
    const due = Math.floor(((performance.now() - started) / 1000) * RATE);
    // `attempts` keeps the fixed rate; a message refused by a full send buffer (reported with
    // `send-buffer-full`) is counted as refused, not as sent, and not retried.
    while (attempts < due) {
      const peer = peers[attempts % peers.length];
      const message = attempts % 4 === 0 ? echoPayload : payloads[attempts % payloads.length];
      if (client.send(peer, message) === 'queued') sent++;
      attempts++;
    }
    const now = performance.now();
    if (now >= nextSample) {
      nextSample += SAMPLE_S * 1000;
      // Churn: replace one peer in ten.
      const replace = Math.max(1, Math.floor(peers.length / 10));
      for (let i = 0; i < replace; i++) {
        const idx = (reconnects + i) % peers.length;
        client.disconnect(peers[idx]);
        peers[idx] = await client.connect(bound[(reconnects + i) % bound.length]);
      }
      reconnects += replace;
      const m = heapAfterGc();
      const sample = {
        t: Math.round((now - started) / 1000),
        heapMiB: m.heapUsed / MiB,
        rssMiB: m.rss / MiB,
        arrayBuffersMiB: m.arrayBuffers / MiB,
        serverPeers: server.peerCount,
        clientPeers: client.peerCount,
        sent,
        received,
      };
      samples.push(sample);
      log(
        `mixed t=${sample.t}s sent ${sent} received ${received} echoes ${echoes}`,
        `heap ${sample.heapMiB.toFixed(1)} MiB rss ${sample.rssMiB.toFixed(0)} MiB`,
        `peers ${sample.serverPeers}/${sample.clientPeers}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const seconds = (performance.now() - started) / 1000;
  await client.shutdown({ flushTimeout: 2000 });
  // The server sees every client leave.
  const waitStart = performance.now();
  while (server.peerCount > 0 && performance.now() - waitStart < 10_000) {
    await new Promise((resolve) => setImmediate(resolve));
  }
  const serverPeersAfterClients = server.peerCount;
  await server.shutdown({ flushTimeout: 0 });
  peers = [];
  const final = heapAfterGc();
  const result = {
    seconds,
    rate: RATE,
    attempts,
    sent,
    received,
    receivedMiB: receivedBytes / MiB,
    echoed,
    echoes,
    sendBufferFull: full,
    reconnects,
    samples,
    serverPeersAfterClients,
    peersAfterShutdown: { server: server.peerCount, client: client.peerCount },
    ledgerOpen: sLedger.open.size + cLedger.open.size,
    finalHeapMiB: final.heapUsed / MiB,
  };
  if (serverPeersAfterClients !== 0)
    problems.push('mixed: server peers left after clients shut down');
  if (result.ledgerOpen !== 0) problems.push('mixed: peers without a disconnected event');
  // Every queued message must arrive: a requested disconnect still delivers what was queued.
  if (received !== sent) problems.push(`mixed: ${received} of ${sent} queued messages arrived`);
  return result;
}

// ------------------------------------------------------------------------------------ main

log(
  `soak: ${CYCLES} cycles (concurrency ${CONCURRENCY}), then ${DURATION_S} s of mixed traffic at`,
  `${RATE} msg/s over ${PEERS} peers; node ${process.version}`,
);
const churnResult = await churn();
log(`churn done: ${churnResult.cycles} cycles in ${churnResult.seconds.toFixed(1)} s`);
const mixedResult = await mixed();

// Heap flat after GC: compare the first sample after warm-up with the last.
const s = mixedResult.samples;
const first = s[Math.min(1, s.length - 1)];
const last = s[s.length - 1];
const growth = first && last ? last.heapMiB - first.heapMiB : 0;
const flat = growth < 8; // MiB over the whole run
if (!flat) problems.push(`heap grew ${growth.toFixed(1)} MiB after GC during mixed traffic`);
if (warnings.length > 0) problems.push(`process warnings: ${warnings.join('; ')}`);

const f = (n, d = 1) => n.toFixed(d);
console.log(`
### Soak run ${new Date().toISOString().slice(0, 16)}Z (node ${process.version})

| phase | figure |
|---|---|
| churn | ${churnResult.cycles} connect/disconnect cycles in ${f(churnResult.seconds)} s (${f(churnResult.perSecond, 0)}/s, ${CONCURRENCY} at a time) |
| churn | heap after GC ${f(churnResult.heapBeforeMiB)} → ${f(churnResult.heapAfterMiB)} MiB; RSS after ${f(churnResult.rssAfterMiB, 0)} MiB |
| churn | peers after: server ${churnResult.peersAfter.server}, client ${churnResult.peersAfter.client}; ${churnResult.opened} peers opened, ${churnResult.disconnects} disconnected events |
| mixed | ${f(mixedResult.seconds, 0)} s at ${RATE} msg/s over ${PEERS} peers: ${mixedResult.sent} queued, ${mixedResult.received} received (${f(mixedResult.receivedMiB)} MiB), ${mixedResult.echoes} echoes, ${mixedResult.reconnects} reconnects, ${mixedResult.sendBufferFull} send-buffer-full |
| mixed | heap after GC: first sample ${first ? f(first.heapMiB) : '-'} MiB, last ${last ? f(last.heapMiB) : '-'} MiB (growth ${f(growth)} MiB); RSS last ${last ? f(last.rssMiB, 0) : '-'} MiB |
| mixed | peers after clients shut down: server ${mixedResult.serverPeersAfterClients}; after shutdown: ${mixedResult.peersAfterShutdown.server}/${mixedResult.peersAfterShutdown.client} |
| all | process warnings: ${warnings.length}; uncaught errors: ${problems.filter((p) => p.startsWith('unc') || p.startsWith('unh')).length} |
| verdict | ${problems.length === 0 ? 'PASS' : `FAIL: ${problems.join('; ')}`} |

Heap samples (t s: MiB after GC): ${s.map((x) => `${x.t}: ${f(x.heapMiB)}`).join(', ')}
`);
process.exitCode = problems.length === 0 ? 0 : 1;
