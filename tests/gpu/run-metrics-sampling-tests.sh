#!/bin/sh
# run-metrics-sampling-tests.sh - GPU tests of PM sampling (-t gpu-metrics, issue 5): the
# copy / idle / fma phases of tests/gpu/metrics_sampling at 10 kHz with cuda and NVTX
# tracing (DRAM high in the copy kernels' window, SM issue high in the fma window, all
# near 0 when idle, samples aligned with the CUPTI kernel timeline), -t gpu-metrics alone,
# the error paths (unknown metric, a metric that needs more than one pass, a missing
# device), 200 kHz (samples kept or the loss reported) and MobileNet-v2 training (mbv2.py,
# when TORCH_PYTHON and MBV2 exist).  Checks: tests/gpu/metrics_sampling_check.py.
#
#   GPROF_CLI=... BUILD=... sh tests/gpu/run-metrics-sampling-tests.sh
# Env: METRICS_TESTS_KEEP=<dir> keeps reports and logs there; TORCH_PYTHON (default
# /opt/torch/.venv/bin/python3); MBV2 (default: mbv2.py of a .gpu*/ staging folder, else
# ../shared/bench/mbv2.py).  Needs a GPU with PM sampling (Ampere GA10x or newer) and
# python3 with sqlite3.  Last line: "N passed, N failed".
GPROF_CLI=${GPROF_CLI:-build/bin/gprof-cli}
BUILD=${BUILD:-build}
TORCH_PYTHON=${TORCH_PYTHON:-/opt/torch/.venv/bin/python3}
here=$(cd "$(dirname "$0")" && pwd)
CHECK="python3 $here/metrics_sampling_check.py"
if [ -z "$MBV2" ]; then
	for f in "$(dirname "$GPROF_CLI")"/../../mbv2.py .gpu*/mbv2.py ../shared/bench/mbv2.py; do
		[ -f "$f" ] && MBV2=$f && break
	done
fi
if [ -n "$METRICS_TESTS_KEEP" ]; then
	tmp=$METRICS_TESTS_KEEP
	mkdir -p "$tmp" || exit 1
else
	tmp=$(mktemp -d /tmp/gprof-metrics-tests.XXXXXX) || exit 1
	trap 'rm -rf "$tmp"' EXIT
fi
APP=$BUILD/tests/gpu/metrics_sampling
passed=0
failed=0

tally() { # tally <check output file>: print it, add its RESULT line to the counts
	grep -v '^RESULT' "$1"
	set -- $(sed -n 's/^RESULT //p' "$1")
	passed=$((passed + ${1:-0}))
	failed=$((failed + ${2:-1}))
}

ok() { # ok <condition status> <what>
	if [ "$1" -eq 0 ]; then
		echo "ok   $2"
		passed=$((passed + 1))
	else
		echo "FAIL $2"
		failed=$((failed + 1))
	fi
}

profile() { # profile <name> <profile options and command...>: report $tmp/<name>.db
	name=$1
	shift
	echo "== $name: gprof-cli profile $*"
	"$GPROF_CLI" profile -f -o "$tmp/$name" "$@" >"$tmp/$name.stdout" 2>"$tmp/$name.stderr"
	rc=$?
	sed 's/^/  | /' "$tmp/$name.stderr" | grep -v '^  | Generated:\|^  |  *\/' | head -20
	ok $rc "$name: profile exit status $rc"
}

# 1. the three phases with cuda + NVTX tracing at 10 kHz
profile phases -t cuda,nvtx,gpu-metrics --gpu-metrics-devices=0 --gpu-metrics-frequency=10000 "$APP" 300
$CHECK phases "$tmp/phases.db" 10000 >"$tmp/phases.check" 2>&1
tally "$tmp/phases.check"
$CHECK notes "$tmp/phases.db" DEVICE_0 SAMPLES_DEVICE_0 DECODE_CPU_NS >"$tmp/n.check" 2>&1
tally "$tmp/n.check"
! grep -q 'gpu-metrics: .*failed\|samples lost' "$tmp/phases.stderr"
ok $? "phases: no gpu-metrics error and no sample lost at 10 kHz"
"$GPROF_CLI" stats --report gpu_metrics_sum "$tmp/phases.db" >"$tmp/sum.txt" 2>&1
rc=$?
head -60 "$tmp/sum.txt" | sed 's/^/  | /'
[ $rc -eq 0 ] && grep -q 'copy' "$tmp/sum.txt" && grep -q 'fma' "$tmp/sum.txt" &&
	grep -q 'idle' "$tmp/sum.txt" && grep -q '\[all\]' "$tmp/sum.txt"
ok $? "stats --report gpu_metrics_sum: [all], copy, idle and fma rows"

