#!/usr/bin/env bash
# Catalog benchmark: batched inserts into an on-disk WAL catalog, then page and look-up latency.
# Usage: bench/catalog-bench.sh [RECORDS [PROJECTS]]   (defaults 100000 and 100)
# Prints inserts/s (target >= 20,000) and the newest page of 100 (target < 5 ms).
set -euo pipefail
cd "$(dirname "$0")/.."
records=${1:-100000}
projects=${2:-100}
swift build -c release --product bench-storage >&2
.build/release/bench-storage catalog --records "$records" --projects "$projects"
