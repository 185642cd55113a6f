#!/usr/bin/env node
/**
 * Cancellation and process lifetime, the Node way, in a small line chat: every line typed on
 * standard input goes to every peer, and every line a peer sends is printed.
 *
 * - One `AbortSignal` for the program, aborted by the first SIGINT or SIGTERM, is passed to every
 *   reactor call that waits: `listen` gives up, a send waiting in `drained` stops waiting.
 * - The shutdown then flushes what is queued for up to 10 s; a second SIGINT or SIGTERM aborts
 *   the flush's own signal and cuts it short.
 * - `unref()`, as `net.Server.unref()`: the listener alone does not keep the process alive. Its
 *   work does (standard input while it is open, connected peers), so once input has ended and
 *   the last peer has left, the process exits by itself: no shutdown code needed for that.
 *
 *   node examples/dist/lifetime.js [host:port]     (default 127.0.0.1:0)
 *
 * Prints `listening <address>`, then `peer <id> connected`, `peer <id>: <line>`,
 * `peer <id> left (<reason>)`, and `stopped` after a shutdown.
 */
import { realpathSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { lengthPrefixed, type Reactor, run } from 'peerlink';

/** Lines as UTF-8 bodies, up to 64 KiB. */
export const lineCodec = lengthPrefixed({ maxSize: 64 * 1024 });

/**
 * Starts the chat node: listens on `listen` (rejects with `ERR_ABORTED` if `signal` aborts first),
 * unrefs it, and prints what its peers do with `print`.
 */
export async function startChat(
  listen: string,
  signal: AbortSignal,
  print: (line: string) => void,
): Promise<Reactor<Uint8Array>> {
  const node = await run({ codec: lineCodec });
  try {
    await node.listen(listen, { signal });
  } catch (error) {
    await node.shutdown();
    throw error;
  }
  node.unref(); // the listener does not keep the process alive; peers and input do
  node.onEvent((event) => {
    if (event.type === 'accepted') print(`peer ${event.peer} connected`);
    if (event.type === 'message')
      print(`peer ${event.peer}: ${new TextDecoder().decode(event.message)}`);
    if (event.type === 'disconnected') print(`peer ${event.peer} left (${event.reason.kind})`);
  });
  return node;
}

/** Sends `line` to every peer, waiting (until `signal` aborts) wherever a send buffer is full. */
export async function sendToAll(node: Reactor<Uint8Array>, line: string, signal: AbortSignal) {
  const bytes = new TextEncoder().encode(line);
  for (const peer of node.peerIds) {
    try {
      while (node.send(peer, bytes) === 'full') await node.drained(peer, { signal });
    } catch {
      if (signal.aborted) return; // stopping: the rest is not sent
      // Otherwise the peer left while we waited: go on with the others.
    }
  }
}

if (
  process.argv[1] !== undefined &&
  realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)
) {
  const program = new AbortController(); // the first SIGINT or SIGTERM
  const flush = new AbortController(); // the second one
  const stop = () => (program.signal.aborted ? flush : program).abort();
  process.on('SIGINT', stop).on('SIGTERM', stop);
  const print = (line: string) => process.stdout.write(`${line}\n`);

  const node = await startChat(process.argv[2] ?? '127.0.0.1:0', program.signal, print);
  print(`listening ${node.listenAddresses[0]}`);
  const input = createInterface({ input: process.stdin });
  program.signal.addEventListener('abort', async () => {
    input.close(); // ends the loop below
    process.stdin.destroy();
    await node.shutdown({ flushTimeout: 10_000, signal: flush.signal });
    print('stopped');
  });
  for await (const line of input) {
    await sendToAll(node, line, program.signal);
  }
  // Input has ended. Nothing here keeps the process alive any more but the connected peers.
}
