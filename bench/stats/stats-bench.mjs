// Cost of Reactor.stats() with many peers (issue 9: "cheap enough to call every second with
// 10,000 peers"). Peers are connected over the in-process memory network so that the figure is
// the cost of the call itself, not of sockets. Run after `pnpm build`:
//   node bench/stats/stats-bench.mjs [peers]
import { lengthPrefixed } from '@peerlink/codec';
import { Reactor } from '@peerlink/reactor';
import { MemoryNetwork } from '@peerlink/transport-memory';

const count = Number(process.argv[2] ?? 10_000);
const codec = lengthPrefixed({ maxSize: 1024 });
const network = new MemoryNetwork({ defaults: { chunking: false } });
const server = new Reactor({ codec, transport: network.transport(), maxInbound: count });
const client = new Reactor({ codec, transport: network.transport() });
server.onEvent(() => {});
client.onEvent(() => {});
const [address] = await server.listen('server:0');
for (let i = 0; i < count; i += 500) {
  await Promise.all(
    Array.from({ length: Math.min(500, count - i) }, () => client.connect(address)),
  );
}
while (server.peerCount < count) await new Promise((r) => setImmediate(r));

function time(label, f, reps) {
  f();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) f();
  const ms = (performance.now() - t0) / reps;
  console.log(
    `${label}: ${ms.toFixed(3)} ms per call (${((ms * 1000) / count).toFixed(3)} µs per peer)`,
  );
  return ms;
}
console.log(`${count} peers on each side`);
time('stats()', () => server.stats(), 20);
time('stats({ peers: false })', () => server.stats({ peers: false }), 1000);
await Promise.all([server.shutdown({ flushTimeout: 0 }), client.shutdown({ flushTimeout: 0 })]);
