/**
 * The page of the browser test: a peerlink reactor in the browser, over the browser build of
 * `@peerlink/transport-ws`, connected to the Node reactor named by `?ws=host:port`. It reconnects
 * whenever the connection is gone, and exposes what it saw as `window.peer` for the driver.
 */
import { lengthPrefixed } from '@peerlink/codec';
import { type PeerId, Reactor } from '@peerlink/reactor';
import type { Connection, Transport } from '@peerlink/stream';
import { webSocketTransport } from '@peerlink/transport-ws';
import { BIG, isBig, pattern, samePattern, small, smallIndex } from './messages.js';

const codec = lengthPrefixed({ maxSize: BIG + 64 });
const target = new URLSearchParams(location.search).get('ws') ?? '';

/** Backpressure as the reactor saw it: writes that said "wait", and the drains that followed. */
const io = { writesRefused: 0, drains: 0 };
const ws = webSocketTransport({ limits: codec });
/** The browser transport, with each connection's refused writes and drains counted. */
const transport: Transport = {
  listen: (address, handler) => ws.listen(address, handler),
  async connect(address, options) {
    const conn = await ws.connect(address, options);
    const counted: Connection = {
      remoteAddress: conn.remoteAddress,
      localAddress: conn.localAddress,
      start: (handler) =>
        conn.start({
          onData: (chunk) => handler.onData(chunk),
          onDrain: () => {
            io.drains++;
            handler.onDrain();
          },
          onEnd: () => handler.onEnd(),
          onClose: (error) => handler.onClose(error),
        }),
      write(bytes) {
        const ok = conn.write(bytes);
        if (!ok) io.writesRefused++;
        return ok;
      },
      pause: () => conn.pause(),
      resume: () => conn.resume(),
      end: () => conn.end(),
      reset: () => conn.reset(),
      close: () => conn.close(),
    };
    return counted;
  },
};
const reactor = new Reactor({ codec, transport });

/** What the page saw, read by the driver with `page.evaluate`. */
const peer = {
  state: 'connecting' as 'connecting' | 'connected' | 'disconnected',
  current: undefined as PeerId | undefined,
  connects: 0,
  failedConnects: [] as string[],
  disconnects: [] as Array<{ kind: string; code?: string }>,
  smallReceived: 0,
  smallInOrder: true,
  bigReceived: [] as boolean[],
  received: [] as string[],
  io,
  /** Sends `count` small messages, numbered from `from`, to the Node peer. */
  sendSmall(count: number, from = 0): string[] {
    const results = new Set<string>();
    for (let i = from; i < from + count; i++) results.add(reactor.send(peer.current!, small(i)));
    return [...results];
  },
  sendBig(): string {
    return reactor.send(peer.current!, pattern(BIG, 7));
  },
  sendText(text: string): string {
    return reactor.send(peer.current!, new TextEncoder().encode(text));
  },
};
(globalThis as unknown as { peer: typeof peer }).peer = peer;

/** What the page exposes as `window.peer`. */
export type PagePeer = typeof peer;

function connect(): void {
  reactor.connect(target).catch(() => setTimeout(connect, 50)); // retry until the server is back
}

reactor.onEvent((event) => {
  switch (event.type) {
    case 'connected':
      peer.current = event.peer;
      peer.connects++;
      peer.state = 'connected';
      break;
    case 'connect-failed':
      peer.failedConnects.push((event.error as { code?: string }).code ?? '?');
      break;
    case 'disconnected': {
      const reason = event.reason as { kind: string; error?: { code?: string } };
      peer.disconnects.push({
        kind: reason.kind,
        ...(reason.error?.code === undefined ? {} : { code: reason.error.code }),
      });
      peer.state = 'disconnected';
      setTimeout(connect, 50);
      break;
    }
    case 'message': {
      const message = event.message;
      if (isBig(message)) peer.bigReceived.push(samePattern(message, BIG, 11));
      else if (message.length === 8) {
        if (smallIndex(message) !== peer.smallReceived) peer.smallInOrder = false;
        peer.smallReceived++;
      } else peer.received.push(new TextDecoder().decode(message));
      break;
    }
  }
});
connect();
