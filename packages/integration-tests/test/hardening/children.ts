/**
 * Child processes running `reactor-child.mjs` (a reactor driven by JSON lines), for the tests
 * that need a process of their own: a lowered descriptor limit, or another network namespace.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Harness } from './guard.js';

export const CHILD_SCRIPT = fileURLToPath(new URL('./reactor-child.mjs', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/**
 * Builds the packages the child imports (`tsc -b` is incremental: fast when nothing changed).
 * Other test files build too, in other workers: the build holds the workspace's shared lock
 * (`node_modules/.peerlink-build.lock`, with `flock` where available).
 * Returns an error message, or `undefined` on success.
 */
export function buildForChildren(): string | undefined {
  const tsc = `${ROOT}node_modules/typescript/bin/tsc`;
  const command = [process.execPath, tsc, '-b', 'packages/reactor', 'packages/transport-tcp'];
  const lock = `${ROOT}node_modules/.peerlink-build.lock`;
  const args =
    existsSync('/usr/bin/flock') || existsSync('/bin/flock')
      ? ['flock', lock, ...command]
      : command;
  const result = spawnSync(args[0]!, args.slice(1), {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (result.status === 0) return undefined;
  return `tsc -b failed (${result.status}): ${result.stdout}${result.stderr}`;
}

export type Line = Record<string, unknown>;

/** One child, its output parsed into lines. */
export class Child {
  readonly lines: Line[] = [];
  stderr = '';
  readonly exited: Promise<number | null>;
  private waiters: Array<{ test: (l: Line) => boolean; resolve: (l: Line) => void }> = [];

  constructor(readonly proc: ChildProcess) {
    let buffer = '';
    proc.stdout!.setEncoding('utf8');
    proc.stdout!.on('data', (data: string) => {
      buffer += data;
      for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
        const text = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (text.trim() === '') continue;
        let line: Line;
        try {
          line = JSON.parse(text) as Line;
        } catch {
          line = { raw: text };
        }
        this.lines.push(line);
        this.waiters = this.waiters.filter((w) => {
          if (!w.test(line)) return true;
          w.resolve(line);
          return false;
        });
      }
    });
    proc.stderr!.setEncoding('utf8');
    proc.stderr!.on('data', (d: string) => {
      this.stderr += d;
    });
    proc.stdin!.on('error', () => {});
    this.exited = once(proc, 'close').then(([code]) => code as number | null);
  }

  /** The first line (already printed or future) matching `test`; rejects if the child exits. */
  waitFor(test: (l: Line) => boolean, what = 'a line'): Promise<Line> {
    const found = this.lines.find(test);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      this.waiters.push({ test, resolve });
      this.exited.then((code) =>
        reject(new Error(`child exited (${code}) before ${what}; stderr: ${this.stderr}`)),
      );
    });
  }

  /** Resolves once `count` lines match `test`. */
  async waitForCount(test: (l: Line) => boolean, count: number, what = 'lines'): Promise<Line[]> {
    let n = this.lines.filter(test).length;
    while (n < count) {
      const start = this.lines.length;
      await this.waitFor((l) => this.lines.indexOf(l) >= start && test(l), what);
      n = this.lines.filter(test).length;
    }
    return this.lines.filter(test);
  }

  send(command: Line): void {
    this.proc.stdin!.write(`${JSON.stringify(command)}\n`);
  }

  /** Lines reporting a crash or a process warning. */
  get troubles(): Line[] {
    return this.lines.filter((l) => 'fatal' in l || 'warning' in l);
  }
}

/** Spawns `command args`, killed (and waited for) after the test if still running. */
export function spawnChild(h: Harness, command: string, args: string[]): Child {
  const proc = spawn(command, args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  const child = new Child(proc);
  h.defer(async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    await child.exited;
  });
  return child;
}
