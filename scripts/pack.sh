#!/usr/bin/env bash
# Packs every public package (packages/* not marked "private": true) into one directory, as the
# registry would serve them: `workspace:^` ranges become real versions, and only `files`, README
# and LICENSE go in. Until a release is published, this is how to install peerlink into another
# project: `npm install <dir>/*.tgz` (all of them: the packages depend on each other).
# Usage, after `pnpm install && pnpm build`: bash scripts/pack.sh <dir>
set -euo pipefail
dest=${1:?usage: bash scripts/pack.sh <dir>}
mkdir -p "$dest"
dest=$(cd "$dest" && pwd)
cd "$(dirname "$0")/.."
if command -v pnpm >/dev/null 2>&1; then PNPM=(pnpm); else PNPM=(npx -y pnpm@12.21.0); fi

filters=()
while IFS= read -r name; do filters+=(--filter "$name"); done < <(node -e '
  const fs = require("node:fs");
  for (const dir of fs.readdirSync("packages").sort()) {
    let pkg;
    try { pkg = JSON.parse(fs.readFileSync(`packages/${dir}/package.json`, "utf8")); } catch { continue; }
    if (pkg.private === true) continue;
    if (!fs.existsSync(`packages/${dir}/dist`)) { console.error(`pack: ${pkg.name} is not built (run pnpm build)`); process.exit(1); }
    console.log(pkg.name);
  }')
[ ${#filters[@]} -gt 0 ] || { echo "pack: no public packages found" >&2; exit 1; }
"${PNPM[@]}" -r "${filters[@]}" pack --pack-destination "$dest" >/dev/null
ls "$dest"/*.tgz
