#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster on 127.0.0.1 for the tests and prints its admin URL.
# Usage: eval "$(scripts/postgres.sh start)"   -> sets CHRONICLE_TEST_POSTGRES_URL, PG_TEST_DIR
#        scripts/postgres.sh stop DIR
set -euo pipefail
PORT=${PG_TEST_PORT:-55432}

find_bin() {
  command -v "$1" 2>/dev/null && return
  ls /usr/lib/postgresql/*/bin/"$1" 2>/dev/null | sort -V | tail -n 1
}

case "${1:-}" in
  available)
    [ -n "$(find_bin initdb)" ] && [ -n "$(find_bin pg_ctl)" ]
    ;;
  start)
    initdb=$(find_bin initdb); pg_ctl=$(find_bin pg_ctl)
    dir=$(mktemp -d /tmp/chronicle-pg.XXXXXX)
    if [ "$(id -u)" = 0 ]; then
      chown postgres "$dir"
      run() { su postgres -s /bin/sh -c "$*"; }
    else
      run() { sh -c "$*"; }
    fi
    run "$initdb -D $dir/data -A trust -U postgres" >"$dir/initdb.log" 2>&1
    if ! run "$pg_ctl -D $dir/data -l $dir/server.log -w -o \"-p $PORT -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300\" start" >/dev/null; then
      echo "PostgreSQL did not start on port $PORT (another server there?); its log:" >&2
      tail -5 "$dir/server.log" >&2
      rm -rf "$dir"
      exit 1
    fi
    echo "export PG_TEST_DIR=$dir"
    echo "export CHRONICLE_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:$PORT/postgres"
    ;;
  stop)
    dir=$2; pg_ctl=$(find_bin pg_ctl)
    if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$pg_ctl -D $dir/data -m immediate stop" >/dev/null 2>&1 || true
    else "$pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true; fi
    rm -rf "$dir"
    ;;
  *) echo "usage: $0 available|start|stop DIR" >&2; exit 2 ;;
esac
