import { ErrorCodes, invalidArgument, PeerlinkError } from '@peerlink/codec';

/** A host and port taken apart. `host` is bare (no brackets, even for IPv6). */
export interface HostPort {
  /** A name, an IPv4 address, or an IPv6 address without brackets. */
  readonly host: string;
  /** A port number, 0–65535. */
  readonly port: number;
}

/**
 * Parses `host:port`, `[v6]:port` (or a bare IPv6 address with a port after the last colon is
 * NOT accepted: brackets are required for IPv6). Throws `ERR_INVALID_ARGUMENT` on bad input.
 */
export function parseAddress(address: string): HostPort {
  if (typeof address !== 'string') throw invalidArgument('address', 'a string', address);
  let host: string;
  let portText: string;
  if (address.startsWith('[')) {
    const close = address.indexOf(']');
    if (close < 0 || address[close + 1] !== ':') bad(address);
    host = address.slice(1, close);
    portText = address.slice(close + 2);
  } else {
    const colon = address.lastIndexOf(':');
    if (colon <= 0 || address.indexOf(':') !== colon) bad(address);
    host = address.slice(0, colon);
    portText = address.slice(colon + 1);
  }
  if (host === '' || !/^\d{1,5}$/.test(portText)) bad(address);
  const port = Number(portText);
  if (port > 65535) bad(address);
  return { host, port };
}

/** Formats a host and port as `host:port`, bracketing IPv6 hosts. */
export function formatAddress(host: string, port: number): string {
  if (typeof host !== 'string') throw invalidArgument('host', 'a string', host);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw invalidArgument('port', 'an integer from 0 to 65535', port);
  }
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function bad(address: string): never {
  throw new PeerlinkError(
    ErrorCodes.INVALID_ARGUMENT,
    `address: expected host:port or [ipv6]:port, got ${JSON.stringify(address)}`,
  );
}
