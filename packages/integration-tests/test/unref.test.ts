import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildForChildren } from './hardening/children.js';

const CHILD = fileURLToPath(new URL('./unref-child.mjs', import.meta.url));

beforeAll(() => {
  const failure = buildForChildren();
  if (failure !== undefined) throw new Error(failure);
}, 120_000);

/** Runs the child in `mode`; resolves with its output and exit code once it exits by itself. */
async function run(mode: 'ref' | 'unref' | 'keep-unref' | 'keep-ref' | 'keep-hang') {
  const child = spawn(process.execPath, [CHILD, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  try {
    const [code] = await once(child, 'exit');
    return { out, code };
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}

describe('`ref()` / `unref()` (as net.Server)', () => {
  it('lets a listening node’s process exit after `unref()`', async () => {
    const { out, code } = await run('unref');
    expect(code).toBe(0);
    expect(out).toMatch(/^listening 127\.0\.0\.1:\d+\n$/);
  });

  it('keeps the process alive while listening, by default', async () => {
    const { out, code } = await run('ref');
    expect(code).toBe(0);
    // The unref'd timer only fires because the listener held the process open.
    expect(out).toMatch(/^listening 127\.0\.0\.1:\d+\nalive\n$/);
  });

  it('lets the process exit while `keep()` waits to retry a refused peer, after `unref()`', async () => {
    const { out, code } = await run('keep-unref');
    expect(code).toBe(0);
    // The first attempt was refused and a retry scheduled (2 s away): the unref'd wait timer and
    // the unref'd listener let the process exit before it.
    expect(out).toMatch(/^listening 127\.0\.0\.1:\d+\nattempt 1\nretry 1\n$/);
  });

  it('lets the process exit while a kept peer’s connect is in progress, after `unref()`', async () => {
    const { out, code } = await run('keep-hang');
    expect(code).toBe(0);
    // The connect never finishes; its `connectTimeout` timer is unref'd too.
    expect(out).toMatch(/^listening 127\.0\.0\.1:\d+\nattempt 1\n$/);
  });

  it('keeps the process alive while keeping, when the reactor is ref’d (it listens)', async () => {
    const { out, code } = await run('keep-ref');
    expect(code).toBe(0);
    // It went on retrying until the child itself let go at the third retry.
    expect(out).toMatch(/^listening 127\.0\.0\.1:\d+\n(attempt \d\nretry \d\n){3}stopped\n$/);
  });
});
