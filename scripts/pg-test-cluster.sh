#!/usr/bin/env bash
# A throw-away PostgreSQL 15 cluster for the tests: Unix socket only, in a temporary folder, run by an
# unprivileged user (initdb and pg_ctl refuse root).
#   scripts/pg-test-cluster.sh start DIR   → prints the CATALOG_URL (postgres:///ingestd?host=DIR&user=postgres)
#   scripts/pg-test-cluster.sh stop DIR    → stops it (fast) and removes DIR
set -euo pipefail
bin=/usr/lib/postgresql/15/bin
cmd=${1:?usage: pg-test-cluster.sh start|stop DIR}
dir=${2:?usage: pg-test-cluster.sh start|stop DIR}

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    su nobody -s /bin/sh -c "$1"
  else
    sh -c "$1"
  fi
}

case "$cmd" in
  start)
    [ -x "$bin/initdb" ] || { echo "pg-test-cluster: $bin/initdb missing: install Debian's postgresql" >&2; exit 1; }
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown nobody "$dir" && chmod 0755 "$dir"
    as_owner "$bin/initdb -D '$dir/db' -A trust -U postgres >'$dir/initdb.log' 2>&1" \
      || { cat "$dir/initdb.log" >&2; exit 1; }
    # fsync=off (PG_FSYNC=on to keep it) spares the disk the copies of the many test databases; a committed
    # transaction still survives the server's own crash (pg_ctl stop -m immediate), only not the machine's.
    as_owner "$bin/pg_ctl -D '$dir/db' -o \"-k '$dir' -c listen_addresses= -c max_connections=300 -c fsync=${PG_FSYNC:-off}\" -l '$dir/pg.log' start -w >/dev/null" \
      || { cat "$dir/pg.log" >&2; exit 1; }
    as_owner "$bin/createdb -h '$dir' -U postgres ingestd"
    echo "postgres:///ingestd?host=$dir&user=postgres"
    ;;
  stop)
    [ -d "$dir/db" ] && as_owner "$bin/pg_ctl -D '$dir/db' -m fast stop >/dev/null 2>&1" || true
    rm -rf "$dir"
    ;;
  *)
    echo "usage: pg-test-cluster.sh start|stop DIR" >&2
    exit 2
    ;;
esac
