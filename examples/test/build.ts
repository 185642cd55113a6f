import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const root = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Brings `dist` of `project` (and everything it references) up to date with `tsc -b`, which is
 * incremental: a no-op when nothing changed. Test files in other workers may build at the same
 * time, so the build holds an exclusive lock (`flock`, where available) for its duration.
 */
export function buildProject(project: string): void {
  const tsc = `${root}node_modules/typescript/bin/tsc`;
  const command = [process.execPath, tsc, '-b', project];
  const lock = `${root}node_modules/.peerlink-build.lock`;
  const args =
    existsSync('/usr/bin/flock') || existsSync('/bin/flock')
      ? ['flock', lock, ...command]
      : command;
  const result = spawnSync(args[0]!, args.slice(1), { cwd: root, encoding: 'utf8' });
  if (result.status !== 0) {
    throw new Error(`tsc -b ${project} failed:\n${result.stdout}${result.stderr}`);
  }
}
