#!/usr/bin/env bash
# Checks every public package (packages/* whose package.json is not "private": true) as it would
# be published: packs it with pnpm (so `workspace:^` ranges become real versions and only the
# `files` are included), then runs publint and @arethetypeswrong/cli (profile esm-only: the
# packages are ESM only, so the CommonJS resolutions are not checked) on each tarball, and
# scripts/check-tarballs.mjs (README, LICENSE, metadata, every exported file and its types).
# Fails if either tool reports an error for any package. Run after `pnpm build`.
# The tools are devDependencies of the private @peerlink/docs package.
set -uo pipefail
cd "$(dirname "$0")/.."

bin=docs/node_modules/.bin
if [ ! -x "$bin/publint" ] || [ ! -x "$bin/attw" ]; then
  echo "check-packages: publint/attw missing; run pnpm install first" >&2
  exit 1
fi
if command -v pnpm >/dev/null 2>&1; then PNPM=(pnpm); else PNPM=(npx -y pnpm@12.21.0); fi

names=()
while IFS= read -r name; do names+=("$name"); done < <(node -e '
  const fs = require("node:fs");
  for (const dir of fs.readdirSync("packages").sort()) {
    let pkg;
    try { pkg = JSON.parse(fs.readFileSync(`packages/${dir}/package.json`, "utf8")); } catch { continue; }
    if (pkg.private === true) continue;
    if (!fs.existsSync(`packages/${dir}/dist`)) { console.error(`check-packages: ${pkg.name} is not built (run pnpm build)`); process.exitCode = 1; }
    console.log(pkg.name);
  }') || exit 1
[ ${#names[@]} -gt 0 ] || { echo "check-packages: no public packages found" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
filters=()
for name in "${names[@]}"; do filters+=(--filter "$name"); done
if ! "${PNPM[@]}" -r "${filters[@]}" pack --pack-destination "$tmp" >"$tmp/pack.log" 2>&1; then
  cat "$tmp/pack.log" >&2
  echo "check-packages: pnpm pack failed" >&2
  exit 1
fi

failed=()
node scripts/check-tarballs.mjs "$tmp" || failed+=("check-tarballs (README, LICENSE, metadata, exports)")
for tarball in "$tmp"/*.tgz; do
  label=$(basename "$tarball" .tgz)
  printf '\n--- %s: publint\n' "$label"
  "$bin/publint" run "$tarball" || failed+=("$label (publint)")
  printf -- '--- %s: are the types wrong (esm-only)\n' "$label"
  "$bin/attw" "$tarball" --profile esm-only --format table-flipped --no-emoji || failed+=("$label (attw)")
done

echo
if [ ${#failed[@]} -gt 0 ]; then
  echo "check-packages: FAILED: ${failed[*]}"
  exit 1
fi
echo "check-packages: ${#names[@]} packages passed publint and attw: ${names[*]}"
