#!/usr/bin/env bash
# GET /health throughput of the control server over its Unix socket, with keep-alive connections.
# Builds the package in release mode (with -enable-testing, in its own scratch path so it never
# invalidates .build/release) and runs the gated ControlBench test, which starts a ControlServer with a
# trivial backend and drives it from BENCH_CONNECTIONS client threads for BENCH_SECONDS.
#   bench/control-bench.sh            # 32 connections, 10 s
#   BENCH_CONNECTIONS=64 BENCH_SECONDS=20 bench/control-bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SCRATCH="${SCRATCH:-.build-bench}"
FLAGS=(-c release --scratch-path "$SCRATCH" -Xswiftc -enable-testing)
swift build --build-tests "${FLAGS[@]}"
INGESTD_CONTROL_BENCH=1 BENCH_CONNECTIONS="${BENCH_CONNECTIONS:-32}" BENCH_SECONDS="${BENCH_SECONDS:-10}" \
    swift test --skip-build "${FLAGS[@]}" --filter ControlBenchTests 2>&1 | grep -E "control-bench:|passed|failed|error"
