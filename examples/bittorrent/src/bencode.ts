/**
 * Bencode, the encoding of `.torrent` files and tracker responses: integers `i42e`, byte strings
 * `4:spam`, lists `l...e` and dictionaries `d...e` with sorted keys.
 */

/** A bencoded value. Byte strings stay bytes; dictionaries are `Map`s keyed by their text. */
export type BValue = number | Uint8Array | BValue[] | Map<string, BValue>;

const encoder = new TextEncoder();
const latin1 = new TextDecoder('latin1');

/** Encodes `value`; a `string` is encoded as its UTF-8 bytes. Dictionary keys are sorted. */
export function bencode(value: BValue | string): Uint8Array {
  const parts: Uint8Array[] = [];
  const put = (v: BValue | string): void => {
    if (typeof v === 'number') {
      if (!Number.isSafeInteger(v)) throw new RangeError(`not an integer: ${v}`);
      parts.push(encoder.encode(`i${v}e`));
    } else if (typeof v === 'string') {
      put(encoder.encode(v));
    } else if (v instanceof Uint8Array) {
      parts.push(encoder.encode(`${v.length}:`), v);
    } else if (Array.isArray(v)) {
      parts.push(encoder.encode('l'));
      for (const item of v) put(item);
      parts.push(encoder.encode('e'));
    } else {
      parts.push(encoder.encode('d'));
      for (const key of [...v.keys()].sort()) {
        put(encoder.encode(key));
        put(v.get(key)!);
      }
      parts.push(encoder.encode('e'));
    }
  };
  put(value);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Decodes one bencoded value that fills `bytes` exactly. Throws `SyntaxError` on anything else.
 * Also returns where each top-level dictionary value started and ended (`spans`), so that the
 * exact bytes of `info` can be hashed.
 */
export function bdecode(bytes: Uint8Array): {
  value: BValue;
  spans: Map<string, [number, number]>;
} {
  let at = 0;
  const spans = new Map<string, [number, number]>();
  const fail = (why: string): never => {
    throw new SyntaxError(`bencode: ${why} at ${at}`);
  };
  const readInt = (end: number): number => {
    const text = latin1.decode(bytes.subarray(at, end));
    if (!/^(0|-?[1-9][0-9]*)$/.test(text)) fail('bad integer');
    const n = Number(text);
    if (!Number.isSafeInteger(n)) fail('integer out of range');
    at = end + 1;
    return n;
  };
  const value = (depth: number): BValue => {
    if (depth > 64) fail('nested too deep');
    const c = bytes[at];
    if (c === undefined) return fail('unexpected end');
    if (c === 0x69) {
      at++;
      const end = bytes.indexOf(0x65, at);
      if (end === -1) fail('unterminated integer');
      return readInt(end);
    }
    if (c === 0x6c) {
      at++;
      const list: BValue[] = [];
      while (bytes[at] !== 0x65) list.push(value(depth + 1));
      at++;
      return list;
    }
    if (c === 0x64) {
      at++;
      const dict = new Map<string, BValue>();
      while (bytes[at] !== 0x65) {
        const key = value(depth + 1);
        if (!(key instanceof Uint8Array)) fail('dictionary key is not a string');
        const name = latin1.decode(key as Uint8Array);
        const start = at;
        dict.set(name, value(depth + 1));
        if (depth === 0) spans.set(name, [start, at]);
      }
      at++;
      return dict;
    }
    if (c >= 0x30 && c <= 0x39) {
      const colon = bytes.indexOf(0x3a, at);
      if (colon === -1) fail('unterminated string length');
      const length = readInt(colon);
      if (length < 0 || at + length > bytes.length) fail('string past the end');
      const s = bytes.slice(at, at + length);
      at += length;
      return s;
    }
    return fail(`unexpected byte ${c}`);
  };
  const result = value(0);
  if (at !== bytes.length) fail('trailing bytes');
  return { value: result, spans };
}
