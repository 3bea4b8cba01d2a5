# lib.sh - helpers of the GPU test suites (sourced: . "$here/lib.sh"): the counters and
# their one-line verdicts, and one-value SQLite queries.
#   ok <text> / bad <text>: count a pass or a failure and say it ("  ok   ..." / "  FAIL ...")
#   q <db> <sql>: the first column of the query's first row ("" when none or on error)
#   finish: the closing line "N passed, N failed"; returns 1 when something failed
passed=0
failed=0
ok() { echo "  ok   $*"; passed=$((passed + 1)); }
bad() { echo "  FAIL $*"; failed=$((failed + 1)); }
q() { python3 -c 'import sqlite3, sys
r = sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()
print(r[0] if r else "")' "$@" 2>/dev/null; }
finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}
