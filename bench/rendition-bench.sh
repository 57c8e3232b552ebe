#!/usr/bin/env bash
# Rendition and sprite benchmark: the in-process encoder (StorageKit) against the ffmpeg CLI with the same
# encoder settings on the same files. Builds release; run by hand, not from the tests.
#   bench/rendition-bench.sh [SPRITE_CLIP_SECONDS]
#   1. 1080p -> 720p H.264 (libx264 veryfast, crf 23, maxrate 2.8M, keyframes every 2 s, AAC), fps vs the CLI
#   2. sprite of a long clip (default 600 s): keyframe seeking vs `ffmpeg -vf fps=…,scale=160:-2,tile=10x10`
#   3. peak RSS of a 4K -> 2160p encode
set -euo pipefail
cd "$(dirname "$0")/.."
long="${1:-600}"
threads="${THREADS:-2}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

swift build -c release --product bench-renditions
bin="$(swift build -c release --show-bin-path)/bench-renditions"
ff() { ffmpeg -nostdin -y -hide_banner -loglevel error "$@"; }

echo "== making clips in $work"
ff -f lavfi -i "testsrc2=size=1920x1080:rate=25:duration=20" -f lavfi -i "sine=frequency=440:sample_rate=48000:duration=20" \
   -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac -shortest "$work/1080p.mp4"
ff -f lavfi -i "testsrc2=size=1280x720:rate=25:duration=$long" -c:v libx264 -preset ultrafast -g 250 -pix_fmt yuv420p \
   "$work/long.mp4"
ff -f lavfi -i "testsrc2=size=3840x2160:rate=25:duration=3" -c:v libx264 -preset ultrafast -pix_fmt yuv420p "$work/4k.mp4"

echo "== 1080p -> 720p, $threads threads (500 frames)"
"$bin" encode "$work/1080p.mp4" 720p mp4 "$threads"
start=$(date +%s.%N)
/usr/bin/time -f "  ffmpeg CLI peak RSS %M KiB" ffmpeg -nostdin -y -hide_banner -loglevel error -threads "$threads" \
   -i "$work/1080p.mp4" -vf scale=1280:720 -c:v libx264 -preset veryfast -crf 23 -profile:v high -maxrate 2800k \
   -bufsize 5600k -g 50 -keyint_min 50 -x264-params scenecut=0 -threads "$threads" -pix_fmt yuv420p \
   -c:a aac -b:a 128k -ac 2 -movflags +faststart "$work/cli-720p.mp4"
end=$(date +%s.%N)
awk -v s="$start" -v e="$end" 'BEGIN { printf "ffmpeg CLI 720p: 500 frames in %.2f s = %.1f fps\n", e - s, 500 / (e - s) }'

echo "== sprite of a ${long} s 1280x720 clip (keyframe every 10 s)"
"$bin" sprite "$work/long.mp4" auto
interval=$(awk -v d="$long" 'BEGIN { i = d / 100; if (i < 0.5) i = 0.5; print i }')
start=$(date +%s.%N)
ff -i "$work/long.mp4" -vf "fps=1/$interval,scale=160:-2,tile=10x10" -frames:v 1 "$work/cli-sprite.jpg"
end=$(date +%s.%N)
awk -v s="$start" -v e="$end" 'BEGIN { printf "ffmpeg CLI sprite (fps,scale,tile): %.2f s\n", e - s }'

echo "== 4K -> 2160p encode, $threads threads (75 frames)"
"$bin" encode "$work/4k.mp4" 2160p mp4 "$threads"
