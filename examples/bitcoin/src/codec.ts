/**
 * The Bitcoin P2P wire format as a peerlink codec.
 *
 * Every message is a 24-byte header (network magic, a 12-byte NUL-padded ASCII command, the
 * payload length as a u32 little-endian, and a checksum: the first 4 bytes of the double SHA-256
 * of the payload) followed by the payload. A wrong magic, a wrong checksum, a badly padded command
 * or a payload above the limit is malformed: the peer is disconnected.
 *
 * The codec is per connection (a peerlink codec factory): it also enforces the handshake order,
 * `version` first and nothing but `verack` until the peer's `verack`, keeping that state in the
 * codec the reactor made for this one connection.
 */
import { createHash } from 'node:crypto';
import {
  ByteSink,
  type Codec,
  type CodecFactory,
  compactSizeSize,
  decoded,
  incomplete,
  malformed,
  readCompactSize,
  readU32LE,
  readU64LE,
  writeCompactSize,
} from 'peerlink';

/** Regtest's network magic, as it appears on the wire. */
export const REGTEST_MAGIC = Uint8Array.of(0xfa, 0xbf, 0xb5, 0xda);
/** The largest message, header included: 32 MiB (Bitcoin's `MAX_SIZE`). */
export const MAX_MESSAGE_SIZE = 0x2000000;
/** The header's size in bytes. */
export const HEADER_SIZE = 24;
/** The protocol version we speak (BIP 130 `sendheaders`, BIP 133 `feefilter`). */
export const PROTOCOL_VERSION = 70015;

/** A network address as carried in `version` (no timestamp). */
export interface NetAddress {
  readonly services: bigint;
  /** 16 bytes: an IPv6 address, or an IPv4-mapped one. */
  readonly ip: Uint8Array;
  readonly port: number;
}

/** A block header (80 bytes on the wire). Hashes are in wire (little-endian) byte order. */
export interface BlockHeader {
  readonly version: number;
  readonly prevBlock: Uint8Array;
  readonly merkleRoot: Uint8Array;
  readonly time: number;
  readonly bits: number;
  readonly nonce: number;
}

/** The messages this example understands; anything else arrives as `other`. */
export type BitcoinMessage =
  | {
      readonly type: 'version';
      readonly version: number;
      readonly services: bigint;
      readonly timestamp: bigint;
      readonly receiver: NetAddress;
      readonly sender: NetAddress;
      readonly nonce: bigint;
      readonly userAgent: string;
      readonly startHeight: number;
      readonly relay: boolean;
    }
  | { readonly type: 'verack' }
  | { readonly type: 'ping'; readonly nonce: bigint }
  | { readonly type: 'pong'; readonly nonce: bigint }
  | {
      readonly type: 'getheaders';
      readonly version: number;
      /** Block hashes, newest first, wire byte order. */
      readonly locator: readonly Uint8Array[];
      readonly stop: Uint8Array;
    }
  | { readonly type: 'headers'; readonly headers: readonly BlockHeader[] }
  | { readonly type: 'sendheaders' }
  | { readonly type: 'other'; readonly command: string; readonly payload: Uint8Array };

/** The double SHA-256 of `bytes`. */
export function sha256d(bytes: Uint8Array): Uint8Array {
  const once = createHash('sha256').update(bytes).digest();
  return new Uint8Array(createHash('sha256').update(once).digest());
}

const ZERO_HASH = new Uint8Array(32);
const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('ascii', { fatal: true });

/** Where a connection is in the version/verack handshake, as its codec sees it. */
export type HandshakeState = 'await-version' | 'await-verack' | 'ready';

/** A codec for one connection, with its handshake state (read it for diagnostics). */
export interface BitcoinCodec extends Codec<BitcoinMessage> {
  /** What the peer has sent so far, as far as the handshake goes. */
  readonly state: HandshakeState;
  /** The protocol version the peer announced in its `version` (0 before). */
  readonly peerVersion: number;
}

/**
 * A codec for a single connection: the Bitcoin wire format with `magic`, plus the handshake order
 * of the messages the peer sends (`version`, then `verack`, then anything).
 */
