#!/usr/bin/env bash
# Installs and starts the system services the test suite needs:
#   - Debian's chromium (for Playwright's browser tests);
#   - Debian's redis-server (the shared site-file store of multi-worker crawls, docs/distributed.md),
#     started when it is not running;
#   - PostgreSQL, started when it is installed but not running (checked with pg_isready; a machine
#     where it already runs is left alone).
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
updated=""
apt_install() {
  if [ -z "$updated" ]; then $SUDO apt-get update -qq; updated=1; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

if ! command -v chromium >/dev/null 2>&1; then
  echo "installing Debian's chromium for the browser tests (apt-get)..." >&2
  apt_install chromium
fi

if ! command -v redis-server >/dev/null 2>&1; then
  echo "installing Debian's redis-server for the multi-worker tests (apt-get)..." >&2
  apt_install redis-server
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "starting redis-server on 127.0.0.1:6379..." >&2
  $SUDO service redis-server start >/dev/null 2>&1 \
    || redis-server --bind 127.0.0.1 --port 6379 --daemonize yes --save '' --appendonly no >/dev/null
fi

if command -v pg_isready >/dev/null 2>&1 && ! pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "starting PostgreSQL..." >&2
  if command -v pg_lsclusters >/dev/null 2>&1; then
    pg_lsclusters --no-header | while read -r version name _; do
      $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" "$name" start >/dev/null 2>&1 || true
    done
  fi
  pg_isready -q -h 127.0.0.1 -p 5432 || $SUDO service postgresql start >/dev/null 2>&1 || true
  for _ in 1 2 3 4 5 6 7 8 9 10; do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
