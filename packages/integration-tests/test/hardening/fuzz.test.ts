/**
 * Model-based fuzzing: fast-check drives random sequences of commands (connect, send each way,
 * disconnect from either side, send to a gone peer) and socket faults (reset or half-close after
 * a random number of bytes, either direction) against a server reactor and three client reactors
 * on the memory network, with seeded random chunking. A plain model predicts every event; after
 * every step the real reactors are checked against it and against the invariants of every
 * hardening test: exactly one `disconnected` per peer, nothing delivered after it, peer maps
 * matching the model, messages in order and intact, no uncaught error.
 */
import { lengthPrefixed } from '@peerlink/codec';
import type { ReactorEvent } from '@peerlink/reactor';
import {
  type FaultDirection,
  type LinkOptions,
  type StreamFault,
  VirtualScheduler,
} from '@peerlink/transport-memory';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Recorder } from '../../../reactor/test/fixtures.js';
import { type Harness, useHardening, type Watched } from './guard.js';
import { memoryNet } from './nets.js';

const h = useHardening();
const codec = lengthPrefixed({ maxSize: 16 * 1024 });
const CLIENTS = 3;

type Ev = ReactorEvent<Uint8Array>;

interface Conn {
  readonly client: number;
  readonly clientPeer: number;
  readonly serverPeer: number;
  /** Wire bytes sent client→server (a-to-b) and server→client (b-to-a) so far. */
  ab: number;
  ba: number;
  readonly fault: StreamFault | undefined;
  /** Messages the receiving side must have, in order (by their first 4 bytes: a serial). */
  readonly toServer: number[];
  readonly toClient: number[];
  alive: boolean;
}

interface Model {
  conns: Conn[];
  serial: number;
  /** Clients that were shut down (no more commands for them). */
  down: Set<number>;
}

interface Real {
  readonly net: ReturnType<typeof memoryNet>;
  readonly server: Watched<Uint8Array>;
  readonly address: string;
  readonly clients: Watched<Uint8Array>[];
}

