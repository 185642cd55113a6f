/**
 * The live mesh's wire format, shared by the Node nodes and the browser tabs (so it imports
 * nothing from Node): the gossip mesh example's codec (`../gossip-codec.ts`), with smaller
 * payloads. A message with id 0 is a hello: the first thing a tab sends to each peer, so
 * that the Node side knows which peer is which tab; it is never forwarded.
 */
import { gossipCodecFor } from '../gossip-codec.js';

export type { Gossip } from '../gossip-codec.js';

/** Tabs are numbered from here, so that their origins never collide with Node nodes'. */
export const TAB_BASE = 1000;

/** Largest payload, in bytes (UTF-8 text in the live mesh). */
export const MAX_PAYLOAD = 4096;

/** The gossip codec: frames of at most `4 + 7 + MAX_PAYLOAD` bytes. */
export const gossipCodec = gossipCodecFor(MAX_PAYLOAD);

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
