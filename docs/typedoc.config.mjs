// The API reference: one section per public package (packages/* not marked private), its README
// rendered as the section's front page and, below it, every item the package itself declares.
// Each package is converted on its own (`entryPointStrategy: 'packages'`, from `src/index.ts`
// with the package's own tsconfig), so an item is documented once, under the package that
// declares it: what the `peerlink` umbrella re-exports from the other packages is theirs (they
// resolve to those packages' built declarations, treated as external), and its section lists its
// own items (`run`, …) under the README that names the packages it re-exports.
// Links between READMEs become links between sections. A package with subpath exports lists
// their entry points in its own typedoc.json (`peerlink`: `src/index.ts` and `src/testing.ts`,
// for `peerlink/testing`), each a module of its section. Run `pnpm build` first.
// TypeScript 5.9 here: TypeDoc 0.28 does not run on TypeScript 7.
import { existsSync, readdirSync, readFileSync } from 'node:fs';

const packages = new URL('../packages/', import.meta.url);

/** The directories of the public packages, sorted. */
export const publicPackages = readdirSync(packages)
  .filter((dir) => existsSync(new URL(`${dir}/package.json`, packages)))
  .filter(
    (dir) =>
      JSON.parse(readFileSync(new URL(`${dir}/package.json`, packages), 'utf8')).private !== true,
  )
  .sort();

/** @type {Partial<import('typedoc').TypeDocOptions>} */
export default {
  name: 'peerlink',
  entryPointStrategy: 'packages',
  entryPoints: publicPackages.map((dir) => `../packages/${dir}`),
  packageOptions: {
    entryPoints: ['src/index.ts'],
    readme: 'README.md',
    excludeExternals: true,
    externalPattern: ['**/node_modules/**', '**/packages/*/dist/**'],
    excludePrivate: true,
    excludeInternal: true,
    disableSources: true,
  },
  readme: '../README.md',
  out: 'api',
  sort: ['kind', 'alphabetical'],
  disableSources: true,
  // A type the public API uses but the package does not export ("referenced by … but not
  // included in the documentation"), a broken link or any other warning fails `pnpm run docs`.
  validation: { notExported: true, invalidLink: true, notDocumented: false },
  treatWarningsAsErrors: true,
};
