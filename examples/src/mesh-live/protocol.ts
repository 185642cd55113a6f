/**
 * The live mesh's wire format, shared by the Node nodes and the browser tabs (so it imports
 * nothing from Node): the gossip mesh example's frames (u32 BE length, id u32 BE, origin u16 BE,
 * hops u8, payload). A message with id 0 is a hello: the first thing a tab sends to each peer, so
 * that the Node side knows which peer is which tab; it is never forwarded.
 */
import { type ByteSink, lengthPrefixed } from '@peerlink/codec';

/** One gossip message (or a hello, `id` 0). */
export interface Gossip {
  /** Unique per message (u32), 0 for a hello. */
  readonly id: number;
  /** The node that started it: a Node node's index, or a tab's number from {@link TAB_BASE}. */
  readonly origin: number;
  /** How many times it was forwarded before this copy (0 from the origin). */
  readonly hops: number;
  /** Application bytes (UTF-8 text in the live mesh). */
  readonly payload: Uint8Array;
}

/** Tabs are numbered from here, so that their origins never collide with Node nodes'. */
export const TAB_BASE = 1000;

/** Largest payload, in bytes. */
export const MAX_PAYLOAD = 4096;

/** The gossip codec: frames of at most `4 + 7 + MAX_PAYLOAD` bytes. */
export const gossipCodec = lengthPrefixed<Gossip>(
  { maxSize: 4 + 7 + MAX_PAYLOAD },
  {
    encode(message: Gossip, sink: ByteSink) {
      sink.writeU32BE(message.id);
      sink.writeU16BE(message.origin);
      sink.writeU8(message.hops);
      sink.writeBytes(message.payload);
    },
    decode(body) {
      if (body.length < 7) return undefined;
      const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
      return {
        id: view.getUint32(0),
        origin: view.getUint16(4),
        hops: body[6]!,
        payload: body.slice(7),
      };
    },
    size: (message) => 7 + message.payload.length,
  },
);

/** A node of the mesh as the page draws it. */
export interface MeshNodeView {
  /** Node index, or a tab's origin (≥ {@link TAB_BASE}). */
  readonly id: number;
  readonly kind: 'node' | 'tab';
  /** Messages received per second, over the last sample. */
  readonly messagesPerSecond: number;
}

/** What `/mesh.json` serves: the mesh as the Node side sees it. */
export interface MeshView {
  readonly nodes: readonly MeshNodeView[];
  /** Links, as pairs of node ids. */
  readonly links: ReadonlyArray<readonly [number, number]>;
  /** Recent gossip messages, newest last: which nodes have each. */
  readonly messages: ReadonlyArray<{ id: number; origin: number; text: string; reached: number[] }>;
  /** Messages per second received by all Node nodes together. */
  readonly messagesPerSecond: number;
}

/** What `/config.json` serves to a tab that joins. */
export interface TabConfig {
  /** The tab's origin number. */
  readonly tab: number;
  /** The Node nodes' WebSocket addresses (`host:port`) this tab connects to. */
  readonly peers: readonly string[];
}
