import { spawn, spawnSync } from 'node:child_process';

/**
 * Whether this machine can give a test a fresh network namespace with only loopback: root,
 * `unshare` and `ip`. Returns `undefined` when it can, or why not (for the skip message).
 */
export function netnsUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'network namespaces need root (unshare --net)';
  const probe = spawnSync('unshare', ['--net', 'sh', '-c', 'ip link set lo up'], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  if (probe.error !== undefined) return `unshare is unavailable: ${probe.error.message}`;
  if (probe.status !== 0) return `unshare --net failed: ${probe.stderr.trim()}`;
  return undefined;
}

/** Whether `command` is on the PATH. */
export function hasCommand(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).status === 0;
}

/** What {@link runInNetns} saw. */
export interface NetnsResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `node script ...args` inside a fresh network namespace that has only a loopback interface
 * (`unshare --net`, then `ip link set lo up`): the program and everything it starts can reach
 * nothing but each other. Kills the process group (by pid) after `timeoutMs`.
 */
export function runInNetns(
  script: string,
  args: readonly string[],
  timeoutMs: number,
): Promise<NetnsResult> {
  const quoted = [process.execPath, script, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`);
  const child = spawn(
    'unshare',
    ['--net', 'sh', '-c', `ip link set lo up && exec ${quoted.join(' ')}`],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {}
      }
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The last line of `stdout` parsed as JSON, or `undefined`. */
export function lastJsonLine(stdout: string): Record<string, unknown> | undefined {
  const lines = stdout.trim().split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    try {
      return JSON.parse(lines[i]!) as Record<string, unknown>;
    } catch {}
  }
  return undefined;
}
