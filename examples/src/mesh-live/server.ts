/**
 * The live mesh: N Node nodes gossip over `@peerlink/transport-ws`, and a `node:http` server
 * serves a page with which every browser tab joins the mesh as a peer (over WebSocket, to two of
 * the Node nodes) and draws it live: nodes, links, each gossip message's spread, messages/s.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PeerId } from '@peerlink/reactor';
import { Reactor } from '@peerlink/reactor';
import { webSocketTransport } from '@peerlink/transport-ws';
import * as esbuild from 'esbuild';
import { meshLinks } from '../gossip.js';
import { type Gossip, gossipCodec, type MeshView, TAB_BASE, type TabConfig } from './protocol.js';

/** Options of {@link startLiveMesh}. */
export interface LiveMeshOptions {
  /** Node nodes (2–999). Default 8. */
  nodes?: number;
  /** Outbound links per Node node (see `meshLinks`). Default 2. */
  links?: number;
  /** Where the page is served: `host`, default `'127.0.0.1'`; `port`, default 0 (any free port). */
  host?: string;
  port?: number;
  /** How often the messages/s figures are sampled, in ms. Default 500. */
  rateInterval?: number;
}

/** A running live mesh. */
export interface LiveMesh {
  /** The page's URL (`http://host:port/`). */
  readonly url: string;
  /** The mesh as `/mesh.json` serves it. */
  view(): MeshView;
  /** Resolves at the next change of {@link view} (a peer identified itself, a message spread). */
  changed(): Promise<void>;
  /** Starts a gossip message from Node node `index`; returns its id. */
  publish(index: number, text: string): number;
  /** Stops the page server and every node. */
  close(): Promise<void>;
}

interface MeshNode {
  readonly index: number;
  readonly reactor: Reactor<Gossip>;
  /** Each peer's node id (index or tab origin), once its hello arrived. */
  readonly peers: Map<PeerId, number | undefined>;
  readonly seen: Set<number>;
  received: number;
  rate: number;
}

interface Tracked {
  id: number;
  origin: number;
  text: string;
  reached: Set<number>;
}

const KEEP_MESSAGES = 8;