# 2. -t gpu-metrics alone
profile alone -t gpu-metrics --gpu-metrics-devices=0 "$APP" 100
$CHECK alone "$tmp/alone.db" 10000 >"$tmp/alone.check" 2>&1
tally "$tmp/alone.check"

# 3. errors: unknown metric (close match listed), a 19-pass metric, and one that works;
#    the profile goes on and samples the metric that fits
cat >"$tmp/set.yaml" <<'EOF'
mode: sample
metrics:
  - gr__cycles_active.avg.pct_of_peak_sustained_elapsed
  - dramc__read_througput.avg.pct_of_peak_sustained_elapsed
  - sm__throughput.avg.pct_of_peak_sustained_elapsed
EOF
profile badset -t cuda,gpu-metrics --gpu-metrics-devices=0 --gpu-metrics-set=file:"$tmp/set.yaml" "$APP" 50
grep -q "unknown metric 'dramc__read_througput.*close matches: dramc__read_throughput" \
	"$tmp/badset.stderr"
ok $? "badset: unknown metric named with its close match"
grep -q "sm__throughput.avg.pct_of_peak_sustained_elapsed' is not sampled.*passes" \
	"$tmp/badset.stderr"
ok $? "badset: the metric that needs more than one pass is named"
$CHECK notes "$tmp/badset.db" WARNING >"$tmp/b.check" 2>&1
tally "$tmp/b.check"
n=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(
	'SELECT count(*) FROM TARGET_INFO_GPU_METRICS').fetchone()[0])" "$tmp/badset.db" 2>&1)
[ "$n" = 1 ]
ok $? "badset: the one metric that fits is sampled ($n metrics)"

# 4. a device the application does not have: one error line, the trace still written
profile nodev -t cuda,gpu-metrics --gpu-metrics-devices=7 "$APP" 50
grep -q 'gpu-metrics: device 7: ' "$tmp/nodev.stderr"
ok $? "nodev: one error line for device 7"
n=$(python3 -c "import sqlite3,sys; db=sqlite3.connect(sys.argv[1]); print(db.execute(
	'SELECT count(*) FROM CUPTI_ACTIVITY_KIND_KERNEL').fetchone()[0], db.execute(
	\"SELECT count(*) FROM META_DATA_CAPTURE WHERE name='GPU_METRICS:ERROR'\").fetchone()[0])" \
	"$tmp/nodev.db" 2>&1)
case $n in "0 "* | *" 0" | *rror*) false ;; *) true ;; esac
ok $? "nodev: kernels still traced and the error recorded (kernels, errors: $n)"

# 5. 200 kHz: every sample kept, or the loss said
profile rate200k -t cuda,gpu-metrics --gpu-metrics-devices=0 --gpu-metrics-frequency=200000 "$APP" 100
$CHECK rate "$tmp/rate200k.db" 200000 >"$tmp/r.check" 2>&1
tally "$tmp/r.check"

# 6. every device the application sees (one decode thread each): each sampled, none lost
#    (the tests above name device 0, the one the test programs use)
profile alldev -t gpu-metrics --gpu-metrics-devices=all "$APP" 100
n=$(python3 - "$tmp/alldev.db" <<'PY' 2>&1
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
devs = [r[0] for r in db.execute("SELECT DISTINCT id FROM TARGET_INFO_GPU ORDER BY id")]
got = []
for d in devs:
    v = db.execute("SELECT value FROM META_DATA_CAPTURE WHERE name = ?",
                   ("GPU_METRICS:SAMPLES_DEVICE_%d" % d,)).fetchone()
    got.append(int(v[0]) if v else 0)
print(len(devs), min(got) if got else 0, " ".join(map(str, got)))
PY
)
set -- $n
[ "${1:-0}" -ge 1 ] && [ "${2:-0}" -gt 500 ] 2>/dev/null
ok $? "alldev: every device sampled (devices, fewest samples, per device: $n)"
! grep -q 'samples lost' "$tmp/alldev.stderr"
ok $? "alldev: no sample lost with every device sampled at 10 kHz"

# 7. MobileNet-v2 training steps
if [ -x "$TORCH_PYTHON" ] && [ -f "$MBV2" ]; then
	profile mbv2 -t cuda,nvtx,gpu-metrics --gpu-metrics-devices=0 "$TORCH_PYTHON" "$MBV2"
	$CHECK mbv2 "$tmp/mbv2.db" 10000 >"$tmp/m.check" 2>&1
	tally "$tmp/m.check"
	"$GPROF_CLI" stats --report gpu_metrics_sum "$tmp/mbv2.db" 2>&1 | head -40 |
		sed 's/^/  | /'
else
	echo "skip mbv2 (no $TORCH_PYTHON or mbv2.py)"
fi
echo "$passed passed, $failed failed"
