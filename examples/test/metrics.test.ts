import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from '../../packages/metrics-prometheus/test/text.js';
import { type PingPongServer, runPingPongClient, startPingPongServer } from '../src/pingpong.js';
import { type MetricsEndpoint, serveMetrics } from '../src/prometheus.js';
import { buildProject, root } from './build.js';

let server: PingPongServer | undefined;
let endpoint: MetricsEndpoint | undefined;
afterEach(async () => {
  await endpoint?.close();
  await server?.close();
  endpoint = server = undefined;
});

describe('Prometheus endpoint example', () => {
  it('serves the pingpong server’s traffic at /metrics over a real HTTP request', async () => {
    server = await startPingPongServer({ listen: '127.0.0.1:0' });
    endpoint = await serveMetrics(server.reactor);
    expect(endpoint.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    await runPingPongClient({ target: server.address, count: 20 });

    const response = await fetch(endpoint.url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    expect(text).toContain('# TYPE peerlink_received_messages_total counter');
    expect(text).toContain('# TYPE peerlink_peers gauge');
    const m = parse(text);
    expect(m.get('peerlink_received_messages_total')).toBe(20);
    expect(m.get('peerlink_sent_messages_total')).toBe(20);
    expect(m.get('peerlink_received_bytes_total')).toBe(20 * 12);
    expect(m.get('peerlink_sent_bytes_total')).toBe(20 * 12);
    expect(m.get('peerlink_listeners')).toBe(1);

    expect((await fetch(endpoint.url.replace('/metrics', '/other'))).status).toBe(404);
  });

  it('runs as a program that prints its addresses and answers scrapes', async () => {
    buildProject('examples');
    const child = spawn(process.execPath, [`${root}examples/dist/metrics-server.js`], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const lines = createInterface({ input: child.stdout! });
      let url: string | undefined;
      for await (const line of lines) {
        const match = /^metrics at (\S+)$/.exec(line);
        if (match !== null) {
          url = match[1];
          break;
        }
      }
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      const m = parse(await (await fetch(url!)).text());
      expect(m.get('peerlink_peers{direction="inbound"}')).toBe(0);
      child.kill('SIGTERM');
      const [code] = await once(child, 'exit');
      expect(code).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
