import { Reactor } from '@peerlink/reactor';
import { MemoryNetwork } from '@peerlink/transport-memory';
import { afterEach, describe, expect, it } from 'vitest';
import { bytesCodec, pattern } from './fixtures.js';

const reactors: Reactor<Uint8Array>[] = [];
afterEach(async () => {
  await Promise.all(reactors.splice(0).map((r) => r.shutdown({ flushTimeout: 0 })));
});

/** A client whose connection to the server stalls after 1 KiB: its send buffer fills for good. */
async function stalled() {
  const network = new MemoryNetwork({
    seed: 8,
    defaults: { capacity: 4096, chunking: false },
  });
  network.link({ from: 'client' }, { faults: [{ kind: 'stall', afterBytes: 1024 }] });
  const server = new Reactor({ codec: bytesCodec, transport: network.transport('server') });
  const client = new Reactor({
    codec: bytesCodec,
    transport: network.transport('client'),
    config: { txBufMaxFloor: 0, txBufMaxSize: 1 },
  });
  reactors.push(server, client);
  const [address] = await server.listen('server:1');
  const peer = await client.connect(address!);
  // Fill the send buffer until `send` refuses.
  while (client.send(peer, pattern(16 * 1024)) === 'queued') {
    await new Promise((r) => setImmediate(r));
  }
  return { network, server, client, peer };
}

describe('AbortSignal on every call that waits', () => {
  it('`drained(peer, { signal })` rejects with `ERR_ABORTED` when the signal aborts; the peer stays', async () => {
    const { client, peer } = await stalled();
    const controller = new AbortController();
    const waiting = client.drained(peer, { signal: controller.signal });
    controller.abort(new Error('gave up'));
    await expect(waiting).rejects.toMatchObject({
      code: 'ERR_ABORTED',
      cause: { message: 'gave up' },
    });
    expect(client.peerIds).toEqual([peer]);
    await expect(client.drained(peer, { signal: AbortSignal.abort() })).rejects.toMatchObject({
      code: 'ERR_ABORTED',
    });
  });

  it('`listen(addresses, { signal })` rejects with `ERR_ABORTED` and leaves nothing bound', async () => {
    const network = new MemoryNetwork();
    const r = new Reactor({ codec: bytesCodec, transport: network.transport('n') });
    reactors.push(r);
    await expect(r.listen('n:1', { signal: AbortSignal.abort() })).rejects.toMatchObject({
      code: 'ERR_ABORTED',
    });
    const controller = new AbortController();
    const pending = r.listen(['n:1', 'n:2'], { signal: controller.signal });
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    await new Promise((resolve) => setImmediate(resolve));
    expect(r.listenAddresses).toEqual([]);
    expect(network.stats().listeners).toBe(0);
    // The addresses are free again.
    await expect(r.listen(['n:1', 'n:2'])).resolves.toEqual(['n:1', 'n:2']);
  });

  it('`shutdown({ signal })` cuts the flush short and completes', async () => {
    const { client, network } = await stalled();
    const controller = new AbortController();
    const done = client.shutdown({
      flushTimeout: Number.POSITIVE_INFINITY,
      signal: controller.signal,
    });
    let finished = false;
    void done.then(() => {
      finished = true;
    });
    await new Promise((r) => setImmediate(r));
    expect(finished).toBe(false); // still flushing what the stalled peer never takes
    expect(client.stats().closing).toBe(1);
    controller.abort();
    await done;
    expect(client.stats().closing).toBe(0);
    expect(network.stats().pendingConnects).toBe(0);
  });

  it('refuses a signal that is not an AbortSignal with `ERR_INVALID_ARGUMENT`', async () => {
    const { client, peer } = await stalled();
    const bad = { signal: 'soon' } as unknown as { signal: AbortSignal };
    await expect(client.drained(peer, bad)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await expect(client.listen('client:9', bad)).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    });
    await expect(client.shutdown(bad)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
  });
});
