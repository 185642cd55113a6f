import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const srcDir = fileURLToPath(new URL('../src/', import.meta.url));

/** Every module specifier in a source file: static imports, re-exports, dynamic imports, require. */
function specifiers(source: string): string[] {
  const found: string[] = [];
  const patterns = [
    /\b(?:import|export)\s[^'"]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const pattern of patterns) {
    for (const match of source.matchAll(pattern)) found.push(match[1]!);
  }
  return found;
}

describe('portability', () => {
  const files = readdirSync(srcDir).filter((f) => f.endsWith('.ts'));

  it('has source files to check', () => {
    expect(files).toContain('index.ts');
    expect(files.length).toBeGreaterThan(3);
  });

  it('imports nothing from `node:*` in its sources (it must run in a browser)', () => {
    for (const file of files) {
      const source = readFileSync(srcDir + file, 'utf8');
      expect(source, file).not.toMatch(/['"]node:/);
    }
  });

  it('imports only its own modules and `@peerlink/stream`', () => {
    const allowed = new Set(['@peerlink/stream']);
    for (const file of files) {
      for (const spec of specifiers(readFileSync(srcDir + file, 'utf8'))) {
        expect(spec.startsWith('./') || allowed.has(spec), `${file} imports ${spec}`).toBe(true);
      }
    }
  });

  it('detects an import the checks forbid', () => {
    expect(specifiers(`import { x } from 'node:fs';\nexport * from "./a.js";`)).toEqual([
      'node:fs',
      './a.js',
    ]);
  });
});
