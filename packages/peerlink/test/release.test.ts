/**
 * What a release needs, checked without packing: every public package's metadata and LICENSE, one
 * first-release changeset per package, the Node.js floor stated the same everywhere, and the
 * tarball checker of the release dry run (scripts/check-tarballs.mjs) rejecting what it must.
 * The dry run itself (`changeset version`, `pnpm publish --dry-run`, the tarballs installed and
 * loaded under the oldest Node.js claimed) is scripts/release-dry-run.sh, run by `.ci/run`.
 */
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const REPOSITORY = 'https://github.com/peerlink-ts/peerlink';
const read = (path: string) => readFileSync(join(root, path), 'utf8');
const json = (path: string) => JSON.parse(read(path)) as Record<string, unknown> & Manifest;

interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  license?: string;
  repository?: { type?: string; url?: string; directory?: string };
  homepage?: string;
  bugs?: { url?: string };
  engines?: { node?: string };
}

const dirs = readdirSync(join(root, 'packages'))
  .filter((dir) => existsSync(join(root, 'packages', dir, 'package.json')))
  .sort();
const publicDirs = dirs.filter((dir) => json(`packages/${dir}/package.json`).private !== true);

describe('release metadata', () => {
  it('every public package names the repository, its directory, homepage and issue tracker', () => {
    expect(publicDirs.length).toBeGreaterThanOrEqual(9);
    for (const dir of publicDirs) {
      const pkg = json(`packages/${dir}/package.json`);
      expect(pkg.license, pkg.name).toBe('MIT');
      expect(pkg.repository, pkg.name).toEqual({
        type: 'git',
        url: `git+${REPOSITORY}.git`,
        directory: `packages/${dir}`,
      });
      expect(pkg.homepage, pkg.name).toBe(`${REPOSITORY}/tree/main/packages/${dir}#readme`);
      expect(pkg.bugs, pkg.name).toEqual({ url: `${REPOSITORY}/issues` });
    }
  });

  it('LICENSE (MIT) at the root and, identical, in every public package', () => {
    const license = read('LICENSE');
    expect(license).toMatch(/^MIT License\n/);
    for (const dir of publicDirs) expect(read(`packages/${dir}/LICENSE`), dir).toBe(license);
  });

  it('one Node.js floor everywhere: every package.json engines, the READMEs, the dry run', () => {
    const floor = json('package.json').engines?.node;
    expect(floor).toBe('>=20.19');
    const manifests = [
      ...dirs.map((dir) => `packages/${dir}/package.json`),
      'examples/package.json',
      'bench/package.json',
      'docs/package.json',
    ];
    for (const file of manifests) expect(json(file).engines?.node, file).toBe(floor);
    const version = floor!.slice(2);
    const readme = read('README.md');
    for (const match of readme.matchAll(/Node\.js (\d+\.\d+) or later/g))
      expect(match[1], match[0]).toBe(version);
    expect(readme).toContain(`Node.js ${version} or later`);
    expect(read('packages/peerlink/README.md')).toContain(`Node.js ${version} or later`);
    // .ci/run rehearses the release and loads the tarballs under that Node.js version.
    expect(read('.ci/run')).toContain('bash scripts/release-dry-run.sh --floor');
  });

  it('each public package has one changeset that releases it, the first saying what it is', () => {
    const changesets = readdirSync(join(root, '.changeset'))
      .filter((f) => f.endsWith('.md') && f !== 'README.md')
      .map((f) => ({ file: f, text: read(`.changeset/${f}`) }));
    for (const dir of publicDirs) {
      const { name } = json(`packages/${dir}/package.json`);
      const minor = new RegExp(`\\n["']${name.replace('/', '\\/')}["']: minor\\n`);
      const releasing = changesets.filter((c) => minor.test(c.text));
      expect(releasing.length, `${name}: a changeset with a minor bump`).toBeGreaterThan(0);
      const first = changesets.find((c) => c.file === `first-release-${dir}.md`);
      expect(first, `${name}: .changeset/first-release-${dir}.md`).toBeDefined();
      expect(first!.text).toContain(`\n---\n\nFirst release. \`${name}\` `);
    }
    // The development history before the first release is not replayed as changelog entries.
    const firsts = changesets.filter((c) => c.file.startsWith('first-release-'));
    expect(firsts.length).toBe(publicDirs.length);
  });
});