export function bitcoinCodec(magic: Uint8Array = REGTEST_MAGIC): BitcoinCodec {
  const scratch = new ByteSink();
  let state: HandshakeState = 'await-version';
  let peerVersion = 0;
  const codec: BitcoinCodec = {
    maxSize: MAX_MESSAGE_SIZE,
    get state() {
      return state;
    },
    get peerVersion() {
      return peerVersion;
    },
    encode(message, sink) {
      scratch.clear();
      encodePayload(message, scratch);
      const payload = scratch.peek();
      if (HEADER_SIZE + payload.length > MAX_MESSAGE_SIZE) {
        throw new RangeError(`a ${payload.length}-byte payload exceeds the message limit`);
      }
      sink.writeBytes(magic);
      const command = commandOf(message);
      const at = sink.reserve(12);
      sink.buffer.fill(0, at, at + 12);
      sink.buffer.set(textEncoder.encode(command), at);
      sink.writeU32LE(payload.length);
      sink.writeBytes(sha256d(payload).subarray(0, 4));
      sink.writeBytes(payload);
      return HEADER_SIZE + payload.length;
    },
    decode(bytes) {
      if (bytes.length < HEADER_SIZE) {
        // Refuse a wrong magic as soon as its bytes are there.
        for (let i = 0; i < Math.min(4, bytes.length); i++) {
          if (bytes[i] !== magic[i]) return malformed('wrong network magic');
        }
        return incomplete();
      }
      for (let i = 0; i < 4; i++)
        if (bytes[i] !== magic[i]) return malformed('wrong network magic');
      const command = readCommand(bytes.subarray(4, 16));
      if (command === undefined) return malformed('badly formed command');
      const length = readU32LE(bytes, 16);
      if (length > MAX_MESSAGE_SIZE - HEADER_SIZE) return malformed('payload too large');
      if (bytes.length < HEADER_SIZE + length) return incomplete();
      const payload = bytes.subarray(HEADER_SIZE, HEADER_SIZE + length);
      const sum = sha256d(payload);
      for (let i = 0; i < 4; i++) {
        if (sum[i] !== bytes[20 + i]) return malformed('wrong checksum');
      }
      const message = decodePayload(command, payload);
      if (message === undefined) return malformed(`malformed ${command} payload`);
      if (state === 'await-version') {
        if (message.type !== 'version') return malformed(`${command} before version`);
        peerVersion = message.version;
        state = 'await-verack';
      } else if (state === 'await-verack') {
        if (message.type === 'version') return malformed('a second version');
        if (message.type === 'verack') state = 'ready';
        else if (message.type !== 'other') return malformed(`${command} before verack`);
        // BIP 339/155 negotiation messages (wtxidrelay, sendaddrv2) legitimately come between.
      } else if (message.type === 'version' || message.type === 'verack') {
        return malformed(`${command} after the handshake`);
      }
      return decoded(message, HEADER_SIZE + length);
    },
  };
  return codec;
}

/**
 * The codec factory to give the reactor: each connection gets its own {@link bitcoinCodec} with
 * its own handshake state.
 */

/**
 * The codec factory to give the reactor: each connection gets its own {@link bitcoinCodec} with
 * its own handshake state.
 */
export function bitcoinCodecFactory(
  magic: Uint8Array = REGTEST_MAGIC,
): CodecFactory<BitcoinMessage> {
  return { maxSize: MAX_MESSAGE_SIZE, create: () => bitcoinCodec(magic) };
}

function commandOf(message: BitcoinMessage): string {
  return message.type === 'other' ? message.command : message.type;
}

/** A command: 1–12 ASCII printable bytes, then only NULs. */
function readCommand(bytes: Uint8Array): string | undefined {
  let end = bytes.indexOf(0);
  if (end === -1) end = 12;
  if (end === 0) return undefined;
  for (let i = end; i < 12; i++) if (bytes[i] !== 0) return undefined;
  for (let i = 0; i < end; i++) if (bytes[i]! < 0x20 || bytes[i]! > 0x7e) return undefined;
  return textDecoder.decode(bytes.subarray(0, end));
}

function encodePayload(message: BitcoinMessage, sink: ByteSink): void {
  switch (message.type) {
    case 'version': {
      sink.writeU32LE(message.version >>> 0);
      sink.writeU64LE(message.services);
      sink.writeU64LE(BigInt.asUintN(64, message.timestamp));
      writeAddress(sink, message.receiver);
      writeAddress(sink, message.sender);
      sink.writeU64LE(message.nonce);
      const agent = textEncoder.encode(message.userAgent);
      writeCompactSize(sink, agent.length);
      sink.writeBytes(agent);
      sink.writeU32LE(message.startHeight >>> 0);
      sink.writeU8(message.relay ? 1 : 0);
      return;
    }
    case 'ping':
    case 'pong':
      sink.writeU64LE(message.nonce);
      return;
    case 'getheaders':
      sink.writeU32LE(message.version >>> 0);
      writeCompactSize(sink, message.locator.length);
      for (const hash of message.locator) sink.writeBytes(hash);
      sink.writeBytes(message.stop);
      return;
    case 'headers':
      writeCompactSize(sink, message.headers.length);
      for (const header of message.headers) {
        sink.writeBytes(encodeHeader(header));
        sink.writeU8(0); // transaction count: always 0 in `headers`
      }
      return;
    case 'other':
      sink.writeBytes(message.payload);
      return;
    default:
      return; // verack, sendheaders: empty payloads
  }
}

function writeAddress(sink: ByteSink, address: NetAddress): void {
  sink.writeU64LE(address.services);
  sink.writeBytes(address.ip);
  sink.writeU16BE(address.port);
}

