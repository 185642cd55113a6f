import { decoded, ErrorCodes, incomplete, malformed, PeerlinkError } from '@peerlink/codec';
import { describe, expect, test } from 'vitest';

describe('PeerlinkError', () => {
  test('carries its `code`, message and name', () => {
    const error = new PeerlinkError('ERR_TEST', 'something failed');
    expect(error.code).toBe('ERR_TEST');
    expect(error.message).toBe('something failed');
    expect(error.name).toBe('PeerlinkError');
    expect(error).toBeInstanceOf(Error);
  });

  test('chains the `cause` when one is given, and has none otherwise', () => {
    const cause = new Error('root');
    expect(new PeerlinkError('ERR_TEST', 'x', { cause }).cause).toBe(cause);
    expect('cause' in new PeerlinkError('ERR_TEST', 'x')).toBe(false);
  });

  test('`isInstance` recognises its own errors and rejects others', () => {
    expect(PeerlinkError.isInstance(new PeerlinkError('ERR_TEST', 'x'))).toBe(true);
    for (const other of [new Error('x'), { code: 'ERR_TEST' }, null, undefined, 'ERR_TEST', 1]) {
      expect(PeerlinkError.isInstance(other)).toBe(false);
    }
  });

  test('`isInstance` recognises an error from a second copy of the package', () => {
    // A second installed copy has its own class but the same `Symbol.for` marker.
    class OtherCopyError extends Error {
      readonly code = 'ERR_OTHER';
      constructor(message: string) {
        super(message);
        Object.defineProperty(this, Symbol.for('peerlink.error'), { value: true });
      }
    }
    const foreign = new OtherCopyError('from another copy');
    expect(foreign instanceof PeerlinkError).toBe(false);
    expect(PeerlinkError.isInstance(foreign)).toBe(true);
  });

  test('every code in `ErrorCodes` is unique and starts with ERR_', () => {
    const codes = Object.values(ErrorCodes);
    expect(new Set(codes).size).toBe(codes.length);
    for (const code of codes) expect(code.startsWith('ERR_')).toBe(true);
  });
});

describe('decode result helpers', () => {
  test('`decoded` builds a message result', () => {
    expect(decoded('m', 3)).toEqual({ kind: 'message', message: 'm', consumed: 3 });
  });

  test('`incomplete` returns one shared frozen result', () => {
    expect(incomplete()).toEqual({ kind: 'incomplete' });
    expect(incomplete()).toBe(incomplete());
    expect(Object.isFrozen(incomplete())).toBe(true);
  });

  test('`malformed` carries its reason', () => {
    expect(malformed('bad')).toEqual({ kind: 'malformed', reason: 'bad' });
  });
});
