#!/usr/bin/env bash
# Content delivery over the control socket: GET …/content of a ~1 GiB clip, measured with curl (and
# `ingestctl download -o -`), against `cat FILE > /dev/null` on the same warm file. The daemon's resident
# memory is sampled every 50 ms while the downloads run.
# Usage: bench/delivery-bench.sh [BIN_DIR] [SIZE_MIB] [RUNS]   (BIN_DIR default .build/release)
set -euo pipefail
BIN=${1:-.build/release}
SIZE_MIB=${2:-1024}
RUNS=${3:-5}
W=$(mktemp -d /tmp/delivery-bench-XXXXXX)
trap '[[ -n ${PID:-} ]] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT

# A valid MP4 of about SIZE_MIB: a noisy 720p segment looped with -c copy.
ffmpeg -nostdin -v error -y -f lavfi -i "testsrc2=size=1280x720:rate=30,noise=alls=30:allf=t" -f lavfi -i sine \
  -t 10 -c:v libx264 -preset ultrafast -crf 20 -c:a aac "$W/seg.mp4"
ffmpeg -nostdin -v error -y -stream_loop -1 -i "$W/seg.mp4" -c copy -fs $((SIZE_MIB * 1048576)) "$W/big.mp4"
mkdir -p "$W/drop/bench" "$W/storage"

SOCK=$W/storage/ingestd.sock
UPLOAD_MAX_SIZE=$((4 * SIZE_MIB * 1048576)) SETTLE_MS=0 MIN_FREE_BYTES=0 RENDITIONS= SPRITE_INTERVAL=0 \
  LOG_LEVEL=warning "$BIN/ingestd" --drop "$W/drop" --storage "$W/storage" --socket "$SOCK" 2>"$W/daemon.log" &
PID=$!
until curl -sf --unix-socket "$SOCK" http://localhost/health >/dev/null; do sleep 0.1; done
mv "$W/big.mp4" "$W/drop/bench/big.mp4"
until [[ $(curl -s --unix-socket "$SOCK" http://localhost/projects/bench/videos) == *'"status":"ready"'* ]]; do sleep 0.2; done
ID=$(curl -s --unix-socket "$SOCK" http://localhost/projects/bench/videos | sed 's/.*"id":"\([^"]*\)".*/\1/')
FILE=$(ls "$W"/storage/uploads/project_bench/*.mp4)
BYTES=$(stat -c %s "$FILE")
URL=http://localhost/projects/bench/videos/$ID/content
cat "$FILE" >/dev/null  # warm the page cache

rss() { awk '/VmRSS/ {print $2}' "/proc/$PID/status"; }
RSS_BEFORE=$(rss)
( peak=0; while kill -0 "$PID" 2>/dev/null && [[ ! -e $W/stop ]]; do r=$(rss); ((r > peak)) && peak=$r; echo "$peak" >"$W/peak"; sleep 0.05; done ) &
SAMPLER=$!

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mbps() { awk -v b="$BYTES" -v ns="$1" 'BEGIN {printf "%.0f", b / (ns / 1e9) / 1e6}'; }
timed() { local s e; s=$(date +%s%N); "$@" >/dev/null; e=$(date +%s%N); mbps $((e - s)); echo; }

CURL=$(for _ in $(seq "$RUNS"); do curl -s --unix-socket "$SOCK" -o /dev/null -w '%{speed_download}\n' "$URL"; done |
  awk '{printf "%.0f\n", $1 / 1e6}' | median)
RANGE=$(for _ in $(seq "$RUNS"); do curl -s --unix-socket "$SOCK" -H "Range: bytes=$((BYTES / 2))-" -o /dev/null \
  -w '%{speed_download}\n' "$URL"; done | awk '{printf "%.0f\n", $1 / 1e6}' | median)
CTL=$(for _ in $(seq "$RUNS"); do timed "$BIN/ingestctl" --socket "$SOCK" download bench "$ID" -o -; done | median)
CAT=$(for _ in $(seq "$RUNS"); do timed cat "$FILE"; done | median)
touch "$W/stop"; wait "$SAMPLER" 2>/dev/null || true

echo "file: $BYTES bytes, $RUNS runs each, medians in MB/s (1e6 bytes)"
echo "curl GET content over the socket:        $CURL MB/s"
echo "curl GET second half (Range bytes=N-):    $RANGE MB/s"
echo "ingestctl download -o - > /dev/null:      $CTL MB/s"
echo "cat FILE > /dev/null (reference):         $CAT MB/s"
echo "ingestd RSS: $((RSS_BEFORE / 1024)) MiB before the downloads, peak $(($(cat "$W/peak") / 1024)) MiB while they ran"
