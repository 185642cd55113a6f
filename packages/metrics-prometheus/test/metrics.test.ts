import { createRequire } from 'node:module';
import { expect, it } from 'vitest';
import { exporterSuite } from './exporter-suite.js';

it('runs against prom-client 15', () => {
  expect(createRequire(import.meta.url)('prom-client/package.json').version).toMatch(/^15\./);
});

exporterSuite('prom-client 15');
