/**
 * A connection upgrade that encrypts every connection: an ephemeral X25519 key exchange, keys
 * derived with HKDF-SHA-256, then every write framed and sealed with ChaCha20-Poly1305, all with
 * `node:crypto`. A Noise-NN-like channel: confidential and tamper-evident, not authenticated (no
 * static keys, so it does not tell who the peer is; add static keys for that).
 *
 * Handshake: each side writes `PLS1` and its 32-byte public key, and reads the other's. The side
 * that connected is the initiator: it sends with the first derived key and receives with the
 * second. After it, each write is a u32 big-endian length, the ciphertext and its 16-byte tag,
 * with a counter nonce per direction. A wrong magic, a frame that does not authenticate or one
 * over 16 MiB ends the connection with `ERR_UPGRADE_FAILED`.
 */
import {
  createCipheriv,
  createDecipheriv,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
} from 'node:crypto';
import type { ConnectionTransform, Upgrade } from 'peerlink';

const MAGIC = new TextEncoder().encode('PLS1');
const HELLO = MAGIC.length + 32;
const TAG = 16;
/** The largest sealed frame accepted, in bytes. */
const MAX_FRAME = 16 * 1024 * 1024;
/** DER prefix of an X25519 SubjectPublicKeyInfo: the raw 32-byte key follows it. */
const SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

function nonce(counter: bigint): Buffer {
  const n = Buffer.alloc(12);
  n.writeBigUInt64BE(counter, 4);
  return n;
}

/** The sealing and opening of frames in both directions, with one key each way. */
function channel(sendKey: Buffer, receiveKey: Buffer): ConnectionTransform {
  let sent = 0n;
  let received = 0n;
  const parts: Buffer[] = [];
  let held = 0;
  return {
    encode(bytes) {
      const cipher = createCipheriv('chacha20-poly1305', sendKey, nonce(sent++), {
        authTagLength: TAG,
      });
      const body = cipher.update(bytes);
      cipher.final();
      const frame = Buffer.allocUnsafe(4 + body.length + TAG);
      frame.writeUInt32BE(body.length + TAG, 0);
      body.copy(frame, 4);
      cipher.getAuthTag().copy(frame, 4 + body.length);
      return frame;
    },
    decode(chunk) {
      // Chunks are kept as they come and joined once a whole frame is there (a large frame in
      // many small chunks is copied once, not once per chunk).
      parts.push(Buffer.from(chunk));
      held += chunk.length;
      const out: Buffer[] = [];
      for (;;) {
        if (held < 4) break;
        if (parts[0]!.length < 4) parts.splice(0, parts.length, Buffer.concat(parts));
        const length = parts[0]!.readUInt32BE(0);
        if (length < TAG || length > MAX_FRAME)
          throw new Error(`a sealed frame of ${length} bytes`);
        if (held < 4 + length) break;
        const all = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
        const decipher = createDecipheriv('chacha20-poly1305', receiveKey, nonce(received++), {
          authTagLength: TAG,
        });
        decipher.setAuthTag(all.subarray(4 + length - TAG, 4 + length));
        out.push(decipher.update(all.subarray(4, 4 + length - TAG)));
        decipher.final(); // throws when the frame does not authenticate
        const rest = all.subarray(4 + length);
        parts.length = 0;
        if (rest.length > 0) parts.push(rest);
        held = rest.length;
      }
      return out.length === 0 ? undefined : new Uint8Array(Buffer.concat(out));
    },
  };
}

/** The upgrade: give it to a reactor as `upgrade` on both sides. */
export function secureChannel(): Upgrade {
  return async (context) => {
    const { privateKey, publicKey } = generateKeyPairSync('x25519');
    const ours = publicKey.export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length);
    context.write(Buffer.concat([MAGIC, ours]));
    const hello = Buffer.from(await context.read(HELLO));
    if (!hello.subarray(0, MAGIC.length).equals(Buffer.from(MAGIC))) {
      throw new Error('the peer does not speak this secure channel');
    }
    const theirs = hello.subarray(MAGIC.length);
    const shared = diffieHellman({
      privateKey,
      publicKey: createPublicKey({
        key: Buffer.concat([SPKI_PREFIX, theirs]),
        format: 'der',
        type: 'spki',
      }),
    });
    const initiator = context.direction === 'outbound';
    const salt = initiator ? Buffer.concat([ours, theirs]) : Buffer.concat([theirs, ours]);
    const keys = Buffer.from(hkdfSync('sha256', shared, salt, 'peerlink secure channel v1', 64));
    const first = keys.subarray(0, 32);
    const second = keys.subarray(32);
    return initiator ? channel(first, second) : channel(second, first);
  };
}
