/**
 * The BitTorrent peer wire protocol (BEP 3) as peerlink codecs.
 *
 * A connection starts with a 68-byte handshake that has no length prefix (the byte 19, the text
 * `BitTorrent protocol`, 8 reserved bytes, the 20-byte info hash, the 20-byte peer id); after it,
 * every message is a u32 big-endian length followed by that many bytes (an id byte and a payload;
 * length 0 is a keep-alive).
 *
 * What is valid after the handshake depends on the torrent the handshake named (a bitfield is
 * exactly one bit per piece, piece indexes are below the piece count), so the codec state is per
 * connection, in two steps: the reactor's codec factory gives each connection a
 * {@link handshakeCodec}; once the application has read the peer's handshake and knows the
 * torrent, it replaces it from its event handler with `reactor.setCodec(peer, wireCodec(n))`.
 * Until then the handshake codec decodes nothing more (the bytes after the handshake wait in the
 * stream and are decoded by the new codec), so the switch is safe whether the application reads
 * events with a synchronous handler or an async iterator.
 */
import {
  type Codec,
  type CodecFactory,
  decoded,
  incomplete,
  malformed,
  readU16BE,
  readU32BE,
} from 'peerlink';

/** The handshake's fixed length, in bytes. */
export const HANDSHAKE_SIZE = 68;
/** The largest block a `request` may ask for, in bytes (what clients accept: 16 KiB to 128 KiB). */
export const MAX_BLOCK = 128 * 1024;
/** The largest message we accept, prefix included: a bitfield of 2^20 pieces, or a 128 KiB block. */
export const MAX_MESSAGE = 4 + 1 + 8 + MAX_BLOCK;

const PROTOCOL = new TextEncoder().encode('BitTorrent protocol');

/** The messages of the peer wire protocol. Byte arrays are copies (they stay valid). */
export type PeerWireMessage =
  | {
      readonly type: 'handshake';
      /** 8 reserved bytes (extension bits); we set none. */
      readonly reserved: Uint8Array;
      readonly infoHash: Uint8Array;
      readonly peerId: Uint8Array;
    }
  | { readonly type: 'keep-alive' }
  | { readonly type: 'choke' }
  | { readonly type: 'unchoke' }
  | { readonly type: 'interested' }
  | { readonly type: 'not-interested' }
  | { readonly type: 'have'; readonly index: number }
  | { readonly type: 'bitfield'; readonly bits: Uint8Array }
  | {
      readonly type: 'request';
      readonly index: number;
      readonly begin: number;
      readonly length: number;
    }
  | {
      readonly type: 'cancel';
      readonly index: number;
      readonly begin: number;
      readonly length: number;
    }
  | {
      readonly type: 'piece';
      readonly index: number;
      readonly begin: number;
      readonly block: Uint8Array;
    }
  | { readonly type: 'port'; readonly port: number }
  /** Anything else (for instance BEP 10 extension messages), id and payload as they came. */
  | { readonly type: 'other'; readonly id: number; readonly payload: Uint8Array };

const IDS = {
  choke: 0,
  unchoke: 1,
  interested: 2,
  'not-interested': 3,
  have: 4,
  bitfield: 5,
  request: 6,
  piece: 7,
  cancel: 8,
  port: 9,
} as const;

/** Encodes any message, the handshake included (both codecs share it). */
function encode(
  message: PeerWireMessage,
  sink: Parameters<Codec<PeerWireMessage>['encode']>[1],
): number {
  switch (message.type) {
    case 'handshake':
      sink.writeU8(19);
      sink.writeBytes(PROTOCOL);
      sink.writeBytes(message.reserved);
      sink.writeBytes(message.infoHash);
      sink.writeBytes(message.peerId);
      return HANDSHAKE_SIZE;
    case 'keep-alive':
      sink.writeU32BE(0);
      return 4;
    case 'choke':
    case 'unchoke':
    case 'interested':
    case 'not-interested':
      sink.writeU32BE(1);
      sink.writeU8(IDS[message.type]);
      return 5;
    case 'have':
      sink.writeU32BE(5);
      sink.writeU8(IDS.have);
      sink.writeU32BE(message.index);
      return 9;
    case 'bitfield':
      sink.writeU32BE(1 + message.bits.length);
      sink.writeU8(IDS.bitfield);
      sink.writeBytes(message.bits);
      return 5 + message.bits.length;
    case 'request':
    case 'cancel':
      sink.writeU32BE(13);
      sink.writeU8(IDS[message.type]);
      sink.writeU32BE(message.index);
      sink.writeU32BE(message.begin);
      sink.writeU32BE(message.length);
      return 17;
    case 'piece':
      sink.writeU32BE(9 + message.block.length);
      sink.writeU8(IDS.piece);
      sink.writeU32BE(message.index);
      sink.writeU32BE(message.begin);
      sink.writeBytes(message.block);
      return 13 + message.block.length;
    case 'port':
      sink.writeU32BE(3);
      sink.writeU8(IDS.port);
      sink.writeU16BE(message.port);
      return 7;
    case 'other':
      sink.writeU32BE(1 + message.payload.length);
      sink.writeU8(message.id);
      sink.writeBytes(message.payload);
      return 5 + message.payload.length;
  }
}

