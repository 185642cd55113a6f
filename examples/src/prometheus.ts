/**
 * Serves a reactor's statistics as Prometheus metrics over plain `node:http`: `GET /metrics`
 * answers the text exposition format, read from `reactor.stats()` at each scrape through
 * `@peerlink/metrics-prometheus`. Any other path answers 404.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import { PeerlinkMetrics, type StatsSource } from '@peerlink/metrics-prometheus';
import { formatAddress, parseAddress } from 'peerlink';
import { Registry } from 'prom-client';

/** Options of {@link serveMetrics}. */
export interface ServeMetricsOptions {
  /** Where the HTTP server listens, `host:port` (port 0: any free port). Default `127.0.0.1:0`. */
  listen?: string;
  /** The registry to serve. Default: a new one holding only the peerlink metrics. */
  registry?: Registry;
}

/** A running `/metrics` endpoint. */
export interface MetricsEndpoint {
  /** The URL to scrape, e.g. `http://127.0.0.1:9464/metrics`. */
  readonly url: string;
  /** The registry served (add your own metrics to it). */
  readonly registry: Registry;
  /** Stops the HTTP server and removes the peerlink metrics from the registry. */
  close(): Promise<void>;
}

/** Starts an HTTP server whose `/metrics` publishes `reactor`'s statistics. */
export async function serveMetrics(
  reactor: StatsSource,
  options: ServeMetricsOptions = {},
): Promise<MetricsEndpoint> {
  const registry = options.registry ?? new Registry();
  const metrics = new PeerlinkMetrics({ registry });
  metrics.add(reactor);
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (error: unknown) => res.writeHead(500).end(String(error)),
    );
  });
  const { host, port } = parseAddress(options.listen ?? '127.0.0.1:0');
  server.listen(port, host);
  await once(server, 'listening');
  const bound = server.address();
  const actual = typeof bound === 'object' && bound !== null ? bound.port : port;
  return {
    url: `http://${formatAddress(host, actual)}/metrics`,
    registry,
    close: async () => {
      metrics.unregister();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