/** Waits for an event matching `test` recorded at or after `from`; fails after 3 s. */
async function expectEvent(
  rec: Recorder<Uint8Array>,
  test: (e: Ev) => boolean,
  what: string,
): Promise<Ev> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`fuzz: timed out waiting for ${what}`)), 3000);
  });
  try {
    return await Promise.race([rec.waitFor(test), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function message(serial: number, size: number): Uint8Array {
  const m = new Uint8Array(Math.max(4, size));
  new DataView(m.buffer).setUint32(0, serial);
  for (let i = 4; i < m.length; i++) m[i] = (serial + i) & 0xff;
  return m;
}

function serialOf(m: Uint8Array): number {
  return new DataView(m.buffer, m.byteOffset, m.byteLength).getUint32(0);
}

function intact(m: Uint8Array): boolean {
  const serial = serialOf(m);
  for (let i = 4; i < m.length; i++) if (m[i] !== ((serial + i) & 0xff)) return false;
  return true;
}

/** The invariants, checked after every command. */
function checkInvariants(model: Model, real: Real, harness: Harness): void {
  expect(harness.faults).toEqual([]);
  for (const w of [real.server, ...real.clients]) expect(w.ledger.problems).toEqual([]);
  const live = model.conns.filter((c) => c.alive);
  expect(real.server.r.peerIds.sort((a, b) => a - b)).toEqual(
    live.map((c) => c.serverPeer).sort((a, b) => a - b),
  );
  for (let i = 0; i < CLIENTS; i++) {
    expect(real.clients[i]!.r.peerIds.sort((a, b) => a - b)).toEqual(
      live
        .filter((c) => c.client === i)
        .map((c) => c.clientPeer)
        .sort((a, b) => a - b),
    );
  }
  for (const c of model.conns) {
    const atServer = real.server.rec.messagesFrom(c.serverPeer);
    const atClient = real.clients[c.client]!.rec.messagesFrom(c.clientPeer);
    expect(atServer.map(serialOf)).toEqual(c.toServer);
    expect(atClient.map(serialOf)).toEqual(c.toClient);
    expect(atServer.every(intact) && atClient.every(intact)).toBe(true);
    expect(real.server.rec.disconnects(c.serverPeer).length).toBe(c.alive ? 0 : 1);
    expect(real.clients[c.client]!.rec.disconnects(c.clientPeer).length).toBe(c.alive ? 0 : 1);
  }
}

type Cmd = fc.AsyncCommand<Model, Real>;

/** What the runs exercised, so that the test fails if the generators stop covering the faults. */
const coverage = {
  commands: 0,
  messages: 0,
  resets: 0,
  halfCloses: 0,
  disconnects: 0,
  shutdowns: 0,
  virtualRuns: 0,
};

class ConnectCmd implements Cmd {
  constructor(
    readonly client: number,
    readonly fault: StreamFault | undefined,
  ) {}
  check = (model: Readonly<Model>) => !model.down.has(this.client);
  async run(model: Model, real: Real): Promise<void> {
    // A rule for this client's next connection: its fault, or none.
    real.net.network.link(
      { from: `client-${this.client}` },
      { faults: this.fault === undefined ? [] : [this.fault] },
    );
    const client = real.clients[this.client]!;
    const peer = await client.r.connect(real.address);
    const connected = client.rec.events.find((e) => e.type === 'connected' && e.peer === peer) as
      | Extract<Ev, { type: 'connected' }>
      | undefined;
    const accepted = (await expectEvent(
      real.server.rec,
      (e) => e.type === 'accepted' && e.remoteAddress === connected?.localAddress,
      'accepted',
    )) as Extract<Ev, { type: 'accepted' }>;
    model.conns.push({
      client: this.client,
      clientPeer: peer,
      serverPeer: accepted.peer,
      ab: 0,
      ba: 0,
      fault: this.fault,
      toServer: [],
      toClient: [],
      alive: true,
    });
    checkInvariants(model, real, h);
  }
  toString = () =>
    `connect(client ${this.client}${this.fault ? `, ${JSON.stringify(this.fault)}` : ''})`;
}

/** Picks the `index`-th live connection (modulo), if any. */
function pick(model: Model, index: number): Conn | undefined {
  const live = model.conns.filter((c) => c.alive);
  return live.length === 0 ? undefined : live[index % live.length];
}

class SendCmd implements Cmd {
  constructor(
    readonly index: number,
    readonly toServer: boolean,
    readonly size: number,
  ) {}
  check = (model: Readonly<Model>) => model.conns.some((c) => c.alive);
  async run(model: Model, real: Real): Promise<void> {
    const c = pick(model, this.index)!;
    const serial = ++model.serial;
    const m = message(serial, this.size);
    const frame = m.length + 4;
    const client = real.clients[c.client]!;
    const [sender, senderPeer, receiver, receiverPeer] = this.toServer
      ? [client, c.clientPeer, real.server, c.serverPeer]
      : [real.server, c.serverPeer, client, c.clientPeer];
    const direction: FaultDirection = this.toServer ? 'a-to-b' : 'b-to-a';
    const before = this.toServer ? c.ab : c.ba;
    const after = before + frame;
    if (this.toServer) c.ab = after;
    else c.ba = after;
    const f = c.fault;
    const armed =
      f !== undefined &&
      (f.direction ?? 'a-to-b') !== (direction === 'a-to-b' ? 'b-to-a' : 'a-to-b') &&
      after >= (f.afterBytes ?? 0);
    const delivered = !armed || after <= (f?.afterBytes ?? 0);
    expect(sender.r.send(senderPeer, m)).toBe('queued');
    coverage.commands++;
    if (delivered) {
      coverage.messages++;
      (this.toServer ? c.toServer : c.toClient).push(serial);
      await expectEvent(
        receiver.rec,
        (e) => e.type === 'message' && e.peer === receiverPeer && serialOf(e.message) === serial,
        `message ${serial}`,
      );
    }
    if (armed) {
      // The fault strikes: a reset ends both sides with `error`; a half-close makes the reader
      // see the end (`left`), which it answers with its own end (`left` on the other side).
      c.alive = false;
      if (f!.kind === 'reset') coverage.resets++;
      else coverage.halfCloses++;
      const kind = f!.kind === 'reset' ? 'error' : 'left';
      const d1 = await expectEvent(
        real.server.rec,
        (e) => e.type === 'disconnected' && e.peer === c.serverPeer,
        'server disconnect',
      );
      const d2 = await expectEvent(
        client.rec,
        (e) => e.type === 'disconnected' && e.peer === c.clientPeer,
        'client disconnect',
      );
      for (const d of [d1, d2]) {
        const reason = (d as Extract<Ev, { type: 'disconnected' }>).reason;
        expect(reason.kind).toBe(kind);
        if (reason.kind === 'error')
          expect((reason.error as { code?: string }).code).toBe('ECONNRESET');
      }
    }
    checkInvariants(model, real, h);
  }
  toString = () =>
    `send(#${this.index}, ${this.toServer ? 'to server' : 'to client'}, ${this.size} B)`;
}

class DisconnectCmd implements Cmd {
  constructor(
    readonly index: number,
    readonly fromServer: boolean,
  ) {}
  check = (model: Readonly<Model>) => model.conns.some((c) => c.alive);
  async run(model: Model, real: Real): Promise<void> {
    const c = pick(model, this.index)!;
    const client = real.clients[c.client]!;
    const [initiator, peer, other, otherPeer] = this.fromServer
      ? [real.server, c.serverPeer, client, c.clientPeer]
      : [client, c.clientPeer, real.server, c.serverPeer];
    coverage.commands++;
    coverage.disconnects++;
    expect(initiator.r.disconnect(peer)).toBe(true);
    c.alive = false;
    const mine = initiator.rec.disconnects(peer);
    expect(mine).toMatchObject([{ reason: { kind: 'requested' } }]);
    const theirs = (await expectEvent(
      other.rec,
      (e) => e.type === 'disconnected' && e.peer === otherPeer,
      'the other side to see the disconnect',
    )) as Extract<Ev, { type: 'disconnected' }>;
    // The other side sees the end of stream (or, if a fault cut that direction, a reset).
    expect(['left', 'error']).toContain(theirs.reason.kind);
    checkInvariants(model, real, h);
  }
  toString = () => `disconnect(#${this.index}, from ${this.fromServer ? 'server' : 'client'})`;
}

class ShutdownClientCmd implements Cmd {
  constructor(
    readonly client: number,
    readonly flushTimeout: number,
  ) {}
  check = (model: Readonly<Model>) => !model.down.has(this.client);
  async run(model: Model, real: Real): Promise<void> {
    coverage.commands++;
    coverage.shutdowns++;
    const client = real.clients[this.client]!;
    const mine = model.conns.filter((c) => c.alive && c.client === this.client);
    await client.r.shutdown({ flushTimeout: this.flushTimeout });
    model.down.add(this.client);
    for (const c of mine) {
      c.alive = false;
      expect(client.rec.disconnects(c.clientPeer)).toMatchObject([
        { reason: { kind: 'requested' } },
      ]);
      const theirs = (await expectEvent(
        real.server.rec,
        (e) => e.type === 'disconnected' && e.peer === c.serverPeer,
        'the server to see the client go',
      )) as Extract<Ev, { type: 'disconnected' }>;
      expect(['left', 'error']).toContain(theirs.reason.kind);
    }
    expect(client.r.peerCount).toBe(0);
    checkInvariants(model, real, h);
  }
  toString = () => `shutdown(client ${this.client}, flush ${this.flushTimeout} ms)`;
}

class SendToGoneCmd implements Cmd {
  constructor(readonly index: number) {}
  check = (model: Readonly<Model>) => model.conns.some((c) => !c.alive);
  async run(model: Model, real: Real): Promise<void> {
    const gone = model.conns.filter((c) => !c.alive);
    const c = gone[this.index % gone.length]!;
    expect(real.server.r.send(c.serverPeer, message(0, 4))).toBe('no-such-peer');
    expect(real.server.r.disconnect(c.serverPeer)).toBe(false);
    checkInvariants(model, real, h);
  }
  toString = () => `sendToGone(#${this.index})`;
}

const faultArb: fc.Arbitrary<StreamFault | undefined> = fc.option(
  fc.record({
    kind: fc.constantFrom<'reset' | 'half-close'>('reset', 'half-close'),
    afterBytes: fc.nat({ max: 8_000 }),
    direction: fc.constantFrom<'a-to-b' | 'b-to-a'>('a-to-b', 'b-to-a'),
  }),
  { freq: 2, nil: undefined },
);

const connectArb = fc
  .tuple(fc.nat({ max: CLIENTS - 1 }), faultArb)
  .map(([i, f]) => new ConnectCmd(i, f));
const sendArb = fc
  .tuple(fc.nat(), fc.boolean(), fc.oneof(fc.nat({ max: 64 }), fc.nat({ max: 12_000 })))
  .map(([i, d, s]) => new SendCmd(i, d, s));
const disconnectArb = fc.tuple(fc.nat(), fc.boolean()).map(([i, s]) => new DisconnectCmd(i, s));
const goneArb = fc.nat().map((i) => new SendToGoneCmd(i));
const shutdownArb = fc
  .tuple(fc.nat({ max: CLIENTS - 1 }), fc.constantFrom(0, 50))
  .map(([i, t]) => new ShutdownClientCmd(i, t));

// Listed more than once to weigh them: mostly sends, then connects.
const commands = fc.commands(
  [
    connectArb,
    connectArb,
    sendArb,
    sendArb,
    sendArb,
    sendArb,
    sendArb,
    disconnectArb,
    goneArb,
    shutdownArb,
  ],
  { maxCommands: 40, size: '+2' },
);

const timingArb: fc.Arbitrary<LinkOptions | undefined> = fc.option(
  fc.record({
    latency: fc.nat({ max: 50 }),
    jitter: fc.nat({ max: 10 }),
    bandwidth: fc.integer({ min: 50_000, max: 50_000_000 }),
  }),
  { nil: undefined },
);

describe('model-based fuzzing on the memory network', () => {
  it('keeps every invariant through random commands and socket faults', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 1_000_000 }),
        timingArb,
        commands,
        async (seed, timing, cmds) => {
          // Half the runs on simulated time with latency, jitter and a bandwidth limit.
          if (timing !== undefined) coverage.virtualRuns++;
          const n = memoryNet(
            h,
            timing === undefined
              ? { seed }
              : { seed, scheduler: new VirtualScheduler(), defaults: timing },
          );
          const server = h.reactor({ codec, transport: n.transport('server'), name: 'server' });
          const [address] = await server.r.listen('server:1');
          const clients = Array.from({ length: CLIENTS }, (_, i) =>
            h.reactor({ codec, transport: n.transport(`client-${i}`), name: `client-${i}` }),
          );
          const real: Real = { net: n, server, address: address!, clients };
          try {
            await fc.asyncModelRun(
              () => ({ model: { conns: [], serial: 0, down: new Set<number>() }, real }),
              cmds,
            );
          } finally {
            // Tear this run down now (the harness checks the ledgers once more after the test).
            await Promise.all([server, ...clients].map((w) => w.r.shutdown({ flushTimeout: 0 })));
          }
          for (const w of [server, ...clients]) {
            expect(w.r.peerCount).toBe(0);
            w.ledger.assertComplete(w.r === server.r ? 'server' : 'client');
          }
          expect(n.network.stats().connections).toBe(0);
        },
      ),
      {
        numRuns: Number(process.env.FUZZ_RUNS ?? 200),
        seed: Number(process.env.FUZZ_SEED ?? 20261125),
      },
    );
    console.info(`fuzz coverage: ${JSON.stringify(coverage)}`);
    expect(coverage.messages).toBeGreaterThan(100);
    expect(coverage.resets).toBeGreaterThan(3);
    expect(coverage.halfCloses).toBeGreaterThan(3);
    expect(coverage.disconnects).toBeGreaterThan(10);
    expect(coverage.shutdowns).toBeGreaterThan(10);
    expect(coverage.virtualRuns).toBeGreaterThan(10);
  }, 60_000);
});

