#!/usr/bin/env node
// Checks packed packages (.tgz files, as `pnpm pack` writes them) the way a registry user gets
// them. Usage: node scripts/check-tarballs.mjs <dir> [--expect name@version ...]
//
// For every tarball: the manifest has no `workspace:` range left, the metadata a registry page
// shows (license MIT, repository with the package's directory, homepage, bugs, engines), and
// every file its `exports`, `main` and `types` name is inside, with a `.d.ts` for every
// JavaScript entry; README.md and LICENSE (the repository's) are inside; no tests, no build
// info. With --expect, the tarballs are exactly those packages at those versions.
// Prints one line per tarball; exits 1 with every problem listed if any check fails.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const REPOSITORY = 'https://github.com/peerlink-ts/peerlink';
const root = new URL('../', import.meta.url);

/** The problems found in one tarball (an empty list when it is fine). */
export function checkTarball(file, license) {
  const problems = [];
  const listing = execFileSync('tar', ['-tzf', file], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line !== '' && !line.endsWith('/'));
  const files = new Set(listing.map((line) => line.replace(/^package\//, '')));
  const read = (name) =>
    execFileSync('tar', ['-xzOf', file, `package/${name}`], { encoding: 'utf8' });
  if (!files.has('package.json'))
    return { name: file, version: '?', problems: ['no package.json'] };
  const pkg = JSON.parse(read('package.json'));
  const id = `${pkg.name}@${pkg.version}`;

  for (const field of [
    'dependencies',
    'devDependencies',
    'peerDependencies',
    'optionalDependencies',
  ]) {
    for (const [dep, range] of Object.entries(pkg[field] ?? {})) {
      if (String(range).startsWith('workspace:')) problems.push(`${field}.${dep} is "${range}"`);
    }
  }
  if (pkg.license !== 'MIT') problems.push(`license is ${JSON.stringify(pkg.license)}, not "MIT"`);
  const directory =
    pkg.name === 'peerlink' ? 'packages/peerlink' : `packages/${pkg.name.split('/')[1]}`;
  const repository = pkg.repository ?? {};
  if (repository.url !== `git+${REPOSITORY}.git`)
    problems.push(`repository.url is ${JSON.stringify(repository.url)}`);
  if (repository.directory !== directory)
    problems.push(
      `repository.directory is ${JSON.stringify(repository.directory)}, not "${directory}"`,
    );
  if (pkg.homepage !== `${REPOSITORY}/tree/main/${directory}#readme`)
    problems.push(`homepage is ${JSON.stringify(pkg.homepage)}`);
  if (pkg.bugs?.url !== `${REPOSITORY}/issues`)
    problems.push(`bugs.url is ${JSON.stringify(pkg.bugs?.url)}`);
  if (typeof pkg.engines?.node !== 'string') problems.push('no engines.node');
  if (pkg.type !== 'module') problems.push('not "type": "module"');

  if (!files.has('README.md')) problems.push('no README.md');
  if (!files.has('LICENSE')) problems.push('no LICENSE');
  else if (read('LICENSE') !== license)
    problems.push('LICENSE differs from the repository LICENSE');
  for (const name of files) {
    if (/(^|\/)test\/|\.test\.|\.tsbuildinfo$/.test(name)) problems.push(`ships ${name}`);
  }

  // Every path the manifest points at, with the condition that names it.
  const targets = [];
  const walk = (value, conditions) => {
    if (typeof value === 'string') targets.push([value, conditions]);
    else if (Array.isArray(value)) for (const v of value) walk(v, conditions);
    else if (value && typeof value === 'object')
      for (const [k, v] of Object.entries(value)) walk(v, [...conditions, k]);
  };
  if (pkg.exports === undefined) problems.push('no exports map');
  walk(pkg.exports, []);
  if (pkg.main) targets.push([pkg.main, ['main']]);
  if (pkg.types) targets.push([pkg.types, ['types']]);
  let typed = false;
  for (const [target, conditions] of targets) {
    if (target.includes('*')) {
      problems.push(`pattern export ${target} (not checked: list files instead)`);
      continue;
    }
    const path = target.replace(/^\.\//, '');
    if (!files.has(path)) {
      problems.push(`${conditions.join('.') || 'exports'} → ${target} is not in the tarball`);
      continue;
    }
    if (conditions.at(-1) === 'types') {
      typed = true;
      if (!path.endsWith('.d.ts')) problems.push(`types → ${target} is not a .d.ts`);
    } else if (path.endsWith('.js') && !files.has(path.replace(/\.js$/, '.d.ts'))) {
      problems.push(`${target} has no .d.ts beside it`);
    }
  }
  if (!typed) problems.push('no types condition in exports');
  return { name: pkg.name, version: pkg.version, id, problems, files: files.size };
}

function main() {
  const args = process.argv.slice(2);
  const dir = args.shift();
  if (!dir) {
    console.error('usage: node scripts/check-tarballs.mjs <dir> [--expect name@version ...]');
    process.exit(2);
  }
  const expected = args[0] === '--expect' ? args.slice(1) : undefined;
  const license = readFileSync(new URL('LICENSE', root), 'utf8');
  const tarballs = readdirSync(dir)
    .filter((f) => f.endsWith('.tgz'))
    .sort();
  const failures = [];
  const ids = [];
  for (const tarball of tarballs) {
    const result = checkTarball(join(dir, tarball), license);
    ids.push(result.id);
    if (result.problems.length === 0) console.log(`ok   ${result.id} (${result.files} files)`);
    else {
      console.log(`FAIL ${result.id ?? tarball}`);
      for (const p of result.problems) console.log(`     - ${p}`);
      failures.push(tarball);
    }
  }
  if (tarballs.length === 0) failures.push(`no tarballs in ${dir}`);
  if (expected !== undefined) {
    const missing = expected.filter((id) => !ids.includes(id));
    const extra = ids.filter((id) => !expected.includes(id));
    if (missing.length > 0) failures.push(`missing: ${missing.join(', ')}`);
    if (extra.length > 0) failures.push(`unexpected: ${extra.join(', ')}`);
  }
  if (failures.length > 0) {
    console.log(`check-tarballs: FAILED: ${failures.join('; ')}`);
    process.exit(1);
  }
  console.log(`check-tarballs: ${tarballs.length} tarballs passed`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href)
  main();
