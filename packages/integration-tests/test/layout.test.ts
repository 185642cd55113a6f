// The repository's layout rules (issue 14), checked on the tree itself and, so that each check is
// known to fail when its rule is broken, on a small tree made here that breaks every rule:
// - no file in `packages/*/src` has more than 500 lines (one idea per file);
// - a transport adapter imports, among the `@peerlink/*` packages, `@peerlink/stream` only (TLS
//   also the shared socket-connection base of `@peerlink/transport-tcp`, its one runtime
//   dependency among them);
// - the workspace packages have no dependency cycle (by `package.json`, every kind of dependency,
//   and by what each package's `src` imports).
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** The most lines a source file may have. */
const MAX_LINES = 500;

/** The transport adapters, and the `@peerlink/*` packages each may import. */
const ADAPTERS: Record<string, readonly string[]> = {
  'transport-tcp': ['@peerlink/stream'],
  'transport-tls': ['@peerlink/stream', '@peerlink/transport-tcp'],
  'transport-memory': ['@peerlink/stream'],
  'transport-ws': ['@peerlink/stream'],
};

/** Every `.ts`, `.mts`, `.js` or `.mjs` file under `dir`, recursively (none if it is missing). */
function sourceFiles(dir: string): string[] {
  let entries: import('node:fs').Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(m?ts|m?js)$/.test(entry.name) ? [path] : [];
  });
}

/** The package directories under `packages/`. */
function packageDirs(root: string): string[] {
  return readdirSync(join(root, 'packages'), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
}

/** `text` without its comments (block and line), so that a comment never counts as an import. */
function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

/** The package names a source file imports (`@scope/name` or `name`, subpaths dropped). */
function importedPackages(text: string): Set<string> {
  const found = new Set<string>();
  const code = withoutComments(text);
  const patterns = [
    /\bfrom\s+['"]([^'"]+)['"]/g,
    /\bimport\s+['"]([^'"]+)['"]/g,
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const pattern of patterns) {
    for (const match of code.matchAll(pattern)) {
      const specifier = match[1]!;
      if (specifier.startsWith('.') || specifier.startsWith('node:')) continue;
      const parts = specifier.split('/');
      found.add(specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!);
    }
  }
  return found;
}

/** Files in `packages/*\/src` longer than {@link MAX_LINES} lines, as `path: lines`. */
export function oversizedFiles(root: string): string[] {
  const problems: string[] = [];
  for (const dir of packageDirs(root)) {
    for (const file of sourceFiles(join(root, 'packages', dir, 'src'))) {
      const text = readFileSync(file, 'utf8');
      const lines = text.endsWith('\n') ? text.split('\n').length - 1 : text.split('\n').length;
      if (lines > MAX_LINES) problems.push(`${relative(root, file)}: ${lines} lines`);
    }
  }
  return problems;
}

/** Imports of `@peerlink/*` packages an adapter may not use, as `file: package`. */
export function adapterImportProblems(root: string): string[] {
  const problems: string[] = [];
  for (const [adapter, allowed] of Object.entries(ADAPTERS)) {
    for (const file of sourceFiles(join(root, 'packages', adapter, 'src'))) {
      for (const name of importedPackages(readFileSync(file, 'utf8'))) {
        if ((name.startsWith('@peerlink/') || name === 'peerlink') && !allowed.includes(name)) {
          problems.push(`${relative(root, file)}: imports ${name}`);
        }
      }
    }
    const manifest = JSON.parse(
      readFileSync(join(root, 'packages', adapter, 'package.json'), 'utf8'),
    );
    for (const name of Object.keys(manifest.dependencies ?? {})) {
      if ((name.startsWith('@peerlink/') || name === 'peerlink') && !allowed.includes(name)) {
        problems.push(`packages/${adapter}/package.json: depends on ${name}`);
      }
    }
  }
  return problems;
}

/** The workspace's package directories: `packages/*`, `examples` and its subfolders, `bench`, `docs`. */
function workspaceDirs(root: string): string[] {
  const dirs = packageDirs(root).map((dir) => join(root, 'packages', dir));
  for (const extra of ['examples', 'examples/bitcoin', 'examples/bittorrent', 'bench', 'docs']) {
    dirs.push(join(root, extra));
  }
  return dirs.filter((dir) => {
    try {
      readFileSync(join(dir, 'package.json'));
      return true;
    } catch {
      return false;
    }
  });
}

/** Each dependency cycle among the workspace packages, as `a -> b -> a` (one per cycle found). */
export function dependencyCycles(root: string): string[] {
  const edges = new Map<string, Set<string>>();
  const dirs = workspaceDirs(root);
  const names = new Map<string, string>(); // dir -> name
  for (const dir of dirs) {
    names.set(dir, JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).name);
  }
  const workspace = new Set(names.values());
  for (const dir of dirs) {
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    const from = manifest.name as string;
    const to = new Set<string>();
    for (const kind of [
      'dependencies',
      'devDependencies',
      'peerDependencies',
      'optionalDependencies',
    ]) {
      for (const name of Object.keys(manifest[kind] ?? {})) if (workspace.has(name)) to.add(name);
    }
    for (const file of sourceFiles(join(dir, 'src'))) {
      for (const name of importedPackages(readFileSync(file, 'utf8'))) {
        if (workspace.has(name) && name !== from) to.add(name);
      }
    }
    edges.set(from, to);
  }
  const cycles: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (name: string): void => {
    state.set(name, 'visiting');
    path.push(name);
    for (const next of edges.get(name) ?? []) {
      if (state.get(next) === 'visiting') {
        cycles.push([...path.slice(path.indexOf(next)), next].join(' -> '));
      } else if (state.get(next) === undefined) {
        visit(next);
      }
    }
    path.pop();
    state.set(name, 'done');
  };
  for (const name of [...edges.keys()].sort()) if (state.get(name) === undefined) visit(name);
  return cycles;
}

