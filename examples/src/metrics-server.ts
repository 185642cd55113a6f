#!/usr/bin/env node
/**
 * The pingpong server with a Prometheus endpoint: answers pings on one port and serves its
 * reactor's statistics at `/metrics` on another.
 *
 *   node examples/dist/metrics-server.js [host] [port] [--metrics host:port]
 *
 * Defaults: 127.0.0.1, port 0 (any free port) for pings, `127.0.0.1:0` for the metrics. Both
 * bound addresses are printed. Then `curl http://127.0.0.1:<port>/metrics`, or point a Prometheus
 * scrape job at it. Stops on SIGINT or SIGTERM.
 */
import { parseArgs } from 'node:util';
import { formatAddress } from 'peerlink';
import { startPingPongServer } from './pingpong.js';
import { serveMetrics } from './prometheus.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { metrics: { type: 'string', default: '127.0.0.1:0' } },
});
const host = positionals[0] ?? '127.0.0.1';
const port = Number(positionals[1] ?? 0);

const server = await startPingPongServer({ listen: formatAddress(host, port) });
const endpoint = await serveMetrics(server.reactor, { listen: values.metrics });
console.log(`pingpong server listening on ${server.address}`);
console.log(`metrics at ${endpoint.url}`);

async function stop(): Promise<void> {
  await endpoint.close();
  await server.close();
}
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
