/**
 * Test helper (Node): lets a browser page "listen" for the compliance suite, which a page cannot
 * do. On a control WebSocket the page asks for a listener; the relay opens a real WebSocket
 * server on that address, and for each dialer that connects it tells the page, which opens a
 * second browser WebSocket to the relay (`/accept/<id>`). The relay then pipes frames between the
 * two as they are (binary data, the text end marker) and passes each close on with its code (a
 * close without a frame becomes 4001, a reset). Both ends of every connection are therefore the
 * browser build of the transport; the relay only carries frames.
 */
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import * as net from 'node:net';
import { type RawData, WebSocket, WebSocketServer } from 'ws';

/** A running relay. */
export interface Relay {
  /** The control port (the page's control socket and accepted connections go here). */
  readonly port: number;
  /** An address whose WebSocket handshake never completes (for aborting pending connects). */
  readonly pendingAddress: string;
  close(): Promise<void>;
}

type Event = { data: RawData; isBinary: boolean } | { close: number; reason: string };

/** One dialer's connection, until the page's side is paired with it. */
class Pipe {
  readonly #dialer: WebSocket;
  #accepted: WebSocket | undefined;
  #held: Event[] = [];

  constructor(dialer: WebSocket) {
    this.#dialer = dialer;
    dialer.on('error', () => {});
    dialer.on('message', (data, isBinary) => this.#toAccepted({ data, isBinary }));
    dialer.on('close', (code, reason) =>
      this.#toAccepted({ close: code, reason: reason.toString() }),
    );
  }

  pair(accepted: WebSocket): void {
    this.#accepted = accepted;
    accepted.on('error', () => {});
    accepted.on('message', (data, isBinary) => forward(this.#dialer, { data, isBinary }));
    accepted.on('close', (code, reason) =>
      forward(this.#dialer, { close: code, reason: reason.toString() }),
    );
    for (const event of this.#held.splice(0)) forward(accepted, event);
  }

  #toAccepted(event: Event): void {
    if (this.#accepted === undefined) this.#held.push(event);
    else forward(this.#accepted, event);
  }
}

function forward(to: WebSocket, event: Event): void {
  if (to.readyState !== WebSocket.OPEN) return;
  if ('data' in event) {
    to.send(event.data as Buffer, { binary: event.isBinary });
    return;
  }
  if (event.close === 1005) to.close();
  else if (event.close === 1006 || event.close < 1000) to.close(4001, 'reset');
  else to.close(event.close, event.reason);
}

/** Starts the relay on 127.0.0.1. */
export async function startRelay(): Promise<Relay> {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 * 1024 });
  const pipes = new Map<number, Pipe>();
  const listeners = new Map<number, http.Server>();
  let nextId = 1;

  const control = http.createServer((_request, response) => response.writeHead(404).end());
  control.on('upgrade', (request: http.IncomingMessage, socket: Socket, head: Buffer) => {
    wss.handleUpgrade(request, socket, head, (ws) => {
      const accept = /^\/accept\/(\d+)$/.exec(request.url ?? '');
      if (accept !== null) {
        const pipe = pipes.get(Number(accept[1]));
        pipes.delete(Number(accept[1]));
        if (pipe === undefined) ws.close(1011, 'no such connection');
        else pipe.pair(ws);
        return;
      }
      ws.on('error', () => {});
      ws.on('message', (data) => {
        const request = JSON.parse(data.toString()) as {
          op: 'listen' | 'close';
          ref: number;
          host?: string;
          port?: number;
          id?: number;
        };
        const reply = (body: object) => ws.send(JSON.stringify({ ref: request.ref, ...body }));
        if (request.op === 'close') {
          listeners.get(request.id!)?.close();
          listeners.delete(request.id!);
          reply({ ok: true });
          return;
        }
        const id = nextId++;
        const server = http.createServer((_q, r) => r.writeHead(426).end());
        server.on('upgrade', (q: http.IncomingMessage, s: Socket, h: Buffer) => {
          if (!listeners.has(id)) {
            s.destroy();
            return;
          }
          wss.handleUpgrade(q, s, h, (dialer) => {
            const connId = nextId++;
            pipes.set(connId, new Pipe(dialer));
            ws.send(JSON.stringify({ incoming: id, conn: connId }));
          });
        });
        server.once('error', (error: NodeJS.ErrnoException) => reply({ error: error.code }));
        server.listen(request.port, request.host, () => {
          listeners.set(id, server);
          reply({ id, port: (server.address() as AddressInfo).port });
        });
      });
    });
  });
  await new Promise<void>((resolve) => control.listen(0, '127.0.0.1', resolve));

  const held = new Set<net.Socket>();
  const silent = net.createServer((socket) => {
    held.add(socket);
    socket
      .on('error', () => {})
      .on('close', () => held.delete(socket))
      .resume();
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));

  return {
    port: (control.address() as AddressInfo).port,
    pendingAddress: `127.0.0.1:${(silent.address() as AddressInfo).port}`,
    async close() {
      for (const server of listeners.values()) server.close();
      for (const socket of held) socket.destroy();
      silent.close();
      control.closeAllConnections();
      control.close();
    },
  };
}
