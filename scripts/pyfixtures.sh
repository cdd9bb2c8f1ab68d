#!/usr/bin/env bash
# Prints the path of a Python that has the pinned pyarrow and fastavro, for tests that diff files
# these libraries write (test/fixtures/*.py). Creates the venv .cache/pyfixtures on first use;
# later calls only compare a stamp, so they are fast. Safe to run from parallel test workers.
set -euo pipefail

PACKAGES=(pyarrow==18.1.0 fastavro==1.9.7)

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.cache/pyfixtures"
stamp="$venv/.installed"

if ! command -v python3 >/dev/null 2>&1; then
  echo "scripts/pyfixtures.sh: python3 (3.9 or later, with venv and pip) is needed to write the pyarrow/fastavro test files" >&2
  exit 1
fi

mkdir -p "$root/.cache"
# Test files run in parallel workers: one installs, the others wait (flock is util-linux; without
# it, e.g. on macOS, parallel first runs may install twice, which pip tolerates).
exec 9>"$root/.cache/pyfixtures.lock"
if command -v flock >/dev/null 2>&1; then flock 9; fi
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "${PACKAGES[*]}" ]]; then
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --disable-pip-version-check --quiet "${PACKAGES[@]}" >&2
  echo "${PACKAGES[*]}" >"$stamp"
fi
echo "$venv/bin/python"
