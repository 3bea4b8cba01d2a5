#!/bin/sh
# run-analyze-tests.sh - `gprof-cli analyze` on the GPU (issue 12): tests/gpu/launch_bound
# (300 NVTX iterations of 200 tiny kernels) profiled with -t cuda,nvtx.  Launched one by
# one (eager), the launch_bound rule must fire and name the range 'iteration'; the same
# kernels replayed through a CUDA graph (traced as whole graphs, and node by node) must
# not make it fire.  Then the same with PyTorch (tests/gpu/torch_launch_bound.py: 200
# NVTX steps of 100 element-wise ops, eager vs torch.cuda.CUDAGraph), when TORCH_PYTHON
# (default /opt/torch/.venv/bin/python3) is there.  Each run's report must hold the GPU work (kernels or graph launches),
# so that "did not fire" cannot come from an empty report.  The figures (the program's
# own wall time with and without the profiler, the rule's row) are printed for
# bench/RESULTS-gpu.md.
# Environment: GPROF_CLI, BUILD (as run-gpu-tests.sh); GPU_TESTS_KEEP=<dir> keeps the
# reports.  Needs python3 (its sqlite3 module).  Last line: "N passed, N failed".
GPROF_CLI=${GPROF_CLI:-build/bin/gprof-cli}
BUILD=${BUILD:-build}
PROG=$BUILD/tests/gpu/launch_bound
ITERS=300
PER=200
if [ -n "$GPU_TESTS_KEEP" ]; then
	tmp=$GPU_TESTS_KEEP
	mkdir -p "$tmp" || exit 1
else
	tmp=$(mktemp -d /tmp/gprof-analyze-tests.XXXXXX) || exit 1
	trap 'rm -rf "$tmp"' EXIT
fi
passed=0
failed=0

res() { # res <good 0|1> <what>
	if [ "$1" = 1 ]; then
		echo "  ok   $2"
		passed=$((passed + 1))
	else
		echo "  FAIL $2"
		failed=$((failed + 1))
	fi
}

q() { # q <report> <sql>: one integer
	python3 -c 'import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
try:
    print(db.execute(sys.argv[2]).fetchone()[0])
except sqlite3.Error:
    print(-1)' "$1" "$2"
}

if [ ! -x "$PROG" ]; then
	echo "  FAIL $PROG is not built (make gpu-programs)"
	echo "0 passed, 1 failed"
	exit 1
fi

echo "== without the profiler (figures only)"
for mode in eager graph; do
	"$PROG" $mode $ITERS $PER | sed -n 's/^ELAPSED/  ELAPSED/p'
done

# one <name> <check> <fires 0|1> <range> <iterations> [profile options...] -- <command...>
# check: eager (every loop kernel in the report), graph (one graph launch per iteration),
# node (every loop kernel, as a graph node)
one() {
	name=$1 check=$2 fires=$3 range=$4 iters=$5
	shift 5
	opts=
	while [ "$1" != "--" ]; do
		opts="$opts $1"
		shift
	done
	shift
	out=$tmp/$name
	echo "== $name: gprof-cli profile -t cuda,nvtx$opts $*"
	"$GPROF_CLI" profile -t cuda,nvtx -f -o "$out" $opts "$@" >"$out.stdout" 2>"$out.stderr"
	rc=$?
	if [ $rc -ne 0 ] || [ ! -f "$out.db" ] || grep -q 'cuda trace disabled' "$out.stderr"; then
		res 0 "profile exit status $rc"
		sed 's/^/  | /' "$out.stderr" | tail -20
		return
	fi
	sed -n 's/^ELAPSED/  ELAPSED (profiled)/p' "$out.stdout"
	kernels=$(sed -n 's/^KERNELS //p' "$out.stdout")
	case $check in
	eager)
		n=$(q "$out.db" "SELECT count(*) FROM CUPTI_ACTIVITY_KIND_KERNEL")
		res $([ "$n" -gt "$kernels" ] && echo 1 || echo 0) \
			"the report holds the $kernels loop kernels and the warm-up (got $n)" ;;
	graph)
		n=$(q "$out.db" "SELECT count(*) FROM CUPTI_ACTIVITY_KIND_GRAPH_TRACE")
		res $([ "$n" -eq "$iters" ] && echo 1 || echo 0) \
			"the report holds the $iters graph launches (got $n)" ;;
	node)
		n=$(q "$out.db" "SELECT count(*) FROM CUPTI_ACTIVITY_KIND_KERNEL WHERE graphNodeId IS NOT NULL")
		res $([ "$n" -eq "$kernels" ] && echo 1 || echo 0) \
			"the report holds the $kernels graph-node kernels (got $n)" ;;
	esac
	"$GPROF_CLI" analyze -q -f csv -r launch_bound --fail-on=launch_bound "$out.db" \
		>"$out.analyze" 2>"$out.analyze.err"
	rc=$?
	sed 's/^/  | /' "$out.analyze"
	if [ "$fires" = 1 ]; then
		res $([ $rc -eq 5 ] && echo 1 || echo 0) "launch_bound fires (analyze --fail-on exit 5, got $rc)"
		res $(grep -q "^[0-9]*,$range,$iters," "$out.analyze" && echo 1 || echo 0) \
			"its row names NVTX range '$range' with $iters instances"
		# the plain-words message, for the log
		"$GPROF_CLI" analyze -r launch_bound "$out.db" | sed -n '/^ \*\*/,/^Suggestion/p' |
			sed 's/^/  > /'
	else
		res $([ $rc -eq 0 ] && echo 1 || echo 0) "launch_bound does not fire (analyze exit 0, got $rc)"
		sed 's/^/  | /' "$out.analyze.err"
	fi
	"$GPROF_CLI" analyze -q "$out.db" >"$out.all" 2>&1
	res $([ $? -eq 0 ] && echo 1 || echo 0) "every rule runs on the report (analyze exit 0)"
}

one eager eager 1 iteration $ITERS -- "$PROG" eager $ITERS $PER
one graph graph 0 iteration $ITERS -- "$PROG" graph $ITERS $PER
one node node 0 iteration $ITERS --cuda-graph-trace=node -- "$PROG" graph $ITERS $PER

# the same with PyTorch: eager element-wise ops vs torch.cuda.CUDAGraph replay
TORCH_PYTHON=${TORCH_PYTHON:-/opt/torch/.venv/bin/python3}
TORCH_SCRIPT=$(cd "$(dirname "$0")" && pwd)/torch_launch_bound.py
if [ -x "$TORCH_PYTHON" ]; then
	echo "== PyTorch without the profiler (figures only)"
	for mode in eager graph; do
		"$TORCH_PYTHON" "$TORCH_SCRIPT" $mode 200 100 | sed -n 's/^ELAPSED/  ELAPSED/p'
	done
	one torch-eager eager 1 step 200 -- "$TORCH_PYTHON" "$TORCH_SCRIPT" eager 200 100
	one torch-graph graph 0 step 200 -- "$TORCH_PYTHON" "$TORCH_SCRIPT" graph 200 100
else
	echo "== PyTorch runs skipped: no $TORCH_PYTHON (set TORCH_PYTHON)"
fi
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
