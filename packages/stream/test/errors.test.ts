import * as codec from '@peerlink/codec';
import {
  abortable,
  codeOf,
  ErrorCodes,
  invalidArgument,
  messageOf,
  PeerlinkError,
  type StreamErrorCode,
  type TransportErrorCode,
  withCode,
} from '@peerlink/stream';
import { describe, expect, test } from 'vitest';

const hostile = new Proxy(
  {},
  {
    get() {
      throw new Error('trap');
    },
    getPrototypeOf() {
      throw new Error('trap');
    },
    has() {
      throw new Error('trap');
    },
  },
);

describe('errors re-exported for adapters', () => {
  test('`PeerlinkError` and `ErrorCodes` are the codec package’s own (one class, one table)', () => {
    expect(PeerlinkError).toBe(codec.PeerlinkError);
    expect(ErrorCodes).toBe(codec.ErrorCodes);
  });

  test('the code table is frozen', () => {
    expect(Object.isFrozen(ErrorCodes)).toBe(true);
  });

  test('every own code follows the naming rule `ERR_` + upper-case words', () => {
    for (const code of Object.values(ErrorCodes)) expect(code).toMatch(/^ERR_[A-Z0-9_]+$/);
  });

  test('a `switch` over a stream error code is checked by the compiler', () => {
    const kind = (code: StreamErrorCode): string => {
      switch (code) {
        case 'ERR_MALFORMED_MESSAGE':
        case 'ERR_MESSAGE_TOO_LARGE':
        case 'ERR_RX_LIMIT':
          return 'peer';
        case 'ERR_CODEC_FAILURE':
        case 'ERR_SINK_FAILURE':
          return 'ours';
        // @ts-expect-error: not a stream error code
        case 'ERR_MALFORMED':
          return 'never';
      }
    };
    expect(kind('ERR_RX_LIMIT')).toBe('peer');
    const transport = (code: TransportErrorCode): boolean => {
      switch (code) {
        case 'ECONNRESET':
        case 'ERR_DNS':
          return true;
        // @ts-expect-error: a misspelt system code
        case 'ECONNRESTE':
          return false;
        default:
          return false;
      }
    };
    expect(transport('ECONNRESET')).toBe(true);
  });
});

describe('codeOf', () => {
  test('returns a string `code`, else `undefined`', () => {
    expect(codeOf(Object.assign(new Error('x'), { code: 'EPIPE' }))).toBe('EPIPE');
    for (const v of [new Error('x'), { code: 5 }, null, undefined, 'ECONNRESET', Symbol('s')]) {
      expect(codeOf(v)).toBeUndefined();
    }
  });

  test('never throws, even for a Proxy whose traps throw', () => {
    expect(codeOf(hostile)).toBeUndefined();
  });
});

describe('withCode', () => {
  test('returns a `PeerlinkError` as it is', () => {
    const error = new PeerlinkError('ERR_X', 'x');
    expect(withCode(error, 'ERR_FALLBACK')).toBe(error);
  });

  test('keeps a system code and chains the original as `cause`', () => {
    const original = Object.assign(new Error('reset'), { code: 'ECONNRESET' });
    const error = withCode(original, 'ERR_FALLBACK');
    expect(PeerlinkError.isInstance(error)).toBe(true);
    expect(error.code).toBe('ECONNRESET');
    expect(error.cause).toBe(original);
    expect(error.message).toBe('reset');
  });

  test('uses `fallback` for an error without a code, and never throws', () => {
    expect(withCode(new Error('x'), 'ERR_SOCKET').code).toBe('ERR_SOCKET');
    expect(withCode(hostile, 'ERR_SOCKET').code).toBe('ERR_SOCKET');
    expect(withCode(Symbol('s'), 'ERR_SOCKET').code).toBe('ERR_SOCKET');
  });
});

describe('messageOf', () => {
  test('gives an error’s message, any other value as text, and never throws', () => {
    expect(messageOf(new Error('boom'))).toBe('boom');
    expect(messageOf(42)).toBe('42');
    expect(messageOf(Symbol('s'))).toBe('Symbol(s)');
    const bad = {
      toString() {
        throw new Error('no');
      },
    };
    expect(typeof messageOf(bad)).toBe('string');
    expect(typeof messageOf(hostile)).toBe('string');
  });
});

describe('invalidArgument', () => {
  test('is `ERR_INVALID_ARGUMENT` with a message that starts with the argument’s name', () => {
    const error = invalidArgument('chunk', 'a Uint8Array', { length: 5 });
    expect(error.code).toBe('ERR_INVALID_ARGUMENT');
    expect(error.message).toMatch(/^chunk: expected a Uint8Array, got an object$/);
    expect(invalidArgument('n', 'a number', hostile).message).toMatch(/^n: /);
  });
});

describe('abortable', () => {
  test('settles like the promise when the signal does not abort', async () => {
    const controller = new AbortController();
    await expect(abortable(Promise.resolve(7), controller.signal)).resolves.toBe(7);
    await expect(abortable(Promise.reject(new Error('no')), controller.signal)).rejects.toThrow(
      'no',
    );
  });

  test('rejects with `signal.reason` as soon as the signal aborts, and hands a late value to `late`', async () => {
    const controller = new AbortController();
    let resolve!: (v: string) => void;
    const late: string[] = [];
    const raced = abortable(
      new Promise<string>((r) => {
        resolve = r;
      }),
      controller.signal,
      (v) => late.push(v),
    );
    const reason = new PeerlinkError('ERR_ABORTED', 'stop');
    controller.abort(reason);
    await expect(raced).rejects.toBe(reason);
    resolve('conn');
    await Promise.resolve();
    await Promise.resolve();
    expect(late).toEqual(['conn']);
  });

  test('rejects at once when the signal has already aborted', async () => {
    const reason = new Error('already');
    await expect(abortable(new Promise(() => {}), AbortSignal.abort(reason))).rejects.toBe(reason);
  });
});
