#!/usr/bin/env node
/**
 * The gossip mesh example: N peerlink nodes on 127.0.0.1 (in this one process, each with its own
 * reactor, listener and TCP connections) gossip messages; prints how long each message takes to
 * reach every node, and a live view of every node built from its reactor's `stats()`.
 *
 *   node examples/dist/mesh.js [--nodes 16] [--links 3] [--messages 5] [--payload 32]
 *                              [--interval 200] [--stats 250]
 *
 * `--interval`: pause between messages, in ms. `--stats`: how often the live view is sampled, in
 * ms. On a terminal the live view is a table (a row per node: peers, messages per second in and
 * out, bytes queued) redrawn in place; otherwise one line per sample with the totals and the
 * busiest node.
 */
import { parseArgs } from 'node:util';
import { type MeshStatsSample, runMesh } from './gossip.js';
import { LiveArea, type LiveSample } from './live.js';
import { formatBytes, formatCount, positiveInt } from './stats.js';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string' },
    links: { type: 'string' },
    messages: { type: 'string' },
    payload: { type: 'string' },
    interval: { type: 'string' },
    stats: { type: 'string' },
  },
});
const nodes = positiveInt('--nodes', values.nodes, 16);
const links = positiveInt('--links', values.links, 3);
const messages = positiveInt('--messages', values.messages, 5);
const payloadSize = positiveInt('--payload', values.payload, 32);
const interval = values.interval === '0' ? 0 : positiveInt('--interval', values.interval, 200);
const statsInterval = positiveInt('--stats', values.stats, 250);
const area = process.stdout.isTTY === true ? new LiveArea() : undefined;
const print = (line: string) => (area === undefined ? console.log(line) : area.log(line));

/** Rows of the table, at most: the terminal's height leaves room for the messages above. */
const rows = process.stdout.rows ?? 0; // 0: a terminal of unknown size (as under `script`)
const maxRows = rows > 0 ? Math.max(4, rows - 10) : 32;

function table(sample: MeshStatsSample): string[] {
  const pad = (text: string | number, width: number) => String(text).padStart(width);
  const rows = [
    `live view from stats() at ${(sample.elapsedMs / 1000).toFixed(2)} s (${sample.phase})`,
    `${pad('node', 6)}${pad('peers', 7)}${pad('in msg/s', 11)}${pad('out msg/s', 11)}${pad('queued', 11)}${pad('msgs in', 9)}${pad('msgs out', 10)}`,
  ];
  const shown = sample.nodes.slice(0, maxRows);
  shown.forEach((n, i) => {
    rows.push(
      `${pad(i, 6)}${pad(n.peers, 7)}${pad(formatCount(n.messagesInPerSecond), 11)}${pad(formatCount(n.messagesOutPerSecond), 11)}` +
        `${pad(formatBytes(n.bytesQueued), 11)}${pad(formatCount(n.messagesIn), 9)}${pad(formatCount(n.messagesOut), 10)}`,
    );
  });
  if (sample.nodes.length > shown.length) {
    rows.push(`   … and ${sample.nodes.length - shown.length} more nodes`);
  }
  return rows;
}

function line(sample: MeshStatsSample): string {
  const sum = (key: keyof LiveSample) => sample.nodes.reduce((a, n) => a + n[key], 0);
  let busiest = 0;
  sample.nodes.forEach((n, i) => {
    if (n.messagesInPerSecond > sample.nodes[busiest]!.messagesInPerSecond) busiest = i;
  });
  const b = sample.nodes[busiest]!;
  return (
    `live ${(sample.elapsedMs / 1000).toFixed(2)} s (${sample.phase}): ${sample.nodes.length} nodes, ` +
    `${formatCount(sum('peers'))} peers, in ${formatCount(sum('messagesInPerSecond'))} msg/s, ` +
    `out ${formatCount(sum('messagesOutPerSecond'))} msg/s, queued ${formatBytes(sum('bytesQueued'))}; ` +
    `busiest node ${busiest}: ${b.peers} peers, in ${formatCount(b.messagesInPerSecond)} msg/s, ` +
    `out ${formatCount(b.messagesOutPerSecond)} msg/s, queued ${formatBytes(b.bytesQueued)}`
  );
}

const result = await runMesh({
  nodes,
  links,
  messages,
  payloadSize,
  interval,
  statsInterval,
  onStats: (sample) =>
    area === undefined ? console.log(line(sample)) : area.update(table(sample)),
  onMessage: (m) =>
    print(
      `message ${m.id} from node ${m.origin} reached all ${nodes} nodes in ${m.millis.toFixed(2)} ms ` +
        `(at most ${m.maxHops} hops; ${m.copies} copies sent, ${m.duplicates} duplicates dropped)`,
    ),
});
area?.done();
const times = result.messages.map((m) => m.millis).sort((a, b) => a - b);
console.log(
  `${nodes} nodes, ${result.links.length} TCP connections; time to reach every node: ` +
    `fastest ${times[0]!.toFixed(2)} ms, slowest ${times.at(-1)!.toFixed(2)} ms`,
);
