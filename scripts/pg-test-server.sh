#!/usr/bin/env bash
# A throwaway PostgreSQL server for the test suite, on 127.0.0.1 only, in a temporary directory.
#
#   scripts/pg-test-server.sh start [--watch-pid PID]   # prints REVSPINE_TEST_PG_URL=... and REVSPINE_TEST_PG_DIR=...
#   scripts/pg-test-server.sh stop DIR                    # stops the server and removes DIR
#
# Finds initdb on PATH or under /usr/lib/postgresql/*/bin; when it is missing and we are root on
# Debian/Ubuntu, installs the `postgresql` package with apt-get. initdb refuses to run as root, so
# as root the server runs as the `postgres` user (created by the package) or a `revspine-pg`
# system user. Password authentication (scram-sha-256, random password) even on loopback; fsync
# off (test data only). With --watch-pid the server stops by itself when PID exits (a killed test
# run leaves nothing behind).
set -euo pipefail

log() { echo "pg-test-server: $*" >&2; }
die() { log "$*"; exit 1; }

find_bindir() {
  local initdb
  initdb=$(command -v initdb 2>/dev/null || true)
  if [[ -z "$initdb" ]]; then
    initdb=$(ls -1d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1 || true)
  fi
  [[ -n "$initdb" ]] && dirname "$(readlink -f "$initdb")"
}

install_postgresql() {
  [[ $EUID -eq 0 ]] || die "initdb not found and not root: install PostgreSQL (Debian: apt-get install postgresql)"
  command -v apt-get >/dev/null || die "initdb not found and apt-get is not available: install PostgreSQL"
  log "initdb not found: installing the Debian postgresql package"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 || die "apt-get update failed"
  apt-get install -y -qq --no-install-recommends postgresql >&2 || die "apt-get install postgresql failed"
}

run_as() {  # run_as USER CMD...  (USER empty: run as ourselves)
  local user=$1; shift
  if [[ -z "$user" ]]; then "$@"; return; fi
  if command -v runuser >/dev/null; then runuser -u "$user" -- "$@"; else su "$user" -s /bin/sh -c "$(printf '%q ' "$@")"; fi
}

server_user() {
  [[ $EUID -ne 0 ]] && { echo ""; return; }
  if id postgres >/dev/null 2>&1; then echo postgres; return; fi
  id revspine-pg >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin revspine-pg \
    || die "cannot create a non-root user for PostgreSQL"
  echo revspine-pg
}

free_port() {
  local py
  py=$(command -v python3 || command -v python || true)
  [[ -n "$py" ]] || die "python3 is needed to pick a free port (or set REVSPINE_PG_PORT)"
  "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

stop_dir() {
  local dir=$1
  [[ -f "$dir/data/PG_VERSION" && "$(basename "$dir")" == revspine-pg.* ]] || die "$dir is not a test server directory"
  local owner bindir
  owner=$(stat -c %U "$dir/data")
  bindir=$(cat "$dir/bindir")
  [[ "$owner" == "$(id -un)" ]] && owner=""
  run_as "$owner" "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}

start() {
  local watch_pid=""
  if [[ "${1:-}" == "--watch-pid" ]]; then watch_pid=${2:?--watch-pid needs a PID}; fi
  local bindir
  bindir=$(find_bindir || true)
  if [[ -z "$bindir" ]]; then install_postgresql; bindir=$(find_bindir || true); fi
  [[ -n "$bindir" && -x "$bindir/pg_ctl" ]] || die "PostgreSQL server binaries not found after installation"

  local user dir password port
  user=$(server_user)
  dir=$(mktemp -d "${TMPDIR:-/tmp}/revspine-pg.XXXXXX")
  chmod 700 "$dir"
  echo "$bindir" > "$dir/bindir"
  password=$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 24)
  printf '%s\n' "$password" > "$dir/pwfile"
  [[ -n "$user" ]] && chown -R "$user" "$dir"
  run_as "$user" "$bindir/initdb" -D "$dir/data" -U revspine --pwfile="$dir/pwfile" \
    --auth=scram-sha-256 --no-sync --no-locale -E UTF8 >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; rm -rf "$dir"; die "initdb failed"; }
  rm -f "$dir/pwfile"

  local attempt
  for attempt in 1 2 3; do
    port=${REVSPINE_PG_PORT:-$(free_port)}
    if run_as "$user" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-h 127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=40 -c shared_buffers=32MB" \
        start >/dev/null 2>&1; then
      break
    fi
    [[ $attempt -eq 3 ]] && { cat "$dir/server.log" >&2 || true; rm -rf "$dir"; die "the server did not start"; }
  done

  if [[ -n "$watch_pid" ]]; then
    (
      trap '' HUP
      while kill -0 "$watch_pid" 2>/dev/null; do sleep 2; done
      [[ -d "$dir" ]] && "$0" stop "$dir" >/dev/null 2>&1
    ) </dev/null >/dev/null 2>&1 &
    disown || true
  fi
  echo "REVSPINE_TEST_PG_URL=postgresql+psycopg://revspine:${password}@127.0.0.1:${port}/postgres"
  echo "REVSPINE_TEST_PG_DIR=$dir"
}

case "${1:-}" in
  start) shift; start "$@" ;;
  stop) [[ -n "${2:-}" ]] || die "usage: $0 stop DIR"; stop_dir "$2" ;;
  *) echo "usage: $0 start [--watch-pid PID] | stop DIR" >&2; exit 2 ;;
esac
