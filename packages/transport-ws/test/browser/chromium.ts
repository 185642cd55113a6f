/**
 * Test helper: where the browser tests find Chromium, the flags it runs with, and how a test
 * runs a script in a network namespace of its own (only loopback) so that the browser can reach
 * nothing but 127.0.0.1.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Debian's Chromium (`apt-get install chromium`; `.ci/run` installs it). */
export const CHROMIUM = '/usr/bin/chromium';

/**
 * Flags for a headless Chromium on a closed machine: no sandbox (we run as root), no GPU, and no
 * background traffic (update checks, QUIC, sync) that a closed network would refuse.
 */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Why the browser tests cannot run here, or `undefined` when they can. */
export function browserUnavailable(): string | undefined {
  if (!existsSync(CHROMIUM)) {
    return `no browser: ${CHROMIUM} is missing (apt-get install chromium; .ci/run installs it)`;
  }
  const probe = spawnSync('unshare', ['--net', '--', 'ip', 'link', 'set', 'lo', 'up'], {
    encoding: 'utf8',
  });
  if (probe.status !== 0) {
    return `cannot make a network namespace for the browser (needs root, unshare and ip): ${
      probe.error?.message ?? probe.stderr.trim()
    }`;
  }
  return undefined;
}

/**
 * Runs `node script ...args` in a new network namespace with only loopback up, and resolves with
 * its stdout once it exits (rejects on a non-zero exit or after `timeout` ms, killing it).
 */
export function runInNetns(script: string, args: string[], timeout: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'unshare',
      [
        '--net',
        '--',
        'sh',
        '-c',
        'ip link set lo up && exec "$0" "$@"',
        process.execPath,
        script,
        ...args,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} took longer than ${timeout} ms\n${stdout}\n${stderr}`));
    }, timeout);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else reject(new Error(`${script} exited with ${code}\n${stdout}\n${stderr}`));
    });
  });
}
