#!/usr/bin/env bash
# CI: make sure the PostgreSQL server binaries are installed (Debian/Ubuntu package), so the store
# tests can start their own throwaway server (tests/_postgres.py). Nothing is started here, and
# the package's own default cluster is not used. Run before the tests, as root or with sudo.
set -euo pipefail

found() {
    compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null
}

if found; then
    echo "postgres.sh: PostgreSQL server binaries already installed"
    exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends postgresql

if ! found; then
    echo "postgres.sh: apt-get installed postgresql but no initdb was found" >&2
    exit 1
fi
echo "postgres.sh: installed $(ls -d /usr/lib/postgresql/*/bin | tail -n 1)"
