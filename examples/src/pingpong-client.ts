#!/usr/bin/env node
/**
 * The pingpong client: connects to a pingpong server and makes sequential round trips.
 *
 *   node examples/dist/pingpong-client.js <host> <port> [--count N] [--json]
 *
 * `--count` defaults to 10. Prints each pong (or, past 20 round trips, a summary with the round
 * trip percentiles). With `--json` it prints one JSON object per line: `progress` lines about ten
 * times a second, then a `result` with every round trip time in microseconds; and it exits when
 * its standard input closes.
 */
import { parseArgs } from 'node:util';
import { formatAddress } from 'peerlink';
import { runPingPongClient } from './pingpong.js';
import { formatMicros, percentile, positiveInt } from './stats.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { count: { type: 'string' }, json: { type: 'boolean', default: false } },
});
const [host, portText] = positionals;
if (host === undefined || portText === undefined) {
  process.stderr.write('usage: pingpong-client <host> <port> [--count N] [--json]\n');
  process.exit(2);
}
const count = positiveInt('--count', values.count, 10);
const json = values.json === true;
const out = (line: object | string) =>
  process.stdout.write(`${typeof line === 'string' ? line : JSON.stringify(line)}\n`);

const controller = new AbortController();
const abort = () => controller.abort(new Error('interrupted'));
process.once('SIGINT', abort);
process.once('SIGTERM', abort);
if (json) process.stdin.on('end', abort).on('close', abort).resume();

let lastReport = performance.now();
try {
  const { rtts, elapsedMs } = await runPingPongClient({
    target: formatAddress(host, Number(portText)),
    count,
    signal: controller.signal,
    onRoundTrip: (done, micros) => {
      if (json) {
        const now = performance.now();
        if (now - lastReport >= 100) {
          lastReport = now;
          out({ event: 'progress', done });
        }
      } else if (count <= 20) {
        out(`pong ${done - 1} after ${formatMicros(micros)}`);
      }
    },
  });
  if (json) {
    out({
      event: 'result',
      count,
      elapsedMs,
      rtts: Array.from(rtts, (us) => Math.round(us * 10) / 10),
    });
  } else {
    const sorted = Float64Array.from(rtts).sort();
    out(
      `${count} round trips in ${(elapsedMs / 1000).toFixed(2)} s: ` +
        `p50 ${formatMicros(percentile(sorted, 50))}, p99 ${formatMicros(percentile(sorted, 99))}`,
    );
  }
} catch (error) {
  process.stderr.write(`pingpong client: ${(error as Error).message}\n`);
  process.exitCode = 1;
}
process.stdin.destroy();
