#!/usr/bin/env bash
# System packages the test suite needs beyond Node, Java and Maven: Prometheus and promtool (Debian
# package `prometheus`) for the dashboard and alert-rule tests, Chromium (Debian package
# `chromium`) for the UI's browser tests, driven by playwright-core (no browser download), and a
# PostgreSQL server (Debian package `postgresql`: initdb and postgres) for the batch diff's
# PostgreSQL tests, which start their own server. Installs them with apt-get when missing, and does
# nothing when they are there:
#
#   bash scripts/test-deps.sh
#
# Debian's packages enable system services (Prometheus on :9090, a PostgreSQL cluster on :5432);
# the tests run their own, so the install is kept from starting them and the services are left
# stopped and disabled.
set -euo pipefail

have_prometheus() { command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; }
have_chromium() { command -v chromium >/dev/null 2>&1; }
# Debian keeps PostgreSQL's server programs off PATH, in /usr/lib/postgresql/<version>/bin.
have_postgres() { command -v initdb >/dev/null 2>&1 || compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; }

packages=()
have_prometheus || packages+=(prometheus)
have_chromium || packages+=(chromium)
have_postgres || packages+=(postgresql)
if [[ ${#packages[@]} -eq 0 ]]; then
  exit 0
fi

fail() {
  echo "test-deps.sh: ERROR: $*" >&2
  echo "test-deps.sh: install the Debian/Ubuntu packages ${packages[*]} and run again" >&2
  exit 1
}

command -v apt-get >/dev/null 2>&1 || fail "${packages[*]} missing and there is no apt-get to install them"
if [[ "$(id -u)" == 0 ]]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  fail "${packages[*]} missing and installing needs root (or password-less sudo)"
fi

# policy-rc.d answering 101 forbids invoke-rc.d/deb-systemd-invoke to start services during the
# install; one already there (Docker images ship one) is left as it is.
policy=/usr/sbin/policy-rc.d
if [[ ! -e "$policy" ]]; then
  "${as_root[@]}" sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy"
  trap '"${as_root[@]}" rm -f "$policy"' EXIT
fi

echo "test-deps.sh: installing ${packages[*]} with apt-get" >&2
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}"

# Where systemd runs, make sure the packaged services neither run now nor start at boot.
if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null 2>&1; then
  "${as_root[@]}" systemctl disable --now prometheus.service postgresql.service >/dev/null 2>&1 || true
fi

have_prometheus || fail "apt-get installed prometheus, yet prometheus/promtool are not on PATH"
have_chromium || fail "apt-get installed chromium, yet chromium is not on PATH"
have_postgres || fail "apt-get installed postgresql, yet initdb is neither on PATH nor in /usr/lib/postgresql/*/bin"
echo "test-deps.sh: $(prometheus --version 2>&1 | head -n 1)" >&2
echo "test-deps.sh: $(chromium --version 2>/dev/null | head -n 1)" >&2
echo "test-deps.sh: $(compgen -G '/usr/lib/postgresql/*/bin/postgres' | head -n 1 || command -v postgres)" >&2
