#!/usr/bin/env bash
# Rehearses the release on a throwaway copy of the workspace (nothing here is committed or
# published): `changeset version` bumps versions and writes changelogs from .changeset/, then
# `pnpm publish --dry-run` runs for every public package, then each package is packed and its
# tarball checked (scripts/check-tarballs.mjs, publint, are-the-types-wrong), and finally the
# tarballs are installed with npm into a scratch project where every package is loaded with
# `import` and with `require`, and the README's complete program runs.
#
# Usage, after `pnpm install && pnpm build`: bash scripts/release-dry-run.sh [--floor]
# --floor also installs the oldest Node.js the packages claim (`engines.node` of the root
# package.json, from the npm registry's `node` package) and repeats the last step under it.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
floor=false
[ "${1:-}" = --floor ] && floor=true
if command -v pnpm >/dev/null 2>&1; then PNPM=(pnpm); else PNPM=(npx -y pnpm@12.21.0); fi
bin=$root/docs/node_modules/.bin
for tool in publint attw; do
  [ -x "$bin/$tool" ] || { echo "release-dry-run: $tool missing; run pnpm install first" >&2; exit 1; }
done
[ -f examples/dist/hello.js ] || { echo "release-dry-run: run pnpm build first" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
step() { printf '\n--- release dry run: %s\n' "$*"; }

step "throwaway copy of the workspace"
mkdir "$tmp/repo"
tar -C "$root" --exclude=./.git --exclude=node_modules --exclude=./docs/api --exclude=.turbo \
  -cf - . | tar -C "$tmp/repo" -xf -
cd "$tmp/repo"

step "changeset version"
node "$root/node_modules/@changesets/cli/bin.js" version
left=$(find .changeset -name '*.md' ! -name README.md)
[ -z "$left" ] || { echo "release-dry-run: changesets left after version: $left" >&2; exit 1; }
# The public packages and their new versions; each must have a changelog entry for it.
mapfile -t expect < <(node -e '
  const fs = require("node:fs");
  for (const dir of fs.readdirSync("packages").sort()) {
    const file = `packages/${dir}/package.json`;
    if (!fs.existsSync(file)) continue;
    const pkg = JSON.parse(fs.readFileSync(file, "utf8"));
    if (pkg.private === true) continue;
    const changelog = `packages/${dir}/CHANGELOG.md`;
    if (pkg.version === "0.0.0") { console.error(`${pkg.name}: no changeset bumps it`); process.exitCode = 1; }
    else if (!fs.existsSync(changelog) || !fs.readFileSync(changelog, "utf8").includes(`\n## ${pkg.version}\n`)) {
      console.error(`${pkg.name}: CHANGELOG.md has no ${pkg.version} entry`); process.exitCode = 1;
    }
    console.log(`${pkg.name}@${pkg.version}`);
  }')
echo "versions: ${expect[*]}"

step "pnpm publish --dry-run (every public package)"
"${PNPM[@]}" -r publish --dry-run --no-git-checks 2>&1 | tee "$tmp/publish.log"
published=$(grep -o '📦 [^ ]*' "$tmp/publish.log" | cut -c6- | sort | tr '\n' ' ')
wanted=$(printf '%s\n' "${expect[@]}" | sort | tr '\n' ' ')
if [ "$published" != "$wanted" ]; then
  echo "release-dry-run: publish would release [$published], expected [$wanted]" >&2
  exit 1
fi

step "pack and check every tarball"
filters=()
for id in "${expect[@]}"; do filters+=(--filter "${id%@*}"); done
"${PNPM[@]}" -r "${filters[@]}" pack --pack-destination "$tmp/tarballs" >/dev/null
node "$root/scripts/check-tarballs.mjs" "$tmp/tarballs" --expect "${expect[@]}"
failed=()
for tarball in "$tmp"/tarballs/*.tgz; do
  label=$(basename "$tarball" .tgz)
  "$bin/publint" run "$tarball" >"$tmp/publint.log" 2>&1 || { cat "$tmp/publint.log"; failed+=("$label (publint)"); }
  "$bin/attw" "$tarball" --profile esm-only --format table-flipped --no-emoji >"$tmp/attw.log" 2>&1 ||
    { cat "$tmp/attw.log"; failed+=("$label (attw)"); }
done
[ ${#failed[@]} -eq 0 ] || { echo "release-dry-run: FAILED: ${failed[*]}" >&2; exit 1; }
echo "publint and are-the-types-wrong: ${#expect[@]} tarballs passed"

step "install the tarballs with npm and load every package"
mkdir "$tmp/project"
cd "$tmp/project"
echo '{ "name": "release-consumer", "version": "1.0.0", "private": true, "type": "module" }' >package.json
npm install --no-audit --no-fund --loglevel=error "$tmp"/tarballs/*.tgz
cp "$root/examples/dist/hello.js" hello.mjs
names=$(printf '%s\n' "${expect[@]}" | sed 's/@[^@]*$//' | paste -sd, -)
load_all() { # $1: the node binary
  local node=$1
  echo "$("$node" --version): import and require of ${names}"
  "$node" --input-type=module -e '
    import { createRequire } from "node:module";
    const require = createRequire(`${process.cwd()}/`);
    for (const name of process.argv[1].split(",")) {
      const imported = await import(name);
      const required = require(name);
      if (Object.keys(imported).length === 0) throw new Error(`${name}: import gave no exports`);
      for (const key of Object.keys(imported))
        if (required[key] !== imported[key]) throw new Error(`${name}: require().${key} differs from import`);
    }' "$names"
  local out
  out=$("$node" hello.mjs)
  echo "$out" | sed 's/^/  hello: /'
  if ! echo "$out" | grep -qx 'peer [0-9]* says PEER (8 bytes on the wire)' ||
    [ "$(echo "$out" | wc -l)" -ne 4 ]; then
    echo "release-dry-run: the README program printed something else under $("$node" --version)" >&2
    exit 1
  fi
}
load_all node
if $floor; then
  version=$(node -p 'const v = require(process.argv[1]).engines.node.replace(/^>=\s*/, ""); v.split(".").length === 2 ? `${v}.0` : v' "$root/package.json")
  step "the oldest Node.js claimed: $version"
  cache=$root/node_modules/.cache/node-floor
  if [ ! -x "$cache/node_modules/.bin/node" ] || [ "$("$cache/node_modules/.bin/node" --version)" != "v$version" ]; then
    npm install --no-audit --no-fund --loglevel=error --prefix "$cache" "node@$version"
  fi
  load_all "$cache/node_modules/.bin/node"
fi
echo
echo "release-dry-run: ${#expect[@]} packages would be published: ${expect[*]}"
