#!/usr/bin/env node
/**
 * The pingpong server: answers every `ping n` with `pong n`.
 *
 *   node examples/dist/pingpong-server.js [host] [port] [--json]
 *
 * Defaults: 127.0.0.1, port 0 (any free port; the bound address is printed). With `--json` it
 * prints one JSON object per line (for programs such as the demo) and exits when its standard
 * input closes, so it never outlives the program that started it.
 */
import { parseArgs } from 'node:util';
import { formatAddress } from 'peerlink';
import { startPingPongServer } from './pingpong.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { json: { type: 'boolean', default: false } },
});
const host = positionals[0] ?? '127.0.0.1';
const port = Number(positionals[1] ?? 0);
const json = values.json === true;
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

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await server.close();
  out(json ? { event: 'stopped', answered: server.answered } : `answered ${server.answered} pings`);
  process.stdin.destroy(); // the lifeline (--json) no longer keeps the process alive
}
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
if (json) {
  process.stdin.on('end', stop).on('close', stop).resume();
}
