/**
 * The suite must fail adapters that break the contract. Each case wraps the memory transport
 * with one defect and checks that the tests naming that behaviour fail (and, as a control, that
 * the unmodified transport passes them), using a minimal runner of our own: the suite works with
 * any describe/it/beforeEach/afterEach, not only vitest's.
 */
import type {
  Connection,
  ConnectionHandler,
  ConnectOptions,
  Listener,
  ListenHandler,
  Transport,
} from '@peerlink/stream';
import {
  type TestRunner,
  type TransportComplianceOptions,
  transportCompliance,
} from '@peerlink/transport-compliance';
import { MemoryNetwork } from '@peerlink/transport-memory';
import { describe, expect, it } from 'vitest';

interface Collected {
  readonly names: string[];
  run(name: string): Promise<unknown>;
}

/** Registers the suite with a runner that only records, then runs chosen tests by name. */
function collect(options: TransportComplianceOptions): Collected {
  const tests = new Map<string, () => Promise<void>>();
  const hooks: { before: Array<() => Promise<void>>; after: Array<() => Promise<void>> } = {
    before: [],
    after: [],
  };
  const runner: TestRunner = {
    describe: (_name, fn) => fn(),
    it: (name, fn) => tests.set(name, fn),
    beforeEach: (fn) => hooks.before.push(fn),
    afterEach: (fn) => hooks.after.push(fn),
  };
  transportCompliance(runner, options);
  return {
    names: [...tests.keys()],
    async run(name) {
      const fn = tests.get(name);
      if (fn === undefined) throw new Error(`no test named ${name}`);
      for (const hook of hooks.before) await hook();
      let failure: unknown;
      try {
        await fn();
      } catch (error) {
        failure = error;
      }
      for (const hook of hooks.after) {
        try {
          await hook();
        } catch (error) {
          failure ??= error;
        }
      }
      return failure;
    },
  };
}

interface Defects {
  /** Wraps each connection (both sides). */
  connection?: (connection: Connection) => Connection;
  /** Replaces the listener's reported address. */
  address?: (bound: string) => string;
  /** Drops the connect signal. */
  ignoreSignal?: boolean;
  /** `listener.close()` never settles (as a close that waits for accepted connections). */
  closeNeverSettles?: boolean;
}

/** Memory-network transports with the given defects. */
function defective(defects: Defects): TransportComplianceOptions {
  let network: MemoryNetwork | undefined;
  const wrap = defects.connection ?? ((c: Connection) => c);
  const make = (base: Transport): Transport => ({
    async listen(address: string, handler: ListenHandler): Promise<Listener> {
      const listener = await base.listen(address, {
        onConnection: (c) => handler.onConnection(wrap(c)),
      });
      const reported = defects.address?.(listener.address) ?? listener.address;
      const close = defects.closeNeverSettles
        ? () => new Promise<void>(() => void listener.close())
        : () => listener.close();
      return { address: reported, close };
    },
    async connect(target: string, options?: ConnectOptions): Promise<Connection> {
      return wrap(await base.connect(target, defects.ignoreSignal ? {} : options));
    },
  });
  return {
    name: 'defective',
    createTransport: (side) => {
      if (side === 'listener' || network === undefined) network = new MemoryNetwork();
      return make(network.transport(side === 'listener' ? 'node-a' : 'node-b'));
    },
    listenAddress: 'node-a:0',
    timeout: 300,
  };
}

/** A connection that forwards everything except what `override` replaces. */
function forward(
  inner: Connection,
  override: (handler: ConnectionHandler) => Partial<ConnectionHandler>,
  methods: Partial<Pick<Connection, 'pause' | 'resume'>> = {},
): Connection {
  return {
    remoteAddress: inner.remoteAddress,
    localAddress: inner.localAddress,
    start: (handler) => {
      const o = override(handler);
      inner.start({
        onData: o.onData ?? ((chunk) => handler.onData(chunk)),
        onDrain: o.onDrain ?? (() => handler.onDrain()),
        onEnd: o.onEnd ?? (() => handler.onEnd()),
        onClose: o.onClose ?? ((error) => handler.onClose(error)),
      });
    },
    write: (bytes) => inner.write(bytes),
    pause: methods.pause ?? (() => inner.pause()),
    resume: methods.resume ?? (() => inner.resume()),
    end: () => inner.end(),
    reset: () => inner.reset(),
    close: () => inner.close(),
  };
}

