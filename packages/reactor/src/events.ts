import type { PeerlinkError } from '@peerlink/codec';

/**
 * A peer's id: unique for the life of the process and strictly increasing, never reused, even
 * when the same address reconnects.
 */
export type PeerId = number;

/** Why a peer was disconnected. */
export type DisconnectReason =
  /** We asked for it (`disconnect()` or `shutdown()`). */
  | { readonly kind: 'requested' }
  /** The peer closed the connection (end of stream). */
  | { readonly kind: 'left' }
  /** The peer sent bytes our codec rejects, or broke a receive limit. */
  | { readonly kind: 'codec-violation'; readonly error: PeerlinkError }
  /** The peer did not read our data within `txTimeout`. */
  | { readonly kind: 'write-stale' }
  /** The peer started a message and did not complete it within `messageTimeout`. */
  | { readonly kind: 'read-stale' }
  /** The transport failed (for example a reset: `error.code === 'ECONNRESET'`). */
  | { readonly kind: 'error'; readonly error: Error };

/** Every event a reactor emits, discriminated by `type`. Events of one peer come in order. */
export type ReactorEvent<M> =
  /** An outbound connect succeeded. */
  | {
      readonly type: 'connected';
      readonly peer: PeerId;
      /** The target as given to `connect`. */
      readonly target: string;
      readonly remoteAddress: string;
      readonly localAddress: string;
    }
  /** An outbound connect failed (refused, timed out, aborted, proxy failure, ...). */
  | { readonly type: 'connect-failed'; readonly target: string; readonly error: Error }
  /** A remote peer connected to one of our listeners. */
  | {
      readonly type: 'accepted';
      readonly peer: PeerId;
      readonly remoteAddress: string;
      /** The local interface address the connection arrived on. */
      readonly localAddress: string;
    }
  /** A message from a peer, with its size on the wire in bytes. */
  | { readonly type: 'message'; readonly peer: PeerId; readonly message: M; readonly size: number }
  /** A peer is gone; exactly one per peer. */
  | { readonly type: 'disconnected'; readonly peer: PeerId; readonly reason: DisconnectReason }
  /** A command named a peer that does not exist (or no longer does). */
  | { readonly type: 'no-such-peer'; readonly peer: PeerId }
  /** A message could not be queued: the peer's send buffer is full. The message is handed back. */
  | { readonly type: 'send-buffer-full'; readonly peer: PeerId; readonly message: M }
  /** A peer that refused a message can take more now. */
  | { readonly type: 'drained'; readonly peer: PeerId }
  /** A listener failed to accept a connection (for example `EMFILE`); it keeps listening. */
  | { readonly type: 'listen-error'; readonly address: string; readonly error: Error };

/** What {@link Reactor.send} did with a message. */
export type SendResult = 'queued' | 'full' | 'no-such-peer';
