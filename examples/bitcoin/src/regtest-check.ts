/**
 * Runs this example's node against a real Bitcoin node (bcoin, regtest) and prints what happened
 * as one JSON line. The tests run it inside a fresh network namespace with only loopback; run it
 * by hand the same way (as root):
 *
 * ```sh
 * unshare --net sh -c 'ip link set lo up && exec node examples/bitcoin/dist/regtest-check.js'
 * ```
 *
 * It listens on 127.0.0.1 (any port), starts bcoin told to dial only that address, mines blocks
 * with bcoin's HTTP RPC `generatetoaddress`, dials bcoin, completes version/verack, pings, and
 * downloads and checks the header chain; it also waits for bcoin's own connection to complete its
 * handshake and answer a ping. `--blocks N` (default 2100, over one `headers` round of 2,000).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { hashToHex } from './codec.js';
import { startBitcoinNode } from './policy.js';

const blocksAt = process.argv.indexOf('--blocks');
const blocks = blocksAt === -1 ? 2100 : Number(process.argv[blocksAt + 1]);

/** A pay-to-pubkey-hash address on bcoin's regtest (base58check, version 0x3c) for a random key hash. */
function regtestAddress(): string {
  const payload = Buffer.concat([Buffer.of(0x3c), randomBytes(20)]);
  const sha = (b: Buffer) => createHash('sha256').update(b).digest();
  const bytes = Buffer.concat([payload, sha(sha(payload)).subarray(0, 4)]);
  const alphabet = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
  let n = BigInt(`0x${bytes.toString('hex')}`);
  let out = '';
  while (n > 0n) {
    out = alphabet[Number(n % 58n)]! + out;
    n /= 58n;
  }
  for (const b of bytes) {
    if (b !== 0) break;
    out = `1${out}`;
  }
  return out;
}

async function rpc(
  http: string,
  apiKey: string,
  method: string,
  params: unknown[],
): Promise<unknown> {
  const response = await fetch(`http://${http}/`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`x:${apiKey}`).toString('base64')}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({ method, params, id: 1 }),
  });
  const body = (await response.json()) as { result: unknown; error: unknown };
  if (body.error) throw new Error(`${method}: ${JSON.stringify(body.error)}`);
  return body.result;
}

function startBcoin(
  only: string,
): Promise<{ child: ChildProcess; p2p: string; http: string; apiKey: string }> {
  const script = fileURLToPath(new URL('./bcoin-regtest.js', import.meta.url));
  const child = spawn(process.execPath, [script, '--only', only], {
    stdio: ['pipe', 'pipe', 'inherit'],
    // bcoin's native add-ons are not built (pnpm-workspace.yaml): use its JavaScript backend.
    env: { ...process.env, NODE_BACKEND: 'js' },
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`bcoin exited with ${code}`)));
    createInterface({ input: child.stdout! }).once('line', (line) => {
      resolve({ child, ...(JSON.parse(line) as { p2p: string; http: string; apiKey: string }) });
    });
  });
}

// A node with Bitcoin Core's connection policy (`policy.ts`).
const { reactor, node } = await startBitcoinNode({ listen: '127.0.0.1:0' });
const inbound = node.nextInbound();
const bcoin = await startBcoin(reactor.listenAddresses[0]!);
try {
  const mined = (await rpc(bcoin.http, bcoin.apiKey, 'generatetoaddress', [
    blocks,
    regtestAddress(),
  ])) as string[];
  const best = (await rpc(bcoin.http, bcoin.apiKey, 'getbestblockhash', [])) as string;

  const peer = await reactor.connect(bcoin.p2p);
  const version = await node.handshake(peer);
  const rtt = await node.ping(peer);
  const height = await node.syncHeaders(peer);

  const inboundPeer = await inbound;
  const inboundVersion = await node.handshake(inboundPeer);
  await node.ping(inboundPeer);

  process.stdout.write(
    `${JSON.stringify({
      ok: true,
      mined: mined.length,
      bestBlock: best,
      height,
      tip: hashToHex(node.chain.tip),
      userAgent: version.userAgent,
      peerVersion: version.version,
      pingMs: rtt,
      inbound: { userAgent: inboundVersion.userAgent },
    })}\n`,
  );
} catch (error) {
  process.stdout.write(`${JSON.stringify({ ok: false, error: String(error) })}\n`);
  process.exitCode = 1;
} finally {
  await reactor.shutdown({ flushTimeout: 0 });
  bcoin.child.stdin!.end();
  bcoin.child.kill('SIGTERM');
}
