/**
 * A TLS transport for peerlink on `node:tls`, written only against the public transport contract
 * of `@peerlink/stream`; its README walks through it as a guide to writing an adapter.
 *
 * @packageDocumentation
 */
export { type TlsErrorCode, TlsErrorCodes } from './errors.js';
export { type TlsMaterial, type TlsTransportOptions, tlsTransport } from './transport.js';
