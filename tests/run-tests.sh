#!/bin/sh
# Run every cmocka test binary given on the command line, then print the totals as
# "N passed, N failed, N skipped" (the plain closing line CI reads).  A skipped test
# (cmocka's skip(), TU_SKIP in tests/testutil.h) is listed under its binary with the
# reason it printed ("skip: ..."), if any.  Exit 1 if any test failed or a binary
# crashed.  Environment: GPROF_CLI (the binary under test), BUILD, GPROF_FIXTURES.
passed=0
failed=0
skipped=0
crashed=0
log=$(mktemp)
for t in "$@"; do
	name=${t##*/}
	CMOCKA_MESSAGE_OUTPUT=stdout "$t" >"$log" 2>&1
	rc=$?
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
	s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
	p=${p:-0}
	f=${f:-0}
	s=${s:-0}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		# crashed or exited before cmocka's summary: count the binary as one failure
		crashed=$((crashed + 1))
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + s))
	more=""
	[ "$s" -ne 0 ] && more=", $s skipped"
	if [ "$f" -ne 0 ]; then
		echo "--- $name: $p passed, $f failed$more (exit $rc)"
		cat "$log"
	else
		echo "--- $name: $p passed$more"
	fi
	if [ "$s" -ne 0 ]; then
		# "    skipped test_x: why" from "[ RUN      ] test_x", "skip: why", "[  SKIPPED ] test_x"
		awk '/^\[ RUN      \] /   { why = "" }
		     /^skip: /            { why = substr($0, 7) }
		     /^\[  SKIPPED \] [A-Za-z_][A-Za-z0-9_]*$/ && !seen[$4]++ {
			print "    skipped " $4 (why != "" ? ": " why : "")
		     }' "$log"
	fi
done
rm -f "$log"
[ "$crashed" -ne 0 ] && echo "($crashed test binaries exited abnormally)"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
