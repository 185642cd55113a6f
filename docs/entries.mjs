// Writes one TypeDoc entry point per public package into .entries/: a module named after the
// package that re-exports its source entry, so the reference is built from the sources (no build
// needed) and each package appears under its npm name. Private packages are skipped.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

const packagesDir = new URL('../packages/', import.meta.url);
const out = new URL('./.entries/', import.meta.url);
rmSync(out, { recursive: true, force: true });
mkdirSync(out);
const names = [];
for (const dir of readdirSync(packagesDir).sort()) {
  let pkg;
  try {
    pkg = JSON.parse(readFileSync(new URL(`${dir}/package.json`, packagesDir), 'utf8'));
  } catch {
    continue;
  }
  if (pkg.private === true) continue;
  names.push(pkg.name);
  const summary = (pkg.description ?? '').replaceAll('*/', '*\\/');
  writeFileSync(
    new URL(`${dir}.ts`, out),
    `/**\n * ${summary}\n *\n * @module ${pkg.name}\n */\nexport * from '${pkg.name}';\n`,
  );
}
console.log(`TypeDoc entry points: ${names.join(', ')}`);