/** A bounds-checked reader over one payload: every read answers `undefined` past the end. */
class Reader {
  at = 0;
  constructor(readonly bytes: Uint8Array) {}
  has(n: number): boolean {
    return this.at + n <= this.bytes.length;
  }
  u32(): number | undefined {
    if (!this.has(4)) return undefined;
    const v = readU32LE(this.bytes, this.at);
    this.at += 4;
    return v;
  }
  u64(): bigint | undefined {
    if (!this.has(8)) return undefined;
    const v = readU64LE(this.bytes, this.at);
    this.at += 8;
    return v;
  }
  take(n: number): Uint8Array | undefined {
    if (!this.has(n)) return undefined;
    // A plain copy (the input may be a Buffer, and is valid only during decode).
    const v = new Uint8Array(this.bytes.subarray(this.at, this.at + n));
    this.at += n;
    return v;
  }
  compactSize(): number | undefined {
    const v = readCompactSize(this.bytes, this.at);
    if (v < 0) return undefined;
    this.at += compactSizeSize(v);
    return v;
  }
  address(): NetAddress | undefined {
    const services = this.u64();
    const ip = this.take(16);
    if (services === undefined || ip === undefined || !this.has(2)) return undefined;
    const port = (this.bytes[this.at]! << 8) | this.bytes[this.at + 1]!;
    this.at += 2;
    return { services, ip, port };
  }
  get done(): boolean {
    return this.at === this.bytes.length;
  }
}

function decodePayload(command: string, payload: Uint8Array): BitcoinMessage | undefined {
  const r = new Reader(payload);
  switch (command) {
    case 'version': {
      const version = r.u32();
      const services = r.u64();
      const timestamp = r.u64();
      const receiver = r.address();
      const sender = r.address();
      const nonce = r.u64();
      const agentLength = r.compactSize();
      if (agentLength === undefined || agentLength > 256) return undefined;
      const agent = r.take(agentLength);
      const startHeight = r.u32();
      if (
        version === undefined ||
        services === undefined ||
        timestamp === undefined ||
        receiver === undefined ||
        sender === undefined ||
        nonce === undefined ||
        agent === undefined ||
        startHeight === undefined
      ) {
        return undefined;
      }
      const relay = r.has(1) ? r.bytes[r.at++] !== 0 : true;
      let userAgent: string;
      try {
        userAgent = new TextDecoder('utf-8', { fatal: true }).decode(agent);
      } catch {
        return undefined;
      }
      return {
        type: 'version',
        version: version | 0,
        services,
        timestamp: BigInt.asIntN(64, timestamp),
        receiver,
        sender,
        nonce,
        userAgent,
        startHeight: startHeight | 0,
        relay,
      };
    }
    case 'verack':
    case 'sendheaders':
      return payload.length === 0 ? { type: command } : undefined;
    case 'ping':
    case 'pong': {
      const nonce = r.u64();
      return nonce !== undefined && r.done ? { type: command, nonce } : undefined;
    }
    case 'getheaders': {
      const version = r.u32();
      const count = r.compactSize();
      if (version === undefined || count === undefined || count > 101) return undefined;
      const locator: Uint8Array[] = [];
      for (let i = 0; i < count; i++) {
        const hash = r.take(32);
        if (hash === undefined) return undefined;
        locator.push(hash);
      }
      const stop = r.take(32);
      return stop !== undefined && r.done
        ? { type: 'getheaders', version: version | 0, locator, stop }
        : undefined;
    }
    case 'headers': {
      const count = r.compactSize();
      if (count === undefined || count > 2000) return undefined;
      const headers: BlockHeader[] = [];
      for (let i = 0; i < count; i++) {
        const raw = r.take(80);
        const txCount = r.compactSize();
        if (raw === undefined || txCount !== 0) return undefined;
        headers.push(decodeHeader(raw));
      }
      return r.done ? { type: 'headers', headers } : undefined;
    }
    default:
      return { type: 'other', command, payload: new Uint8Array(payload) };
  }
}

/** The 80 wire bytes of a block header. */
export function encodeHeader(header: BlockHeader): Uint8Array {
  const out = new Uint8Array(80);
  const view = new DataView(out.buffer);
  view.setInt32(0, header.version, true);
  out.set(header.prevBlock, 4);
  out.set(header.merkleRoot, 36);
  view.setUint32(68, header.time, true);
  view.setUint32(72, header.bits, true);
  view.setUint32(76, header.nonce, true);
  return out;
}

/** Reads a block header from its 80 wire bytes. */
export function decodeHeader(raw: Uint8Array): BlockHeader {
  const view = new DataView(raw.buffer, raw.byteOffset, 80);
  return {
    version: view.getInt32(0, true),
    prevBlock: raw.slice(4, 36),
    merkleRoot: raw.slice(36, 68),
    time: view.getUint32(68, true),
    bits: view.getUint32(72, true),
    nonce: view.getUint32(76, true),
  };
}

/** A block header's hash (double SHA-256 of its 80 bytes), in wire byte order. */
export function blockHash(header: BlockHeader): Uint8Array {
  return sha256d(encodeHeader(header));
}

/** A hash as Bitcoin displays it: byte-reversed hex. */
export function hashToHex(hash: Uint8Array): string {
  return Buffer.from(hash).reverse().toString('hex');
}

/** The wire bytes of a hash displayed as `hex` (byte-reversed). */
export function hexToHash(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, 'hex').reverse());
}

/** The all-zero hash (`getheaders` with it as `stop`: as many headers as the peer sends at once). */
export { ZERO_HASH };
