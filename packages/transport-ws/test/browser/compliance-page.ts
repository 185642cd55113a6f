/**
 * The page of the browser compliance test: the transport compliance suite, run in the browser
 * with a minimal runner, over the browser build of `@peerlink/transport-ws` on both ends of every
 * connection (listening goes through the Node relay, `relay.ts`, named by `?relay=port`).
 * Results are on `window.compliance` as `{ done, results: [{ name, ok, error? }] }`.
 */
import {
  type Connection,
  formatAddress,
  type Listener,
  type ListenHandler,
  parseAddress,
  type Transport,
} from '@peerlink/stream';
import { transportCompliance } from '@peerlink/transport-compliance';
import { webSocketTransport } from '@peerlink/transport-ws';

const params = new URLSearchParams(location.search);
const relayPort = Number(params.get('relay'));
const pendingAddress = params.get('pending') ?? '';

/** The control channel to the relay: requests with replies, and incoming-connection notices. */
const control = new WebSocket(`ws://127.0.0.1:${relayPort}/control`);
await new Promise((resolve) => control.addEventListener('open', resolve, { once: true }));
const replies = new Map<number, (body: Record<string, unknown>) => void>();
const incoming = new Map<number, (conn: number) => void>();
let nextRef = 1;
control.addEventListener('message', (event) => {
  const body = JSON.parse(event.data as string) as Record<string, unknown>;
  if (typeof body.incoming === 'number') incoming.get(body.incoming)?.(body.conn as number);
  else replies.get(body.ref as number)?.(body);
});
function request(body: object): Promise<Record<string, unknown>> {
  const ref = nextRef++;
  return new Promise((resolve) => {
    replies.set(ref, resolve);
    control.send(JSON.stringify({ ...body, ref }));
  });
}

/** Connects with the browser transport; listens through the relay. */
const dial = webSocketTransport();
const transport: Transport = {
  connect: (target, options) => dial.connect(target, options),
  async listen(address: string, handler: ListenHandler): Promise<Listener> {
    const { host, port } = parseAddress(address);
    const reply = await request({ op: 'listen', host, port });
    if (typeof reply.error === 'string') {
      throw Object.assign(new Error(`listen on ${address}: ${reply.error}`), { code: reply.error });
    }
    const id = reply.id as number;
    incoming.set(id, (conn) => {
      const accept = webSocketTransport({
        url: () => `ws://127.0.0.1:${relayPort}/accept/${conn}`,
      });
      accept.connect(`127.0.0.1:${relayPort}`).then(
        (connection: Connection) => handler.onConnection(connection),
        (error: Error) => handler.onError?.(error),
      );
    });
    let closed: Promise<void> | undefined;
    return {
      address: formatAddress(host, reply.port as number),
      close() {
        incoming.delete(id);
        closed ??= request({ op: 'close', id }).then(() => {});
        return closed;
      },
    };
  },
};

/** A minimal runner: registers tests, then runs them one after another. */
type Hook = () => Promise<void>;
const tests: Array<{ name: string; fn: Hook; before: Hook[]; after: Hook[] }> = [];
const before: Hook[] = [];
const after: Hook[] = [];
const runner = {
  describe: (_name: string, fn: () => void) => fn(),
  it: (name: string, fn: Hook) => tests.push({ name, fn, before, after }),
  beforeEach: (fn: Hook) => before.push(fn),
  afterEach: (fn: Hook) => after.push(fn),
};
transportCompliance(runner, {
  name: 'websocket (browser build on both ends, through a relay)',
  createTransport: () => transport,
  listenAddress: '127.0.0.1:0',
  refusedCode: 'ERR_WS_CONNECT_FAILED',
  pendingAddress,
});

const state = {
  done: false,
  results: [] as Array<{ name: string; ok: boolean; error?: string }>,
};
(globalThis as unknown as { compliance: typeof state }).compliance = state;
for (const test of tests) {
  try {
    for (const hook of test.before) await hook();
    try {
      await test.fn();
    } finally {
      for (const hook of test.after) await hook();
    }
    state.results.push({ name: test.name, ok: true });
  } catch (error) {
    state.results.push({ name: test.name, ok: false, error: String(error) });
  }
}
state.done = true;

/** What the page exposes as `window.compliance`. */
export type ComplianceState = typeof state;
