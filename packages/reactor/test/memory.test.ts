import { MemoryNetwork } from '@peerlink/transport-memory';
import { reactorSuite } from './suite.js';

let network = new MemoryNetwork({ seed: 7 });

reactorSuite('the memory network (seeded chunking)', {
  transport: () => network.transport(),
  listenAddress: 'server:0',
  reset: () => {
    network = new MemoryNetwork({ seed: 7 });
  },
});
