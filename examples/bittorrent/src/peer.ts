/**
 * A small BitTorrent peer for one single-file torrent, on a peerlink reactor: it seeds what it has
 * (unchokes anyone interested and answers requests, keeping a backlog when a peer's send buffer
 * is full) and downloads what it lacks (requests 16 KiB blocks, a few at a time, and checks every
 * piece's SHA-1 before keeping it).
 */
import { randomBytes } from 'node:crypto';
import type { PeerId, Reactor, ReactorEvent } from 'peerlink';
import { pieceSize, sha1, type Torrent } from './torrent.js';
import { type PeerWireMessage, wireCodec } from './wire.js';

/** The block size we request, in bytes (what every client serves). */
export const BLOCK = 16 * 1024;
/** Requests kept in flight per peer. */
const PIPELINE = 16;

interface Remote {
  handshaken: boolean;
  /** Pieces the remote has. */
  has: Uint8Array;
  chokingUs: boolean;
  interestedInUs: boolean;
  /** Our requests in flight to it, as `index:begin`. */
  inFlight: Set<string>;
  /** Messages that found its send buffer full, sent in order on `drained`. */
  backlog: PeerWireMessage[];
}

/** Options of {@link TorrentPeer}. */
export interface TorrentPeerOptions {
  /** The whole file, when we seed it; omit to start with nothing and download. */
  readonly data?: Uint8Array;
}

/** A peer of one torrent. Give it a reactor made with `peerWireCodecs`; it takes the events. */
export class TorrentPeer {
  /** Our 20-byte peer id. */
  readonly peerId = new Uint8Array(Buffer.concat([Buffer.from('-PL0001-'), randomBytes(12)]));
  /** Pieces that failed their SHA-1 check (and were requested again). */
  hashFailures = 0;
  /** Blocks we served. */
  blocksServed = 0;
  /** Peers that gave a handshake for another torrent, or none at all. */
  refused = 0;
  private readonly data: Uint8Array;
  private readonly have: boolean[];
  private missing: number;
  private readonly partial = new Map<number, { buffer: Uint8Array; received: Set<number> }>();
  private readonly remotes = new Map<PeerId, Remote>();
  private done: Array<(data: Uint8Array) => void> = [];

  constructor(
    readonly reactor: Reactor<PeerWireMessage>,
    readonly torrent: Torrent,
    options: TorrentPeerOptions = {},
  ) {
    this.data = options.data ?? new Uint8Array(torrent.length);
    const seeding = options.data !== undefined;
    this.have = torrent.pieces.map(() => seeding);
    this.missing = seeding ? 0 : torrent.pieces.length;
    reactor.onEvent(
      (event) => this.onEvent(event),
      (peer, message) => this.onMessage(peer, message),
    );
  }

  /** Resolves with the whole file once every piece has arrived and passed its SHA-1 check. */
  complete(): Promise<Uint8Array> {
    if (this.missing === 0) return Promise.resolve(this.data);
    return new Promise((resolve) => this.done.push(resolve));
  }

  private send(peer: PeerId, remote: Remote, message: PeerWireMessage): void {
    // The backlog pattern: once a message has waited, everything after it waits too (order).
    if (remote.backlog.length > 0 || this.reactor.send(peer, message) === 'full') {
      remote.backlog.push(message);
    }
  }

  private flush(peer: PeerId, remote: Remote): void {
    let sent = 0;
    while (
      sent < remote.backlog.length &&
      this.reactor.send(peer, remote.backlog[sent]!) === 'queued'
    ) {
      sent++;
    }
    remote.backlog.splice(0, sent);
  }

  private onEvent(event: ReactorEvent<PeerWireMessage>): void {
    switch (event.type) {
      case 'connected':
      case 'accepted': {
        const remote: Remote = {
          handshaken: false,
          has: new Uint8Array(this.torrent.pieces.length),
          chokingUs: true,
          interestedInUs: false,
          inFlight: new Set(),
          backlog: [],
        };
        this.remotes.set(event.peer, remote);
        this.send(event.peer, remote, {
          type: 'handshake',
          reserved: new Uint8Array(8),
          infoHash: this.torrent.infoHash,
          peerId: this.peerId,
        });
        break;
      }
      case 'disconnected': {
        const remote = this.remotes.get(event.peer);
        this.remotes.delete(event.peer);
        if (remote !== undefined && !remote.handshaken) this.refused++;
        // Its requests in flight go back to be asked of someone else.
        this.requestMore();
        break;
      }
      case 'drained': {
        const remote = this.remotes.get(event.peer);
        if (remote !== undefined) this.flush(event.peer, remote);
        break;
      }
      case 'message':
        this.onMessage(event.peer, event.message);
        break;
      default:
        break;
    }
  }