function sizeHint(message: PeerWireMessage): number {
  switch (message.type) {
    case 'handshake':
      return HANDSHAKE_SIZE;
    case 'keep-alive':
      return 4;
    case 'have':
      return 9;
    case 'bitfield':
      return 5 + message.bits.length;
    case 'request':
    case 'cancel':
      return 17;
    case 'piece':
      return 13 + message.block.length;
    case 'port':
      return 7;
    case 'other':
      return 5 + message.payload.length;
    default:
      return 5;
  }
}

/**
 * A connection's first codec: decodes the peer's 68-byte handshake, then nothing more (it answers
 * "incomplete") until the application replaces it with {@link wireCodec}. Anything that is not a
 * plain BitTorrent handshake (an encrypted MSE handshake, another protocol) is malformed at its
 * first byte that differs, so such a connection is refused at once.
 */
export function handshakeCodec(): Codec<PeerWireMessage> {
  let done = false;
  return {
    maxSize: MAX_MESSAGE,
    encode,
    sizeHint,
    decode(bytes) {
      if (done) return incomplete();
      const n = Math.min(bytes.length, 20);
      if (n > 0 && bytes[0] !== 19) return malformed('not a BitTorrent handshake');
      for (let i = 1; i < n; i++) {
        if (bytes[i] !== PROTOCOL[i - 1]) return malformed('not a BitTorrent handshake');
      }
      if (bytes.length < HANDSHAKE_SIZE) return incomplete();
      done = true;
      return decoded(
        {
          type: 'handshake',
          reserved: bytes.slice(20, 28),
          infoHash: bytes.slice(28, 48),
          peerId: bytes.slice(48, 68),
        },
        HANDSHAKE_SIZE,
      );
    },
  };
}

/** The codec factory for a reactor: every connection starts with its own {@link handshakeCodec}. */
export const peerWireCodecs: CodecFactory<PeerWireMessage> = {
  maxSize: MAX_MESSAGE,
  create: () => handshakeCodec(),
};

/**
 * The codec for the messages after the handshake of a torrent of `pieces` pieces: a bitfield must
 * have exactly `ceil(pieces / 8)` bytes with the spare bits clear, and `have`, `request`,
 * `cancel` and `piece` must name a piece below `pieces`; requests may ask for at most
 * {@link MAX_BLOCK} bytes. Anything else is malformed.
 */
export function wireCodec(pieces: number): Codec<PeerWireMessage> {
  const bitfieldBytes = Math.ceil(pieces / 8);
  const spareMask = (0xff >> (pieces % 8 === 0 ? 8 : pieces % 8)) & 0xff;
  return {
    maxSize: MAX_MESSAGE,
    encode,
    sizeHint,
    decode(bytes) {
      if (bytes.length < 4) return incomplete();
      const length = readU32BE(bytes, 0);
      if (length > MAX_MESSAGE - 4) return malformed(`a ${length}-byte message`);
      if (length === 0) return decoded({ type: 'keep-alive' }, 4);
      if (bytes.length < 4 + length) return incomplete();
      const id = bytes[4]!;
      const size = 4 + length;
      const fixed = (n: number) => length === 1 + n;
      switch (id) {
        case IDS.choke:
        case IDS.unchoke:
        case IDS.interested:
        case IDS['not-interested']:
          if (!fixed(0)) return malformed('state message with a payload');
          return decoded(
            { type: (['choke', 'unchoke', 'interested', 'not-interested'] as const)[id]! },
            size,
          );
        case IDS.have: {
          if (!fixed(4)) return malformed('bad have');
          const index = readU32BE(bytes, 5);
          if (index >= pieces) return malformed('have names no piece');
          return decoded({ type: 'have', index }, size);
        }
        case IDS.bitfield: {
          if (!fixed(bitfieldBytes)) return malformed('bitfield of the wrong length');
          if (bitfieldBytes > 0 && (bytes[4 + bitfieldBytes]! & spareMask) !== 0) {
            return malformed('bitfield spare bits set');
          }
          return decoded({ type: 'bitfield', bits: bytes.slice(5, 5 + bitfieldBytes) }, size);
        }
        case IDS.request:
        case IDS.cancel: {
          if (!fixed(12)) return malformed('bad request');
          const index = readU32BE(bytes, 5);
          const begin = readU32BE(bytes, 9);
          const blockLength = readU32BE(bytes, 13);
          if (index >= pieces || blockLength === 0 || blockLength > MAX_BLOCK) {
            return malformed('bad request');
          }
          return decoded(
            { type: id === IDS.request ? 'request' : 'cancel', index, begin, length: blockLength },
            size,
          );
        }
        case IDS.piece: {
          if (length < 9) return malformed('bad piece');
          const index = readU32BE(bytes, 5);
          if (index >= pieces) return malformed('piece names no piece');
          return decoded(
            { type: 'piece', index, begin: readU32BE(bytes, 9), block: bytes.slice(13, size) },
            size,
          );
        }
        case IDS.port:
          if (!fixed(2)) return malformed('bad port');
          return decoded({ type: 'port', port: readU16BE(bytes, 5) }, size);
        default:
          return decoded({ type: 'other', id, payload: bytes.slice(5, size) }, size);
      }
    },
  };
}
