import { spawnSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { runBackpressure, type TelemetryEvent } from '../src/backpressure.js';
import { buildProject, root } from './build.js';

beforeAll(() => buildProject('examples'), 60_000);

/** The send buffer's limit with these small messages: the 64 KiB floor. */
const LIMIT = 64 * 1024;

describe('backpressure example', () => {
  it('delivers every message once, in order, through many full buffers', async () => {
    const seqs: number[] = [];
    const telemetry: TelemetryEvent[] = [];
    // 5,000 × 4 KiB = 20 MiB: more than the kernel's socket buffers on both sides take, so the
    // slow reader's socket fills and the transport blocks.
    const count = 5000;
    const result = await runBackpressure({
      count,
      size: 4096,
      every: 50,
      onReceive: (seq) => seqs.push(seq),
      onTelemetry: (event) => telemetry.push(event),
    });
    expect(seqs).toEqual(Array.from({ length: count }, (_, i) => i));
    expect(result.received).toBe(count);
    expect(result.inOrder).toBe(true);
    // The loop ran into a full buffer (behind a blocked transport) and recovered.
    expect(result.full).toBeGreaterThan(0);
    expect(result.maxBytesQueued).toBeGreaterThan(0);
    expect(result.maxBytesQueued).toBeLessThanOrEqual(LIMIT);
    // Telemetry: the deltas add up to the queue's size at every event, and end at zero.
    expect(result.telemetryAddsUp).toBe(true);
    expect(result.telemetryEvents).toBe(telemetry.length);
    let sum = 0;
    for (const e of telemetry) {
      sum += e.delta;
      expect(e.bytesQueued).toBe(sum);
      expect(e.bytesQueued).toBeLessThanOrEqual(LIMIT);
    }
    expect(telemetry.length).toBeGreaterThan(0);
    expect(sum).toBe(0);
  });

  it('prints the throughput, peerStats figures and telemetry events (backpressure.js)', () => {
    const result = spawnSync(
      process.execPath,
      [
        `${root}examples/dist/backpressure.js`,
        ...['--count', '5000', '--size', '4096', '--every', '100', '--telemetry'],
      ],
      { cwd: root, encoding: 'utf8', timeout: 20_000 },
    );
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const out = result.stdout;
    expect(out).toMatch(/^received 5,000 of 5,000 messages, in order, in [\d.]+ s: [\d,]+ msg\/s/m);
    expect(out).toMatch(
      /^send\(\) returned 'full' [1-9][\d,]* times?; each time the loop awaited/m,
    );
    expect(out).toMatch(/^peerStats at those times: at most [\d.]+ (B|KiB) queued, oldest /m);
    expect(out).toMatch(
      /^sent 5,000 \(100%\), [\d,]+ msg\/s; peer: [\d.]+ (B|KiB) queued, oldest /m,
    );
    expect(out).toMatch(
      /^telemetry: peer \d+ \+\d+ B -> \d+ B queued, \d+ B free, oldest [\d.]+ ms$/m,
    );
    expect(out).toMatch(/^telemetry: peer \d+ -\d+ B -> 0 B queued, 65536 B free, oldest -$/m);
    expect(out).toMatch(
      /^telemetry: [1-9][\d,]* outbound-telemetry events; their deltas add up to bytesQueued at every event$/m,
    );
  });
});
