#!/bin/sh
# run-metrics-range-tests.sh - GPU tests of the range profiler (issue 5, collectors/gpu_range.c):
# profile tests/gpu/metrics_range (a bandwidth-bound copy kernel, a compute-bound FMA loop,
# a 2-node CUDA graph, NVTX phases) and tests/gpu/metrics_gemm.py (fp16 GEMM through
# PyTorch/cuBLAS) with -t gpu-metrics --gpu-metrics-mode=range, check the metric leaning
# of each kernel, the range counts and joins in GPROF_RANGE_METRICS, the NVTX user-range
# mode, an unknown metric, and the stats reports; print the replay cost (app wall time
# with and without range profiling).  Needs a GPU, CUPTI and python3 (sqlite3 module);
# the GEMM needs PyTorch ($TORCH_PYTHON, default /opt/torch/.venv/bin/python3; skipped
# without it).  Usage: GPROF_CLI=... BUILD=... sh tests/gpu/run-metrics-range-tests.sh
# Last line: "N passed, N failed".
GPROF_CLI=${GPROF_CLI:-build/bin/gprof-cli}
BUILD=${BUILD:-build}
TORCH_PYTHON=${TORCH_PYTHON:-/opt/torch/.venv/bin/python3}
ITERS=${ITERS:-3}
# PROF_TIMEOUT: seconds one profile run may take (default 300)
here=$(cd "$(dirname "$0")" && pwd)
if [ -n "$GPU_TESTS_KEEP" ]; then
	tmp=$GPU_TESTS_KEEP
	mkdir -p "$tmp" || exit 1
else
	tmp=$(mktemp -d /tmp/gprof-metrics-range.XXXXXX) || exit 1
	trap 'rm -rf "$tmp"' EXIT
fi
prog="$BUILD/tests/gpu/metrics_range"
passed=0
failed=0

now_ms() { date +%s%3N; }

# prof <name> <profile options...> -- <command...>: profile into $tmp/<name>.db, wall ms in
# $tmp/<name>.ms; a failed profile counts as one failure
prof() {
	name=$1
	shift
	opts=
	while [ "$1" != "--" ]; do
		opts="$opts $1"
		shift
	done
	shift
	echo "== $name: gprof-cli profile$opts $*"
	t0=$(now_ms)
	# shellcheck disable=SC2086
	timeout "${PROF_TIMEOUT:-300}" "$GPROF_CLI" profile -f -o "$tmp/$name" $opts "$@" \
		>"$tmp/$name.stdout" 2>"$tmp/$name.stderr"
	rc=$?
	echo $(($(now_ms) - t0)) >"$tmp/$name.ms"
	sed 's/^/  | /' "$tmp/$name.stderr" | grep -v '^  | Generated\|^  | *\/' | head -20
	if [ $rc -ne 0 ] || [ ! -f "$tmp/$name.db" ]; then
		echo "  FAIL profile exit status $rc"
		failed=$((failed + 1))
		return 1
	fi
	return 0
}

# plain <name> <command...>: run without the profiler, wall ms in $tmp/<name>.ms
plain() {
	name=$1
	shift
	t0=$(now_ms)
	"$@" >"$tmp/$name.stdout" 2>&1
	echo $(($(now_ms) - t0)) >"$tmp/$name.ms"
}

