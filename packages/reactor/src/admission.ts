import { ErrorCodes, invalidArgument, PeerlinkError, parseAddress } from '@peerlink/stream';
import type { PeerId, RefusalReason } from './events.js';

/**
 * Admission control for inbound connections, after Bitcoin Core: limits per address and per
 * network prefix, a ban list with expiry, an accept rate limit, and an eviction policy for a full
 * inbound table. Pure bookkeeping: the reactor asks and acts; time is a parameter.
 */

/** Options of admission control (fields of `ReactorOptions`). */
export interface AdmissionOptions {
  /**
   * Most inbound connections from one remote address (one IP; one host name on transports without
   * IPs). Default `Infinity` (no limit).
   */
  maxInboundPerAddress?: number;
  /**
   * Most inbound connections from one network prefix (`prefixLength`: /24 for IPv4, /64 for IPv6
   * by default), so that one operator with a block of addresses cannot fill the table. Default
   * `Infinity` (no limit).
   */
  maxInboundPerPrefix?: number;
  /**
   * The prefix lengths, in bits, that group addresses for `maxInboundPerPrefix` and eviction.
   * Default `{ ipv4: 24, ipv6: 64 }`.
   */
  prefixLength?: { ipv4?: number; ipv6?: number };
  /**
   * Accept rate limit, a token bucket: `perSecond` inbound connections a second on average, up to
   * `burst` at once (default `burst` = `perSecond`). Default: no limit.
   */
  acceptRate?: { perSecond: number; burst?: number };
  /**
   * When the inbound table is full (`maxInbound`), evict an inbound peer to make room instead of
   * refusing the newcomer; see the README for the policy. `true` uses the defaults
   * (`protectRecent` 4, `protectLongLived` 0.5). Default `false`.
   */
  evictInbound?: boolean | EvictionOptions;
}

/**
 * The knobs of the eviction policy of `ReactorOptions.evictInbound` (`true` takes every default).
 * When the inbound table is full, a newcomer evicts an inbound peer that is not protected: the
 * README's "Admission control" section gives the whole policy.
 */
export interface EvictionOptions {
  /**
   * How many inbound peers, those that most recently sent us bytes, are never evicted (a count of
   * peers, an integer ≥ 0). Default 4.
   */
  protectRecent?: number;
  /**
   * The share, from 0 to 1, of the remaining candidates, the longest connected, never evicted.
   * Default 0.5.
   */
  protectLongLived?: number;
}

/** One entry of the ban list, as `Reactor.bans()` returns it (made by `Reactor.ban`). */
export interface Ban {
  /**
   * The banned address or prefix, normalized: an IP (`203.0.113.7`, `2001:db8::1`), a prefix
   * (`203.0.113.0/24`, `2001:db8::/64`) or, on transports without IPs, a host name.
   */
  readonly target: string;
  /**
   * When the ban ends, in milliseconds on the reactor's clock (its `clock` option; by default
   * `performance.now()`); `Infinity`: never (until `Reactor.unban`).
   */
  readonly until: number;
}

export type { RefusalReason } from './events.js';

/** A parsed remote host: an IP as a number with its family, or an opaque host name. */
interface Host {
  readonly family: 4 | 6 | 'name';
  /** The address bits (0n for a name). */
  readonly bits: bigint;
  /** The host name, lowercase (names only). */
  readonly name: string;
}

interface BanEntry {
  readonly host: Host;
  /** Prefix length in bits (names: 0, exact). */
  readonly length: number;
  readonly target: string;
  until: number;
}

/** What admission keeps per inbound peer. */
interface Admitted {
  readonly address: string;
  readonly prefix: string;
}

/** Parses the host of `host:port` (or a bare host) into a {@link Host}. */
export function parseHost(hostOrAddress: string): Host {
  let host = hostOrAddress;
  try {
    host = parseAddress(hostOrAddress).host;
  } catch {
    if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  }
  const v4 = parseIPv4(host);
  if (v4 !== undefined) return { family: 4, bits: BigInt(v4), name: '' };
  const v6 = parseIPv6(host);
  if (v6 !== undefined) {
    // An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is the IPv4 peer it stands for.
    if (v6 >> 32n === 0xffffn) return { family: 4, bits: v6 & 0xffffffffn, name: '' };
    return { family: 6, bits: v6, name: '' };
  }
  return { family: 'name', bits: 0n, name: host.toLowerCase() };
}

