/**
 * The README's "Events and disconnect reasons", as a user meets them through `run()` over TCP on
 * 127.0.0.1: which `codec-violation` code each kind of bad input gives (a raw `node:net` socket
 * plays the misbehaving peer), that `send()` throws `ERR_MESSAGE_TOO_LARGE`, and that peer ids
 * are unique per process rather than per reactor.
 */
import { once } from 'node:events';
import net from 'node:net';
import {
  type Codec,
  decoded,
  incomplete,
  lengthPrefixed,
  PeerlinkError,
  type Reactor,
  type ReactorEvent,
  type RunOptions,
  run,
} from 'peerlink';
import { afterEach, describe, expect, it } from 'vitest';

const started: Reactor<unknown>[] = [];
const sockets: net.Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(started.splice(0).map((r) => r.shutdown({ flushTimeout: 0 })));
});

async function start<M>(options: RunOptions<M>): Promise<Reactor<M>> {
  const reactor = await run(options);
  started.push(reactor as Reactor<unknown>);
  return reactor;
}

/** The first event of `type` that `reactor` reports from now on. */
function next<M, T extends ReactorEvent<M>['type']>(
  reactor: Reactor<M>,
  type: T,
): Promise<Extract<ReactorEvent<M>, { type: T }>> {
  return new Promise((resolve) => {
    reactor.onEvent((event) => {
      if (event.type === type) resolve(event as Extract<ReactorEvent<M>, { type: T }>);
    });
  });
}

/** Connects a raw socket to `reactor`, writes `bytes`, and returns the server's disconnect. */
async function sendRaw<M>(reactor: Reactor<M>, ...chunks: Uint8Array[]) {
  const gone = next(reactor, 'disconnected');
  const [host, port] = reactor.listenAddresses[0]!.split(':') as [string, string];
  const socket = net.connect(Number(port), host);
  sockets.push(socket);
  socket.on('error', () => {}); // the server resets it
  await once(socket, 'connect');
  for (const chunk of chunks) socket.write(chunk);
  const event = await gone;
  expect(event.reason.kind).toBe('codec-violation');
  if (event.reason.kind !== 'codec-violation') throw new Error('unreachable');
  expect(PeerlinkError.isInstance(event.reason.error)).toBe(true);
  return event.reason.error.code;
}

const u32be = (n: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
};

describe('codec-violation codes (README "Events and disconnect reasons")', () => {
  it('ERR_MALFORMED_MESSAGE: a lengthPrefixed frame declaring more than maxSize, refused on its prefix', async () => {
    const server = await start({ codec: lengthPrefixed({ maxSize: 64 }), listen: '127.0.0.1:0' });
    // The prefix alone (no body follows): a body of 61 bytes makes a 65-byte frame.
    expect(await sendRaw(server, u32be(61))).toBe('ERR_MALFORMED_MESSAGE');
    // A prefix declaring 4 GiB is refused the same way, with nothing buffered.
    expect(await sendRaw(server, u32be(0xffffffff))).toBe('ERR_MALFORMED_MESSAGE');
  });

  it('a frame of exactly maxSize is a message, not a violation', async () => {
    const server = await start({ codec: lengthPrefixed({ maxSize: 64 }), listen: '127.0.0.1:0' });
    const message = next(server, 'message');
    const [host, port] = server.listenAddresses[0]!.split(':') as [string, string];
    const socket = net.connect(Number(port), host);
    sockets.push(socket);
    socket.write(Buffer.concat([u32be(60), new Uint8Array(60)]));
    expect((await message).size).toBe(64);
  });

  it('ERR_RX_LIMIT: a partial message that cannot complete within the receive limit', async () => {
    // Never finds a message end: every byte is part of one message that never completes.
    const endless: Codec<number> = {
      maxSize: 16,
      encode: (_, s) => s.writeU8(0),
      decode: () => incomplete(),
    };
    const server = await start({
      codec: endless,
      listen: '127.0.0.1:0',
      config: { rxBufMaxSize: 2 },
    });
    expect(await sendRaw(server, new Uint8Array(33))).toBe('ERR_RX_LIMIT');
  });

  it('ERR_MESSAGE_TOO_LARGE: a codec that decodes a message from more than maxSize bytes', async () => {
    // Decodes 6-byte messages but claims maxSize 4: the stream catches it. A receive limit of
    // 255 × 4 bytes keeps the 6 bytes clear of ERR_RX_LIMIT however TCP splits them.
    const sloppy: Codec<number> = {
      maxSize: 4,
      encode: (_, s) => s.writeU8(0),
      decode: (bytes) => (bytes.length < 6 ? incomplete() : decoded(bytes[0]!, 6)),
    };
    const server = await start({
      codec: sloppy,
      listen: '127.0.0.1:0',
      config: { rxBufMaxSize: 255 },
    });
    expect(await sendRaw(server, new Uint8Array(6))).toBe('ERR_MESSAGE_TOO_LARGE');
  });

  it('ERR_CODEC_FAILURE: a codec that throws', async () => {
    const throwing: Codec<number> = {
      maxSize: 4,
      encode: (_, s) => s.writeU8(0),
      decode: () => {
        throw new Error('codec bug');
      },
    };
    const server = await start({ codec: throwing, listen: '127.0.0.1:0' });
    expect(await sendRaw(server, new Uint8Array(1))).toBe('ERR_CODEC_FAILURE');
  });
});

describe('send() and maxSize', () => {
  it('throws ERR_MESSAGE_TOO_LARGE for a message that encodes above maxSize, and queues nothing', async () => {
    const codec = lengthPrefixed({ maxSize: 64 });
    const server = await start({ codec, listen: '127.0.0.1:0' });
    const client = await start({ codec });
    const peer = await client.connect(server.listenAddresses[0]!);
    let error: unknown;
    try {
      client.send(peer, new Uint8Array(61)); // 4 + 61 = 65 bytes
    } catch (e) {
      error = e;
    }
    expect(PeerlinkError.isInstance(error) && error.code).toBe('ERR_MESSAGE_TOO_LARGE');
    expect(client.peerStats(peer)?.bytesQueued).toBe(0);
    // The largest message that fits still goes through.
    const got = next(server, 'message');
    expect(client.send(peer, new Uint8Array(60))).toBe('queued');
    expect((await got).size).toBe(64);
  });
});

describe('peer ids (README "A complete program")', () => {
  it('are unique per process, not per reactor: two reactors never hand out the same id', async () => {
    const codec = lengthPrefixed({ maxSize: 64 });
    const a = await start({ codec, listen: '127.0.0.1:0' });
    const b = await start({ codec, listen: '127.0.0.1:0' });
    const ids: number[] = [];
    for (const [from, to] of [
      [a, b],
      [b, a],
      [a, b],
    ] as const) {
      const accepted = next(to, 'accepted');
      ids.push(await from.connect(to.listenAddresses[0]!));
      ids.push((await accepted).peer);
    }
    expect(new Set(ids).size).toBe(ids.length);
    const outbound = [ids[0]!, ids[2]!, ids[4]!];
    expect(outbound).toEqual([...outbound].sort((x, y) => x - y));
  });
});