# checks <kind> <report> [args]: python checks, "ok"/"FAIL" lines then "RESULT P F"
checks() {
	python3 - "$@" <<'PY'
import sqlite3, sys
kind, path = sys.argv[1], sys.argv[2]
args = sys.argv[3:]
db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
ok = bad = 0
def q(sql, *a):
    try:
        return db.execute(sql, a).fetchall()
    except sqlite3.Error as e:
        return [("error: %s" % e,)]
def one(sql, *a):
    r = q(sql, *a)
    return r[0][0] if r else None
def check(what, good, got):
    global ok, bad
    print("  %s %s (got %s)" % ("ok  " if good else "FAIL", what, got))
    ok += bool(good)
    bad += not good
def num(x):
    return isinstance(x, (int, float))
R = """FROM GPROF_RANGE_METRICS r JOIN StringIds m ON m.id = r.metricNameId
       LEFT JOIN StringIds n ON n.id = r.nameId"""
def mean(metric, name_like, k="kernel"):
    return one("SELECT avg(r.value) " + R + " WHERE r.kind = ? AND m.value LIKE ? AND n.value LIKE ?",
               k, metric, name_like)
def note(key):
    return one("SELECT value FROM META_DATA_CAPTURE WHERE name = ?", key)
DRAM, SM = "dram__throughput.avg.pct_of_peak_sustained_elapsed", "sm__throughput.avg.pct_of_peak_sustained_elapsed"
TENSOR = "%tensor%"
nmetrics = one("SELECT count(DISTINCT metricId) FROM GPROF_RANGE_METRICS")
if kind == "kernel":
    iters, traced = int(args[0]), args[1] == "cuda"
    for k in ("copy_kernel", "fma_kernel"):
        c = one("SELECT count(DISTINCT r.rangeId) " + R + " WHERE r.kind='kernel' AND n.value LIKE ?", k + "%")
        check("%s: one range per launch (%d)" % (k, iters), c == iters, c)
    c = one("SELECT count(DISTINCT r.rangeId) " + R + " WHERE n.value = '[CUDA graph kernel node]'")
    check("graph launch: one range per kernel node (2)", c == 2, c)
    c = one("SELECT count(*) FROM (SELECT rangeId FROM GPROF_RANGE_METRICS GROUP BY rangeId HAVING count(*) = ?)", nmetrics)
    t = one("SELECT count(DISTINCT rangeId) FROM GPROF_RANGE_METRICS")
    check("every range has all %s metrics" % nmetrics, c == t and nmetrics and nmetrics >= 1, "%s of %s" % (c, t))
    cd, fd = mean(DRAM, "copy_kernel%"), mean(DRAM, "fma_kernel%")
    check("copy_kernel DRAM throughput >= 50 %", num(cd) and cd >= 50, cd)
    check("copy_kernel DRAM % > 4 x fma_kernel DRAM %", num(cd) and num(fd) and cd > 4 * fd, "%s vs %s" % (cd, fd))
    fs, cs = mean(SM, "fma_kernel%"), mean(SM, "copy_kernel%")
    check("fma_kernel SM throughput >= 50 %", num(fs) and fs >= 50, fs)
    check("fma_kernel SM % > copy_kernel SM %", num(fs) and num(cs) and fs > cs, "%s vs %s" % (fs, cs))
    d = mean("gpu__time_duration.sum", "copy_kernel%")
    check("copy_kernel duration > 0 ns", num(d) and d > 0, d)
    p = note("GPU_METRICS:REPLAY_PASSES")
    check("META_DATA_CAPTURE GPU_METRICS:REPLAY_PASSES >= 1", p is not None and p.isdigit() and int(p) >= 1, p)
    check("META_DATA_CAPTURE GPU_METRICS:REPLAY says timings are not comparable",
          "not comparable" in (note("GPU_METRICS:REPLAY") or ""), note("GPU_METRICS:REPLAY"))
    check("GPU_METRICS:RANGES_DROPPED = 0", note("GPU_METRICS:RANGES_DROPPED") == "0", note("GPU_METRICS:RANGES_DROPPED"))
    if traced:
        # under kernel replay CUPTI's kernel records of stream launches carry no
        # timestamps (the recorder skips them): the launch's API record is the join
        c = one("""SELECT count(DISTINCT r.rangeId) FROM GPROF_RANGE_METRICS r
                   JOIN CUPTI_ACTIVITY_KIND_RUNTIME a ON a.correlationId = r.correlationId
                   JOIN StringIds an ON an.id = a.nameId
                   WHERE r.kind = 'kernel' AND an.value LIKE 'cudaLaunchKernel%'""")
        check("kernel ranges join their cudaLaunchKernel record by correlationId (%d)" % (2 * iters),
              c == 2 * iters, c)
        c = one("""SELECT count(DISTINCT r.rangeId) FROM GPROF_RANGE_METRICS r JOIN StringIds g ON g.id = r.nameId
                   JOIN CUPTI_ACTIVITY_KIND_RUNTIME a ON a.correlationId = r.correlationId
                   JOIN StringIds an ON an.id = a.nameId
                   WHERE g.value = '[CUDA graph kernel node]' AND an.value LIKE 'cudaGraphLaunch%'""")
        check("graph-node ranges carry the cudaGraphLaunch correlationId (2)", c == 2, c)
        c = one("""SELECT count(*) FROM CUPTI_ACTIVITY_KIND_KERNEL k JOIN StringIds s ON s.id = k.shortName
                   WHERE s.value LIKE 'graph_node_%' AND k.correlationId IN
                   (SELECT r.correlationId FROM GPROF_RANGE_METRICS r JOIN StringIds g ON g.id = r.nameId
                    WHERE g.value = '[CUDA graph kernel node]')""")
        check("graph-node ranges join the node kernels' records by correlationId", c and c >= 2, c)
elif kind == "nvtx":
    for name in ("copy_phase", "fma_phase", "graph_phase"):
        c = one("SELECT count(DISTINCT r.rangeId) " + R + " WHERE r.kind='nvtx' AND n.value = ?", name)
        check("NVTX range %s: one row set" % name, c == 1, c)
        c = one("""SELECT count(DISTINCT r.rangeId) FROM GPROF_RANGE_METRICS r
                   JOIN StringIds n ON n.id = r.nameId
                   JOIN NVTX_EVENTS e ON coalesce(e.text, (SELECT value FROM StringIds WHERE id = e.textId)) = n.value
                   WHERE r.kind = 'nvtx' AND abs(r.start - e.start) < 20000000
                   AND abs(r.end - e.end) < 20000000""") if name == "copy_phase" else None
        if c is not None:
            check("NVTX ranges match their NVTX_EVENTS rows within 20 ms (3)", c == 3, c)
    cd, fd = mean(DRAM, "copy_phase", "nvtx"), mean(DRAM, "fma_phase", "nvtx")
    check("copy_phase DRAM % > fma_phase DRAM %", num(cd) and num(fd) and cd > fd, "%s vs %s" % (cd, fd))
    print("  note: GPU_METRICS:METRICS_LEFT_OUT = %s" % note("GPU_METRICS:METRICS_LEFT_OUT"))
elif kind == "gemm":
    t = one("SELECT max(r.value) " + R + " WHERE r.kind='kernel' AND m.value LIKE ? AND (n.value LIKE '%gemm%' OR n.value LIKE '%xmma%' OR n.value LIKE '%cutlass%' OR n.value LIKE 'nvjet%')", TENSOR)
    o = one("SELECT max(r.value) " + R + " WHERE r.kind='kernel' AND m.value LIKE ? AND NOT (n.value LIKE '%gemm%' OR n.value LIKE '%xmma%' OR n.value LIKE '%cutlass%' OR n.value LIKE 'nvjet%')", TENSOR)
    check("GEMM kernel tensor-pipe utilisation >= 30 %", num(t) and t >= 30, t)
    check("GEMM tensor % > other kernels' tensor %", num(t) and (o is None or t > o), "%s vs %s" % (t, o))
    c = one("SELECT count(DISTINCT r.rangeId) " + R + " WHERE r.kind='kernel' AND (n.value LIKE 'nvjet%' OR n.value LIKE '%gemm%')")
    check("one range per GEMM launch (2)", c == 2, c)
    for row in q("SELECT n.value, m.value, avg(r.value) " + R + " GROUP BY 1, 2 ORDER BY 1, 2"):
        print("    %-60.60s %-66s %s" % row)
elif kind == "bad":
    c = one("SELECT count(DISTINCT rangeId) FROM GPROF_RANGE_METRICS")
    check("the known metric is still measured", c and c > 0, c)
    check("GPU_METRICS:ERROR names the unknown metric", "sm__throughput.avg.pct_of_peak_sustaned" in (note("GPU_METRICS:ERROR") or ""), note("GPU_METRICS:ERROR"))
print("RESULT %d %d" % (ok, bad))
PY
}