const cases: Array<{ defect: string; defects: Defects; fails: string[] }> = [
  {
    defect: 'pause is ignored',
    defects: { connection: (c) => forward(c, () => ({}), { pause: () => {} }) },
    fails: [
      '`pause` stops delivery and `resume` restarts it without loss',
      '`pause` inside `onData` holds back the next chunk until `resume`',
    ],
  },
  {
    defect: 'onClose is called twice',
    defects: {
      connection: (c) =>
        forward(c, (h) => ({
          onClose: (error) => {
            h.onClose.call(h, error);
            h.onClose.call(h, error);
          },
        })),
    },
    fails: ['`close` is idempotent and `onClose` comes exactly once on each side'],
  },
  {
    defect: 'a remote reset is reported as a clean close',
    defects: {
      connection: (c) => forward(c, (h) => ({ onClose: () => h.onClose.call(h, undefined) })),
    },
    fails: ['`reset` closes the remote with `resetCode` and no `onEnd`'],
  },
  {
    defect: 'first onData chunk is lost',
    defects: {
      connection: (c) => {
        let held: Uint8Array | undefined;
        return forward(c, (h) => ({
          onData: (chunk) => {
            if (held === undefined) held = chunk.slice();
            else h.onData.call(h, chunk);
          },
        }));
      },
    },
    fails: ['delivers bytes intact and in order for writes of 1 byte to 1 MiB'],
  },
  {
    defect: 'the connect signal is ignored',
    defects: { ignoreSignal: true },
    fails: [
      'a connect with an aborted signal rejects with the signal reason and leaves no handle behind',
      'aborting a connect in flight rejects with the signal reason and leaves no handle behind',
    ],
  },
  {
    defect: 'the listener reports port 0',
    defects: { address: (bound) => bound.replace(/:\d+$/, ':0') },
    fails: ['listening on port 0 reports the bound address, which accepts connections'],
  },
  {
    defect: 'a second start is ignored',
    defects: {
      connection: (c) => {
        let started = false;
        const inner = forward(c, () => ({}));
        return {
          ...inner,
          start: (handler) => {
            if (started) return;
            started = true;
            inner.start(handler);
          },
        };
      },
    },
    fails: ['a second `start` throws `ERR_ALREADY_STARTED` and changes nothing'],
  },
];

describe('transport compliance suite, run by a minimal runner', () => {
  it('fails, naming the step, a test whose `listener.close()` never settles, within `timeout`', async () => {
    const broken = collect(defective({ closeNeverSettles: true }));
    const started = Date.now();
    const failure = await broken.run('two listeners on port 0 get different addresses');
    expect(failure).toBeInstanceOf(Error);
    expect(String((failure as Error).message)).toMatch(
      /cleanup: listener\.close\(\) of node-a:\d+/,
    );
    // Two listeners, each bounded by the 300 ms `timeout`: failed, not hung.
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('matches `skip` names without the backticks of the README', () => {
    const all = collect(defective({})).names;
    const plain = 'pause and resume are idempotent';
    const { names } = collect({ ...defective({}), skip: [plain] });
    expect(all).toContain('`pause` and `resume` are idempotent');
    expect(names).not.toContain('`pause` and `resume` are idempotent');
    expect(names).toHaveLength(all.length - 1);
    const quoted = collect({ ...defective({}), skip: ['`pause` and `resume` are idempotent'] });
    expect(quoted.names).toHaveLength(all.length - 1);
  });

  it('refuses an unknown `skip` name, listing the valid names', () => {
    expect(() => collect({ ...defective({}), skip: ['pause is idempotent'] })).toThrow(
      /"pause is idempotent"[\s\S]*pause and resume are idempotent/,
    );
  });

  it('accepts the skip name of a test the options leave out (`anyAddress` not given)', () => {
    const { names } = collect({
      ...defective({}),
      skip: ['listening on anyAddress reports the bound port, which can be dialed'],
    });
    expect(names.some((n) => n.includes('anyAddress'))).toBe(false);
  });

  it('registers every documented test', () => {
    const { names } = collect(defective({}));
    expect(names.length).toBeGreaterThanOrEqual(25);
    expect(new Set(names).size).toBe(names.length);
  });

  for (const { defect, defects, fails } of cases) {
    it(`fails an adapter whose ${defect}`, async () => {
      const sound = collect(defective({}));
      const broken = collect(defective(defects));
      for (const name of fails) {
        expect(await sound.run(name), `sound adapter: ${name}`).toBeUndefined();
        expect(await broken.run(name), `broken adapter: ${name}`).toBeInstanceOf(Error);
      }
    });
  }
});
