/**
 * Test helper: bundles workspace sources for a browser (or Node) with esbuild, straight from
 * `src` (no build needed). An `@peerlink/<name>` import resolves the way a bundler resolves the
 * published package, through its `exports` map (the `browser` condition first for a browser
 * bundle), with `dist/x.js` read as `src/x.ts`. Node built-ins are recorded, not bundled.
 */

import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

/** The repository root. */
export const root = fileURLToPath(new URL('../../../../', import.meta.url));

const builtins = new Set(builtinModules);

type Exports = string | { [condition: string]: Exports };

function pick(entry: Exports, conditions: readonly string[]): string | undefined {
  if (typeof entry === 'string') return entry;
  for (const [condition, value] of Object.entries(entry)) {
    if (condition === 'default' || conditions.includes(condition)) {
      const found = pick(value, conditions);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/** The source file a bundler reaches for `@peerlink/<dir>` under `conditions`. */
export function sourceEntry(dir: string, conditions: readonly string[]): string {
  const pkg = JSON.parse(readFileSync(`${root}packages/${dir}/package.json`, 'utf8')) as {
    exports: Record<string, Exports>;
  };
  const target = pick(pkg.exports['.']!, conditions);
  if (target === undefined) throw new Error(`@peerlink/${dir}: no export for ${conditions}`);
  return `${root}packages/${dir}/${target.replace(/^\.\/dist\/(.*)\.js$/, 'src/$1.ts')}`;
}

/** What {@link bundle} made. */
export interface Bundle {
  /** The bundled code. */
  code: string;
  /** Every Node built-in imported, as `importer -> module`. */
  nodeImports: string[];
  /** Every input file of the bundle, relative to the repository root. */
  inputs: string[];
}

/** Bundles `entry` (a file, or `{ contents }` resolved from the repository root). */
export async function bundle(
  entry: string | { contents: string },
  platform: 'browser' | 'node',
  external: string[] = [],
): Promise<Bundle> {
  const conditions = platform === 'browser' ? ['browser', 'import'] : ['node', 'import'];
  const nodeImports: string[] = [];
  const result = await esbuild.build({
    ...(typeof entry === 'string'
      ? { entryPoints: [entry] }
      : { stdin: { contents: entry.contents, resolveDir: root, loader: 'ts' } }),
    bundle: true,
    write: false,
    format: 'esm',
    platform,
    target: 'es2022',
    metafile: true,
    logLevel: 'silent',
    external,
    plugins: [
      {
        name: 'peerlink-sources',
        setup(build) {
          build.onResolve({ filter: /^@peerlink\/[^/]+$/ }, (args) => ({
            path: sourceEntry(args.path.slice('@peerlink/'.length), conditions),
          }));
          build.onResolve({ filter: /^peerlink$/ }, () => ({
            path: sourceEntry('peerlink', conditions),
          }));
          build.onResolve({ filter: /^[^./]/ }, (args) => {
            const name = args.path.startsWith('node:') ? args.path.slice(5) : args.path;
            if (!builtins.has(name) && !builtins.has(name.split('/')[0]!)) return undefined;
            nodeImports.push(`${args.importer.replace(root, '')} -> ${args.path}`);
            return { path: args.path, external: true };
          });
        },
      },
    ],
  });
  return {
    code: result.outputFiles[0]!.text,
    nodeImports,
    inputs: Object.keys(result.metafile.inputs),
  };
}
