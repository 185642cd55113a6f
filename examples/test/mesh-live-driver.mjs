// The Node side of the live mesh browser test, run in a network namespace of its own (only
// loopback): starts the live mesh (examples/dist), opens two tabs in headless Chromium, publishes
// from the first, waits for the second to receive it and draw it, takes screenshots, and prints
// one JSON line of what it observed. Usage: node mesh-live-driver.mjs <artifacts-dir> <chromium
// args as JSON>.
import { chromium } from 'playwright-core';
import { startLiveMesh } from '../dist/mesh-live/server.js';

const [artifacts = '.', argsJson = '[]'] = process.argv.slice(2);
const result = { steps: [] };
const pageErrors = [];
const mesh = await startLiveMesh({ nodes: 6, links: 2 });
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: JSON.parse(argsJson),
  timeout: 20_000,
});
try {
  const context = await browser.newContext({ viewport: { width: 960, height: 620 } });
  const open = async () => {
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    page.on('pageerror', (error) => pageErrors.push(String(error)));
    await page.goto(mesh.url);
    await page.waitForFunction(() => globalThis.meshView?.peers === 2);
    return page;
  };
  const a = await open();
  const b = await open();
  // Both tabs appear in the drawing: 6 nodes and 2 tabs.
  for (const page of [a, b])
    await page.waitForFunction(() => globalThis.meshView.drawn.nodes === 8);
  result.steps.push('joined');
  const framesBefore = await b.evaluate(() => globalThis.meshView.frames);

  const text = 'hello from tab A';
  await a.fill('#text', text);
  await a.click('#send');
  const id = await a.evaluate(() => globalThis.meshView.published[0]);
  await b.waitForFunction((t) => globalThis.meshView.received.some((m) => m.text === t), text);
  result.steps.push('received');
  // The drawing of tab B shows the message spread to every node and both tabs.
  await b.waitForFunction((i) => globalThis.meshView.drawn.spread[i] === 8, id);
  result.steps.push('drawn');
  const view = await b.evaluate(() => globalThis.meshView);
  result.tabB = {
    received: view.received.map((m) => m.text),
    framesAdvanced: view.frames > framesBefore,
    drawn: {
      nodes: view.drawn.nodes,
      latestIsOurs: view.drawn.latest === id,
      spread: view.drawn.spread[id],
    },
    log: await b.locator('#log').textContent(),
  };
  const serverView = mesh.view();
  result.server = {
    nodes: serverView.nodes.length,
    tabs: serverView.nodes.filter((n) => n.kind === 'tab').length,
    message: serverView.messages.find((m) => m.id === id),
  };
  await b.screenshot({ path: `${artifacts}/mesh-live-tab-b.png` });
  await a.screenshot({ path: `${artifacts}/mesh-live-tab-a.png` });
  result.steps.push('screenshot');
} catch (error) {
  result.error = String(error);
} finally {
  result.pageErrors = pageErrors;
  await browser.close();
  await mesh.close();
}
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
