/**
 * A header chain: checks that each header links to the one before it and meets the proof of work
 * it claims, within the network's limit.
 */
import { type BlockHeader, blockHash, hashToHex, hexToHash } from './codec.js';

/** Regtest's genesis block hash, as displayed. */
export const REGTEST_GENESIS = '0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206';
/** Regtest's proof-of-work limit, as compact `bits` (the easiest target allowed). */
export const REGTEST_POW_LIMIT_BITS = 0x207fffff;

/** The 256-bit target encoded by compact `bits`, or `undefined` for a negative or overflowing one. */
export function targetOf(bits: number): bigint | undefined {
  const exponent = bits >>> 24;
  const mantissa = bits & 0x007fffff;
  if ((bits & 0x00800000) !== 0 && mantissa !== 0) return undefined; // negative
  const target =
    exponent <= 3
      ? BigInt(mantissa >>> (8 * (3 - exponent)))
      : BigInt(mantissa) << BigInt(8 * (exponent - 3));
  return target >= 1n << 256n ? undefined : target;
}

/** A hash in wire byte order read as the little-endian 256-bit number proof of work compares. */
export function hashValue(hash: Uint8Array): bigint {
  return BigInt(`0x${hashToHex(hash)}`);
}

/** Why a header was refused. */
export type ChainError = 'does-not-connect' | 'bad-bits' | 'insufficient-work';

/** A header chain from a genesis hash, grown by {@link HeaderChain.add}. */
export class HeaderChain {
  private readonly hashes: Uint8Array[];
  private readonly powLimit: bigint;

  constructor(genesis: string = REGTEST_GENESIS, powLimitBits: number = REGTEST_POW_LIMIT_BITS) {
    this.hashes = [hexToHash(genesis)];
    this.powLimit = targetOf(powLimitBits)!;
  }

  /** Blocks after genesis. */
  get height(): number {
    return this.hashes.length - 1;
  }

  /** The newest block's hash, in wire byte order. */
  get tip(): Uint8Array {
    return this.hashes[this.hashes.length - 1]!;
  }

  /** The hash of the block at `height`, in wire byte order. */
  hashAt(height: number): Uint8Array | undefined {
    return this.hashes[height];
  }

  /**
   * Appends `headers` in order after checking each one: it names the current tip as its previous
   * block, its `bits` is a valid target no easier than the network's limit, and its hash meets that
   * target. Stops at the first bad header and says why; the good ones before it are kept.
   */
  add(headers: readonly BlockHeader[]): ChainError | undefined {
    for (const header of headers) {
      if (!equal(header.prevBlock, this.tip)) return 'does-not-connect';
      const target = targetOf(header.bits);
      if (target === undefined || target === 0n || target > this.powLimit) return 'bad-bits';
      const hash = blockHash(header);
      if (hashValue(hash) > target) return 'insufficient-work';
      this.hashes.push(hash);
    }
    return undefined;
  }

  /** A block locator for `getheaders`: the tip, then back by doubling steps, then genesis. */
  locator(): Uint8Array[] {
    const out: Uint8Array[] = [];
    let step = 1;
    for (let h = this.height; h > 0; h -= step) {
      out.push(this.hashes[h]!);
      if (out.length >= 10) step *= 2;
    }
    out.push(this.hashes[0]!);
    return out;
  }
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
