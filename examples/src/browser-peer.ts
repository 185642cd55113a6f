// A browser peer: bundle this for the browser (esbuild, Vite, …) and open it in a page.
import { lengthPrefixed } from '@peerlink/codec';
import { Reactor } from '@peerlink/reactor';
import { webSocketTransport } from '@peerlink/transport-ws';

const codec = lengthPrefixed({ maxSize: 64 * 1024 });
const reactor = new Reactor({ codec, transport: webSocketTransport() });
reactor.onEvent((event) => {
  if (event.type === 'message') console.log(new TextDecoder().decode(event.message));
});
// A Node peer listens there with `webSocketTransport()` from the same package.
const peer = await reactor.connect('127.0.0.1:8080');
reactor.send(peer, new TextEncoder().encode('hello from the browser'));