tally() { # tally <check output file>
	grep -v '^RESULT' "$1"
	set -- $(sed -n 's/^RESULT //p' "$1")
	passed=$((passed + ${1:-0}))
	failed=$((failed + ${2:-1}))
}

expect_grep() { # expect_grep <what> <pattern> <file>
	if grep -q "$2" "$3"; then
		echo "  ok   $1"
		passed=$((passed + 1))
	else
		echo "  FAIL $1 ('$2' not in $3)"
		failed=$((failed + 1))
	fi
}

M="--gpu-metrics-mode=range"
plain app "$prog" "$ITERS"
prof trace -t cuda,nvtx -- "$prog" "$ITERS"
if prof kern -t cuda,nvtx,gpu-metrics $M -- "$prog" "$ITERS"; then
	checks kernel "$tmp/kern.db" "$ITERS" cuda >"$tmp/kern.check"
	tally "$tmp/kern.check"
	expect_grep "stderr states replay makes timings not comparable" "not comparable" "$tmp/kern.stderr"
	"$GPROF_CLI" stats -q --report gpu_kern_metrics "$tmp/kern.db" >"$tmp/kern.stats" 2>&1
	sed 's/^/  | /' "$tmp/kern.stats" | head -30
	expect_grep "stats gpu_kern_metrics lists copy_kernel" "copy_kernel" "$tmp/kern.stats"
	expect_grep "stats gpu_kern_metrics lists the DRAM metric" "dram__throughput" "$tmp/kern.stats"