/** Bundles the page for the browser (the `browser` build of `@peerlink/transport-ws`). */
async function bundlePage(): Promise<string> {
  const entry = new URL('../../src/mesh-live/page.ts', import.meta.url);
  const result = await esbuild.build({
    entryPoints: [entry.pathname],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>peerlink live mesh</title>
<style>
body { font: 14px system-ui, sans-serif; margin: 16px; background: #fafafa; color: #222 }
#mesh { background: #fff; border: 1px solid #ddd }
#side { display: inline-block; vertical-align: top; margin-left: 16px; width: 320px }
#log { list-style: none; padding: 0; max-height: 360px; overflow: auto }
#log li { padding: 2px 0; border-bottom: 1px solid #eee }
</style></head>
<body>
<h1>peerlink live mesh</h1>
<canvas id="mesh" width="560" height="480"></canvas>
<div id="side">
  <p id="status">joining…</p>
  <p id="rate">messages/s: 0</p>
  <form id="publish"><input id="text" placeholder="a gossip message" maxlength="200">
  <button id="send" type="submit">Publish</button></form>
  <ul id="log"></ul>
</div>
<script type="module" src="/page.js"></script>
</body></html>
`;

/** Starts the Node nodes, links them, and serves the page. */
export async function startLiveMesh(options: LiveMeshOptions = {}): Promise<LiveMesh> {
  const count = options.nodes ?? 8;
  if (!Number.isInteger(count) || count < 2 || count >= TAB_BASE) {
    throw new RangeError(`nodes must be an integer from 2 to ${TAB_BASE - 1}, got ${count}`);
  }
  const pageScript = await bundlePage();
  const nodes: MeshNode[] = [];
  const tracked = new Map<number, Tracked>();
  let waiting: Array<() => void> = [];
  const notify = () => {
    const resolvers = waiting;
    waiting = [];
    for (const resolve of resolvers) resolve();
  };
  const decoder = new TextDecoder();
  const track = (message: Gossip, at: number) => {
    let t = tracked.get(message.id);
    if (t === undefined) {
      t = {
        id: message.id,
        origin: message.origin,
        text: decoder.decode(message.payload),
        reached: new Set([message.origin]),
      };
      tracked.set(message.id, t);
      if (tracked.size > KEEP_MESSAGES) tracked.delete(tracked.keys().next().value!);
    }
    t.reached.add(at);
    notify();
  };

  const forward = (node: MeshNode, message: Gossip, except: PeerId | undefined) => {
    for (const peer of node.peers.keys()) {
      if (peer !== except) node.reactor.send(peer, message); // best effort: 'full' drops a copy
    }
  };

  for (let index = 0; index < count; index++) {
    const reactor = new Reactor({
      codec: gossipCodec,
      transport: webSocketTransport({ limits: gossipCodec }),
      name: `node${index}`,
    });
    const node: MeshNode = {
      index,
      reactor,
      peers: new Map(),
      seen: new Set(),
      received: 0,
      rate: 0,
    };
    reactor.onEvent((event) => {
      switch (event.type) {
        case 'connected':
        case 'accepted':
          node.peers.set(event.peer, undefined);
          reactor.send(event.peer, { id: 0, origin: index, hops: 0, payload: new Uint8Array() });
          break;
        case 'disconnected':
          node.peers.delete(event.peer);
          notify();
          break;
        case 'message': {
          const message = event.message;
          if (message.id === 0) {
            node.peers.set(event.peer, message.origin);
            notify();
            break;
          }
          node.received++;
          if (node.seen.has(message.id)) break;
          node.seen.add(message.id);
          track(message, index);
          forward(node, { ...message, hops: message.hops + 1 }, event.peer);
          break;
        }
      }
    });
    await reactor.listen('127.0.0.1:0');
    nodes.push(node);
  }
  const addresses = nodes.map((n) => n.reactor.listenAddresses[0]!);
  await Promise.all(
    meshLinks(count, options.links ?? 2).map(([from, to]) =>
      nodes[from]!.reactor.connect(addresses[to]!),
    ),
  );

  let totalRate = 0;
  let lastSample = performance.now();
  const sampler = setInterval(() => {
    const now = performance.now();
    const seconds = (now - lastSample) / 1000;
    lastSample = now;
    let total = 0;
    for (const node of nodes) {
      node.rate = node.received / seconds;
      total += node.received;
      node.received = 0;
    }
    totalRate = total / seconds;
  }, options.rateInterval ?? 500);
  sampler.unref();

  const view = (): MeshView => {
    const links = new Map<string, readonly [number, number]>();
    const tabs = new Set<number>();
    for (const node of nodes) {
      for (const other of node.peers.values()) {
        if (other === undefined) continue;
        if (other >= TAB_BASE) tabs.add(other);
        const pair =
          node.index < other ? ([node.index, other] as const) : ([other, node.index] as const);
        links.set(`${pair[0]}-${pair[1]}`, pair);
      }
    }
    return {
      nodes: [
        ...nodes.map((n) => ({ id: n.index, kind: 'node' as const, messagesPerSecond: n.rate })),
        ...[...tabs]
          .sort((a, b) => a - b)
          .map((id) => ({ id, kind: 'tab' as const, messagesPerSecond: 0 })),
      ],
      links: [...links.values()],
      messages: [...tracked.values()].map((t) => ({
        id: t.id,
        origin: t.origin,
        text: t.text,
        reached: [...t.reached].sort((a, b) => a - b),
      })),
      messagesPerSecond: totalRate,
    };
  };

  let nextTab = TAB_BASE;
  const server = http.createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (path === '/page.js') {
      response.writeHead(200, { 'content-type': 'text/javascript' }).end(pageScript);
    } else if (path === '/config.json') {
      const tab = nextTab++;
      const k = tab - TAB_BASE;
      const first = (k * 3) % count;
      const second = (first + Math.floor(count / 2)) % count;
      const config: TabConfig = { tab, peers: [addresses[first]!, addresses[second]!] };
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(config));
    } else if (path === '/mesh.json') {
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(view()));
    } else if (path === '/') {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const bound = server.address() as AddressInfo;
  const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;

  let nextId = 1;
  return {
    url: `http://${host}:${bound.port}/`,
    view,
    changed: () => new Promise<void>((resolve) => waiting.push(resolve)),
    publish(index, text) {
      const node = nodes[index];
      if (node === undefined) throw new RangeError(`no node ${index}`);
      const message: Gossip = {
        id: nextId++,
        origin: index,
        hops: 0,
        payload: new TextEncoder().encode(text),
      };
      node.seen.add(message.id);
      track(message, index);
      forward(node, message, undefined);
      return message.id;
    },
    async close() {
      clearInterval(sampler);
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await Promise.all(nodes.map((n) => n.reactor.shutdown({ flushTimeout: 0 })));
    },
  };
}
