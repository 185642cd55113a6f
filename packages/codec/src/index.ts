/**
 * The codec contract for peerlink message types, the byte writer codecs encode into, byte readers,
 * a ready-made length-prefixed codec builder, and the error base class shared by every package.
 *
 * @packageDocumentation
 */
export {
  readU16BE,
  readU16LE,
  readU32BE,
  readU32LE,
  readU64BE,
  readU64LE,
  readVarint,
  VARINT_INCOMPLETE,
  VARINT_MALFORMED,
} from './bytes.js';
export type { Codec, Decoded, DecodeResult, Malformed, NeedMoreData } from './codec.js';
export { decoded, incomplete, malformed } from './codec.js';
export {
  COMPACT_SIZE_INCOMPLETE,
  COMPACT_SIZE_MALFORMED,
  compactSizeSize,
  MAX_COMPACT_SIZE,
  readCompactSize,
  writeCompactSize,
} from './compact-size.js';
export {
  type ErrorCode,
  ErrorCodes,
  invalidArgument,
  PeerlinkError,
  type PeerlinkErrorOptions,
} from './errors.js';
export {
  type BodyCodec,
  type LengthPrefix,
  type LengthPrefixedFraming,
  type LengthPrefixedOptions,
  lengthPrefixed,
  lengthPrefixedFraming,
} from './length-prefixed.js';
export { ByteSink, type ByteSinkOptions, type ByteWriter, varintSize } from './sink.js';