fi
if prof kern_nocuda -t gpu-metrics $M -- "$prog" "$ITERS"; then
	checks kernel "$tmp/kern_nocuda.db" "$ITERS" nocuda >"$tmp/kern_nocuda.check"
	tally "$tmp/kern_nocuda.check"
fi
if prof nvtx -t nvtx,gpu-metrics $M --gpu-metrics-ranges=nvtx -- "$prog" "$ITERS"; then
	checks nvtx "$tmp/nvtx.db" >"$tmp/nvtx.check"
	tally "$tmp/nvtx.check"
	"$GPROF_CLI" stats -q --report gpu_range_metrics "$tmp/nvtx.db" >"$tmp/nvtx.stats" 2>&1
	sed 's/^/  | /' "$tmp/nvtx.stats" | head -30
	expect_grep "stats gpu_range_metrics lists copy_phase" "copy_phase" "$tmp/nvtx.stats"
fi
cat >"$tmp/bad.yaml" <<EOF
metrics:
  - dram__throughput.avg.pct_of_peak_sustained_elapsed
  - sm__throughput.avg.pct_of_peak_sustaned_elapsed
EOF
if prof bad -t gpu-metrics $M --gpu-metrics-set=file:$tmp/bad.yaml -- "$prog" 1; then
	checks bad "$tmp/bad.db" >"$tmp/bad.check"
	tally "$tmp/bad.check"
	expect_grep "unknown metric: one line with close matches" "did you mean: sm__throughput.avg.pct_of_peak_sustained_elapsed" "$tmp/bad.stderr"
fi
if [ -x "$TORCH_PYTHON" ]; then
	plain gemm_app "$TORCH_PYTHON" "$here/metrics_gemm.py" 2
	if prof gemm -t cuda,gpu-metrics $M -- "$TORCH_PYTHON" "$here/metrics_gemm.py" 2; then
		checks gemm "$tmp/gemm.db" >"$tmp/gemm.check"
		tally "$tmp/gemm.check"
		"$GPROF_CLI" stats -q --report gpu_kern_metrics "$tmp/gemm.db" >"$tmp/gemm.stats" 2>&1
		sed 's/^/  | /' "$tmp/gemm.stats" | head -40
	fi
else
	echo "== gemm: skipped ($TORCH_PYTHON not found)"
fi
echo "== replay cost (wall ms): metrics_range $ITERS: app $(cat "$tmp/app.ms"), -t cuda,nvtx" \
	"$(cat "$tmp/trace.ms" 2>/dev/null), range kernel+cuda $(cat "$tmp/kern.ms" 2>/dev/null)," \
	"range kernel $(cat "$tmp/kern_nocuda.ms" 2>/dev/null), range nvtx $(cat "$tmp/nvtx.ms" 2>/dev/null);" \
	"gemm: app $(cat "$tmp/gemm_app.ms" 2>/dev/null), range $(cat "$tmp/gemm.ms" 2>/dev/null)"
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
