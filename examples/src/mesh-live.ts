#!/usr/bin/env node
/**
 * The live mesh: N Node nodes gossip over WebSocket, and a page served over `node:http` lets
 * every browser tab join the mesh as a peer and draws it live.
 *
 *   node examples/dist/mesh-live.js [--nodes 8] [--links 2] [--port 8080] [--host 127.0.0.1]
 *
 * Open the printed URL in several tabs and publish from any of them.
 */
import { parseArgs } from 'node:util';
import { startLiveMesh } from './mesh-live/server.js';
import { positiveInt } from './stats.js';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string' },
    links: { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
  },
});
const mesh = await startLiveMesh({
  nodes: positiveInt('--nodes', values.nodes, 8),
  links: positiveInt('--links', values.links, 2),
  port: values.port === undefined ? 0 : positiveInt('--port', values.port, 0),
  host: values.host ?? '127.0.0.1',
});
console.log(`live mesh: open ${mesh.url} in a browser (several tabs); Ctrl-C stops it`);
process.once('SIGINT', () => {
  void mesh.close().then(() => process.exit(130));
});
