/**
 * The Node side of the browser compliance test, run in a network namespace of its own (only
 * loopback): starts the relay, serves the compliance page over `node:http` on 127.0.0.1 port 0,
 * runs it in headless Chromium, and prints one JSON line with the suite's results.
 * Usage: `node compliance-driver.mjs <out-dir>`.
 */
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS } from './chromium.js';
import type { ComplianceState } from './compliance-page.js';
import { startRelay } from './relay.js';

const outDir = process.argv[2] ?? '.';
const pageScript = readFileSync(`${outDir}/compliance-page.js`);
const relay = await startRelay();
const pageServer = http.createServer((request, response) => {
  if (request.url?.startsWith('/page.js')) {
    response.writeHead(200, { 'content-type': 'text/javascript' }).end(pageScript);
  } else {
    response
      .writeHead(200, { 'content-type': 'text/html' })
      .end(
        '<!doctype html><title>compliance</title><script type="module" src="/page.js"></script>',
      );
  }
});
await new Promise<void>((resolve) => pageServer.listen(0, '127.0.0.1', resolve));
const pagePort = (pageServer.address() as AddressInfo).port;

const result: { results?: ComplianceState['results']; error?: string; pageErrors: string[] } = {
  pageErrors: [],
};
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: CHROMIUM_ARGS,
  timeout: 20_000,
});
try {
  const page = await browser.newPage();
  page.on('pageerror', (error) => result.pageErrors.push(String(error)));
  await page.goto(
    `http://127.0.0.1:${pagePort}/?relay=${relay.port}&pending=${relay.pendingAddress}`,
  );
  await page.waitForFunction(
    () => (globalThis as unknown as { compliance?: ComplianceState }).compliance?.done === true,
    undefined,
    { timeout: 100_000, polling: 250 },
  );
  result.results = await page.evaluate(
    () => (globalThis as unknown as { compliance: ComplianceState }).compliance.results,
  );
} catch (error) {
  result.error = String(error);
} finally {
  await browser.close();
  pageServer.close();
  await relay.close();
}
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
