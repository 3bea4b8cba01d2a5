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

# capture <name> <reports> <cmd> -- <profile options...>: profile <cmd> (a tests/gpu program
# with arguments, or "torch" for tests/gpu/torch_capture.py) and check that exactly
# <reports> reports exist (<out>.db for 1 with stop / stop-shutdown, <out>.1.db ..
# <out>.N.db for repeat), each against the program's EXPECT lines (gpu programs) or
# holding the same kernels per name as the others (torch, whose step's kernels are not
# known in advance), every kernel with its launch in the same report.
capture() {
	name=$1 nrep=$2
	shift 2
	cmd=
	while [ "$1" != "--" ]; do
		cmd="$cmd $1"
		shift
	done
	shift
	out="$tmp/$name"
	set -- $cmd -- "$@"
	prog=$1
	shift
	args=
	while [ "$1" != "--" ]; do
		args="$args $1"
		shift
	done
	shift
	if [ "$prog" = torch ]; then
		exe="$TORCH_PYTHON $(dirname "$0")/torch_capture.py"
	else
		exe="$BUILD/tests/gpu/$prog"
	fi
	echo "== $name: gprof-cli profile -t cuda,nvtx $* $prog$args"
	"$GPROF_CLI" profile -t cuda,nvtx -f -o "$out" "$@" $exe $args \
		>"$out.stdout" 2>"$out.stderr"
	rc=$?
	# stop-shutdown ends the application with SIGTERM (--kill): exit status 143
	if [ $rc -eq 143 ] && grep -q 'sending SIGTERM' "$out.stderr"; then
		echo "  (profile exit status 143: the application was terminated at the range end)"
		rc=0
	fi
	if [ $rc -ne 0 ] || grep -q 'cuda trace disabled' "$out.stderr"; then
		echo "  FAIL profile exit status $rc"
		sed 's/^/  | /' "$out.stderr" | tail -20
		failed=$((failed + 1))
		return
	fi
	python3 - "$out" "$nrep" "$prog" <<'PY' >"$out.check"
import os, sqlite3, sys
out, nrep, prog = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ok = bad = 0
def res(good, what):
    global ok, bad
    print("  %s %s" % ("ok  " if good else "FAIL", what))
    ok += bool(good)
    bad += not good
if nrep == 1:
    reps = [out + ".db"]
    res(not os.path.exists(out + ".1.db"), "no per-range report %s.1.db" % out)
else:
    reps = ["%s.%d.db" % (out, i) for i in range(1, nrep + 1)]
    res(not os.path.exists("%s.%d.db" % (out, nrep + 1)), "no report %s.%d.db" % (out, nrep + 1))
hist = []
for rep in reps:
    if not os.path.exists(rep):
        res(False, "report %s exists" % rep)
        continue
    db = sqlite3.connect("file:%s?mode=ro" % rep, uri=True)
    h = dict(db.execute("SELECT s.value, count(*) FROM CUPTI_ACTIVITY_KIND_KERNEL k JOIN "
                        "StringIds s ON s.id = k.shortName GROUP BY 1").fetchall())
    hist.append(h)
    n = sum(h.values())
    joined = db.execute("SELECT count(*) FROM CUPTI_ACTIVITY_KIND_KERNEL k JOIN "
                        "CUPTI_ACTIVITY_KIND_RUNTIME r ON r.correlationId = k.correlationId"
                        ).fetchone()[0]
    print("  %s: %d kernels, %d distinct names" % (os.path.basename(rep), n, len(h)))
    res(n > 0 and joined == n, "%s: every kernel's launch in the report (%d of %d)"
        % (os.path.basename(rep), joined, n))
    z = db.execute("SELECT value FROM META_DATA_EXPORT WHERE name = "
                   "'GPROF_ZERO_TIMESTAMPS'").fetchone()
    res(not z or int(z[0]) == 0, "%s: no record lost to a zero timestamp (%s)"
        % (os.path.basename(rep), z[0] if z else 0))
    if prog != "torch":
        for line in open(out + ".stdout"):
            if not line.startswith("EXPECT all "):
                continue
            _, _, op, want, sql = line.rstrip("\n").split(" ", 4)
            try:
                row = db.execute(sql).fetchone()
                got = row[0] if row else None
            except sqlite3.Error as e:
                got = "error: %s" % e
            res(got == int(want), "%s: %s %s (got %s): %s"
                % (os.path.basename(rep), op, want, got, sql))
if prog == "torch" and len(hist) > 1:
    res(all(h == hist[0] for h in hist), "the %d reports hold the same kernels per name: %s"
        % (len(hist), sorted(hist[0].items())))
print("RESULT %d %d" % (ok, bad))
PY
	grep -v '^RESULT' "$out.check"
	set -- $(sed -n 's/^RESULT //p' "$out.check")
	passed=$((passed + ${1:-0}))
	failed=$((failed + ${2:-1}))
}

