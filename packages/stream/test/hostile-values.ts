/**
 * fast-check arbitraries for everything a hostile or broken codec can hand the stream: any JS
 * value, Symbols, objects whose `valueOf`/`toString` throw, results whose getters throw, Proxies
 * whose traps throw, revoked Proxies. Shared by the stream and reactor tests.
 */
import fc from 'fast-check';

class Boom extends Error {}

/** A Proxy whose every trap throws. */
export function throwingProxy(target: object = {}): object {
  const trap = () => {
    throw new Boom('trap');
  };
  return new Proxy(target, {
    get: trap,
    has: trap,
    getPrototypeOf: trap,
    ownKeys: trap,
    getOwnPropertyDescriptor: trap,
    defineProperty: trap,
    set: trap,
    apply: trap,
    construct: trap,
  });
}

/** A revoked Proxy: every operation on it throws a TypeError. */
export function revokedProxy(): object {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
}

const throwingValueOf = {
  valueOf() {
    throw new Boom('valueOf');
  },
  toString() {
    throw new Boom('toString');
  },
};

const throwingPrimitive = {
  [Symbol.toPrimitive]() {
    throw new Boom('toPrimitive');
  },
};

/**
 * Every arbitrary below yields a *maker* (a function that builds the value when called), not the
 * value: fast-check inspects generated values itself, which a Proxy with throwing traps breaks.
 */
export type Maker = () => unknown;

const make = (build: () => unknown) => fc.constant(null).map((): Maker => build);

/** Values that break naive code: conversions that throw, Symbols, Proxies. */
export const nastyValue: fc.Arbitrary<Maker> = fc.oneof(
  make(() => Symbol('s')),
  make(() => throwingValueOf),
  make(() => throwingPrimitive),
  make(() => throwingProxy()),
  make(() => revokedProxy()),
  make(() => throwingProxy(() => {})),
  fc.constantFrom<unknown>(0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 60, -0).map(
    (v): Maker =>
      () =>
        v,
  ),
  fc.constantFrom<unknown>(1n, '3', true, undefined, null).map(
    (v): Maker =>
      () =>
        v,
  ),
);

/** Any value at all: fast-check's `anything()` and the nasty ones. */
export const anyValue: fc.Arbitrary<Maker> = fc.oneof(
  fc.anything().map(
    (v): Maker =>
      () =>
        v,
  ),
  nastyValue,
);

/** An object whose property `key` is a getter that throws. */
function withThrowingGetter(base: Record<string, unknown>, key: string): object {
  const o = { ...base };
  Object.defineProperty(o, key, {
    enumerable: true,
    get() {
      throw new Boom(`getter ${key}`);
    },
  });
  return o;
}

const kinds = fc.constantFrom('message', 'malformed', 'incomplete');

/** What a codec's `decode` may return: results of every kind with any field values. */
export const anyDecodeResult: fc.Arbitrary<Maker> = fc.oneof(
  anyValue,
  fc
    .record({
      kind: fc.oneof(
        fc.constantFrom('message', 'malformed', 'incomplete', 'other').map(
          (k): Maker =>
            () =>
              k,
        ),
        anyValue,
      ),
      consumed: fc.oneof(
        fc.integer({ min: -2, max: 40 }).map(
          (n): Maker =>
            () =>
              n,
        ),
        anyValue,
      ),
      message: anyValue,
      reason: anyValue,
    })
    .map(
      (r): Maker =>
        () => ({
          kind: r.kind(),
          consumed: r.consumed(),
          message: r.message(),
          reason: r.reason(),
        }),
    ),
  fc
    .tuple(
      kinds,
      fc.integer({ min: 1, max: 8 }),
      fc.constantFrom('kind', 'consumed', 'message', 'reason'),
    )
    .map(
      ([kind, consumed, key]): Maker =>
        () =>
          withThrowingGetter({ kind, consumed, message: 'm', reason: 'r' }, key),
    ),
  fc.tuple(kinds, fc.integer({ min: 1, max: 8 })).map(
    ([kind, consumed]): Maker =>
      () =>
        throwingProxy({ kind, consumed, message: 'm', reason: 'r' }),
  ),
);

/** What a codec does: return one of {@link anyDecodeResult}, or throw any value. */
export interface CodecAct {
  readonly throws: boolean;
  readonly value: unknown;
}
export const anyCodecAct: fc.Arbitrary<() => CodecAct> = fc.oneof(
  anyDecodeResult.map((m) => () => ({ throws: false, value: m() })),
  anyValue.map((m) => () => ({ throws: true, value: m() })),
);
