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

# A server started from here must not keep open what its caller handed down (a test runner's pipe or socket
# would then never see EOF): close every inherited descriptor above stderr.
close_inherited() {
  local fd
  for fd in $(ls /proc/$BASHPID/fd); do
    [ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null
  done
  return 0
}

case "$cmd" in
  start)
    close_inherited
    [ -x "$bin/initdb" ] || { echo "pg-test-cluster: $bin/initdb missing: install Debian's postgresql" >&2; exit 1; }
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown nobody "$dir" && chmod 0755 "$dir"
    as_owner "$bin/initdb -D '$dir/db' -A trust -U postgres >'$dir/initdb.log' 2>&1" \
      || { cat "$dir/initdb.log" >&2; exit 1; }
    # The settings live in the cluster's own configuration, so that a test restarting it with a plain
    # `pg_ctl start` gets the same socket folder. fsync=off (PG_FSYNC=on to keep it) spares the disk the copies
    # of the many test databases; a committed transaction still survives the server's own crash
    # (pg_ctl stop -m immediate), only not the machine's.
    cat >>"$dir/db/postgresql.conf" <<EOF
unix_socket_directories = '$dir'
listen_addresses = ''
max_connections = 300
fsync = ${PG_FSYNC:-off}
EOF
    as_owner "$bin/pg_ctl -D '$dir/db' -l '$dir/pg.log' start -w >/dev/null" \
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
