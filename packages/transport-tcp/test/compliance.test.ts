import { transportCompliance } from '@peerlink/transport-compliance';
import { tcpTransport } from '@peerlink/transport-tcp';
import { afterEach, beforeEach, describe, it } from 'vitest';

transportCompliance(
  { describe, it, beforeEach, afterEach },
  {
    name: 'tcp (onread)',
    createTransport: () => tcpTransport(),
    listenAddress: '127.0.0.1:0',
    peerAddresses: true,
    anyAddress: '0.0.0.0:0',
  },
);

transportCompliance(
  { describe, it, beforeEach, afterEach },
  {
    name: 'tcp (data events)',
    createTransport: () => tcpTransport({ readMode: 'data' }),
    listenAddress: '127.0.0.1:0',
    peerAddresses: true,
  },
);
