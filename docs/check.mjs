// Checks the generated API reference (docs/api, after `pnpm run docs`): one section per public
// package whose front page is the package's README, every item documented once, under the
// package that declares it (so the `peerlink` umbrella holds only its own items), the root README
// as the index, links between READMEs turned into links between sections, every subpath export
// (`peerlink/testing`) a module of its package's section, and no `@internal` item anywhere.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { publicPackages } from './typedoc.config.mjs';

const api = new URL('./api/', import.meta.url);
const packages = new URL('../packages/', import.meta.url);
const problems = [];
const read = (path) => readFileSync(new URL(path, api), 'utf8');
const text = (html) =>
  html
    .replace(/<[^>]+>/g, '')
    .replace(/&#x27;|&#39;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');
/** A README's first paragraph as plain words (no Markdown), the way the page shows it. */
const firstParagraph = (md) =>
  md
    .split(/\n\s*\n/)
    .find((p) => !p.startsWith('#'))
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/\*\*|`/g, '')
    .replace(/\s+/g, ' ')
    .trim();
/** TypeDoc's file name for a module: `@peerlink/codec` → `_peerlink_codec`. */
const slug = (name) => name.replace(/[@/]/g, '_');

if (!existsSync(api)) {
  console.error('docs/check: no docs/api; run `pnpm run docs` first');
  process.exit(1);
}
const owners = new Map(); // item name → packages that have a page for it
for (const kind of ['classes', 'functions', 'interfaces', 'types', 'variables']) {
  if (!existsSync(new URL(`${kind}/`, api))) continue;
  for (const file of readdirSync(new URL(`${kind}/`, api))) {
    const [module, item] = [
      file.slice(0, file.indexOf('.')),
      file.slice(file.indexOf('.') + 1, -5),
    ];
    owners.set(item, [...(owners.get(item) ?? []), module]);
  }
}
for (const dir of publicPackages) {
  const pkg = JSON.parse(readFileSync(new URL(`${dir}/package.json`, packages), 'utf8'));
  const page = `modules/${slug(pkg.name)}.html`;
  if (!existsSync(new URL(page, api))) {
    problems.push(`${pkg.name}: no section (${page})`);
    continue;
  }
  const html = read(page);
  const readme = readFileSync(new URL(`${dir}/README.md`, packages), 'utf8');
  if (!text(html).includes(firstParagraph(readme)))
    problems.push(`${pkg.name}: the section's front page is not its README`);
  const items = [...owners.values()].filter((m) => m.includes(slug(pkg.name))).length;
  if (items === 0) problems.push(`${pkg.name}: no items documented in its section`);
  if (/href="[^"]*\/README\.md"/.test(html.replace(/href="[^"]*examples[^"]*"/g, '')))
    problems.push(`${pkg.name}: a link to a package README was not turned into a section link`);
  // A subpath export (`./testing`) is an entry point of its own (the package's typedoc.json):
  // a module page under the package's section.
  for (const subpath of Object.keys(pkg.exports ?? {})) {
    if (subpath === '.' || subpath === './package.json') continue;
    const module = `modules/${slug(pkg.name)}.${subpath.slice(2).replace(/\//g, '_')}.html`;
    if (!existsSync(new URL(module, api)))
      problems.push(`${pkg.name}/${subpath.slice(2)}: not documented (no ${module})`);
  }
}
// No internal item: TypeDoc marks one it shows with an `Internal` tag (`excludeInternal` drops
// them; this catches an option or a re-export that lets one through).
const pages = (dir) =>
  readdirSync(new URL(dir, api), { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? pages(`${dir}${entry.name}/`)
      : entry.name.endsWith('.html')
        ? [`${dir}${entry.name}`]
        : [],
  );
for (const page of pages('')) {
  if (read(page).includes('<code class="tsd-tag">Internal</code>'))
    problems.push(`${page}: shows an @internal item`);
}
for (const [item, modules] of owners) {
  // Two packages may declare items of the same name; the umbrella never re-documents one.
  if (modules.length > 1 && modules.includes('peerlink'))
    problems.push(`${item} is documented ${modules.length} times: ${modules.join(', ')}`);
}
const index = read('index.html');
const rootReadme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
if (!text(index).includes(firstParagraph(rootReadme)))
  problems.push('index.html is not the root README');
for (const dir of publicPackages) {
  const pkg = JSON.parse(readFileSync(new URL(`${dir}/package.json`, packages), 'utf8'));
  if (!index.includes(`href="modules/${slug(pkg.name)}.html"`))
    problems.push(`index.html does not link ${pkg.name}'s section`);
}
if (problems.length > 0) {
  console.error(`docs/check: FAILED\n- ${problems.join('\n- ')}`);
  process.exit(1);
}
console.log(
  `docs/check: ${publicPackages.length} sections, each with its README; ${owners.size} items, each under the package that declares it; every subpath export documented; no @internal item`,
);
