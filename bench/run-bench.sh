#!/bin/sh
# Run every benchmark binary $BUILD/bench/bench_* and print its output.
# Environment: BUILD (build directory, default build), GPROF_CLI (binary under test).
BUILD=${BUILD:-build}
status=0
found=0
for b in "$BUILD"/bench/bench_*; do
	[ -x "$b" ] || continue
	case $b in *.d) continue ;; esac
	found=1
	echo "== ${b##*/}"
	"$b" || { echo "${b##*/}: failed (exit $?)"; status=1; }
	echo
done
[ "$found" -eq 1 ] || echo "no benchmarks found in $BUILD/bench"
exit $status
