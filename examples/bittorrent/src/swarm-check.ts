/**
 * Runs this example's seeder and leecher against real BitTorrent clients (aria2 and libtorrent)
 * and prints what happened as one JSON line. The tests run it inside a fresh network namespace
 * with only loopback; run it by hand the same way (as root, with `aria2c` and Debian's
 * `python3-libtorrent` installed):
 *
 * ```sh
 * unshare --net sh -c 'ip link set lo up && exec node examples/bittorrent/dist/swarm-check.js'
 * ```
 *
 * It makes a random file and its torrent (announcing to a small tracker it runs itself on
 * 127.0.0.1, which only tells clients where our seeder is), then:
 * 1. aria2 seeds, we download (connecting to aria2 directly);
 * 2. libtorrent seeds, we download;
 * 3. we seed, libtorrent downloads (told our address directly);
 * 4. we seed, aria2 downloads (it finds us through the tracker).
 * Every download is checked piece by piece (SHA-1) and as a whole. `--only NAME` runs one of
 * `aria2-seeds`, `libtorrent-seeds`, `libtorrent-leeches`, `aria2-leeches`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { type Reactor, run } from 'peerlink';
import { type BValue, bencode } from './bencode.js';
import { TorrentPeer } from './peer.js';
import { makeTorrent } from './torrent.js';
import { type PeerWireMessage, peerWireCodecs } from './wire.js';

const onlyAt = process.argv.indexOf('--only');
const only = onlyAt === -1 ? undefined : process.argv[onlyAt + 1];
const PYTHON = process.env['PEERLINK_PYTHON'] ?? '/usr/bin/python3';
const LIBTORRENT_PEER = fileURLToPath(new URL('../scripts/libtorrent-peer.py', import.meta.url));
/** aria2's listening port: fixed, which is safe in a namespace of our own. */
const ARIA2_PORT = 6881;

const work = mkdtempSync(join(tmpdir(), 'peerlink-bt-'));
const children = new Set<ChildProcess>();

/** A tracker that answers every announce with our seeder's address (when there is one). */
let trackerPeer: { host: string; port: number } | undefined;
const tracker = createServer((_request, response) => {
  const peers = new Uint8Array(trackerPeer === undefined ? 0 : 6);
  if (trackerPeer !== undefined) {
    peers.set(trackerPeer.host.split('.').map(Number), 0);
    peers[4] = trackerPeer.port >> 8;
    peers[5] = trackerPeer.port & 0xff;
  }
  response.end(
    bencode(
      new Map<string, BValue>([
        ['interval', 60],
        ['peers', peers],
      ]),
    ),
  );
});
await new Promise<void>((resolve) => tracker.listen(0, '127.0.0.1', resolve));
const trackerPort = (tracker.address() as { port: number }).port;

const data = new Uint8Array(randomBytes(1024 * 1024 + 1234));
const { torrent, file } = makeTorrent(
  'payload.bin',
  data,
  32 * 1024,
  `http://127.0.0.1:${trackerPort}/announce`,
);
const torrentPath = join(work, 'payload.torrent');
writeFileSync(torrentPath, file);

function start(command: string, args: string[]): ChildProcess {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  child.stderr!.resume();
  return child;
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.stdin!.end();
    child.kill('SIGTERM');
  });
}

function firstJson(child: ChildProcess): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`exited with ${code} before reporting`)));
    createInterface({ input: child.stdout! }).once('line', (line) => resolve(JSON.parse(line)));
  });
}

function seedDir(): string {
  const dir = mkdtempSync(join(work, 'seed-'));
  writeFileSync(join(dir, torrent.name), data);
  return dir;
}

const aria2Common = [
  '--enable-dht=false',
  '--enable-dht6=false',
  '--bt-enable-lpd=false',
  '--enable-peer-exchange=false',
  '--disable-ipv6=true',
  '--summary-interval=0',
  '--console-log-level=error',
  '--bt-stop-timeout=0',
];

async function newPeer(
  seed: boolean,
): Promise<{ reactor: Reactor<PeerWireMessage>; peer: TorrentPeer }> {
  const reactor = await run({ codec: peerWireCodecs, listen: '127.0.0.1:0' });
  const peer = new TorrentPeer(reactor, torrent, seed ? { data } : {});
  return { reactor, peer };
}

