/**
 * The reactor over TLS: the reactor's own transport suite (the one it runs over TCP and the
 * memory network, imported from its test folder) with mutual TLS, and a handshake failure
 * surfacing as a `connect-failed` event with its code.
 */
import { Reactor, type ReactorEvent } from '@peerlink/reactor';
import { tlsTransport } from '@peerlink/transport-tls';
import { afterEach, describe, expect, it } from 'vitest';
import { pingPongCodec } from '../../reactor/test/fixtures.js';
import { reactorSuite } from '../../reactor/test/suite.js';
import { makeCerts } from './certs.js';

const certs = await makeCerts();

if (certs === undefined) {
  describe('reactor over TLS', () => {
    it.skip('needs the `openssl` CLI to make test certificates (apt-get install openssl)', () => {});
  });
} else {
  // Every reactor gets the same options: it listens with its certificate and, as a client,
  // presents the same one (issued for both server and client use).
  reactorSuite('TLS 1.3 with mutual authentication', {
    transport: () =>
      tlsTransport({ key: certs.serverKey, cert: certs.peerCert, ca: certs.ca, requestCert: true }),
    listenAddress: '127.0.0.1:0',
  });

  describe('reactor over TLS: handshake failures', () => {
    const reactors: Reactor<unknown>[] = [];
    afterEach(async () => {
      await Promise.all(reactors.splice(0).map((r) => r.shutdown({ flushTimeout: 0 })));
    });

    it('reports an untrusted server certificate as `connect-failed` with `ERR_TLS_CERT_UNTRUSTED`', async () => {
      const server = new Reactor({
        codec: pingPongCodec,
        transport: tlsTransport({ key: certs.serverKey, cert: certs.selfSignedServerCert }),
      });
      const client = new Reactor({
        codec: pingPongCodec,
        transport: tlsTransport({ ca: certs.ca }),
      });
      reactors.push(server as Reactor<unknown>, client as Reactor<unknown>);
      const events: ReactorEvent<unknown>[] = [];
      client.onEvent((event) => events.push(event));
      const [address] = await server.listen('127.0.0.1:0');
      await expect(client.connect(address!)).rejects.toMatchObject({
        code: 'ERR_TLS_CERT_UNTRUSTED',
      });
      expect(events).toEqual([
        expect.objectContaining({
          type: 'connect-failed',
          error: expect.objectContaining({ code: 'ERR_TLS_CERT_UNTRUSTED' }),
        }),
      ]);
    });
  });
}
