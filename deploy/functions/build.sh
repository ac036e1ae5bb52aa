#!/usr/bin/env bash
# Assembles the reconcile job's Azure Functions package (what Azure/functions-action publishes) from the
# committed manifest and lockfile in this folder, so every deploy ships the same dependencies.
#   deploy/functions/build.sh OUT_DIR [CAMPAIGNS_DIR]
# OUT_DIR must not exist yet (or be empty). CAMPAIGNS_DIR is the stack's `campaignsDir` (default
# `campaigns`), relative to the project root; it lands at the same relative path in the package, which is
# where the job resolves it (CAMPAIGNS_DIR app setting against the package root). campaign-source.json at the
# package root names the commit they come from ($GITHUB_SHA or HEAD, only from a clean campaigns directory:
# see campaign-source.sh).
# Extra flags for `npm ci` (tests pass --offline) come from DEPLOY_NPM_CI_FLAGS.
# The Node.js major the app runs on Flex Consumption is in .node-version next to this script (the one place:
# the Pulumi program and the workflows' setup-node read it too); the manifest's `engines` must say the same.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:?usage: deploy/functions/build.sh OUT_DIR [CAMPAIGNS_DIR]}"
campaigns="${2:-campaigns}"
campaigns="${campaigns%/}"

fail() { echo "deploy/functions/build.sh: $*" >&2; exit 1; }

case "/$campaigns/" in
  //* | */../*) fail "CAMPAIGNS_DIR must be a relative path inside the project without .. segments: '$campaigns'" ;;
esac
[ -d "$root/$campaigns" ] || fail "campaigns directory '$campaigns' does not exist under $root"
if [ -e "$out" ] && [ -n "$(ls -A "$out")" ]; then fail "OUT_DIR '$out' exists and is not empty"; fi

[ -f "$here/.node-version" ] || fail "$here/.node-version is missing: it names the Node.js major of the Functions runtime"
node_major="$(tr -d '[:space:]' < "$here/.node-version")"
engines="$(node -p 'require(process.argv[1]).engines?.node ?? ""' "$here/package.json")"
[ "$engines" = "$node_major.x" ] || fail "package.json engines.node is '$engines' but .node-version says $node_major: set engines.node to \"$node_major.x\" (and in package-lock.json)"
build_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$build_major" != "$node_major" ]; then
  echo "deploy/functions/build.sh: building with Node.js $build_major; the app runs on Node.js $node_major (.node-version)" >&2
fi
mkdir -p "$out"
out="$(cd "$out" && pwd)"

# A fresh build with the CLI's build config (tsconfig.build.json: all of src/ except the Pulumi program),
# compiled straight into the empty package rather than into the project's dist/, so tests that run this
# script never delete dist/ under other tests that are using it.
(cd "$root" && node_modules/.bin/tsc -p tsconfig.build.json --outDir "$out/dist")
[ ! -e "$out/dist/stack" ] || fail "the build produced dist/stack: the Functions package must not contain the Pulumi program"
[ -f "$out/dist/apps/functions/main.js" ] || fail "the build did not produce dist/apps/functions/main.js (the package's entry point)"

mkdir -p "$out/$(dirname "$campaigns")"
cp -R "$root/$campaigns" "$out/$campaigns"
cp "$root/src/apps/functions/host.json" "$out/host.json"
# Which commit the campaign files come from (when the checkout's campaigns directory is clean): every run of the
# job records it in the ledger next to the file's SHA-256.
bash "$here/campaign-source.sh" "$root" "$campaigns" "$out/campaign-source.json"
cp "$here/package.json" "$here/package-lock.json" "$out/"

# npm ci installs exactly the lockfile and fails if it disagrees with the manifest; no install scripts run.
# shellcheck disable=SC2086 # the flags are meant to split
(cd "$out" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund ${DEPLOY_NPM_CI_FLAGS:-})
echo "Functions package ready in $out"
