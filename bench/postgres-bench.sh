#!/usr/bin/env bash
# PostgreSQL catalog benchmarks, run by hand (figures, not pass/fail). Builds release first and starts a
# throw-away cluster (scripts/pg-test-cluster.sh) unless INGESTD_TEST_POSTGRES_URL names one.
#   bench/postgres-bench.sh [burst|catalog|all]
# burst:   N (default 1000) distinct clips, SETTLE_MS=200, FFMPEG_THREADS=2: files/s to a thumbnail with
#          SQLite (one node), PostgreSQL (one node), and PostgreSQL with two nodes on one storage folder, each
#          with its own drop taking half of the clips.
# catalog: RECORDS (default 1000000) records in 100 projects, then the newest page of 100 (GET …/videos?limit=100)
#          and the replay of 10,000 events (GET /events?since=…), on SQLite and on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
shared=$(cd ../shared/bench && pwd)
what=${1:-all}
swift build -c release --product ingestd >/dev/null
swift build -c release --product bench-storage >/dev/null
bin=$PWD/.build/release/ingestd
clips=${CLIPS:-/tmp/ingest-bench-clips}
n=${N:-1000}

pgdir=""
if [[ -z ${INGESTD_TEST_POSTGRES_URL:-} ]]; then
  pgdir=$(mktemp -d /tmp/ingestd-bench-pg.XXXXXX)
  trap 'bash scripts/pg-test-cluster.sh stop "$pgdir"' EXIT
  INGESTD_TEST_POSTGRES_URL=$(PG_FSYNC=on bash scripts/pg-test-cluster.sh start "$pgdir")
fi
base=$INGESTD_TEST_POSTGRES_URL
fresh() {  # a new empty database → its URL
  local name="bench_$(date +%s%N)"
  psql "$base" -X -q -c "CREATE DATABASE $name" >/dev/null
  echo "$base" | sed -E "s#^(postgres(ql)?://[^/]*)/[^?]*#\1/$name#"
}

if [[ $what == burst || $what == all ]]; then
  "$shared/make-load.sh" "$clips" "$n" >/dev/null
  echo "== burst: $n clips, SETTLE_MS=200, FFMPEG_THREADS=2"
  echo -n "SQLite, one node:      "
  N=$n CLIPS=$clips SETTLE_MS=200 FFMPEG_THREADS=2 MIN_FREE_BYTES=0 "$shared/ingest-bench.sh" "$bin" --drop {drop} --storage {storage}
  echo -n "PostgreSQL, one node:  "
  CATALOG_URL=$(fresh) N=$n CLIPS=$clips SETTLE_MS=200 FFMPEG_THREADS=2 MIN_FREE_BYTES=0 "$shared/ingest-bench.sh" "$bin" --drop {drop} --storage {storage}

  echo -n "PostgreSQL, two nodes: "
  work=$(mktemp -d /tmp/ingestd-bench-2n.XXXXXX); mkdir -p "$work/a/drop" "$work/b/drop" "$work/storage"
  url=$(fresh)
  export CATALOG_URL=$url SETTLE_MS=200 FFMPEG_THREADS=2 MIN_FREE_BYTES=0
  NODE_ID=a "$bin" --drop "$work/a/drop" --storage "$work/storage" --socket "$work/a.sock" >"$work/a.log" 2>&1 & pa=$!
  NODE_ID=b "$bin" --drop "$work/b/drop" --storage "$work/storage" --socket "$work/b.sock" >"$work/b.log" 2>&1 & pb=$!
  for s in a b; do for _ in $(seq 200); do curl -s --unix-socket "$work/$s.sock" http://localhost/health >/dev/null 2>&1 && break; sleep 0.05; done; done
  mapfile -t files < <(find "$clips" -maxdepth 1 -name 'clip-*.mp4' | sort | head -n "$n")
  half=$(( n / 2 ))
  start=$(date +%s.%N)
  cp -- "${files[@]:0:$half}" "$work/a/drop/" & c1=$!
  cp -- "${files[@]:$half}" "$work/b/drop/" & c2=$!
  wait $c1 $c2
  while (( $(find "$work/storage/thumbnails" -type f -name '*.jpg' 2>/dev/null | wc -l) < n )); do sleep 0.1; done
  end=$(date +%s.%N)
  awk -v n="$n" -v s="$start" -v e="$end" 'BEGIN { d = e - s; printf "files=%d seconds=%.2f files_per_s=%.2f\n", n, d, n / d }'
  kill -TERM $pa $pb; wait $pa $pb || true
  unset CATALOG_URL
  rm -rf "$work"
fi

if [[ $what == catalog || $what == all ]]; then
  records=${RECORDS:-1000000}
  echo "== catalog: $records records, 100 projects"
  echo "-- SQLite"; .build/release/bench-storage catalog --records "$records" --projects 100
  echo "-- PostgreSQL"; .build/release/bench-storage catalog --records "$records" --projects 100 --url "$(fresh)"
fi