describe('re-entrant commands from the event handler', () => {
  // The server's `onEvent` handler answers each event with commands chosen by fast-check: reply,
  // disconnect the sender or another peer, send to a gone peer, or shut the whole reactor down,
  // all from inside the event (re-entrantly). Every reactor must still end with exactly one
  // `disconnected` per peer, nothing after it, and a shutdown that completes.
  it('keeps the invariants whatever the handler does inside an event', async () => {
    const done = { replies: 0, disconnects: 0, shutdowns: 0 };
    const action = fc.constantFrom(
      'reply',
      'reply',
      'none',
      'disconnect-self',
      'disconnect-other',
      'gone',
      'shutdown',
    );
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.array(action, { minLength: 5, maxLength: 60 }),
        fc.integer({ min: 2, max: 5 }),
        async (seed, actions, clientCount) => {
          const n = memoryNet(h, { seed });
          let step = 0;
          let shutdown: Promise<void> | undefined;
          const server = h.reactor(
            { codec, transport: n.transport('server'), name: 'server' },
            (e) => {
              if (e.type !== 'message' && e.type !== 'accepted') return;
              const what = actions[step++ % actions.length]!;
              const peers = server.r.peerIds;
              if (what === 'reply' && e.type === 'message') {
                if (server.r.send(e.peer, e.message.slice()) === 'queued') done.replies++;
              } else if (what === 'disconnect-self') {
                if (server.r.disconnect(e.peer)) done.disconnects++;
              } else if (what === 'disconnect-other' && peers.length > 0) {
                if (server.r.disconnect(peers[step % peers.length]!)) done.disconnects++;
              } else if (what === 'gone') {
                server.r.send(e.peer - 1_000_000, message(0, 4));
              } else if (what === 'shutdown' && step > actions.length / 2 && !shutdown) {
                done.shutdowns++;
                shutdown = server.r.shutdown({ flushTimeout: 20 });
              }
            },
          );
          await server.r.listen('server:1');
          const clients = Array.from({ length: clientCount }, (_, i) =>
            h.reactor({ codec, transport: n.transport(`client-${i}`), name: `client-${i}` }),
          );
          const peers = await Promise.all(
            clients.map((c) => c.r.connect('server:1').catch(() => -1)),
          );
          for (let round = 0; round < 10; round++) {
            clients.forEach((c, i) => {
              if (peers[i]! > 0) c.r.send(peers[i]!, message(round + 1, 16 + round * 100));
            });
            await new Promise((resolve) => setImmediate(resolve));
          }
          await Promise.all([server, ...clients].map((w) => w.r.shutdown({ flushTimeout: 20 })));
          await shutdown;
          for (const w of [server, ...clients]) {
            expect(w.r.peerCount).toBe(0);
            expect(w.r.stats({ peers: false }).closing).toBe(0);
            w.ledger.assertComplete(w === server ? 'server' : 'client');
          }
          expect(h.faults).toEqual([]);
        },
      ),
      { numRuns: 100, seed: Number(process.env.FUZZ_SEED ?? 20261125) },
    );
    expect(done.replies).toBeGreaterThan(50);
    expect(done.disconnects).toBeGreaterThan(20);
    expect(done.shutdowns).toBeGreaterThan(5);
  }, 60_000);
});
