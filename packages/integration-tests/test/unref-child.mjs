// A listening node for unref.test.ts. Modes:
// - `unref`: lets the process exit while it listens;
// - `ref`: keeps it alive until an unref'd 200 ms timer says so ('alive') and then unrefs;
// - `keep-unref` / `keep-ref`: also keeps a peer that refuses every connection (a loopback port
//   nobody listens on; `keep-hang`: a connector whose connects never finish), printing each keep
//   event. After `unref()` the process exits on its own while keeping; without it, the listener
//   holds it until the third retry, when it unkeeps and unrefs.
import { createServer } from 'node:net';
import { lengthPrefixed } from '@peerlink/codec';
import { keep, Reactor } from '@peerlink/reactor';
import { tcpTransport } from '@peerlink/transport-tcp';

const mode = process.argv[2];
const reactor = new Reactor({
  codec: lengthPrefixed({ maxSize: 1024 }),
  transport: tcpTransport(mode === 'keep-hang' ? { connector: () => new Promise(() => {}) } : {}),
});
const [address] = await reactor.listen('127.0.0.1:0');
console.log(`listening ${address}`);
if (mode === 'unref') {
  reactor.unref();
} else if (mode === 'ref') {
  setTimeout(() => {
    console.log('alive');
    reactor.unref();
  }, 200).unref();
} else {
  // A loopback port nobody listens on: bound, then closed.
  const spare = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => spare.once('listening', resolve));
  const { port } = spare.address();
  await new Promise((resolve) => spare.close(resolve));
  const kept = keep(reactor, `127.0.0.1:${port}`, {
    // Unref'd, the process must be gone long before a second attempt; ref'd, retries are quick.
    backoff: { initial: mode === 'keep-ref' ? 20 : 2000, max: 2000, jitter: 0 },
    onEvent: (e) => {
      console.log(`${e.type} ${e.attempt ?? e.failures ?? ''}`.trim());
      if (e.type === 'retry' && e.failures === 3 && mode === 'keep-ref') {
        kept.unkeep();
        reactor.unref();
      }
    },
  });
  if (mode !== 'keep-ref') reactor.unref();
}
