// peerlink-ws: the `peerlink` row (the user's path, see peerlink.mjs) with the Reactor over
// `@peerlink/transport-ws` instead of TCP: `webSocketTransport()` (the `ws` package underneath,
// binary frames of at most 64 KiB, perMessageDeflate off). Beside the `ws` row (the library used
// directly), it measures what the adapter and the reactor cost over the raw library.

import { lengthPrefixed } from '@peerlink/codec';
import { webSocketTransport } from '@peerlink/transport-ws';
import { peerlinkImpl } from './peerlink-glue.mjs';

export const { name, listen, connect } = peerlinkImpl({
  name: 'peerlink-ws',
  codec: (size) => lengthPrefixed({ maxSize: size + 4, prefix: 'u32le' }),
  transport: () => webSocketTransport(),
  message: (conn, seq, len) => conn.payloads.payload(seq, len),
  deliver: (conn, message) => conn.onPayload(message),
});
