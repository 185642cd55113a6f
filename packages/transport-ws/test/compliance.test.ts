import * as net from 'node:net';
import { transportCompliance } from '@peerlink/transport-compliance';
import { webSocketTransport } from '@peerlink/transport-ws';
import { afterAll, afterEach, beforeEach, describe, it } from 'vitest';

/** A TCP server that accepts and never answers the HTTP upgrade: a connect to it stays pending. */
let silent: net.Server | undefined;
async function silentAddress(): Promise<string> {
  if (silent === undefined) {
    // Reads and discards, so that it sees the client leave and closes its side.
    const server = net.createServer((socket) =>
      socket
        .on('error', () => socket.destroy())
        .on('end', () => socket.end())
        .resume(),
    );
    silent = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  }
  return `127.0.0.1:${(silent.address() as net.AddressInfo).port}`;
}
afterAll(() => {
  silent?.close();
});

const runner = { describe, it, beforeEach, afterEach };

transportCompliance(runner, {
  name: 'websocket (ws, both sides in Node)',
  createTransport: () => webSocketTransport(),
  listenAddress: '127.0.0.1:0',
  anyAddress: '0.0.0.0:0',
  pendingAddress: silentAddress,
});

transportCompliance(runner, {
  name: 'websocket (small frames, small high-water mark)',
  createTransport: () => webSocketTransport({ frameSize: 1000, highWaterMark: 16 * 1024 }),
  listenAddress: '127.0.0.1:0',
  pendingAddress: silentAddress,
});