TORCH_PYTHON=${TORCH_PYTHON:-/opt/torch/.venv/bin/python3}

# subscriber: the application subscribes to CUPTI itself (tests/gpu/gpu_subscriber.cu):
# one line naming its subscriber, NVTX still traced, profile exits with the app's 3.
subscriber() {
	out="$tmp/subscriber"
	echo "== subscriber: gprof-cli profile -t cuda,nvtx gpu_subscriber (app holds CUPTI)"
	"$GPROF_CLI" profile -t cuda,nvtx -f -o "$out" "$BUILD/tests/gpu/gpu_subscriber" \
		>"$out.stdout" 2>"$out.stderr"
	rc=$?
	python3 - "$rc" "$out" <<'PY' >"$out.check"
import sqlite3, sys
rc, out = int(sys.argv[1]), sys.argv[2]
err = open(out + ".stderr").read().splitlines()
ok = bad = 0
def res(good, what):
    global ok, bad
    print("  %s %s" % ("ok  " if good else "FAIL", what))
    ok += bool(good)
    bad += not good
res(rc == 3, "profile exits with the application's status 3 (got %d)" % rc)
named = [l for l in err if "cuda trace disabled" in l]
res(len(named) == 1 and "gpu_subscriber_test" in named[0],
    "one line names the other subscriber: %s" % named)
try:
    db = sqlite3.connect("file:%s.db?mode=ro" % out, uri=True)
    n = db.execute("SELECT count(*) FROM NVTX_EVENTS e LEFT JOIN StringIds s ON "
                   "s.id = e.textId WHERE coalesce(e.text, s.value) = 'sub_work'").fetchone()[0]
except sqlite3.Error as e:
    n = "error: %s" % e
res(n == 1, "NVTX still traced: 1 range 'sub_work' (got %s)" % n)
print("RESULT %d %d" % (ok, bad))
PY
	grep -v '^RESULT' "$out.check"
	set -- $(sed -n 's/^RESULT //p' "$out.check")
	passed=$((passed + ${1:-0}))
	failed=$((failed + ${2:-1}))
}

run basic gpu_basic all
run basic-mem gpu_basic mem --cuda-memory-usage=true
run basic-shared gpu_basic_shared all
run driver gpu_driver all
run graph gpu_graph graph
run graph-node gpu_graph node --cuda-graph-trace=node
run threads gpu_threads all
run fork gpu_fork all
run names gpu_names all
run multi gpu_multi all
subscriber
capture cap-cuda 3 gpu_capture -- -c cudaProfilerApi --capture-range-end=repeat
capture cap-nvtx 1 gpu_capture --nvtx -- -c nvtx -p "step@*" --capture-range-end=stop
capture cap-nvtx-shutdown 1 gpu_capture --nvtx -- -c nvtx -p "step@*"
capture cap-nvtx-repeat 3 gpu_capture --nvtx -- -c nvtx -p "step@*" --capture-range-end=repeat:3
if [ -x "$TORCH_PYTHON" ]; then
	capture cap-torch 3 torch -- -c cudaProfilerApi --capture-range-end=repeat
	capture cap-torch-nvtx 3 torch --nvtx -- -c nvtx -p "step@*" --capture-range-end=repeat:3
else
	echo "== torch capture tests skipped: no $TORCH_PYTHON (set TORCH_PYTHON)"
fi
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
