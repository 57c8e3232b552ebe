#!/usr/bin/env bash
# Thumbnail benchmark: in-process probe/thumbnail (StorageKit) against the ffprobe/ffmpeg CLIs on a 3 s
# 1280x720 h264 clip, then a 1,000-render leak check. Builds release; run by hand, not from the tests.
#   bench/thumbnail-bench.sh [RUNS] [LEAK_COUNT]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-20}"
leak_count="${2:-1000}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

swift build -c release --product bench-media
bin="$(swift build -c release --show-bin-path)/bench-media"

clip="$work/clip-720p.mp4"
ffmpeg -nostdin -y -loglevel error -f lavfi -i "testsrc2=size=1280x720:rate=30:duration=3" \
    -f lavfi -i "sine=frequency=440:sample_rate=48000:duration=3" \
    -c:v libx264 -preset veryfast -pix_fmt yuv420p -c:a aac -shortest "$clip"

echo "== timings ($runs runs each, 3 s 1280x720 h264 + aac)"
"$bin" time "$clip" "$runs"
echo "== leak check ($leak_count thumbnails + probes)"
"$bin" leak "$clip" "$leak_count"
