/**
 * The live mesh's Node side, without a browser (so it runs everywhere): the page and its bundle
 * are served, each tab gets its own number and two nodes to join, a Node peer joining as a tab
 * (as the page does: a hello, then gossip) appears in `/mesh.json` with its links, receives what
 * a node publishes, and its own message spreads to every node.
 */
import { Reactor } from '@peerlink/reactor';
import { webSocketTransport } from '@peerlink/transport-ws';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type Gossip,
  gossipCodec,
  type MeshView,
  TAB_BASE,
  type TabConfig,
} from '../src/mesh-live/protocol.js';
import { type LiveMesh, startLiveMesh } from '../src/mesh-live/server.js';

describe('live mesh server', () => {
  let mesh: LiveMesh | undefined;
  let tab: Reactor<Gossip> | undefined;
  afterEach(async () => {
    await tab?.shutdown({ flushTimeout: 0 });
    await mesh?.close();
  });

  /** Resolves with `/mesh.json` once `test` holds for it, fetching it again at each change. */
  async function viewUntil(test: (view: MeshView) => boolean): Promise<MeshView> {
    for (;;) {
      const next = mesh!.changed(); // taken first: a change during the fetch is not missed
      const view = (await (await fetch(`${mesh!.url}mesh.json`)).json()) as MeshView;
      if (test(view)) return view;
      await next;
    }
  }

  it('serves the page, its browser bundle, a config per tab, and the mesh as JSON', async () => {
    mesh = await startLiveMesh({ nodes: 4, links: 2 });
    const page = await (await fetch(mesh.url)).text();
    expect(page).toContain('<canvas id="mesh"');
    const script = await (await fetch(`${mesh.url}page.js`)).text();
    expect(script).toContain('meshView');
    expect(script).not.toMatch(/from ["']node:|require\(["']node:/);
    const first = (await (await fetch(`${mesh.url}config.json`)).json()) as TabConfig;
    const second = (await (await fetch(`${mesh.url}config.json`)).json()) as TabConfig;
    expect([first.tab, second.tab]).toEqual([TAB_BASE, TAB_BASE + 1]);
    expect(first.peers).toHaveLength(2);
    expect(new Set(first.peers).size).toBe(2);
    const view = await viewUntil((v) => v.links.length > 0);
    expect(view.nodes.map((n) => n.kind)).toEqual(['node', 'node', 'node', 'node']);
    expect((await fetch(`${mesh.url}nothing`)).status).toBe(404);
  });

  it('lets a peer join as a tab: it shows in the view, receives gossip, and its gossip spreads', async () => {
    mesh = await startLiveMesh({ nodes: 4, links: 2 });
    const config = (await (await fetch(`${mesh.url}config.json`)).json()) as TabConfig;
    tab = new Reactor({ codec: gossipCodec, transport: webSocketTransport() });
    const received: Gossip[] = [];
    let onGossip: (() => void) | undefined;
    tab.onEvent((event) => {
      if (event.type === 'connected') {
        tab!.send(event.peer, { id: 0, origin: config.tab, hops: 0, payload: new Uint8Array() });
      } else if (event.type === 'message' && event.message.id !== 0) {
        received.push(event.message);
        onGossip?.();
      }
    });
    /** Resolves once the tab has received gossip message `id`. */
    const tabReceived = (id: number) =>
      new Promise<void>((resolve) => {
        onGossip = () => {
          if (received.some((m) => m.id === id)) resolve();
        };
        onGossip();
      });
    const peers = await Promise.all(config.peers.map((address) => tab!.connect(address)));
    const joined = await viewUntil((v) => v.links.filter(([, b]) => b === config.tab).length === 2);
    expect(joined.nodes.at(-1)).toMatchObject({ id: config.tab, kind: 'tab' });

    const id = mesh.publish(1, 'from node 1');
    const spread = await viewUntil(
      (v) => v.messages.find((m) => m.id === id)?.reached.length === 4,
    );
    expect(spread.messages.at(-1)).toMatchObject({ id, origin: 1, text: 'from node 1' });
    await tabReceived(id);

    const text = new TextEncoder().encode('from the tab');
    tab.send(peers[0]!, { id: 0x12345678, origin: config.tab, hops: 0, payload: text });
    const reached = await viewUntil(
      (v) => v.messages.find((m) => m.id === 0x12345678)?.reached.length === 5,
    );
    expect(reached.messages.at(-1)).toMatchObject({ origin: config.tab, text: 'from the tab' });
    expect(reached.messages.at(-1)!.reached).toEqual([0, 1, 2, 3, config.tab]);
  });

  it('refuses a node count out of range', async () => {
    await expect(startLiveMesh({ nodes: 1 })).rejects.toThrow(RangeError);
  });
});
