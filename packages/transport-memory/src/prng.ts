/**
 * A small seeded pseudo-random generator (mulberry32) and a seed mixer. Deterministic across
 * platforms: only 32-bit integer arithmetic.
 */

/** Mixes 32-bit integers into one well-spread 32-bit seed (murmur3's finaliser, chained). */
export function mixSeed(...parts: readonly number[]): number {
  let h = 0x9e3779b9;
  for (const part of parts) {
    h = Math.imul(h ^ (part >>> 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/** mulberry32: a 32-bit state generator, good enough for test chunking and jitter. */
export class Prng {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** A uniformly distributed float in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) | 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /**
   * An integer in [min, max], log-uniformly distributed, so that small sizes (down to one byte)
   * are drawn as often as large ones.
   */
  logUniform(min: number, max: number): number {
    if (max <= min) return min;
    const lo = Math.log(min);
    const hi = Math.log(max + 1);
    const value = Math.floor(Math.exp(lo + this.next() * (hi - lo)));
    return Math.max(min, Math.min(value, max));
  }
}
