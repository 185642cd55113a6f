import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import { freePort } from './helpers.js';

/** Whether Debian's `microsocks` (a real, independently written SOCKS5 server) is installed. */
export const HAS_MICROSOCKS =
  spawnSync('microsocks', ['-h'], { stdio: 'ignore' }).error === undefined;

/** A running microsocks on 127.0.0.1. */
export interface Microsocks {
  /** `127.0.0.1:port`. */
  readonly address: string;
  stop(): Promise<void>;
}

/** Resolves once something accepts on `port`, retrying each refusal at once (no fixed sleep). */
function waitUntilAccepting(port: number, child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let attempts = 0;
    const onExit = (code: number | null) => reject(new Error(`microsocks exited (${code})`));
    child.once('exit', onExit);
    const attempt = () => {
      const probe = net.connect({ host: '127.0.0.1', port });
      probe.once('connect', () => {
        probe.destroy();
        child.off('exit', onExit);
        resolve();
      });
      probe.once('error', (error) => {
        probe.destroy();
        if (++attempts > 20_000 || child.exitCode !== null) {
          child.off('exit', onExit);
          reject(error);
        } else setImmediate(attempt);
      });
    };
    attempt();
  });
}

/** Starts microsocks on a free loopback port, optionally requiring `-u user -P pass`. */
export async function startMicrosocks(auth?: { user: string; pass: string }): Promise<Microsocks> {
  const port = await freePort();
  const args = ['-i', '127.0.0.1', '-p', String(port)];
  if (auth !== undefined) args.push('-u', auth.user, '-P', auth.pass);
  const child = spawn('microsocks', args, { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await waitUntilAccepting(port, child);
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    throw error;
  }
  return {
    address: `127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
