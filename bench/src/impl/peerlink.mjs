// peerlink, the user's path: the library used exactly as its README shows. The raw codec
// `lengthPrefixed({ prefix: 'u32le' })` (messages are `Uint8Array` bodies), `reactor.send(peer,
// bytes)` with the payload a user would build (see `PayloadSource`), every received message taken
// as the `Uint8Array` the codec hands out (through `onEvent`'s message handler), and 'full'
// answered by waiting for `drained(peer)`. The glue is in peerlink-glue.mjs.

import { lengthPrefixed } from '@peerlink/codec';
import { tcpTransport } from '@peerlink/transport-tcp';
import { peerlinkImpl } from './peerlink-glue.mjs';

export const { name, listen, connect } = peerlinkImpl({
  name: 'peerlink',
  codec: (size) => lengthPrefixed({ maxSize: size + 4, prefix: 'u32le' }),
  transport: () => tcpTransport(),
  message: (conn, seq, len) => conn.payloads.payload(seq, len),
  deliver: (conn, message) => conn.onPayload(message),
});
