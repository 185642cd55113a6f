/**
 * The Node side of the browser test, run inside a network namespace of its own (only loopback):
 * serves the page over `node:http` on 127.0.0.1 port 0, runs a Node reactor over
 * `@peerlink/transport-ws`, drives headless Chromium with playwright-core, and prints one JSON
 * line of what it observed (the test asserts on it). Usage: `node driver.mjs <out-dir>`.
 */
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { lengthPrefixed } from '@peerlink/codec';
import { type PeerId, Reactor, type ReactorEvent } from '@peerlink/reactor';
import { webSocketTransport } from '@peerlink/transport-ws';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS } from './chromium.js';
import { BIG, isBig, pattern, samePattern, small, smallIndex } from './messages.js';
import type { PagePeer } from './page.js';

/** The page's window, as the functions run in it see it. */
type W = { peer: PagePeer };

const outDir = process.argv[2] ?? '.';
const pageScript = readFileSync(`${outDir}/page.js`);
const codec = lengthPrefixed({ maxSize: BIG + 64 });
const result: Record<string, unknown> = {};
const steps: string[] = [];

/** A Node reactor and what it saw. */
function nodePeer() {
  const reactor = new Reactor({ codec, transport: webSocketTransport({ limits: codec }) });
  const seen = {
    accepted: [] as PeerId[],
    disconnects: [] as Array<{ kind: string }>,
    smallReceived: 0,
    smallInOrder: true,
    bigReceived: [] as boolean[],
    received: [] as string[],
  };
  const waiters: Array<() => boolean> = [];
  reactor.onEvent((event: ReactorEvent<Uint8Array>) => {
    if (event.type === 'accepted') seen.accepted.push(event.peer);
    else if (event.type === 'disconnected') seen.disconnects.push({ kind: event.reason.kind });
    else if (event.type === 'message') {
      const m = event.message;
      if (isBig(m)) seen.bigReceived.push(samePattern(m, BIG, 7));
      else if (m.length === 8) {
        if (smallIndex(m) !== seen.smallReceived) seen.smallInOrder = false;
        seen.smallReceived++;
      } else seen.received.push(new TextDecoder().decode(m));
    }
    for (let i = waiters.length - 1; i >= 0; i--) if (waiters[i]!()) waiters.splice(i, 1);
  });
  /** Resolves once `test` holds (checked after every event). */
  const until = (test: () => boolean) =>
    new Promise<void>((resolve) => {
      if (test()) resolve();
      else
        waiters.push(() => {
          if (!test()) return false;
          resolve();
          return true;
        });
    });
  return { reactor, seen, until };
}

