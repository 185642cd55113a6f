// The README's example adapter ("Example: an adapter over Node sockets") through the transport
// compliance suite. The code run is `test/readme/net-transport.ts`, which must be the README's
// block verbatim (checked here too), so the README example is what passes.
import { readFileSync } from 'node:fs';
import { transportCompliance } from '@peerlink/transport-compliance';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { netTransport } from './readme/net-transport.js';

describe('the README example adapter', () => {
  it('is the code of `test/readme/net-transport.ts`, verbatim', () => {
    const read = (path: string) => readFileSync(new URL(path, import.meta.url), 'utf8');
    expect(
      read('../README.md').includes(`\`\`\`ts\n${read('./readme/net-transport.ts')}\`\`\``),
    ).toBe(true);
  });
});

transportCompliance(
  { describe, it, beforeEach, afterEach },
  {
    name: 'the README example adapter (node:net)',
    createTransport: () => netTransport,
    listenAddress: '127.0.0.1:0',
    peerAddresses: true,
    timeout: 5000,
  },
);
