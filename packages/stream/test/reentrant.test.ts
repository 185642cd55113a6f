import { type BodyCodec, lengthPrefixed } from '@peerlink/codec';
import { MessageStream, PeerlinkError } from '@peerlink/stream';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';

/** Text messages; `onEncode(text)` runs in the middle of encoding each one (between two writes). */
function textCodec(onEncode: (text: string) => void, sized: boolean) {
  const body: BodyCodec<string> = {
    encode(text, sink) {
      const bytes = new TextEncoder().encode(text);
      sink.writeBytes(bytes.subarray(0, 1));
      onEncode(text);
      sink.writeBytes(bytes.subarray(1));
    },
    decode: (bytes) => new TextDecoder().decode(bytes),
    ...(sized ? { size: (text: string) => new TextEncoder().encode(text).length } : {}),
  };
  return lengthPrefixed({ maxSize: 1024, prefix: 'u32be' }, body);
}

/** Every message on the wire, decoded; throws on bytes that are not whole frames. */
function decodeWire(stream: MessageStream<string>): string[] {
  const reader = new MessageStream(textCodec(() => {}, false));
  const out: string[] = [];
  for (let b = stream.pollTransmit(0); b !== undefined; b = stream.pollTransmit(0)) {
    const error = reader.handleData(b, (m) => void out.push(m), 0);
    if (error !== undefined) throw error;
  }
  expect(reader.bufferedBytes).toBe(0);
  return out;
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}

describe('MessageStream.queue from inside encode', () => {
  for (const sized of [false, true]) {
    test(`refuses a re-entrant queue with \`ERR_REENTRANT_QUEUE\` and never merges two frames (${sized ? 'with' : 'without'} \`size\`)`, () => {
      let stream!: MessageStream<string>;
      let inner: unknown;
      stream = new MessageStream(
        textCodec((text) => {
          if (text !== 'outer') return;
          try {
            stream.queue('inner', 0);
          } catch (error) {
            inner = error;
          }
        }, sized),
      );
      expect(stream.queue('outer', 0)).toBe(true);
      expect(PeerlinkError.isInstance(inner)).toBe(true);
      expect((inner as PeerlinkError).code).toBe('ERR_REENTRANT_QUEUE');
      expect(stream.queue('after', 0)).toBe(true);
      expect(decodeWire(stream)).toEqual(['outer', 'after']);
    });
  }

  test('passes the refusal through the outer `queue` when the codec does not catch it, queueing nothing', () => {
    let stream!: MessageStream<string>;
    stream = new MessageStream(
      textCodec((text) => {
        if (text === 'outer') stream.queue('inner', 0);
      }, true),
    );
    expect(codeOf(() => stream.queue('outer', 0))).toBe('ERR_REENTRANT_QUEUE');
    expect(stream.queuedBytes).toBe(0);
    expect(stream.queue('next', 0)).toBe(true);
    expect(decodeWire(stream)).toEqual(['next']);
  });

  test('refuses `pollTransmit` from inside encode (it would hand out half a frame)', () => {
    let stream!: MessageStream<string>;
    let code: string | undefined;
    stream = new MessageStream(
      textCodec(() => {
        code = codeOf(() => stream.pollTransmit(0));
      }, false),
    );
    stream.queue('abc', 0);
    expect(code).toBe('ERR_REENTRANT_QUEUE');
    expect(decodeWire(stream)).toEqual(['abc']);
  });

  test('re-entering from `sizeHint` is refused too', () => {
    let stream!: MessageStream<string>;
    const codec = textCodec(() => {}, true);
    const sizeHint = codec.sizeHint!;
    codec.sizeHint = (text) => {
      if (text === 'outer') stream.queue('inner', 0);
      return sizeHint(text);
    };
    stream = new MessageStream(codec);
    expect(codeOf(() => stream.queue('outer', 0))).toBe('ERR_REENTRANT_QUEUE');
    expect(stream.queuedBytes).toBe(0);
  });

  test('whatever is queued from inside encode, the wire carries only whole frames of the messages queued (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.string({ minLength: 1, maxLength: 40 }), fc.boolean()), {
          maxLength: 20,
        }),
        fc.boolean(),
        (plan, sized) => {
          let stream!: MessageStream<string>;
          const reenter = new Map(plan.map(([text, re]) => [text, re]));
          stream = new MessageStream(
            textCodec((text) => {
              if (reenter.get(text) === true) codeOf(() => stream.queue(`${text}!`, 0));
            }, sized),
          );
          const queued: string[] = [];
          for (const [text] of plan) if (stream.queue(text, 0)) queued.push(text);
          expect(decodeWire(stream)).toEqual(queued);
        },
      ),
    );
  });
});
