#!/usr/bin/env bash
# The long media fuzz run under AddressSanitizer (issue 10): mutated clips through the container check, the
# probe and the thumbnail renderer in one instrumented process. Builds the tests with --sanitize=address into
# .build-asan (about 11 minutes the first time on 2 cores), then runs CASES cases in chunks of 1,000 (each
# chunk a seed of its own, printed; the suite's time limit is 10 minutes per chunk).
#
#   scripts/fuzz-asan.sh [CASES] [FIRST_SEED]      # defaults: 5000 cases, seeds 101, 102, ...
#
# Any AddressSanitizer report (heap overflow, use after free, a leak outside scripts/lsan.supp) or a case past
# its time limit fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
cases=${1:-5000}
seed=${2:-101}
export LSAN_OPTIONS="suppressions=$PWD/scripts/lsan.supp:print_suppressions=0"
swift build --build-tests --sanitize address --scratch-path .build-asan
status=0
while [ "$cases" -gt 0 ]; do
    chunk=$(( cases < 1000 ? cases : 1000 ))
    log=$(mktemp)
    if INGESTD_FUZZ_CASES=$chunk INGESTD_FUZZ_SEED=$seed swift test --skip-build --sanitize address \
        --scratch-path .build-asan --filter MediaFuzzTests >"$log" 2>&1; then
        grep -E "media fuzz|passed after" "$log" | grep -v "^✔ Suite" || true
    else
        status=1
        echo "seed $seed: FAILED (log kept at $log)"
        grep -E "ERROR: AddressSanitizer|ERROR: LeakSanitizer|SUMMARY|✘" "$log" | head -20 || true
    fi
    cases=$(( cases - chunk ))
    seed=$(( seed + 1 ))
done
exit $status
