/**
 * The Node TCP transport for peerlink: listen on IPv4/IPv6 addresses, accept, connect by IP or
 * DNS name, directly or through a connector (a SOCKS5 proxy such as Tor, or your own).
 *
 * @packageDocumentation
 */
export type { HostPort } from '@peerlink/stream';
export { type TcpErrorCode, TcpErrorCodes } from './errors.js';
export {
  type SocketConnectionOptions,
  socketConnection,
} from './socket-connection.js';
export { ProxyReplyError, type Socks5ConnectorOptions, socks5Connector } from './socks5.js';
export {
  type Connector,
  type ConnectorOptions,
  type DirectConnectorOptions,
  directConnector,
  type Lookup,
  type LookupAddress,
  type TcpTransportOptions,
  tcpTransport,
} from './transport.js';
