import { lengthPrefixed, run } from 'peerlink';

// The one thing you supply: a codec. Here: UTF-8 text after a u32 length prefix, frames ≤ 64 KiB.
const codec = lengthPrefixed<string>(
  { maxSize: 64 * 1024 },
  {
    encode: (text, sink) => void sink.writeUtf8(text),
    decode: (body) => new TextDecoder().decode(body),
  },
);

// A server on a free port of 127.0.0.1 that answers every message in upper case.
const server = await run({ codec, listen: '127.0.0.1:0' });
server.onEvent((event) => {
  if (event.type === 'message') server.send(event.peer, event.message.toUpperCase());
});

// A client: connect, send (waiting for `drained` whenever the send buffer is full), read events.
const client = await run({ codec });
const peer = await client.connect(server.listenAddresses[0]!);
for (const word of ['hello', 'peer', 'to', 'peer']) {
  while (client.send(peer, word) === 'full') await client.drained(peer);
}
let answers = 0;
for await (const event of client.events()) {
  if (event.type === 'message') {
    console.log(`peer ${event.peer} says ${event.message} (${event.size} bytes on the wire)`);
    if (++answers === 4) break;
  } else if (event.type === 'disconnected') {
    console.log(`peer ${event.peer} is gone: ${event.reason.kind}`);
    break;
  }
}
await Promise.all([client.shutdown(), server.shutdown()]);
