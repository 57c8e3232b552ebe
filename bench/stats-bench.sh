#!/usr/bin/env bash
# Statistics benchmark: makes FILES files (sparse, known sizes) in a throw-away storage tree and
# times StorageStatistics.compute globally and for one project.
# Usage: bench/stats-bench.sh [FILES]   (default 100000; target < 300 ms global)
set -euo pipefail
cd "$(dirname "$0")/.."
files=${1:-100000}
swift build -c release --product bench-storage >&2
.build/release/bench-storage stats --files "$files"