  private onMessage(peer: PeerId, message: PeerWireMessage): void {
    const remote = this.remotes.get(peer);
    if (remote === undefined) return;
    switch (message.type) {
      case 'handshake': {
        if (!equal(message.infoHash, this.torrent.infoHash)) {
          this.reactor.disconnect(peer);
          return;
        }
        remote.handshaken = true;
        // From now on this connection speaks length-prefixed messages whose validity depends on
        // this torrent: switch its codec. Bytes that came after the handshake are decoded by it.
        this.reactor.setCodec(peer, wireCodec(this.torrent.pieces.length));
        if (this.missing < this.torrent.pieces.length) {
          this.send(peer, remote, { type: 'bitfield', bits: this.bitfield() });
        }
        break;
      }
      case 'bitfield':
        for (let i = 0; i < remote.has.length; i++) {
          remote.has[i] = (message.bits[i >> 3]! >> (7 - (i & 7))) & 1;
        }
        this.updateInterest(peer, remote);
        break;
      case 'have':
        remote.has[message.index] = 1;
        this.updateInterest(peer, remote);
        break;
      case 'choke':
        remote.chokingUs = true;
        remote.inFlight.clear(); // a choke discards our outstanding requests
        break;
      case 'unchoke':
        remote.chokingUs = false;
        this.requestFrom(peer, remote);
        break;
      case 'interested':
        remote.interestedInUs = true;
        this.send(peer, remote, { type: 'unchoke' });
        break;
      case 'not-interested':
        remote.interestedInUs = false;
        break;
      case 'request': {
        const { index, begin, length } = message;
        if (!this.have[index] || begin + length > pieceSize(this.torrent, index)) {
          this.reactor.disconnect(peer);
          return;
        }
        const at = index * this.torrent.pieceLength + begin;
        this.blocksServed++;
        this.send(peer, remote, {
          type: 'piece',
          index,
          begin,
          block: this.data.subarray(at, at + length),
        });
        break;
      }
      case 'piece':
        this.onBlock(peer, remote, message.index, message.begin, message.block);
        break;
      default:
        break;
    }
  }

  private updateInterest(peer: PeerId, remote: Remote): void {
    if (this.missing === 0) return;
    if (remote.has.some((has, i) => has === 1 && !this.have[i])) {
      this.send(peer, remote, { type: 'interested' });
      this.requestFrom(peer, remote);
    }
  }

  private onBlock(
    peer: PeerId,
    remote: Remote,
    index: number,
    begin: number,
    block: Uint8Array,
  ): void {
    if (!remote.inFlight.delete(`${index}:${begin}`) || this.have[index]) return;
    const size = pieceSize(this.torrent, index);
    if (begin % BLOCK !== 0 || begin + block.length > size) return;
    let piece = this.partial.get(index);
    if (piece === undefined) {
      piece = { buffer: new Uint8Array(size), received: new Set() };
      this.partial.set(index, piece);
    }
    piece.buffer.set(block, begin);
    piece.received.add(begin);
    if (piece.received.size === Math.ceil(size / BLOCK)) {
      this.partial.delete(index);
      if (equal(sha1(piece.buffer), this.torrent.pieces[index]!)) {
        this.have[index] = true;
        this.data.set(piece.buffer, index * this.torrent.pieceLength);
        this.missing--;
        for (const [other, r] of this.remotes) {
          if (r.handshaken) this.send(other, r, { type: 'have', index });
        }
        if (this.missing === 0) {
          for (const resolve of this.done.splice(0)) resolve(this.data);
          for (const [other, r] of this.remotes) {
            if (r.handshaken) this.send(other, r, { type: 'not-interested' });
          }
          return;
        }
      } else {
        this.hashFailures++;
      }
    }
    this.requestFrom(peer, remote);
  }

  private requestMore(): void {
    for (const [peer, remote] of this.remotes) this.requestFrom(peer, remote);
  }

  /** Keeps up to {@link PIPELINE} block requests in flight to `remote`. */
  private requestFrom(peer: PeerId, remote: Remote): void {
    if (remote.chokingUs || !remote.handshaken || this.missing === 0) return;
    const taken = new Set<string>();
    for (const r of this.remotes.values()) for (const key of r.inFlight) taken.add(key);
    for (let index = 0; index < this.have.length && remote.inFlight.size < PIPELINE; index++) {
      if (this.have[index] || remote.has[index] !== 1) continue;
      const size = pieceSize(this.torrent, index);
      const received = this.partial.get(index)?.received;
      for (let begin = 0; begin < size && remote.inFlight.size < PIPELINE; begin += BLOCK) {
        const key = `${index}:${begin}`;
        if (received?.has(begin) || taken.has(key)) continue;
        remote.inFlight.add(key);
        this.send(peer, remote, {
          type: 'request',
          index,
          begin,
          length: Math.min(BLOCK, size - begin),
        });
      }
    }
  }

  private bitfield(): Uint8Array {
    const bits = new Uint8Array(Math.ceil(this.have.length / 8));
    this.have.forEach((has, i) => {
      if (has) bits[i >> 3] = bits[i >> 3]! | (0x80 >> (i & 7));
    });
    return bits;
  }
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
