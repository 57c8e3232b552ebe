#!/usr/bin/env bash
# Ingest benchmarks, run by hand (figures, not pass/fail). Builds release first.
#   bench/ingest-bench.sh [burst|big|latency|all]
# burst:   N (default 1000) distinct small clips dropped at once, SETTLE_MS=200, FFMPEG_THREADS=2, through
#          ../shared/bench/ingest-bench.sh (files/s to a thumbnail, peak RSS, and ingestd's CPU per file from
#          /proc through bench/cpu-of.sh); the naive shell loop on NAIVE_N
#          (default 200) clips for comparison.
# big:     one BIG_MIB (default 2048) MiB h264 file moved into the drop: time from taken to ready (the ingest
#          stage histogram) against `openssl dgst -sha256` on the same warm file, and ingestd's VmHWM.
# latency: 20 distinct ~10 MB clips moved in one by one: drop-to-`ingested` latency median vs SETTLE_MS.
set -euo pipefail
cd "$(dirname "$0")/.."
shared=$(cd ../shared/bench && pwd)
what=${1:-all}
swift build -c release --product ingestd >/dev/null
bin=$PWD/.build/release/ingestd
clips=${CLIPS:-/tmp/ingest-bench-clips}

metric() {  # $1 socket, $2 metric line prefix → value
  curl -s --unix-socket "$1" http://localhost/metrics | awk -v m="$2" 'index($0, m) == 1 { print $2 }'
}
wait_socket() { for _ in $(seq 200); do curl -s --unix-socket "$1" http://localhost/health >/dev/null 2>&1 && return 0; sleep 0.05; done; return 1; }

if [[ $what == burst || $what == naive || $what == all ]]; then
  n=${N:-1000}
  echo "== burst: $n clips, SETTLE_MS=200, FFMPEG_THREADS=2"
  "$shared/make-load.sh" "$clips" "$n" >/dev/null
  if [[ $what != naive ]]; then
    cpu=$(mktemp)
    echo -n "ingestd:     "; N=$n CLIPS=$clips SETTLE_MS=200 FFMPEG_THREADS=2 MIN_FREE_BYTES=0 "$shared/ingest-bench.sh" "$PWD/bench/cpu-of.sh" "$cpu" "$bin" --drop {drop} --storage {storage}
    # The CPU ingestd used until the last thumbnail, per file (steadier than files/s from run to run).
    awk -v n="$n" -F'[= ]' '{ printf "ingestd CPU: user %.2f s + system %.2f s = %.2f ms per file\n", $2, $4, ($2 + $4) * 1000 / n }' "$cpu"
    rm -f "$cpu"
  fi
  command -v inotifywait >/dev/null || { sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo; $sudo apt-get install -y -qq inotify-tools >/dev/null; }
  echo -n "naive loop:  "; N=${NAIVE_N:-200} CLIPS=$clips "$shared/ingest-bench.sh" "$shared/naive-ingest.sh" {drop} {storage}
fi

if [[ $what == big || $what == all ]]; then
  mib=${BIG_MIB:-2048}
  echo "== big: one ${mib} MiB file"
  big=$clips/big-$mib.mp4
  if [[ ! -s $big ]]; then "$shared/make-load.sh" "$clips/big-tmp" 0 "$mib" >/dev/null; mv "$clips/big-tmp/big.mp4" "$big"; fi
  work=$(mktemp -d /tmp/ingest-big.XXXXXX); mkdir -p "$work/drop/big" "$work/storage"
  cp "$big" "$work/in.mp4"; cat "$work/in.mp4" >/dev/null
  t0=$(date +%s.%N); openssl dgst -sha256 "$work/in.mp4" >/dev/null; t1=$(date +%s.%N)
  UPLOAD_MAX_SIZE=8G SETTLE_MS=0 MIN_FREE_BYTES=0 "$bin" --drop "$work/drop" --storage "$work/storage" >"$work/log" 2>&1 &
  pid=$!; wait_socket "$work/storage/ingestd.sock"
  mv "$work/in.mp4" "$work/drop/big/in.mp4"
  until [[ $(curl -s --unix-socket "$work/storage/ingestd.sock" http://localhost/projects/big/videos) == *'"ready"'* ]]; do sleep 0.05; done
  ingest=$(metric "$work/storage/ingestd.sock" 'ingestd_stage_duration_seconds_sum{stage="ingest"}')
  hash=$(metric "$work/storage/ingestd.sock" 'ingestd_stage_duration_seconds_sum{stage="hash"}')
  hwm=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)
  kill $pid; wait $pid || true
  awk -v o="$(echo "$t1 - $t0" | bc)" -v i="$ingest" -v h="$hash" -v m="$hwm" -v mib="$mib" 'BEGIN {
    printf "openssl dgst -sha256: %.3f s   ingestd taken→ready: %.3f s (hash pass %.3f s)   ratio %.2f (target ≤ 1.15)\n", o, i, h, i / o
    printf "ingestd VmHWM while ingesting %d MiB: %.1f MiB (target ≤ 64)\n", mib, m / 1024 }'
  rm -rf "$work"
fi

if [[ $what == latency || $what == all ]]; then
  settle=${SETTLE_MS:-1000}
  echo "== latency: 20 clips of ~10 MB, SETTLE_MS=$settle"
  ten=$clips/ten-mb.mp4
  [[ -s $ten ]] || ffmpeg -nostdin -v error -y -f lavfi -i "testsrc2=size=1280x720:rate=30,noise=alls=20:allf=t" -t 4 \
    -c:v libx264 -preset ultrafast -crf 18 -fs 10485760 "$ten"
  work=$(mktemp -d /tmp/ingest-lat.XXXXXX); mkdir -p "$work/drop/lat" "$work/storage" "$work/src"
  SETTLE_MS=$settle MIN_FREE_BYTES=0 "$bin" --drop "$work/drop" --storage "$work/storage" >"$work/log" 2>&1 &
  pid=$!; wait_socket "$work/storage/ingestd.sock"
  for i in $(seq 1 20); do
    cp "$ten" "$work/src/c$i.mp4"; printf '\x00\x00\x00\x10free%08d' "$i" >> "$work/src/c$i.mp4"   # distinct bytes, valid boxes
    echo "c$i.mp4 $(date +%s.%N)" >> "$work/dropped"
    mv "$work/src/c$i.mp4" "$work/drop/lat/c$i.mp4"
    sleep $(echo "$settle / 1000 + 0.3" | bc -l)
  done
  sleep 1
  curl -s --max-time 2 --unix-socket "$work/storage/ingestd.sock" "http://localhost/events?since=0" > "$work/events" || true
  kill $pid; wait $pid || true
  python3 - "$work/dropped" "$work/events" "$settle" <<'PY'
import json, sys, statistics, datetime
dropped = {l.split()[0]: float(l.split()[1]) for l in open(sys.argv[1])}
lat = []
for line in open(sys.argv[2]):
    e = json.loads(line)
    if e.get("type") != "ingested": continue
    name = e["filename"].split("-")[0] + ".mp4"
    at = datetime.datetime.strptime(e["at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp()
    lat.append((at - dropped[name]) * 1000)
s = int(sys.argv[3])
print(f"drop→ingested median {statistics.median(lat):.1f} ms over {len(lat)} (SETTLE_MS {s}: target ≤ {s + 50}); min {min(lat):.1f}, max {max(lat):.1f}")
PY
  rm -rf "$work"
fi
