import type { Duplex } from 'node:stream';
import { formatAddress } from '@peerlink/stream';

// The addresses an idle connection keeps: a canonical IPv4 host packed into an integer (no string
// kept), or the host string, with a port; or, with port `WHOLE`, an address given whole.

/** The port of an endpoint whose host field holds the whole address string. */
export const WHOLE = -1;

/**
 * @internal `127.0.0.1` → its 32-bit value (as an int32, so that it stays a small integer);
 * anything that is not a canonical dotted quad (no leading zeros, each part 0–255) is returned as
 * it is.
 */
export function packHost(host: string): number | string {
  let value = 0;
  let part = -1;
  let dots = 0;
  for (let i = 0; i < host.length; i++) {
    const c = host.charCodeAt(i);
    if (c === 46) {
      if (part < 0 || dots === 3) return host;
      value = value * 256 + part;
      part = -1;
      dots++;
    } else if (c >= 48 && c <= 57) {
      if (part === 0) return host; // a leading zero: not canonical
      part = part < 0 ? c - 48 : part * 10 + (c - 48);
      if (part > 255) return host;
    } else {
      return host;
    }
  }
  if (dots !== 3 || part < 0) return host;
  return (value * 256 + part) | 0;
}

/** @internal The `host:port` form of an endpoint (IPv6 hosts in brackets), as `formatAddress`. */
export function formatEndpoint(host: number | string, port: number): string {
  if (typeof host === 'string') return port === WHOLE ? host : formatAddress(host, port);
  return `${host >>> 24}.${(host >>> 16) & 255}.${(host >>> 8) & 255}.${host & 255}:${port}`;
}

/** A socket's public address getters (a `net.Socket` has them; another duplex may not). */
interface Addressed {
  readonly remoteAddress?: unknown;
  readonly remotePort?: unknown;
  readonly localAddress?: unknown;
  readonly localPort?: unknown;
}

/** Reads one side's address from a socket's public getters: `host:port`, or `undefined`. */
export type Endpoint = [host: number | string, port: number];

export function endpointOf(socket: Duplex, remote: boolean): Endpoint | undefined {
  const s = socket as Duplex & Addressed;
  const address = remote ? s.remoteAddress : s.localAddress;
  const port = remote ? s.remotePort : s.localPort;
  if (typeof address !== 'string' || typeof port !== 'number') return undefined;
  return [packHost(address), port];
}

/** @internal A host and port known without asking the socket (Node caches what it is asked). */
export interface KnownEndpoint {
  readonly host: string;
  readonly port: number;
}
