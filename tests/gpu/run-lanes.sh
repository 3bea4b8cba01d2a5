#!/bin/sh
# run-lanes.sh - GPU suites in parallel lanes on one machine (the H200 host has 16 cores and
# one GPU: suites that check counts, not times, can share it), each suite's output in its
# own log, then one line per suite and the sums.
#
#   sh tests/gpu/run-lanes.sh LOGDIR "suite suite ..." "suite ..." ...
#
# Each quoted argument after LOGDIR is one lane: its suites run one after the other
# (tests/gpu/<suite>.sh, or a path to any script that ends with "N passed, N failed");
# the lanes run at the same time.  LOGDIR/<suite>.log gets each suite's output.  A suite
# without its closing line counts as 1 failure.  Environment: as the suites (GPROF_CLI,
# BUILD, TORCH_PYTHON, ...); LANE_TIMEOUT (seconds per suite, default 400).
# Last line: "N passed, N failed"; exit 1 if any suite failed.
here=$(cd "$(dirname "$0")" && pwd)
logdir=${1:?usage: run-lanes.sh LOGDIR "suite ..." ...}
shift
mkdir -p "$logdir"
lane() {
	for s in $1; do
		case $s in */*) script=$s ;; *) script=$here/$s.sh ;; esac
		name=$(basename "$s" .sh)
		t0=$(date +%s)
		timeout "${LANE_TIMEOUT:-400}" sh "$script" >"$logdir/$name.log" 2>&1
		echo "$name rc=$? $(($(date +%s) - t0)) s" >"$logdir/$name.done"
	done
}
for l in "$@"; do
	lane "$l" &
done
wait
passed=0
failed=0
for l in "$@"; do
	for s in $l; do
		name=$(basename "$s" .sh)
		set -- $(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed.*$/\1 \2/p' "$logdir/$name.log" |
			tail -n 1)
		[ $# -eq 2 ] || set -- 0 1
		echo "$(cat "$logdir/$name.done" 2>/dev/null): $1 passed, $2 failed"
		passed=$((passed + $1))
		failed=$((failed + $2))
	done
done
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
