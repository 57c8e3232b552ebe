#!/usr/bin/env bash
# Runs a program and, when it is told to stop (SIGTERM/SIGINT, as ../shared/bench/ingest-bench.sh does at the
# end of a burst), writes the CPU it used until then — user and system seconds from /proc, before its own
# shutdown — to OUT, then forwards the signal and waits for it.
#   bench/cpu-of.sh OUT PROGRAM [ARGS…]
# CPU per file is steadier than files/s on a shared 2-core machine: a burst's wall time moves ±20 % from one
# run to the next with the machine, the CPU a file costs much less.
set -u
out=${1:?usage: cpu-of.sh OUT PROGRAM [ARGS…]}; shift
"$@" &
child=$!
stop() {
  awk -v hz="$(getconf CLK_TCK)" '{ printf "user_s=%.2f sys_s=%.2f\n", $14 / hz, $15 / hz }' "/proc/$child/stat" >"$out"
  kill -TERM "$child" 2>/dev/null
  wait "$child"
  exit 0
}
trap stop TERM INT
wait "$child"