const pageServer = http.createServer((request, response) => {
  if (request.url?.startsWith('/page.js')) {
    response.writeHead(200, { 'content-type': 'text/javascript' }).end(pageScript);
  } else {
    response
      .writeHead(200, { 'content-type': 'text/html' })
      .end('<!doctype html><title>peerlink</title><script type="module" src="/page.js"></script>');
  }
});
await new Promise<void>((resolve) => pageServer.listen(0, '127.0.0.1', resolve));
const pagePort = (pageServer.address() as AddressInfo).port;

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: CHROMIUM_ARGS,
  timeout: 20_000,
});
const pageErrors: string[] = [];
try {
  let server = nodePeer();
  const [address] = await server.reactor.listen('127.0.0.1:0');
  const page = await browser.newPage();
  page.on('pageerror', (error) => pageErrors.push(String(error)));
  page.setDefaultTimeout(15_000);
  await page.goto(`http://127.0.0.1:${pagePort}/?ws=${address}`);
  const pageState = () => page.evaluate(() => (globalThis as unknown as W).peer);
  await page.waitForFunction(() => (globalThis as unknown as W).peer?.state === 'connected');
  await server.until(() => server.seen.accepted.length === 1);
  steps.push('connected');
  let peer = server.seen.accepted[0]!;

  // 1,000 small messages each way, in order.
  const nodeSends = new Set<string>();
  for (let i = 0; i < 1000; i++) nodeSends.add(server.reactor.send(peer, small(i)));
  result.nodeSmallSends = [...nodeSends];
  result.pageSmallSends = await page.evaluate(() =>
    (globalThis as unknown as W).peer.sendSmall(1000),
  );
  await page.waitForFunction(() => (globalThis as unknown as W).peer.smallReceived >= 1000);
  await server.until(() => server.seen.smallReceived >= 1000);
  steps.push('small');

  // One 4 MiB message each way, intact, and 1,000 small ones right behind it: the page's writes
  // block (`bufferedAmount` above the high-water mark) and go on at the polled drain.
  result.nodeBigSend = server.reactor.send(peer, pattern(BIG, 11));
  for (let i = 1000; i < 2000; i++) nodeSends.add(server.reactor.send(peer, small(i)));
  result.nodeSmallSends = [...nodeSends];
  const pageBig = await page.evaluate(() => {
    const p = (globalThis as unknown as W).peer;
    return [p.sendBig(), ...p.sendSmall(1000, 1000)];
  });
  result.pageBigSend = [...new Set(pageBig)];
  await page.waitForFunction(() => {
    const p = (globalThis as unknown as W).peer;
    return p.bigReceived.length >= 1 && p.smallReceived >= 2000;
  });
  await server.until(
    () => server.seen.bigReceived.length >= 1 && server.seen.smallReceived >= 2000,
  );
  steps.push('big');
  result.pageIo = (await pageState()).io;
  const afterExchange = await pageState();
  result.page = {
    smallReceived: afterExchange.smallReceived,
    smallInOrder: afterExchange.smallInOrder,
    bigReceived: afterExchange.bigReceived,
  };
  result.node = {
    smallReceived: server.seen.smallReceived,
    smallInOrder: server.seen.smallInOrder,
    bigReceived: server.seen.bigReceived,
  };

  // The server disconnects the browser: the page sees it go, with its reason, and reconnects.
  server.reactor.disconnect(peer);
  await page.waitForFunction(() => (globalThis as unknown as W).peer.disconnects.length >= 1);
  await server.until(() => server.seen.accepted.length === 2);
  steps.push('disconnect');
  result.disconnectSeenByPage = (await pageState()).disconnects[0];

  // The server restarts on the same port: the page sees it go, retries, and comes back.
  await server.reactor.shutdown({ flushTimeout: 100 });
  await page.waitForFunction(() => (globalThis as unknown as W).peer.disconnects.length >= 2);
  const failedBefore = (await pageState()).failedConnects.length;
  await page.waitForFunction(
    (n) => (globalThis as unknown as W).peer.failedConnects.length > n,
    failedBefore,
  );
  server = nodePeer();
  await server.reactor.listen(address!);
  await server.until(() => server.seen.accepted.length === 1);
  await page.waitForFunction(() => (globalThis as unknown as W).peer.state === 'connected');
  steps.push('restart');
  peer = server.seen.accepted[0]!;
  server.reactor.send(peer, new TextEncoder().encode('hello after restart'));
  await page.evaluate(() => (globalThis as unknown as W).peer.sendText('browser is back'));
  await page.waitForFunction(() => (globalThis as unknown as W).peer.received.length >= 1);
  await server.until(() => server.seen.received.length >= 1);
  const final = await pageState();
  result.restart = {
    pageDisconnects: final.disconnects,
    pageConnects: final.connects,
    pageFailedConnects: final.failedConnects.length > 0 ? [...new Set(final.failedConnects)] : [],
    pageReceived: final.received,
    nodeReceived: server.seen.received,
  };
  steps.push('done');
  await server.reactor.shutdown({ flushTimeout: 100 });
} catch (error) {
  result.error = String(error);
} finally {
  result.steps = steps;
  result.pageErrors = pageErrors;
  await browser.close();
  pageServer.close();
}
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
