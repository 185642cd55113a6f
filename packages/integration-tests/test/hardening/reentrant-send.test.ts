/**
 * `send()` from inside the codec's `encode`, to the same peer, over real TCP: the re-entrant send
 * is refused (`ERR_REENTRANT_QUEUE`), and the bytes on the wire, read by a plain `net` server,
 * are exactly the frames of the accepted messages: never two frames merged into one.
 */
import { lengthPrefixed } from '@peerlink/codec';
import type { PeerId } from '@peerlink/reactor';
import { tcpTransport } from '@peerlink/transport-tcp';
import { describe, expect, it } from 'vitest';
import { until, useHardening } from './guard.js';

const h = useHardening();
const text = new TextEncoder();

/** Splits u32-BE length-prefixed frames; fails on a trailing partial frame. */
function frames(bytes: Uint8Array): string[] {
  const out: string[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  while (at < bytes.length) {
    const length = view.getUint32(at);
    expect(at + 4 + length, 'a whole frame').toBeLessThanOrEqual(bytes.length);
    out.push(new TextDecoder().decode(bytes.subarray(at + 4, at + 4 + length)));
    at += 4 + length;
  }
  return out;
}

describe('send() from inside encode, over TCP', () => {
  it('refuses the re-entrant send with ERR_REENTRANT_QUEUE, and the wire carries only whole, separate frames', async () => {
    const received: Buffer[] = [];
    const server = await h.server((socket) => socket.on('data', (d: Buffer) => received.push(d)));
    const { port } = server.address() as { port: number };
    let peer!: PeerId;
    let reactor!: { send(peer: PeerId, message: string): unknown };
    const refusals: unknown[] = [];
    const codec = lengthPrefixed<string>(
      { maxSize: 1024 },
      {
        encode(message, sink) {
          const bytes = text.encode(message);
          sink.writeBytes(bytes.subarray(0, 2));
          if (message.startsWith('outer')) {
            try {
              reactor.send(peer, `inner-${message}`);
            } catch (error) {
              refusals.push(error);
            }
          }
          sink.writeBytes(bytes.subarray(2));
        },
        decode: (body) => new TextDecoder().decode(body),
      },
    );
    const client = h.reactor({ codec, transport: tcpTransport(), name: 'client' });
    reactor = client.r;
    peer = await client.r.connect(`127.0.0.1:${port}`);
    const sent = ['first', 'outer-1', 'middle', 'outer-2', 'last'];
    for (const m of sent) expect(client.r.send(peer, m)).toBe('queued');
    const wire = sent.reduce((n, m) => n + 4 + m.length, 0);
    await until(() => received.reduce((n, b) => n + b.length, 0) >= wire, 'the frames to arrive');
    expect(frames(Buffer.concat(received))).toEqual(sent);
    expect(refusals).toHaveLength(2);
    for (const r of refusals) expect(r).toMatchObject({ code: 'ERR_REENTRANT_QUEUE' });
    expect(client.rec.disconnects(peer)).toEqual([]);
  });
});
