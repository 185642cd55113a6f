import net from 'node:net';
import { transportCompliance } from '@peerlink/transport-compliance';
import { tlsTransport } from '@peerlink/transport-tls';
import { afterAll, afterEach, beforeEach, describe, it } from 'vitest';
import { makeCerts } from './certs.js';

const certs = await makeCerts();

/** A TCP server that accepts and never says a word: a TLS connect to it stays pending. */
let silent: net.Server | undefined;
async function silentAddress(): Promise<string> {
  if (silent === undefined) {
    // Reads and discards, so that it sees the client leave and closes its side.
    const server = net.createServer((socket) =>
      socket.on('error', () => socket.destroy()).resume(),
    );
    silent = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  }
  return `127.0.0.1:${(silent.address() as net.AddressInfo).port}`;
}
afterAll(async () => {
  await new Promise((resolve) => (silent ? silent.close(resolve) : resolve(undefined)));
});

if (certs === undefined) {
  describe('transport compliance: tls', () => {
    it.skip('needs the `openssl` CLI to make test certificates (apt-get install openssl)', () => {});
  });
} else {
  const runner = { describe, it, beforeEach, afterEach };
  transportCompliance(runner, {
    name: 'tls 1.3, mutual authentication',
    createTransport: (side) =>
      side === 'listener'
        ? tlsTransport({
            key: certs.serverKey,
            cert: certs.serverCert,
            ca: certs.ca,
            requestCert: true,
          })
        : tlsTransport({ key: certs.clientKey, cert: certs.clientCert, ca: certs.ca }),
    listenAddress: '127.0.0.1:0',
    peerAddresses: true,
    pendingAddress: silentAddress,
  });
  transportCompliance(runner, {
    name: 'tls 1.2, certificates as bytes',
    createTransport: () =>
      tlsTransport({
        key: new TextEncoder().encode(certs.serverKey),
        cert: new TextEncoder().encode(certs.serverCert),
        ca: [new TextEncoder().encode(certs.ca)],
        maxVersion: 'TLSv1.2',
      }),
    listenAddress: '127.0.0.1:0',
    peerAddresses: true,
    anyAddress: '0.0.0.0:0', // dialed as 127.0.0.1, which the certificate names
  });
}