describe('scripts/check-tarballs.mjs', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'peerlink-tarballs-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));
  const license = read('LICENSE');

  /** A packed `@peerlink/demo-pkg`, with `change` applied to its files before packing. */
  function tarball(label: string, change: (files: Map<string, string>) => void = () => {}): string {
    const manifest = {
      name: '@peerlink/demo-pkg',
      version: '0.1.0',
      license: 'MIT',
      repository: { type: 'git', url: `git+${REPOSITORY}.git`, directory: 'packages/demo-pkg' },
      homepage: `${REPOSITORY}/tree/main/packages/demo-pkg#readme`,
      bugs: { url: `${REPOSITORY}/issues` },
      type: 'module',
      engines: { node: '>=20.19' },
      exports: {
        '.': { types: './dist/index.d.ts', default: './dist/index.js' },
        './package.json': './package.json',
      },
      main: './dist/index.js',
      types: './dist/index.d.ts',
      dependencies: { '@peerlink/codec': '^0.1.0' },
    };
    const files = new Map<string, string>([
      ['package.json', JSON.stringify(manifest, null, 2)],
      ['README.md', '# demo\n'],
      ['LICENSE', license],
      ['dist/index.js', 'export const x = 1;\n'],
      ['dist/index.d.ts', 'export declare const x = 1;\n'],
    ]);
    change(files);
    const dir = join(scratch, label);
    for (const [name, text] of files) {
      mkdirSync(join(dir, 'package', name, '..'), { recursive: true });
      writeFileSync(join(dir, 'package', name), text);
    }
    const out = join(scratch, `out-${label}`);
    mkdirSync(out);
    const result = spawnSync('tar', [
      '-czf',
      join(out, 'demo-pkg-0.1.0.tgz'),
      '-C',
      dir,
      'package',
    ]);
    expect(result.status).toBe(0);
    return out;
  }

  function check(dir: string, ...args: string[]) {
    const result = spawnSync(
      process.execPath,
      [join(root, 'scripts/check-tarballs.mjs'), dir, ...args],
      { encoding: 'utf8' },
    );
    return { status: result.status, out: result.stdout + result.stderr };
  }

  const edit = (files: Map<string, string>, f: (pkg: Record<string, unknown>) => void) => {
    const pkg = JSON.parse(files.get('package.json')!) as Record<string, unknown>;
    f(pkg);
    files.set('package.json', JSON.stringify(pkg));
  };

  it('accepts a complete package, and checks the expected list', () => {
    const good = tarball('good');
    expect(check(good)).toEqual({
      status: 0,
      out: expect.stringContaining('ok   @peerlink/demo-pkg@0.1.0'),
    });
    expect(check(good, '--expect', '@peerlink/demo-pkg@0.1.0').status).toBe(0);
    const wrong = check(good, '--expect', '@peerlink/demo-pkg@0.2.0');
    expect(wrong.status).toBe(1);
    expect(wrong.out).toContain('missing: @peerlink/demo-pkg@0.2.0');
  });

  const broken: [string, (files: Map<string, string>) => void, string][] = [
    ['no LICENSE', (f) => void f.delete('LICENSE'), 'no LICENSE'],
    ['another LICENSE', (f) => void f.set('LICENSE', 'ISC'), 'LICENSE differs'],
    ['no README', (f) => void f.delete('README.md'), 'no README.md'],
    [
      'a workspace: range',
      (f) => edit(f, (p) => (p.dependencies = { '@peerlink/codec': 'workspace:^' })),
      'dependencies.@peerlink/codec is "workspace:^"',
    ],
    ['an export missing', (f) => void f.delete('dist/index.js'), 'default → ./dist/index.js'],
    ['types missing', (f) => void f.delete('dist/index.d.ts'), 'types → ./dist/index.d.ts'],
    [
      'the wrong directory',
      (f) => edit(f, (p) => (p.repository = { type: 'git', url: `git+${REPOSITORY}.git` })),
      'repository.directory',
    ],
    ['no bugs', (f) => edit(f, (p) => delete p.bugs), 'bugs.url'],
    ['a test file', (f) => void f.set('dist/x.test.js', ''), 'ships dist/x.test.js'],
  ];
  for (const [label, change, problem] of broken) {
    it(`rejects a package with ${label}`, () => {
      const result = check(tarball(label.replaceAll(/\W/g, '-'), change));
      expect(result.status).toBe(1);
      expect(result.out).toContain(problem);
    });
  }
});
