// The suite comes from @peerlink/transport-compliance, which has this package as a dev dependency
// for its self-check: it resolves through the workspace test alias, not a declared dependency.
import { transportCompliance } from '@peerlink/transport-compliance';
import { MemoryNetwork, type MemoryTransport } from '@peerlink/transport-memory';
import { afterEach, beforeEach, describe, it } from 'vitest';

/** A fresh network per test: the listener side creates it, the dialer side joins it. */
function memorySuite(name: string, setup: (network: MemoryNetwork) => void): void {
  let network: MemoryNetwork | undefined;
  transportCompliance(
    { describe, it, beforeEach, afterEach },
    {
      name,
      createTransport: (side): MemoryTransport => {
        if (side === 'listener' || network === undefined) {
          network = new MemoryNetwork({ seed: 7 });
          network.link({ to: 'blackhole' }, { faults: [{ kind: 'blackhole' }] });
          setup(network);
          return network.transport('node-a');
        }
        return network.transport('node-b');
      },
      destroyTransport: () => {
        const stats = network?.stats();
        if (stats !== undefined && (stats.connections !== 0 || stats.pendingConnects !== 0)) {
          throw new Error(`the memory network still holds ${JSON.stringify(stats)}`);
        }
      },
      listenAddress: 'node-a:0',
      peerAddresses: true,
      pendingAddress: 'blackhole:1',
    },
  );
}

memorySuite('memory network (default links)', () => {});
memorySuite('memory network (one-byte to 64 KiB chunks, 4 KiB capacity, scribbled)', (network) =>
  network.link({}, { chunking: { min: 1, max: 65536 }, capacity: 4096, scribble: true }),
);
memorySuite('memory network (whole writes, latency 1 ms)', (network) =>
  network.link({}, { chunking: false, latency: 1 }),
);
