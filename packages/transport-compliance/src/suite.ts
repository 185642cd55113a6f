import { Env } from './harness.js';
import {
  type ResolvedOptions,
  resolveOptions,
  type TestRunner,
  type TransportComplianceOptions,
} from './options.js';
import { registerConnectFailureTests, registerListenTests } from './tests-addresses.js';
import { registerBackpressureTests, registerDataTests, registerPauseTests } from './tests-data.js';
import { registerEndTests } from './tests-end.js';

/** A test name as `skip` matches it: without the backticks of the README's markdown. */
function plainName(name: string): string {
  return name.replaceAll('`', '');
}

/**
 * Registers the transport compliance suite with the given test runner. Call it at the top level
 * of a test file:
 *
 * ```ts
 * import { afterEach, beforeEach, describe, it } from 'vitest'; // or 'node:test'
 * import { transportCompliance } from '@peerlink/transport-compliance';
 * transportCompliance({ describe, it, beforeEach, afterEach }, {
 *   name: 'tcp', createTransport: () => tcpTransport(), listenAddress: '127.0.0.1:0',
 * });
 * ```
 *
 * Every test opens its own transports, listeners and connections and releases them afterwards;
 * any breach of the contract's calling rules seen during a test (an event after `onClose`, a second
 * `onClose`, `onDrain` without a refused write, overlapping handler calls, …) fails it.
 */
export function transportCompliance(runner: TestRunner, options: TransportComplianceOptions): void {
  const resolved = resolveOptions(options);
  const { describe, it, beforeEach, afterEach } = runner;

  describe(`transport compliance: ${resolved.name}`, () => {
    let env: Env | undefined;
    beforeEach(async () => {
      env = await Env.create(resolved);
    });
    afterEach(async () => {
      const current = env;
      env = undefined;
      await current?.dispose();
    });

    const skip = new Set([...resolved.skip].map(plainName));
    const names = new Set<string>();
    const test: Register = (name, body, enabled = true) => {
      names.add(plainName(name));
      if (!enabled || skip.has(plainName(name))) return;
      it(name, async () => {
        if (env === undefined) throw new Error('transport compliance: environment not set up');
        await body(env, resolved);
      });
    };

    registerListenTests(test, resolved);
    registerDataTests(test);
    registerBackpressureTests(test);
    registerPauseTests(test);
    registerEndTests(test);
    registerConnectFailureTests(test, resolved);

    const unknown = [...skip].filter((name) => !names.has(name));
    if (unknown.length > 0) {
      throw new RangeError(
        `transportCompliance: \`skip\` names no test: ${unknown.map((n) => JSON.stringify(n)).join(', ')}. ` +
          `Valid names:\n  ${[...names].join('\n  ')}`,
      );
    }
  });
}

/** Registers a test; `enabled: false` only records its name (a test the options turn off). */
export type Register = (name: string, body: Body, enabled?: boolean) => void;

/** A test body: gets the test's environment. */
export type Body = (env: Env, options: ResolvedOptions) => Promise<void>;
