#!/bin/sh
# run-gpu-tests.sh - the CUDA tests (make check-gpu): profile each tests/gpu program with
# `gprof-cli profile -t cuda,nvtx` and check the report against the counts the program
# printed ("EXPECT <mode> <op> <value> <SQL>" lines, see tests/gpu/gpu_common.h).
# Needs a GPU, the driver, CUPTI and python3 (its sqlite3 module reads the report).
# Last line: "N passed, N failed".
GPROF_CLI=${GPROF_CLI:-build/bin/gprof-cli}
BUILD=${BUILD:-build}
# GPU_TESTS_KEEP=<dir>: write reports and logs there and keep them
if [ -n "$GPU_TESTS_KEEP" ]; then
	tmp=$GPU_TESTS_KEEP
	mkdir -p "$tmp" || exit 1
else
	tmp=$(mktemp -d /tmp/gprof-gpu-tests.XXXXXX) || exit 1
	trap 'rm -rf "$tmp"' EXIT
fi
passed=0
failed=0

# check <name> <modes> <report> <app stdout>: one line per EXPECT, then "P F" on fd 3
check() {
	python3 - "$2" "$3" "$4" <<'PY'
import sqlite3, sys
modes = set(sys.argv[1].split(",")) | {"all"}
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[2], uri=True)
ok = bad = 0
for line in open(sys.argv[3]):
    if not line.startswith("EXPECT "):
        continue
    _, mode, op, want, sql = line.rstrip("\n").split(" ", 4)
    if mode not in modes:
        continue
    try:
        got = db.execute(sql).fetchone()[0]
    except sqlite3.Error as e:
        got = "error: %s" % e
    good = isinstance(got, int) and (got == int(want) if op == "==" else got >= int(want))
    print("  %s %s %s %s (got %s): %s" % ("ok  " if good else "FAIL", mode, op, want, got, sql))
    ok += good
    bad += not good
print("RESULT %d %d" % (ok, bad))
PY
}

run() { # run <name> <program> <modes> [profile options...]
	name=$1 prog=$2 modes=$3
	shift 3
	out="$tmp/$name"
	echo "== $name: gprof-cli profile -t cuda,nvtx $* $prog"
	"$GPROF_CLI" profile -t cuda,nvtx -f -o "$out" "$@" "$BUILD/tests/gpu/$prog" \
		>"$out.stdout" 2>"$out.stderr"
	rc=$?
	report="$out.db"
	[ -f "$report" ] || report="$out"
	if [ $rc -ne 0 ] || [ ! -f "$report" ] || grep -q 'cuda trace disabled' "$out.stderr"; then
		echo "  FAIL profile exit status $rc"
		sed 's/^/  | /' "$out.stderr"
		failed=$((failed + 1))
		return
	fi
	check "$name" "$modes" "$report" "$out.stdout" >"$out.check"
	grep -v '^RESULT' "$out.check"
	set -- $(sed -n 's/^RESULT //p' "$out.check")
	passed=$((passed + ${1:-0}))
	failed=$((failed + ${2:-1}))
}

run basic gpu_basic all
run basic-mem gpu_basic mem --cuda-memory-usage=true
run graph gpu_graph graph
run graph-node gpu_graph node --cuda-graph-trace=node
run threads gpu_threads all
run fork gpu_fork all
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