/** Connects to `target` until it accepts (a client may still be checking its file). */
async function connectWhenUp(reactor: Reactor<PeerWireMessage>, target: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await reactor.connect(target);
      return;
    } catch (error) {
      if (attempt >= 100) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

function summary(peer: TorrentPeer, got: Uint8Array | undefined, t0: number) {
  return {
    ok: got !== undefined && Buffer.compare(Buffer.from(got), Buffer.from(data)) === 0,
    pieces: torrent.pieces.length,
    hashFailures: peer.hashFailures,
    blocksServed: peer.blocksServed,
    refusedConnections: peer.refused,
    ms: Math.round(performance.now() - t0),
  };
}

async function aria2Seeds() {
  const t0 = performance.now();
  const aria2 = start('aria2c', [
    ...aria2Common,
    `--dir=${seedDir()}`,
    '--check-integrity=true',
    '--seed-ratio=0.0',
    `--listen-port=${ARIA2_PORT}`,
    torrentPath,
  ]);
  const { reactor, peer } = await newPeer(false);
  try {
    await connectWhenUp(reactor, `127.0.0.1:${ARIA2_PORT}`);
    return summary(peer, await peer.complete(), t0);
  } finally {
    await reactor.shutdown({ flushTimeout: 0 });
    await stop(aria2);
  }
}

async function libtorrentSeeds() {
  const t0 = performance.now();
  const lt = start(PYTHON, [LIBTORRENT_PEER, 'seed', torrentPath, seedDir()]);
  const { reactor, peer } = await newPeer(false);
  try {
    const { listening } = (await firstJson(lt)) as { listening: number };
    await connectWhenUp(reactor, `127.0.0.1:${listening}`);
    return summary(peer, await peer.complete(), t0);
  } finally {
    await reactor.shutdown({ flushTimeout: 0 });
    await stop(lt);
  }
}

async function libtorrentLeeches() {
  const t0 = performance.now();
  const { reactor, peer } = await newPeer(true);
  const dir = mkdtempSync(join(work, 'lt-'));
  const lt = start(PYTHON, [
    LIBTORRENT_PEER,
    'leech',
    torrentPath,
    dir,
    reactor.listenAddresses[0]!,
  ]);
  try {
    const report = await firstJson(lt);
    const got = report['finished'] === true ? readFileSync(join(dir, torrent.name)) : undefined;
    return summary(peer, got, t0);
  } finally {
    await reactor.shutdown({ flushTimeout: 0 });
    await stop(lt);
  }
}

async function aria2Leeches() {
  const t0 = performance.now();
  const { reactor, peer } = await newPeer(true);
  const [host, port] = reactor.listenAddresses[0]!.split(':');
  trackerPeer = { host: host!, port: Number(port) };
  const dir = mkdtempSync(join(work, 'aria2-'));
  const aria2 = start('aria2c', [
    ...aria2Common,
    `--dir=${dir}`,
    '--seed-time=0',
    `--listen-port=${ARIA2_PORT}`,
    torrentPath,
  ]);
  try {
    const code = await new Promise<number | null>((resolve) => aria2.once('exit', resolve));
    const got = code === 0 ? readFileSync(join(dir, torrent.name)) : undefined;
    return { ...summary(peer, got, t0), aria2Exit: code };
  } finally {
    trackerPeer = undefined;
    await reactor.shutdown({ flushTimeout: 0 });
  }
}

const scenarios: Record<string, () => Promise<Record<string, unknown>>> = {
  'aria2-seeds': aria2Seeds,
  'libtorrent-seeds': libtorrentSeeds,
  'libtorrent-leeches': libtorrentLeeches,
  'aria2-leeches': aria2Leeches,
};

const results: Record<string, unknown> = {};
let ok = true;
try {
  for (const [name, scenario] of Object.entries(scenarios)) {
    if (only !== undefined && name !== only) continue;
    try {
      const result = await scenario();
      results[name] = result;
      ok &&= result['ok'] === true;
    } catch (error) {
      results[name] = { ok: false, error: String(error) };
      ok = false;
    }
  }
} finally {
  for (const child of children) await stop(child);
  tracker.close();
  rmSync(work, { recursive: true, force: true });
}
process.stdout.write(
  `${JSON.stringify({ ok, infoHash: Buffer.from(torrent.infoHash).toString('hex'), results })}\n`,
);
process.exitCode = ok ? 0 : 1;
