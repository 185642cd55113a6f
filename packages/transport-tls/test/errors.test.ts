// Every error a TLS connection or listener reports to an event is a `PeerlinkError` with the
// error's code (a system code kept as it is, `ERR_TLS_SOCKET` when it has none) and the original
// as `cause`, as with TCP.
import tls from 'node:tls';
import { type Connection, type ConnectionHandler, PeerlinkError } from '@peerlink/stream';
import { TlsErrorCodes, tlsTransport } from '@peerlink/transport-tls';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { makeCerts } from './certs.js';

const certs = await makeCerts();

/** A handler that records the close's error and resolves `closed` with it. */
function recorder() {
  let done: (error: Error | undefined) => void = () => {};
  const closed = new Promise<Error | undefined>((resolve) => {
    done = resolve;
  });
  const handler: ConnectionHandler = {
    onData() {},
    onDrain() {},
    onEnd() {},
    onClose: (error) => done(error),
  };
  return { handler, closed };
}

describe.skipIf(certs === undefined)('TLS: errors reaching events are PeerlinkErrors', () => {
  const c = certs as NonNullable<typeof certs>;
  const cleanup: Array<() => unknown> = [];
  afterEach(async () => {
    vi.restoreAllMocks();
    for (const f of cleanup.splice(0).reverse()) await f();
  });
  const serverOptions = { key: c.serverKey, cert: c.serverCert };

  it('a reset by the peer closes with `ECONNRESET` as a PeerlinkError, the socket error its cause', async () => {
    let accepted: (connection: Connection) => void = () => {};
    const acceptedOne = new Promise<Connection>((resolve) => {
      accepted = resolve;
    });
    const listener = await tlsTransport(serverOptions).listen('127.0.0.1:0', {
      onConnection: (connection) => accepted(connection),
    });
    cleanup.push(() => listener.close());
    const client = await tlsTransport({ ca: c.ca }).connect(listener.address);
    const { handler, closed } = recorder();
    client.start(handler);
    const server = await acceptedOne;
    server.start(recorder().handler);
    server.reset();

    const error = await closed;
    expect(PeerlinkError.isInstance(error)).toBe(true);
    expect((error as PeerlinkError).code).toBe('ECONNRESET');
    const cause = (error as PeerlinkError).cause as { code?: unknown };
    expect(cause).toBeInstanceOf(Error);
    expect(PeerlinkError.isInstance(cause)).toBe(false);
    expect(cause.code).toBe('ECONNRESET');
  });

  it('an `onConnection` that throws is reported to `onError` (`ERR_TLS_SOCKET`, the exception its cause) and the connection closed', async () => {
    const thrown = new Error('application bug');
    const errors: Error[] = [];
    let reported: () => void = () => {};
    const wasReported = new Promise<void>((resolve) => {
      reported = resolve;
    });
    const listener = await tlsTransport(serverOptions).listen('127.0.0.1:0', {
      onConnection: () => {
        throw thrown;
      },
      onError: (error) => {
        errors.push(error);
        reported();
      },
    });
    cleanup.push(() => listener.close());
    // The server closes the connection at once: the connect fails (TLS 1.3 waits for the server
    // to confirm), or succeeds and then sees the close, depending on timing.
    const connecting = tlsTransport({ ca: c.ca }).connect(listener.address);
    const closed = connecting.then(
      (client) => {
        const { handler, closed } = recorder();
        client.start(handler);
        return closed;
      },
      (error: unknown) => error,
    );
    await wasReported;
    expect(errors).toHaveLength(1);
    expect(PeerlinkError.isInstance(errors[0])).toBe(true);
    expect((errors[0] as PeerlinkError).code).toBe(TlsErrorCodes.SOCKET);
    expect(errors[0]!.cause).toBe(thrown);
    await closed;
  });

  it('an accept failure of a listening server (`EMFILE`) reaches `onError` as a PeerlinkError with its code', async () => {
    let server: tls.Server | undefined;
    const createServer = tls.createServer;
    vi.spyOn(tls, 'createServer').mockImplementation(((
      ...args: Parameters<typeof createServer>
    ) => {
      server = createServer(...args);
      return server;
    }) as typeof createServer);
    const errors: Error[] = [];
    const accepted: Connection[] = [];
    const listener = await tlsTransport(serverOptions).listen('127.0.0.1:0', {
      onConnection: (connection) => {
        accepted.push(connection);
        connection.start(recorder().handler);
      },
      onError: (error) => errors.push(error),
    });
    cleanup.push(() => {
      for (const connection of accepted) connection.close();
    });
    cleanup.push(() => listener.close());
    expect(server).toBeDefined();
    const emfile = Object.assign(new Error('accept EMFILE'), { code: 'EMFILE' });
    server!.emit('error', emfile);

    expect(errors).toHaveLength(1);
    expect(PeerlinkError.isInstance(errors[0])).toBe(true);
    expect((errors[0] as PeerlinkError).code).toBe('EMFILE');
    expect(errors[0]!.cause).toBe(emfile);
    // Still listening: a connect goes through.
    const client = await tlsTransport({ ca: c.ca }).connect(listener.address);
    client.close();
  });
});

if (certs === undefined) {
  describe('TLS: errors reaching events', () => {
    it.skip('needs the `openssl` CLI to make test certificates (apt-get install openssl)', () => {});
  });
}
