/**
 * Starts bcoin, an independent Bitcoin full node written in JavaScript, on regtest with an
 * in-memory chain: the real peer of this example's tests. Run it only inside a network namespace
 * that has nothing but loopback (see `regtest-check.ts`): it listens on the fixed regtest ports
 * (bcoin refuses port 0), and a listening node may look up its public address outside.
 *
 * Usage: `node dist/bcoin-regtest.js [--only host:port]`. Prints one JSON line once listening:
 * `{ "p2p": "127.0.0.1:48444", "http": "127.0.0.1:48332", "apiKey": "…" }`, then runs until its
 * standard input closes or it gets SIGTERM.
 */
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';

interface FullNode {
  open(): Promise<void>;
  connect(): Promise<void>;
  close(): Promise<void>;
}

const require = createRequire(import.meta.url);
const bcoin = require('bcoin') as { FullNode: new (options: object) => FullNode };

const onlyAt = process.argv.indexOf('--only');
const only = onlyAt === -1 ? undefined : process.argv[onlyAt + 1];
const apiKey = randomBytes(16).toString('hex');
const node = new bcoin.FullNode({
  network: 'regtest',
  memory: true,
  workers: false,
  logLevel: 'warning',
  logConsole: false,
  host: '127.0.0.1',
  port: 48444,
  publicHost: '127.0.0.1',
  httpHost: '127.0.0.1',
  httpPort: 48332,
  apiKey,
  listen: true,
  // No UPnP, no DNS seeds (regtest has none); with `only`, dial nothing but that address.
  upnp: false,
  ...(only === undefined ? {} : { only: [only] }),
});

await node.open();
await node.connect();
process.stdout.write(
  `${JSON.stringify({ p2p: '127.0.0.1:48444', http: '127.0.0.1:48332', apiKey })}\n`,
);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await node.close().catch(() => {});
  process.exit(0);
}
process.stdin.on('end', stop).on('close', stop).resume();
process.on('SIGTERM', stop);
