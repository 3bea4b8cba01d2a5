#!/bin/sh
# Run every cmocka test binary given on the command line, then print the totals as
# "N passed, N failed" (the plain closing line CI reads).  Exit 1 if any test failed
# or a binary crashed.  Environment: GPROF_CLI (the binary under test), BUILD.
passed=0
failed=0
crashed=0
log=$(mktemp)
for t in "$@"; do
	name=${t##*/}
	CMOCKA_MESSAGE_OUTPUT=stdout "$t" >"$log" 2>&1
	rc=$?
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
	p=${p:-0}
	f=${f:-0}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		# crashed or exited before cmocka's summary: count the binary as one failure
		crashed=$((crashed + 1))
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$f" -ne 0 ]; then
		echo "--- $name: $p passed, $f failed (exit $rc)"
		cat "$log"
	else
		echo "--- $name: $p passed"
	fi
done
rm -f "$log"
[ "$crashed" -ne 0 ] && echo "($crashed test binaries exited abnormally)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
