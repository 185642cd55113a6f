import net from 'node:net';
import type { Connection, Listener } from '@peerlink/stream';
import { type TlsTransportOptions, tlsTransport } from '@peerlink/transport-tls';
import { afterEach, describe, expect, it } from 'vitest';
import { makeCerts } from './certs.js';

const certs = await makeCerts();

/** Counts of active handles other than timers (Node ≥ 17). */
function handles(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) {
    if (kind !== 'Timeout' && kind !== 'Immediate') counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  return counts;
}

/** Waits (turn by turn, at most 5 s) until no handle beyond `before` is active. */
async function expectNoNewHandles(before: Map<string, number>): Promise<void> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const extra = [...handles()].filter(([kind, n]) => n > (before.get(kind) ?? 0));
    if (extra.length === 0) return;
    if (Date.now() > deadline) throw new Error(`handles left: ${JSON.stringify(extra)}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe.skipIf(certs === undefined)('TLS handshake failures (certificates from `openssl`)', () => {
  const c = certs as NonNullable<typeof certs>;
  const cleanup: Array<() => unknown> = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f();
  });

  /** A TLS listener; its accepted connections are closed at the end; its errors are recorded. */
  async function server(options: TlsTransportOptions) {
    const errors: Error[] = [];
    const accepted: Connection[] = [];
    let onError = (): void => {};
    const errored = new Promise<void>((resolve) => {
      onError = resolve;
    });
    const listener: Listener = await tlsTransport({
      key: c.serverKey,
      cert: c.serverCert,
      ca: c.ca,
      ...options,
    }).listen('127.0.0.1:0', {
      onConnection: (connection) => {
        accepted.push(connection);
        connection.start({
          onData() {},
          onDrain() {},
          onEnd: () => connection.close(),
          onClose() {},
        });
      },
      onError: (error) => {
        errors.push(error);
        onError();
      },
    });
    cleanup.push(async () => {
      for (const connection of accepted) connection.close();
      await listener.close();
    });
    return { address: listener.address, errors, errored, accepted };
  }

  /** Connects; resolves with the rejection's code, or fails if the connect succeeded. */
  async function refusedWith(target: string, options: TlsTransportOptions): Promise<unknown> {
    try {
      const connection = await tlsTransport(options).connect(target);
      connection.close();
    } catch (error) {
      return (error as { code?: unknown }).code;
    }
    throw new Error('connect succeeded');
  }

  it('connects when the server certificate chains to `ca` and names the IP dialed', async () => {
    const { address } = await server({});
    const connection = await tlsTransport({ ca: c.ca }).connect(address);
    expect(connection.remoteAddress).toBe(address);
    connection.close();
  });

  it('checks `servername` against the certificate (DNS name `localhost`)', async () => {
    const { address } = await server({});
    const connection = await tlsTransport({ ca: c.ca, servername: 'localhost' }).connect(address);
    connection.close();
  });

  it('fails with `ERR_TLS_CERT_UNTRUSTED` for a server certificate from another CA, and leaves no handle behind', async () => {
    const { address, errored } = await server({ cert: c.strangerServerCert });
    const before = handles();
    expect(await refusedWith(address, { ca: c.ca })).toBe('ERR_TLS_CERT_UNTRUSTED');
    await errored; // the server saw the client give up
    await expectNoNewHandles(before);
  });

  it('fails with `ERR_TLS_CERT_UNTRUSTED` for a self-signed server certificate', async () => {
    const { address } = await server({ cert: c.selfSignedServerCert });
    expect(await refusedWith(address, { ca: c.ca })).toBe('ERR_TLS_CERT_UNTRUSTED');
  });

  it("fails with `ERR_TLS_CERT_UNTRUSTED` without `ca` (Node's public CAs do not know ours)", async () => {
    const { address } = await server({});
    expect(await refusedWith(address, {})).toBe('ERR_TLS_CERT_UNTRUSTED');
  });

  it.skipIf(c?.expiredServerCert === undefined)(
    'fails with `ERR_TLS_CERT_EXPIRED` for an expired server certificate',
    async () => {
      const { address } = await server({ cert: c.expiredServerCert! });
      expect(await refusedWith(address, { ca: c.ca })).toBe('ERR_TLS_CERT_EXPIRED');
    },
  );

  it('fails with `ERR_TLS_HOSTNAME_MISMATCH` when the certificate does not name `servername`', async () => {
    const { address } = await server({});
    expect(await refusedWith(address, { ca: c.ca, servername: 'other.test' })).toBe(
      'ERR_TLS_HOSTNAME_MISMATCH',
    );
  });

  it('connects to an untrusted server with `rejectUnauthorized: false`', async () => {
    const { address } = await server({ cert: c.selfSignedServerCert });
    const connection = await tlsTransport({ rejectUnauthorized: false }).connect(address);
    connection.close();
  });

  it('fails with `ERR_TLS_CERT_REQUIRED` on both sides when `requestCert` is set and the client has no certificate', async () => {
    const { address, errors, errored } = await server({ requestCert: true });
    const before = handles();
    expect(await refusedWith(address, { ca: c.ca })).toBe('ERR_TLS_CERT_REQUIRED');
    await errored;
    expect((errors[0] as { code?: string }).code).toBe('ERR_TLS_CERT_REQUIRED');
    await expectNoNewHandles(before);
  });

  it('fails with `ERR_TLS_CERT_REJECTED` when the server does not trust the client certificate (the server reports `ERR_TLS_CERT_UNTRUSTED`)', async () => {
    const { address, errors, errored, accepted } = await server({ requestCert: true });
    const code = await refusedWith(address, {
      ca: c.ca,
      key: c.clientKey,
      cert: c.strangerClientCert,
    });
    expect(code).toBe('ERR_TLS_CERT_REJECTED');
    await errored;
    expect((errors[0] as { code?: string }).code).toBe('ERR_TLS_CERT_UNTRUSTED');
    expect(accepted).toHaveLength(0);
  });

  it('connects with a client certificate the server trusts (`requestCert`)', async () => {
    const { address, accepted } = await server({ requestCert: true });
    const connection = await tlsTransport({
      ca: c.ca,
      key: c.clientKey,
      cert: c.clientCert,
    }).connect(address);
    expect(accepted).toHaveLength(1);
    connection.close();
  });

  it('fails with `ERR_TLS_HANDSHAKE_FAILED` against a TCP server that is not TLS', async () => {
    const plain = net.createServer((socket) => {
      socket.on('error', () => {});
      socket.resume(); // reads, so that it sees the client leave and closes
      socket.end('HTTP/1.0 400 Bad Request\r\n\r\n');
    });
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => new Promise((resolve) => plain.close(resolve)));
    const { port } = plain.address() as net.AddressInfo;
    expect(await refusedWith(`127.0.0.1:${port}`, { ca: c.ca })).toBe('ERR_TLS_HANDSHAKE_FAILED');
  });

  it('drops a client that never starts its handshake after `handshakeTimeout` and reports it', async () => {
    const { address, errors, errored } = await server({ handshakeTimeout: 100 });
    const { port } = new URL(`tls://${address}`);
    const silent = net.connect({ host: '127.0.0.1', port: Number(port) });
    silent.on('error', () => {});
    silent.resume();
    cleanup.push(() => silent.destroy());
    await Promise.all([errored, new Promise((resolve) => silent.once('close', resolve))]);
    expect((errors[0] as { code?: string }).code).toBe('ERR_TLS_HANDSHAKE_FAILED');
  });

  it('refuses to listen without `key` and `cert`, and rejects a non-positive `handshakeTimeout`', async () => {
    await expect(
      tlsTransport({ ca: c.ca }).listen('127.0.0.1:0', { onConnection: () => {} }),
    ).rejects.toMatchObject({ code: 'ERR_INVALID_CONFIG' });
    expect(() => tlsTransport({ handshakeTimeout: 0 })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_CONFIG' }),
    );
  });
});
