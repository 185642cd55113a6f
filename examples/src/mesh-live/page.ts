/**
 * The live mesh page: this tab joins the mesh as a peer (a reactor over the browser build of
 * `@peerlink/transport-ws`, connected to two Node nodes), forwards gossip as every node does, and
 * draws the mesh on a canvas: nodes (Node nodes on a circle, tabs outside it), links, which nodes
 * have the latest message, and messages/s. State for tests is on `window.meshView`.
 */
import { type PeerId, Reactor } from '@peerlink/reactor';
import { webSocketTransport } from '@peerlink/transport-ws';
import { type Gossip, gossipCodec, type MeshView, TAB_BASE, type TabConfig } from './protocol.js';

const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const canvas = byId<HTMLCanvasElement>('mesh');
const context = canvas.getContext('2d')!;

/** What the page has done, for tests and the curious (`window.meshView` in the console). */
const state = {
  tab: 0,
  peers: 0,
  received: [] as Array<{ id: number; origin: number; text: string }>,
  published: [] as number[],
  frames: 0,
  /** What the last frame drew: counts, and for each message id the nodes drawn as having it. */
  drawn: { nodes: 0, links: 0, latest: 0, spread: {} as Record<number, number>, rate: 0 },
};
(globalThis as unknown as { meshView: typeof state }).meshView = state;

const config = (await (await fetch('/config.json')).json()) as TabConfig;
state.tab = config.tab;
const reactor = new Reactor({ codec: gossipCodec, transport: webSocketTransport() });
const peers = new Set<PeerId>();
const seen = new Set<number>();
let mesh: MeshView = { nodes: [], links: [], messages: [], messagesPerSecond: 0 };

function addToLog(message: Gossip, mine: boolean): void {
  const text = new TextDecoder().decode(message.payload);
  state.received.push({ id: message.id, origin: message.origin, text });
  const item = document.createElement('li');
  const from =
    message.origin >= TAB_BASE ? `tab ${message.origin - TAB_BASE}` : `node ${message.origin}`;
  item.textContent = `${mine ? 'you' : from} (${message.hops} hops): ${text}`;
  byId('log').prepend(item);
}

function forward(message: Gossip, except: PeerId | undefined): void {
  for (const peer of peers) if (peer !== except) reactor.send(peer, message);
}

reactor.onEvent((event) => {
  switch (event.type) {
    case 'connected':
      peers.add(event.peer);
      state.peers = peers.size;
      reactor.send(event.peer, { id: 0, origin: config.tab, hops: 0, payload: new Uint8Array() });
      break;
    case 'disconnected':
      peers.delete(event.peer);
      state.peers = peers.size;
      break;
    case 'message': {
      const message = event.message;
      if (message.id === 0 || seen.has(message.id)) break;
      seen.add(message.id);
      forward({ ...message, hops: message.hops + 1 }, event.peer);
      addToLog(message, false);
      draw();
      break;
    }
  }
  byId('status').textContent =
    `you are tab ${config.tab - TAB_BASE}, linked to ${peers.size} nodes`;
});
for (const address of config.peers) reactor.connect(address).catch(() => {});

byId<HTMLFormElement>('publish').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = byId<HTMLInputElement>('text');
  const text = input.value.trim();
  if (text === '') return;
  const id = (crypto.getRandomValues(new Uint32Array(1))[0]! | 0x100000) >>> 0;
  const message: Gossip = {
    id,
    origin: config.tab,
    hops: 0,
    payload: new TextEncoder().encode(text),
  };
  seen.add(id);
  state.published.push(id);
  forward(message, undefined);
  addToLog(message, true);
  input.value = '';
  draw();
});

/** Where each node is drawn: Node nodes on a circle, tabs on a wider one. */
function positions(view: MeshView): Map<number, { x: number; y: number }> {
  const at = new Map<number, { x: number; y: number }>();
  const cx = canvas.width / 2;
  const cy = canvas.height / 2;
  const place = (ids: number[], radius: number, turn: number) =>
    ids.forEach((id, i) => {
      const angle = (2 * Math.PI * i) / Math.max(1, ids.length) + turn;
      at.set(id, { x: cx + radius * Math.cos(angle), y: cy + radius * Math.sin(angle) });
    });
  place(
    view.nodes.filter((n) => n.kind === 'node').map((n) => n.id),
    150,
    -Math.PI / 2,
  );
  place(
    view.nodes.filter((n) => n.kind === 'tab').map((n) => n.id),
    215,
    -Math.PI / 4,
  );
  return at;
}

function draw(): void {
  const at = positions(mesh);
  const latest = mesh.messages.at(-1);
  const reached = new Set(latest?.reached ?? []);
  // A message this tab has seen counts the tab as reached, whatever the Node side knows.
  if (latest !== undefined && seen.has(latest.id)) reached.add(config.tab);
  context.clearRect(0, 0, canvas.width, canvas.height);
  context.lineWidth = 1.5;
  let links = 0;
  for (const [a, b] of mesh.links) {
    const p = at.get(a);
    const q = at.get(b);
    if (p === undefined || q === undefined) continue;
    links++;
    context.strokeStyle = reached.has(a) && reached.has(b) ? '#2a9d4b' : '#bbb';
    context.beginPath();
    context.moveTo(p.x, p.y);
    context.lineTo(q.x, q.y);
    context.stroke();
  }
  let spread = 0;
  for (const node of mesh.nodes) {
    const p = at.get(node.id)!;
    const has = reached.has(node.id);
    if (has) spread++;
    context.fillStyle = has ? '#2a9d4b' : node.kind === 'tab' ? '#4a7bd0' : '#888';
    context.beginPath();
    context.arc(p.x, p.y, node.kind === 'tab' ? 14 : 12, 0, 2 * Math.PI);
    context.fill();
    if (node.id === config.tab) {
      context.strokeStyle = '#000';
      context.lineWidth = 3;
      context.stroke();
      context.lineWidth = 1.5;
    }
    context.fillStyle = '#fff';
    context.font = 'bold 11px sans-serif';
    context.textAlign = 'center';
    context.fillText(
      node.kind === 'tab' ? `T${node.id - TAB_BASE}` : String(node.id),
      p.x,
      p.y + 4,
    );
    if (node.kind === 'node') {
      context.fillStyle = '#555';
      context.font = '10px sans-serif';
      context.fillText(`${node.messagesPerSecond.toFixed(0)}/s`, p.x, p.y + 26);
    }
  }
  context.fillStyle = '#222';
  context.font = '13px sans-serif';
  context.textAlign = 'left';
  context.fillText(`messages/s: ${mesh.messagesPerSecond.toFixed(1)}`, 10, 20);
  if (latest !== undefined) {
    context.fillText(
      `latest: “${latest.text}” reached ${spread} of ${mesh.nodes.length}`,
      10,
      canvas.height - 12,
    );
  }
  byId('rate').textContent = `messages/s: ${mesh.messagesPerSecond.toFixed(1)}`;
  state.frames++;
  if (latest !== undefined) state.drawn.spread[latest.id] = spread;
  state.drawn = {
    ...state.drawn,
    nodes: mesh.nodes.length,
    links,
    latest: latest?.id ?? 0,
    rate: mesh.messagesPerSecond,
  };
}

async function poll(): Promise<void> {
  try {
    mesh = (await (await fetch('/mesh.json')).json()) as MeshView;
    draw();
  } catch {
    // the server is gone: keep the last drawing
  }
  setTimeout(poll, 300);
}
void poll();
