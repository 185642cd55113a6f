/** Single-file torrents: make the metadata of a file, read a `.torrent`, hash pieces. */
import { createHash } from 'node:crypto';
import { type BValue, bdecode, bencode } from './bencode.js';

/** What a peer needs to know about a single-file torrent. */
export interface Torrent {
  /** SHA-1 of the bencoded `info` dictionary: the torrent's identity on the wire. */
  readonly infoHash: Uint8Array;
  readonly name: string;
  /** The file's length in bytes. */
  readonly length: number;
  /** Bytes per piece (the last piece may be shorter). */
  readonly pieceLength: number;
  /** One 20-byte SHA-1 per piece. */
  readonly pieces: readonly Uint8Array[];
}

/** The SHA-1 of `bytes`. */
export function sha1(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha1').update(bytes).digest());
}

/** The length of piece `index` of `torrent`. */
export function pieceSize(torrent: Torrent, index: number): number {
  const last = torrent.pieces.length - 1;
  return index < last ? torrent.pieceLength : torrent.length - last * torrent.pieceLength;
}

/**
 * Makes a single-file torrent of `data` named `name` and returns its metadata and the `.torrent`
 * file's bytes. `announce` is written as is (a tracker the clients will ask for peers).
 */
export function makeTorrent(
  name: string,
  data: Uint8Array,
  pieceLength: number,
  announce: string,
): { torrent: Torrent; file: Uint8Array } {
  const pieces: Uint8Array[] = [];
  for (let at = 0; at < data.length; at += pieceLength) {
    pieces.push(sha1(data.subarray(at, Math.min(at + pieceLength, data.length))));
  }
  const joined = new Uint8Array(pieces.length * 20);
  for (const [i, p] of pieces.entries()) joined.set(p, i * 20);
  const info = new Map<string, BValue>([
    ['length', data.length],
    ['name', new TextEncoder().encode(name)],
    ['piece length', pieceLength],
    ['pieces', joined],
  ]);
  const file = bencode(
    new Map<string, BValue>([
      ['announce', new TextEncoder().encode(announce)],
      ['info', info],
    ]),
  );
  return { torrent: readTorrent(file), file };
}

/** Reads a single-file `.torrent`. Throws `SyntaxError` when it is not one. */
export function readTorrent(file: Uint8Array): Torrent {
  const { value, spans } = bdecode(file);
  const span = spans.get('info');
  const info = value instanceof Map ? value.get('info') : undefined;
  if (!(info instanceof Map) || span === undefined) throw new SyntaxError('no info dictionary');
  const name = info.get('name');
  const length = info.get('length');
  const pieceLength = info.get('piece length');
  const joined = info.get('pieces');
  if (
    !(name instanceof Uint8Array) ||
    typeof length !== 'number' ||
    typeof pieceLength !== 'number' ||
    !(joined instanceof Uint8Array) ||
    length <= 0 ||
    pieceLength <= 0 ||
    joined.length !== Math.ceil(length / pieceLength) * 20
  ) {
    throw new SyntaxError('not a single-file torrent');
  }
  const pieces: Uint8Array[] = [];
  for (let at = 0; at < joined.length; at += 20) pieces.push(joined.slice(at, at + 20));
  return {
    infoHash: sha1(file.subarray(span[0], span[1])),
    name: new TextDecoder().decode(name),
    length,
    pieceLength,
    pieces,
  };
}
