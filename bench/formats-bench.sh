#!/usr/bin/env bash
# Formats benchmark (issue 12): in-process probe + thumbnail against ffprobe/ffmpeg per container on 3 s
# 1280x720 clips, then the structural check on ~2 GiB MP4, Matroska and MPEG-TS files (made by looping a
# clip with -c copy; the check reads headers and index tables only). Builds release; run by hand.
#   bench/formats-bench.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-10}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

swift build -c release --product bench-media
bin="$(swift build -c release --show-bin-path)/bench-media"

src=(-f lavfi -i "testsrc2=size=1280x720:rate=30:duration=3" -f lavfi -i "sine=frequency=440:sample_rate=48000:duration=3")
x264=(-c:v libx264 -preset veryfast -pix_fmt yuv420p)
make() { local name="$1"; shift; ffmpeg -nostdin -y -loglevel error "${src[@]}" "$@" -shortest "$work/$name"; }
make h264.mp4 "${x264[@]}" -c:a aac
make h264.mkv "${x264[@]}" -c:a aac
make vp9.webm -c:v libvpx-vp9 -deadline realtime -cpu-used 8 -b:v 2M -c:a libopus
make mpeg2.ts -c:v mpeg2video -q:v 4 -c:a mp2 -f mpegts
make h264.m2ts "${x264[@]}" -c:a aac -f mpegts -mpegts_m2ts_mode 1
make mpeg1.mpg -c:v mpeg1video -q:v 4 -c:a mp2 -f mpeg
make prores.mov -c:v prores_ks -profile:v 0 -pix_fmt yuv422p10le -c:a pcm_s16le
make mjpeg.avi -c:v mjpeg -q:v 5 -pix_fmt yuvj420p -c:a pcm_s16le
make h264.flv "${x264[@]}" -c:a aac
make wmv2.wmv -c:v wmv2 -b:v 4M -c:a wmav2
ffmpeg -nostdin -y -loglevel error -f lavfi -i "color=c=0xC03020:size=3840x2160:rate=30:duration=3" \
  -vf "format=gbrpf32le,zscale=tin=bt709:min=bt709:pin=bt709:rin=full:t=arib-std-b67:p=bt2020:m=bt2020nc:r=tv,format=yuv420p10le" \
  -c:v libx265 -preset ultrafast -x265-params log-level=none -pix_fmt yuv420p10le -color_primaries bt2020 \
  -color_trc arib-std-b67 -colorspace bt2020nc -tag:v hvc1 "$work/hlg-2160p.mov"

echo "== probe and thumbnail ($runs runs each, 3 s 1280x720; the HLG clip is 3840x2160 10-bit)"
for f in h264.mp4 h264.mkv vp9.webm mpeg2.ts h264.m2ts mpeg1.mpg prores.mov mjpeg.avi h264.flv wmv2.wmv hlg-2160p.mov; do
  "$bin" time "$work/$f" "$runs"
done

echo "== structural check on ~2 GiB files"
ffmpeg -nostdin -y -loglevel error -f lavfi -i "testsrc2=size=1280x720:rate=30:duration=10" \
  -f lavfi -i "sine=frequency=440:sample_rate=48000:duration=10" -c:v libx264 -preset ultrafast -qp 0 \
  -c:a aac -shortest "$work/seed.mp4"
seed=$(stat -c %s "$work/seed.mp4")
loops=$(( (2147483648 + seed - 1) / seed ))
for ext in mp4 mkv ts; do
  ffmpeg -nostdin -y -loglevel error -stream_loop "$((loops - 1))" -i "$work/seed.mp4" -c copy "$work/big.$ext"
  "$bin" check "$work/big.$ext" 50
  rm -f "$work/big.$ext"
done
