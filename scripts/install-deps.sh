#!/usr/bin/env bash
# Installs every Debian 12 package ingestd needs to build, run and test.
# Idempotent: prints nothing and changes nothing when all is present.
set -euo pipefail

packages=(
  pkg-config
  libavformat-dev libavcodec-dev libavfilter-dev libswscale-dev libswresample-dev libavutil-dev
  libsystemd-dev
  libsqlite3-dev
  ffmpeg          # the CLI, used only by tests and benchmarks to generate clips
  curl            # README tour and end-to-end tests
  systemd         # systemd-socket-activate, systemd-analyze (tests of the units)
  python3         # tests edit a stopped daemon's catalog with its sqlite3 module
  postgresql      # the PostgreSQL catalog's tests run a throw-away cluster (scripts/pg-test-cluster.sh)
  nginx           # the end-to-end test of config/nginx-ingestd.conf in front of the control socket
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# apt-get has been seen to return 0 without installing the -dev packages: verify.
if ! pkg-config --exists libavformat libavcodec libavfilter libswscale libswresample libavutil libsystemd sqlite3; then
  echo "install-deps: pkg-config cannot find FFmpeg/libsystemd/sqlite3 after installing; see apt-get output above" >&2
  exit 1
fi
command -v ffmpeg >/dev/null || { echo "install-deps: ffmpeg CLI missing after install" >&2; exit 1; }
[ -x /usr/lib/postgresql/15/bin/initdb ] || { echo "install-deps: PostgreSQL 15 (initdb) missing after install" >&2; exit 1; }
