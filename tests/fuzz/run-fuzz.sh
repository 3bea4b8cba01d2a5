#!/bin/sh
# make check-fuzz: build the libFuzzer targets (tests/fuzz/fuzz_*.c) with clang
# -fsanitize=fuzzer,address,undefined and run each for FUZZ_SECONDS (default 45) from the
# seed corpus tests/fuzz/corpus/<target>/ (read only: new inputs go to a temporary
# folder).  A crash, leak, sanitizer report, or an allocation above -malloc_limit_mb
# fails the run; its input is kept as $BUILD/fuzz/crash-* (rerun: $BUILD/fuzz/<target>
# FILE).  Without a clang that links libFuzzer the run is skipped (exit 0) with a line
# saying so.  Environment: BUILD (the build folder), FUZZ_CC (clang), FUZZ_SECONDS,
# MAKE.  The output ends with "fuzz: ..." lines, never with make check's summary form.
set -u
cc=${FUZZ_CC:-clang}
secs=${FUZZ_SECONDS:-45}
build=${BUILD:-build}
make=${MAKE:-make}
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }\n' >"$probe/p.c"
if ! command -v "$cc" >/dev/null 2>&1 ||
	! "$cc" -fsanitize=fuzzer,address,undefined -o "$probe/p" "$probe/p.c" >/dev/null 2>&1; then
	echo "fuzz: skipped: no '$cc' with libFuzzer (Debian: apt-get install clang)"
	exit 0
fi
$make --no-print-directory fuzz-programs FUZZ_CC="$cc" || exit 1
status=0
for t in frame report; do
	work="$probe/$t"
	mkdir -p "$work"
	log="$build/fuzz/fuzz_$t.log"
	# -malloc_limit_mb: the recorder's memory bound (issue 18); one allocation above it
	# (e.g. a string table sized by a crafted id) is a failure
	if "$build/fuzz/fuzz_$t" -max_total_time="$secs" -malloc_limit_mb=64 -rss_limit_mb=2048 \
		-timeout=10 -print_final_stats=1 -artifact_prefix="$build/fuzz/crash-$t-" \
		"$work" "tests/fuzz/corpus/$t" >"$log" 2>&1; then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
		echo "fuzz: fuzz_$t: ${runs:-?} inputs in ${secs} s, no failure"
	else
		echo "fuzz: fuzz_$t FAILED (log: $log)"
		tail -n 40 "$log"
		status=1
	fi
done
exit $status
