import {
  type Connection,
  codeOf,
  ErrorCodes,
  type Listener,
  PeerlinkError,
  type Transport,
} from '@peerlink/stream';
import { ReactorErrorCodes } from './errors.js';
import type { PeerId, ReactorEvent } from './events.js';
import type { Log } from './log.js';
import { shutdownError } from './util.js';

/** What {@link Inbound} needs from its reactor. */
export interface InboundHost<M> {
  readonly transport: Transport;
  readonly log: Log;
  /** Whether the reactor is shutting down (new connections are closed, new listeners too). */
  stopping(): boolean;
  emit(event: ReactorEvent<M>): void;
  /**
   * Makes `conn` an inbound peer, started with its handler, and returns its id; throws (the
   * connection is then closed) when its codec factory fails for it.
   */
  admit(conn: Connection): PeerId;
}

/**
 * The inbound side of a reactor: its listeners, and the admission of each connection they accept
 * (the inbound limit, the accept gate).
 */
export class Inbound<M> {
  private readonly listeners: Listener[] = [];
  /** Inbound peers connected now (counted against `maxInbound`). */
  peers = 0;

  /**
   * @param maxInbound Most inbound peers at once (`Infinity`: no limit).
   * @param acceptGate Called with each connection's addresses; `false` (or a throw) refuses it.
   */
  constructor(
    private readonly host: InboundHost<M>,
    private readonly maxInbound: number,
    private readonly acceptGate: ((remote: string, local: string) => boolean) | undefined,
  ) {}

  /** The bound addresses of every listener. */
  get addresses(): string[] {
    return this.listeners.map((l) => l.address);
  }

  /** Listeners open now. */
  get size(): number {
    return this.listeners.length;
  }

  /** See `Reactor.listen` (`list` holds address strings). */
  async listen(list: readonly string[]): Promise<string[]> {
    const host = this.host;
    const opened: Listener[] = [];
    try {
      for (const address of list) {
        // Accept failures name the bound address (the real port, not `:0`) once it is known.
        let bound = address;
        const listener = await host.transport.listen(address, {
          onConnection: (conn) => this.accept(conn),
          onError: (error) => this.listenError(bound, error),
        });
        bound = listener.address;
        opened.push(listener);
      }
    } catch (cause) {
      await Promise.allSettled(opened.map((l) => l.close()));
      const address = list[opened.length];
      if (PeerlinkError.isInstance(cause) && cause.code === ErrorCodes.INVALID_ARGUMENT)
        throw cause;
      throw new PeerlinkError(
        ReactorErrorCodes.LISTEN_FAILED,
        `cannot listen on ${address}: ${(cause as Error)?.message ?? String(cause)}`,
        { cause },
      );
    }
    if (host.stopping()) {
      await Promise.allSettled(opened.map((l) => l.close()));
      throw shutdownError();
    }
    this.listeners.push(...opened);
    if (host.log.enabled)
      host.log.write('debug', { addresses: opened.map((l) => l.address) }, 'listening');
    return opened.map((l) => l.address);
  }

  /** Hands over every listener, forgetting them (at shutdown, which closes them). */
  takeAll(): Listener[] {
    return this.listeners.splice(0);
  }

  private accept(conn: Connection): void {
    const log = this.host.log;
    if (this.host.stopping() || this.peers >= this.maxInbound) {
      if (log.enabled) {
        log.write('debug', { remote: conn.remoteAddress }, 'inbound connection refused: limit');
      }
      conn.close();
      return;
    }
    if (this.acceptGate !== undefined) {
      let ok = false;
      try {
        ok = this.acceptGate(conn.remoteAddress, conn.localAddress);
      } catch {
        ok = false;
      }
      if (!ok) {
        if (log.enabled) {
          log.write('debug', { remote: conn.remoteAddress }, 'inbound connection refused: gate');
        }
        conn.close();
        return;
      }
    }
    try {
      this.host.admit(conn);
    } catch (error) {
      if (log.enabled) {
        log.write(
          'debug',
          { remote: conn.remoteAddress, code: codeOf(error as Error) },
          'inbound connection refused: codec factory failed',
        );
      }
      conn.close();
    }
  }

  private listenError(address: string, error: Error): void {
    const log = this.host.log;
    if (log.enabled) log.write('warn', { address, code: codeOf(error) }, 'accept failed');
    this.host.emit({ type: 'listen-error', address, error });
  }
}
