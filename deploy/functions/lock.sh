#!/usr/bin/env bash
# Regenerates deploy/functions/package-lock.json from the root lockfile: seeds it with the root's entries,
# then lets npm prune what the Functions manifest does not need. Versions stay those of the root lockfile,
# so the root `npm ci` caches every tarball the package installs (test/stack/functions-package.test.ts).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
node -e '
  const fs = require("node:fs");
  const root = JSON.parse(fs.readFileSync("../../package-lock.json", "utf8"));
  const pkg = JSON.parse(fs.readFileSync("package.json", "utf8"));
  const packages = { "": { name: pkg.name, version: pkg.version } };
  for (const [key, entry] of Object.entries(root.packages)) {
    if (!key.startsWith("node_modules/")) continue;
    const { dev, devOptional, peer, ...rest } = entry; // the root marks them dev; npm recomputes the flags
    packages[key] = rest;
  }
  fs.writeFileSync("package-lock.json", JSON.stringify({ name: pkg.name, version: pkg.version, lockfileVersion: 3, requires: true, packages }, null, 2) + "\n");'
npm install --package-lock-only --ignore-scripts --no-audit --no-fund