function parseIPv4(s: string): number | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    value = value * 256 + n;
  }
  return value;
}

function parseIPv6(s: string): bigint | undefined {
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  if (!s.includes(':')) return undefined;
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const groups = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    const items = part.split(':');
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      if (i === items.length - 1 && item.includes('.')) {
        const v4 = parseIPv4(item);
        if (v4 === undefined) return undefined;
        out.push(v4 >>> 16, v4 & 0xffff);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(item)) {
        out.push(Number.parseInt(item, 16));
      } else {
        return undefined;
      }
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (head === undefined || tail === undefined) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const all = [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  let value = 0n;
  for (const g of all) value = (value << 16n) | BigInt(g);
  return value;
}

function widthOf(family: 4 | 6): number {
  return family === 4 ? 32 : 128;
}

function formatHost(host: Host, length?: number): string {
  if (host.family === 'name') return host.name;
  const width = widthOf(host.family);
  const len = length ?? width;
  const masked = len === 0 ? 0n : (host.bits >> BigInt(width - len)) << BigInt(width - len);
  let text: string;
  if (host.family === 4) {
    const n = Number(masked);
    text = [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
  } else {
    const groups: string[] = [];
    for (let i = 7; i >= 0; i--) groups.push(((masked >> BigInt(i * 16)) & 0xffffn).toString(16));
    // Compress the longest run of zero groups.
    let best = -1;
    let bestLen = 1;
    for (let i = 0; i < 8; ) {
      if (groups[i] !== '0') {
        i++;
        continue;
      }
      let j = i;
      while (j < 8 && groups[j] === '0') j++;
      if (j - i > bestLen) {
        best = i;
        bestLen = j - i;
      }
      i = j;
    }
    text =
      best < 0
        ? groups.join(':')
        : `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
  }
  return len === width ? text : `${text}/${len}`;
}

/** Whether `host` lies in the prefix `ban`. */
function matches(ban: BanEntry, host: Host): boolean {
  if (ban.host.family !== host.family) return false;
  if (host.family === 'name') return ban.host.name === host.name;
  const shift = BigInt(widthOf(host.family) - ban.length);
  return ban.host.bits >> shift === host.bits >> shift;
}

/** Parses a ban target: an address, `address/length`, or a host name. */
function parseBanTarget(target: string): { host: Host; length: number } {
  if (typeof target !== 'string' || target === '') {
    throw invalidArgument('target', 'an address, a prefix (address/length) or a host name', target);
  }
  const slash = target.lastIndexOf('/');
  const hostPart = slash >= 0 ? target.slice(0, slash) : target;
  const host = parseHost(hostPart.startsWith('[') ? hostPart.slice(1, -1) : hostPart);
  if (slash < 0) return { host, length: host.family === 'name' ? 0 : widthOf(host.family) };
  const length = Number(target.slice(slash + 1));
  if (
    host.family === 'name' ||
    !Number.isInteger(length) ||
    length < 0 ||
    length > widthOf(host.family)
  ) {
    throw invalidArgument('target', 'a prefix length within the address width', target);
  }
  return { host, length };
}

/** A candidate for eviction. */
export interface EvictionCandidate {
  readonly id: PeerId;
  readonly remoteAddress: string;
  /** When it connected (ms). */
  readonly connectedAt: number;
  /** When it last sent us bytes (ms). */
  readonly lastReceivedAt: number;
}

/**
 * The bookkeeping of admission control. The reactor calls {@link admit} for each inbound
 * connection, {@link added} / {@link removed} as inbound peers come and go, and asks
 * {@link pickEviction} when the table is full.
 */
export class Admission {
  private readonly perAddress: number;
  private readonly perPrefix: number;
  private readonly v4Length: number;
  private readonly v6Length: number;
  private readonly rate: number;
  private readonly burst: number;
  private tokens: number;
  private refilledAt: number | undefined;
  readonly evict: Required<EvictionOptions> | undefined;
  private readonly banList: BanEntry[] = [];
  private readonly admitted = new Map<PeerId, Admitted>();
  private readonly addressCount = new Map<string, number>();
  private readonly prefixCount = new Map<string, number>();
  /**
   * Whether inbound peers are counted per address and prefix: only when a per-address or
   * per-prefix limit, or eviction, needs the counts. With the defaults (no limit, no eviction) an
   * inbound peer costs no bookkeeping here (an entry and two key strings, about 130 bytes).
   */
  private readonly counts: boolean;

  constructor(options: AdmissionOptions) {
    this.perAddress = limit('maxInboundPerAddress', options.maxInboundPerAddress);
    this.perPrefix = limit('maxInboundPerPrefix', options.maxInboundPerPrefix);
    this.v4Length = prefixBits('prefixLength.ipv4', options.prefixLength?.ipv4 ?? 24, 32);
    this.v6Length = prefixBits('prefixLength.ipv6', options.prefixLength?.ipv6 ?? 64, 128);
    const rate = options.acceptRate;
    if (rate === undefined) {
      this.rate = Number.POSITIVE_INFINITY;
      this.burst = Number.POSITIVE_INFINITY;
    } else {
      if (
        !(
          typeof rate.perSecond === 'number' &&
          rate.perSecond > 0 &&
          Number.isFinite(rate.perSecond)
        )
      ) {
        throw config(
          'acceptRate.perSecond',
          'a positive number of connections a second',
          rate.perSecond,
        );
      }
      const burst = rate.burst ?? rate.perSecond;
      if (!(Number.isFinite(burst) && burst >= 1)) {
        throw config('acceptRate.burst', 'a number ≥ 1', burst);
      }
      this.rate = rate.perSecond;
      this.burst = burst;
    }
    this.tokens = this.burst;
    const e = options.evictInbound;
    if (e === undefined || e === false) {
      this.evict = undefined;
    } else {
      const o = e === true ? {} : e;
      const protectRecent = o.protectRecent ?? 4;
      const protectLongLived = o.protectLongLived ?? 0.5;
      if (!(Number.isInteger(protectRecent) && protectRecent >= 0)) {
        throw config('evictInbound.protectRecent', 'an integer ≥ 0', protectRecent);
      }
      if (!(protectLongLived >= 0 && protectLongLived <= 1)) {
        throw config('evictInbound.protectLongLived', 'a share from 0 to 1', protectLongLived);
      }
      this.evict = { protectRecent, protectLongLived };
    }
    this.counts =
      this.perAddress !== Number.POSITIVE_INFINITY ||
      this.perPrefix !== Number.POSITIVE_INFINITY ||
      this.evict !== undefined;
  }

  /** How many inbound peers are counted per address and prefix (0 when nothing needs counts). */
  get counted(): number {
    return this.admitted.size;
  }

  /** The address and prefix keys of a remote address. */
  keys(remoteAddress: string): Admitted {
    const host = parseHost(remoteAddress);
    if (host.family === 'name') return { address: host.name, prefix: host.name };
    return {
      address: formatHost(host),
      prefix: formatHost(host, host.family === 4 ? this.v4Length : this.v6Length),
    };
  }

  /**
   * Checks an inbound connection from `remoteAddress` at `now` against the ban list, the rate
   * limit and the per-address and per-prefix limits. Returns the refusal reason, or `undefined`
   * to go on. Takes a rate token only when everything else passed.
   */
  admit(remoteAddress: string, now: number): RefusalReason | undefined {
    if (this.isBanned(remoteAddress, now)) return 'banned';
    if (this.counts) {
      const keys = this.keys(remoteAddress);
      if ((this.addressCount.get(keys.address) ?? 0) >= this.perAddress) return 'address-limit';
      if ((this.prefixCount.get(keys.prefix) ?? 0) >= this.perPrefix) return 'prefix-limit';
    }
    if (this.rate !== Number.POSITIVE_INFINITY) {
      if (this.refilledAt !== undefined) {
        this.tokens = Math.min(
          this.burst,
          this.tokens + ((now - this.refilledAt) * this.rate) / 1000,
        );
      }
      this.refilledAt = now;
      if (this.tokens < 1) return 'rate';
      this.tokens -= 1;
    }
    return undefined;
  }

  /** An inbound peer was admitted. */
  added(peer: PeerId, remoteAddress: string): void {
    if (!this.counts) return;
    const keys = this.keys(remoteAddress);
    this.admitted.set(peer, keys);
    this.addressCount.set(keys.address, (this.addressCount.get(keys.address) ?? 0) + 1);
    this.prefixCount.set(keys.prefix, (this.prefixCount.get(keys.prefix) ?? 0) + 1);
  }

  /** An inbound peer is gone. */
  removed(peer: PeerId): void {
    const keys = this.admitted.get(peer);
    if (keys === undefined) return;
    this.admitted.delete(peer);
    decrement(this.addressCount, keys.address);
    decrement(this.prefixCount, keys.prefix);
  }

  // ------------------------------------------------------------------ bans

  /** Adds (or extends) a ban until `until`; returns the normalized target. */
  ban(target: string, until: number): string {
    const { host, length } = parseBanTarget(target);
    const normalized = formatHost(host, host.family === 'name' ? undefined : length);
    const existing = this.banList.find((b) => b.target === normalized);
    if (existing !== undefined) existing.until = until;
    else this.banList.push({ host, length, target: normalized, until });
    return normalized;
  }

  /** Removes the ban on exactly `target` (as given to `ban`); returns whether there was one. */
  unban(target: string): boolean {
    const { host, length } = parseBanTarget(target);
    const normalized = formatHost(host, host.family === 'name' ? undefined : length);
    const i = this.banList.findIndex((b) => b.target === normalized);
    if (i < 0) return false;
    this.banList.splice(i, 1);
    return true;
  }

  /** The bans in force at `now` (expired ones are dropped). */
  bans(now: number): Ban[] {
    this.expire(now);
    return this.banList.map((b) => ({ target: b.target, until: b.until }));
  }

  /** Whether `remoteAddress` (or a bare host) is banned at `now`. */
  isBanned(remoteAddress: string, now: number): boolean {
    if (this.banList.length === 0) return false;
    this.expire(now);
    const host = parseHost(remoteAddress);
    return this.banList.some((b) => matches(b, host));
  }

  private expire(now: number): void {
    for (let i = this.banList.length - 1; i >= 0; i--) {
      if (this.banList[i]!.until <= now) this.banList.splice(i, 1);
    }
  }

  // ------------------------------------------------------------------ eviction

  /**
   * The inbound peer to evict to make room, or `undefined` when every candidate is protected
   * (see the README): protect the `protectRecent` peers that sent us bytes most recently, then
   * the `protectLongLived` share of the rest that has been connected longest; of the rest, take
   * the prefix group with the most peers (ties: the group whose youngest peer is youngest) and
   * evict its youngest peer.
   */
  pickEviction(candidates: readonly EvictionCandidate[]): PeerId | undefined {
    const policy = this.evict;
    if (policy === undefined) return undefined;
    let rest = [...candidates].sort((a, b) => b.lastReceivedAt - a.lastReceivedAt || b.id - a.id);
    rest = rest.slice(policy.protectRecent);
    rest.sort((a, b) => a.connectedAt - b.connectedAt || a.id - b.id); // longest connected first
    rest = rest.slice(Math.floor(rest.length * policy.protectLongLived));
    if (rest.length === 0) return undefined;
    const groups = new Map<string, EvictionCandidate[]>();
    for (const c of rest) {
      const key = this.admitted.get(c.id)?.prefix ?? this.keys(c.remoteAddress).prefix;
      const group = groups.get(key);
      if (group === undefined) groups.set(key, [c]);
      else group.push(c);
    }
    let chosen: EvictionCandidate[] | undefined;
    for (const group of groups.values()) {
      if (
        chosen === undefined ||
        group.length > chosen.length ||
        (group.length === chosen.length &&
          youngest(group).connectedAt > youngest(chosen).connectedAt)
      ) {
        chosen = group;
      }
    }
    return chosen === undefined ? undefined : youngest(chosen).id;
  }
}

function youngest(group: readonly EvictionCandidate[]): EvictionCandidate {
  let y = group[0]!;
  for (const c of group)
    if (c.connectedAt > y.connectedAt || (c.connectedAt === y.connectedAt && c.id > y.id)) y = c;
  return y;
}

function decrement(map: Map<string, number>, key: string): void {
  const n = (map.get(key) ?? 1) - 1;
  if (n <= 0) map.delete(key);
  else map.set(key, n);
}

function config(field: string, expected: string, got: unknown): PeerlinkError {
  return new PeerlinkError(
    ErrorCodes.INVALID_CONFIG,
    `${field}: expected ${expected}, got ${String(got)}`,
  );
}

function limit(field: string, value: number | undefined): number {
  if (value === undefined) return Number.POSITIVE_INFINITY;
  if (value === Number.POSITIVE_INFINITY || (Number.isInteger(value) && value > 0)) return value;
  throw config(field, 'a positive integer or Infinity', value);
}

function prefixBits(field: string, value: number, width: number): number {
  if (Number.isInteger(value) && value >= 0 && value <= width) return value;
  throw config(field, `an integer from 0 to ${width}`, value);
}
