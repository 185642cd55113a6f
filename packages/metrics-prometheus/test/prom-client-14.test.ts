import { createRequire } from 'node:module';
import * as promClient from 'prom-client';
import * as promClient14 from 'prom-client-14';
import { expect, it, vi } from 'vitest';
import { exporterSuite } from './exporter-suite.js';

// The oldest major of the peer dependency range, in place of `prom-client` for the exporter and
// the tests alike (`prom-client-14` is a devDependency alias: `npm:prom-client@14`).
vi.mock('prom-client', () => import('prom-client-14'));

it('runs against prom-client 14', () => {
  expect(createRequire(import.meta.url)('prom-client-14/package.json').version).toMatch(/^14\./);
  expect(promClient.Registry).toBe(promClient14.Registry);
});

exporterSuite('prom-client 14');
