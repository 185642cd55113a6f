#!/usr/bin/env node
/**
 * The pingpong server: answers every `ping n` with `pong n`.
 *
 *   node examples/dist/pingpong-server.js [host] [port] [--json] [--stats ms]
 *
 * Defaults: 127.0.0.1, port 0 (any free port; the bound address is printed). With `--json` it
 * prints one JSON object per line (for programs such as the demo) and exits when its standard
 * input closes, so it never outlives the program that started it. With `--stats ms` it samples
 * `reactor.stats()` every `ms` milliseconds and prints the peers, the messages per second in and
 * out (from the counters' change), the bytes queued, the paused peers and the events queued; a
 * last sample and the peaks are printed when it stops.
 */
import { parseArgs } from 'node:util';
import { formatAddress } from 'peerlink';
import { describeSample, type LiveSample, peakOf, RateSampler } from './live.js';
import { startPingPongServer } from './pingpong.js';
import { formatCount, positiveInt } from './stats.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { json: { type: 'boolean', default: false }, stats: { type: 'string' } },
});
const host = positionals[0] ?? '127.0.0.1';
const port = Number(positionals[1] ?? 0);
const json = values.json === true;
const statsEvery = values.stats === undefined ? undefined : positiveInt('--stats', values.stats, 1);
const out = (line: object | string) =>
  process.stdout.write(`${typeof line === 'string' ? line : JSON.stringify(line)}\n`);

const server = await startPingPongServer({
  listen: formatAddress(host, port),
  onPeer: (peer, change, detail) => {
    if (json) out({ event: change, peer, detail });
    else
      out(
        `peer ${peer} ${change === 'accepted' ? `connected from ${detail}` : `disconnected (${detail})`}`,
      );
  },
});
out(
  json
    ? { event: 'listening', address: server.address }
    : `pingpong server listening on ${server.address}`,
);

// The live view: a stats() snapshot every `statsEvery` ms; rates from the counters' deltas.
const sampler = new RateSampler(server.reactor);
const samples: LiveSample[] = [];
function report(final = false): void {
  const sample = sampler.sample();
  samples.push(sample);
  out(json ? { event: 'stats', ...sample, final } : `stats: ${describeSample(sample)}`);
}
const ticker = statsEvery === undefined ? undefined : setInterval(report, statsEvery);
ticker?.unref(); // sampling never keeps the process alive

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  if (ticker !== undefined) {
    clearInterval(ticker);
    report(true); // the last sample, before shutdown() disconnects every peer
  }
  await server.close();
  const peak = peakOf(samples);
  out(
    json
      ? { event: 'stopped', answered: server.answered, samples: samples.length, peak }
      : `answered ${formatCount(server.answered)} pings` +
          (samples.length > 0 ? `; peak: ${describeSample(peak)}` : ''),
  );
  process.stdin.destroy(); // the lifeline (--json) no longer keeps the process alive
}
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
if (json) {
  process.stdin.on('end', stop).on('close', stop).resume();
}