describe('repository layout', () => {
  it(`no file in packages/*/src has more than ${MAX_LINES} lines`, () => {
    expect(oversizedFiles(ROOT)).toEqual([]);
  });

  it('each transport adapter imports only @peerlink/stream among the @peerlink packages', () => {
    expect(adapterImportProblems(ROOT)).toEqual([]);
  });

  it('the workspace packages have no dependency cycle', () => {
    expect(dependencyCycles(ROOT)).toEqual([]);
  });
});

describe('the layout checks fail on a tree that breaks the rules', () => {
  const root = mkdtempSync(join(tmpdir(), 'peerlink-layout-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const write = (path: string, text: string): void => {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  const manifest = (dir: string, name: string, dependencies: Record<string, string> = {}) =>
    write(`${dir}/package.json`, JSON.stringify({ name, dependencies }));

  manifest('packages/stream', '@peerlink/stream', { '@peerlink/codec': 'workspace:^' });
  manifest('packages/codec', '@peerlink/codec', { '@peerlink/stream': 'workspace:^' });
  manifest('packages/transport-tcp', '@peerlink/transport-tcp', { '@peerlink/stream': '1' });
  manifest('packages/transport-tls', '@peerlink/transport-tls', { '@peerlink/stream': '1' });
  manifest('packages/transport-memory', '@peerlink/transport-memory', { '@peerlink/codec': '1' });
  manifest('packages/transport-ws', '@peerlink/transport-ws', { '@peerlink/stream': '1' });
  manifest('packages/reactor', '@peerlink/reactor');
  write('packages/stream/src/long.ts', 'export const a = 1;\n'.repeat(MAX_LINES + 1));
  write('packages/stream/src/nested/ok.ts', 'export const a = 1;\n'.repeat(MAX_LINES));
  write(
    'packages/transport-tcp/src/index.ts',
    "// from '@peerlink/reactor' in a comment does not count\nimport { PeerlinkError } from '@peerlink/codec';\n",
  );
  write('packages/transport-ws/src/index.ts', "export { Reactor } from '@peerlink/reactor/sub';\n");
  write('packages/transport-tls/src/index.ts', "import { x } from '@peerlink/transport-tcp';\n");
  write('packages/reactor/src/index.ts', "const m = await import('@peerlink/transport-tcp');\n");
  write('packages/transport-tcp/src/back.ts', "import '@peerlink/reactor';\n");

  it('finds a file of 501 lines, not one of 500', () => {
    expect(oversizedFiles(root)).toEqual([`packages/stream/src/long.ts: ${MAX_LINES + 1} lines`]);
  });

  it('finds an adapter importing or depending on another @peerlink package', () => {
    expect(adapterImportProblems(root).sort()).toEqual(
      [
        'packages/transport-tcp/src/index.ts: imports @peerlink/codec',
        'packages/transport-tcp/src/back.ts: imports @peerlink/reactor',
        'packages/transport-ws/src/index.ts: imports @peerlink/reactor',
        'packages/transport-memory/package.json: depends on @peerlink/codec',
      ].sort(),
    );
  });

  it('finds cycles by package.json and by imports', () => {
    expect(dependencyCycles(root).sort()).toEqual(
      [
        '@peerlink/codec -> @peerlink/stream -> @peerlink/codec',
        '@peerlink/reactor -> @peerlink/transport-tcp -> @peerlink/reactor',
      ].sort(),
    );
  });
});
