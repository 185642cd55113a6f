#!/usr/bin/env node
/**
 * The gossip mesh example: N peerlink nodes on 127.0.0.1 (in this one process, each with its own
 * reactor, listener and TCP connections) gossip messages; prints how long each message takes to
 * reach every node.
 *
 *   node examples/dist/mesh.js [--nodes 16] [--links 3] [--messages 5] [--payload 32]
 */
import { parseArgs } from 'node:util';
import { runMesh } from './gossip.js';
import { positiveInt } from './stats.js';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string' },
    links: { type: 'string' },
    messages: { type: 'string' },
    payload: { type: 'string' },
  },
});
const nodes = positiveInt('--nodes', values.nodes, 16);
const links = positiveInt('--links', values.links, 3);
const messages = positiveInt('--messages', values.messages, 5);
const payloadSize = positiveInt('--payload', values.payload, 32);

const result = await runMesh({
  nodes,
  links,
  messages,
  payloadSize,
  onMessage: (m) =>
    console.log(
      `message ${m.id} from node ${m.origin} reached all ${nodes} nodes in ${m.millis.toFixed(2)} ms ` +
        `(at most ${m.maxHops} hops; ${m.copies} copies sent, ${m.duplicates} duplicates dropped)`,
    ),
});
const times = result.messages.map((m) => m.millis).sort((a, b) => a - b);
console.log(
  `${nodes} nodes, ${result.links.length} TCP connections; time to reach every node: ` +
    `fastest ${times[0]!.toFixed(2)} ms, slowest ${times.at(-1)!.toFixed(2)} ms`,
);
