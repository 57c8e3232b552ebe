#!/usr/bin/env bash
# Checks the files in systemd/ (or in the folder given as $1):
#   1. `systemd-analyze verify` on ingestd.service and ingestd.socket prints nothing. The units name
#      /usr/local/bin/ingestd, which need not exist here: the check renders them the way `make install` does
#      (PREFIX substituted) with a temporary PREFIX that holds a stand-in executable.
#   2. `systemd-analyze security --offline=yes` rates ingestd.service at most $MAX_EXPOSURE (default 1.5).
#   3. ingestd.sysusers and ingestd.tmpfiles apply cleanly to a scratch root (systemd-sysusers/-tmpfiles --root).
# Exit 0 when all pass; prints the exposure score. Exit 77 when systemd-analyze is not installed.
set -euo pipefail

units=${1:-"$(cd "$(dirname "$0")/.." && pwd)/systemd"}
max=${MAX_EXPOSURE:-1.5}
command -v systemd-analyze >/dev/null || { echo "systemd-analyze not installed: skipped" >&2; exit 77; }

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/prefix/bin" "$scratch/units" "$scratch/root/etc"

# 1. verify, with the unit paths rendered for a scratch PREFIX.
printf '#!/bin/sh\nexit 0\n' > "$scratch/prefix/bin/ingestd"
chmod +x "$scratch/prefix/bin/ingestd"
for f in ingestd.service ingestd.socket; do
  sed "s|/usr/local/|$scratch/prefix/|g" "$units/$f" > "$scratch/units/$f"
done
out=$(systemd-analyze verify "$scratch/units/ingestd.service" "$scratch/units/ingestd.socket" 2>&1) || {
  echo "systemd-analyze verify failed:"; echo "$out"; exit 1; }
if [ -n "$out" ]; then
  echo "systemd-analyze verify is not clean:"; echo "$out"; exit 1
fi
echo "verify: clean"

# 2. exposure score of the unit as written.
report=$(systemd-analyze security --offline=yes "$units/ingestd.service" 2>&1) || true
score=$(sed -n 's/.*Overall exposure level for ingestd.service: \([0-9.]*\).*/\1/p' <<<"$report")
if [ -z "$score" ]; then
  echo "no exposure score in systemd-analyze security output:"; echo "$report"; exit 1
fi
echo "exposure: $score (limit $max)"
awk -v s="$score" -v m="$max" 'BEGIN { exit !(s <= m) }' || {
  echo "exposure $score is above $max:"; grep '✗' <<<"$report"; exit 1; }

# 3. sysusers and tmpfiles against a scratch root.
touch "$scratch/root/etc/passwd" "$scratch/root/etc/group" "$scratch/root/etc/shadow" "$scratch/root/etc/gshadow"
systemd-sysusers --root="$scratch/root" "$units/ingestd.sysusers" >/dev/null 2>&1 || {
  echo "systemd-sysusers failed:"; systemd-sysusers --root="$scratch/root" "$units/ingestd.sysusers"; exit 1; }
grep -q '^ingestd:' "$scratch/root/etc/passwd" || { echo "sysusers made no user ingestd"; exit 1; }
systemd-tmpfiles --root="$scratch/root" --create "$units/ingestd.tmpfiles" || { echo "systemd-tmpfiles failed"; exit 1; }
[ -d "$scratch/root/var/lib/ingestd/drop" ] || { echo "tmpfiles made no drop directory"; exit 1; }
echo "sysusers, tmpfiles: clean"
