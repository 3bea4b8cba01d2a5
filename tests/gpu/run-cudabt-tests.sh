#!/bin/sh
# run-cudabt-tests.sh - backtraces of CUDA API calls (--cudabacktrace, issue 15) on real
# CUDA programs (make check-gpu runs it through run-all.sh):
#   1. tests/gpu/gpu_basic (static runtime) and gpu_basic_shared (libcudart.so) with
#      -t cuda --cudabacktrace=all:0: every CUPTI_ACTIVITY_KIND_RUNTIME row of a launch,
#      copy, allocation or sync has a callchain; frame 0 is the API function itself (the
#      call's name less its "_v<N>" suffix; in libcudart.so for the shared build), main is
#      among the first frames, no frame is gprof-cli's or libcupti's, libcuda's frames only
#      below the API function (driver calls made by the application); nsys's columns;
#      NVIDIA's "Select CUDA calls with backtraces" runs unchanged;
#   2. gpu_basic with kernel:0: chains only on launches; all (default threshold 1000 ns):
#      most calls CUPTI timed under 500 ns without a chain (the threshold is on our clock); all:10000000000: none, no table;
#   3. PyTorch (tests/gpu/torch_launch_bound.py eager, when TORCH_PYTHON exists) with
#      --cudabacktrace=all: the launches' chains start at cudaLaunchKernel, go through
#      libtorch and reach the Python interpreter; the loop's ELAPSED bare and with
#      backtraces printed (cost, for the record);
#   4. PyTorch with --cudabacktrace=all:0 --python-backtrace=cuda: every launch of the
#      timed loop has torch_launch_bound.py's body at its x.add_ line as its innermost Python
#      frame, each Python frame followed by another or by the native
#      _PyEval_EvalFrameDefault that runs it, no chain unread (GPROF_PYTHON_BACKTRACES_UNREAD
#      0), and stats -r cuda_gpu_python_sum names that line first; the loop's ELAPSED bare,
#      with backtraces at all:0 and with Python backtraces printed (cost);
#   5. nsys side by side, when $NSYS runs: nsys's CUDA_CALLCHAINS columns for the same
#      program and switch equal ours, and its frame-0 symbols are printed beside ours.
# Environment: GPROF_CLI, BUILD (as make check-gpu sets them), TORCH_PYTHON (default
# /opt/torch/.venv/bin/python3), NSYS (default: nsys on PATH).  Last line: "N passed,
# N failed".
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
tmp=$(mktemp -d /tmp/gprof-cudabt-tests.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
: "${GPROF_CLI:=build/bin/gprof-cli}" "${BUILD:=build}" "${NSYS:=nsys}"
: "${TORCH_PYTHON:=/opt/torch/.venv/bin/python3}"
# want <what> <sql> <value>: the query's one value is <value>
want() {
	got=$(q "$db" "$2")
	if [ "$got" = "$3" ]; then ok "$name: $1"; else bad "$name: $1: got [$got], want [$3]"; fi
}

# the API rows of the calls whose frames we check, and their chains' frames
CALLS="(SELECT r.callchainId AS cc, s.value AS api FROM CUPTI_ACTIVITY_KIND_RUNTIME r \
JOIN StringIds s ON s.id = r.nameId WHERE s.value GLOB 'cudaLaunchKernel*' OR \
s.value GLOB 'cudaMemcpy*' OR s.value GLOB 'cudaMalloc*' OR s.value GLOB '*Synchronize*')"
FRAMES="(SELECT c.id, c.stackDepth AS d, s.value AS sym, m.value AS mod, c.unresolved \
FROM CUDA_CALLCHAINS c JOIN StringIds s ON s.id = c.symbol JOIN StringIds m ON m.id = c.module)"

profile() { # profile <name> <switches> <program> [args]: -t cuda into $tmp/<name>.db
	name=$1 sw=$2 # (switches: one word, or several separated by spaces)
	shift 2
	db=$tmp/$name.db
	# shellcheck disable=SC2086
	if "$GPROF_CLI" profile -f -t cuda -s none --cpuctxsw=none $sw -o "$tmp/$name" "$@" \
		>"$tmp/$name.out" 2>"$tmp/$name.err"; then
		return 0
	fi
	bad "$name: profile failed"
	sed 's/^/  | /' "$tmp/$name.err" | tail -5
	return 1
}

check_frames() { # the checks of every all:0 report of a CUDA C++ program ($db, $name)
	want "the launches, copies, allocations and syncs all have a chain" \
		"SELECT count(*) FROM $CALLS WHERE cc IS NULL" 0
	want "frame 0 is the API function" \
		"SELECT count(*) FROM $CALLS JOIN $FRAMES f ON f.id = cc AND f.d = 0 WHERE \
f.sym != api AND api NOT GLOB f.sym || '_v[0-9]*'" 0
	want "main within the first 6 frames" \
		"SELECT count(*) FROM $CALLS WHERE NOT EXISTS (SELECT 1 FROM $FRAMES f WHERE \
f.id = cc AND f.d < 6 AND f.sym = 'main')" 0
	want "no gprof-cli or libcupti frame" \
		"SELECT count(*) FROM $FRAMES WHERE mod GLOB '*libgprof-*' OR mod GLOB '*libcupti*'" 0
	want "no libcuda frame above a runtime call's frame 0" \
		"SELECT count(*) FROM $CALLS JOIN $FRAMES f ON f.id = cc AND f.d = 0 WHERE \
f.mod GLOB '*libcuda.so*'" 0
	want "nsys's columns" \
		"SELECT group_concat(name, ',') FROM pragma_table_info('CUDA_CALLCHAINS')" \
		"id,symbol,module,unresolved,originalIP,stackDepth"
	want "every chain joined to its call" \
		"SELECT value FROM META_DATA_EXPORT WHERE name = 'GPROF_CUDA_CALLCHAINS_UNJOINED'" 0
	# NVIDIA's "Select CUDA calls with backtraces" (Common SQLite examples), unchanged
	if python3 - "$db" >"$db.nv" 2>&1 <<'PY'; then
import shutil, sqlite3, sys
p = sys.argv[1] + ".nvidia"
shutil.copy(sys.argv[1], p)
c = sqlite3.connect(p)
c.executescript("""
ALTER TABLE CUPTI_ACTIVITY_KIND_RUNTIME ADD COLUMN name TEXT;
UPDATE CUPTI_ACTIVITY_KIND_RUNTIME SET name = (SELECT value FROM StringIds WHERE CUPTI_ACTIVITY_KIND_RUNTIME.nameId = StringIds.id);
ALTER TABLE CUDA_CALLCHAINS ADD COLUMN symbolName TEXT;
UPDATE CUDA_CALLCHAINS SET symbolName = (SELECT value FROM StringIds WHERE symbol = StringIds.id);
""")
rows = c.execute("""SELECT name, symbolName
FROM CUPTI_ACTIVITY_KIND_RUNTIME JOIN CUDA_CALLCHAINS ON callchainId == id
ORDER BY callchainId, stackDepth
LIMIT 11;""").fetchall()
for r in rows:
    print("%-32s %s" % r)
sys.exit(0 if len(rows) == 11 and rows[0][0].startswith(rows[0][1]) else 1)
PY
		ok "$name: NVIDIA's CUDA backtrace query"
	else
		bad "$name: NVIDIA's CUDA backtrace query"
	fi
	sed 's/^/  | /' "$db.nv"
}

for prog in gpu_basic gpu_basic_shared; do
	echo "== $prog --cudabacktrace=all:0"
	if profile $prog --cudabacktrace=all:0 "$BUILD/tests/gpu/$prog"; then
		check_frames
		echo "  | $(q "$db" "SELECT count(*) FROM CUDA_CALLCHAINS WHERE stackDepth = 0") chains;" \
			"a launch's: $(q "$db" "SELECT group_concat(sym || ' (' || replace(mod, \
rtrim(mod, replace(mod, '/', '')), '') || ')', ' < ') FROM $FRAMES WHERE id = (SELECT min(cc) \
FROM $CALLS WHERE api GLOB 'cudaLaunchKernel*') AND d < 5")"
	fi
done
name=gpu_basic_shared db=$tmp/gpu_basic_shared.db
[ -f "$db" ] && want "frame 0 of a launch in libcudart.so" \
	"SELECT count(*) FROM $CALLS JOIN $FRAMES f ON f.id = cc AND f.d = 0 WHERE \
api GLOB 'cudaLaunchKernel*' AND f.mod NOT GLOB '*libcudart.so*'" 0

echo "== gpu_basic: classes and thresholds"
if profile kernel --cudabacktrace=kernel:0 "$BUILD/tests/gpu/gpu_basic"; then
	want "kernel:0: chains only on launches" \
		"SELECT count(*) FROM CUPTI_ACTIVITY_KIND_RUNTIME r JOIN StringIds s ON s.id = \
r.nameId WHERE r.callchainId IS NOT NULL AND NOT (s.value GLOB 'cudaLaunch*' OR \
s.value GLOB 'cuLaunch*' OR s.value GLOB '*GraphLaunch*')" 0
	want "kernel:0: every launch has one" \
		"SELECT count(*) FROM CUPTI_ACTIVITY_KIND_RUNTIME r JOIN StringIds s ON s.id = \
r.nameId WHERE r.callchainId IS NULL AND s.value GLOB 'cudaLaunchKernel*'" 0
fi
if profile dflt --cudabacktrace=all "$BUILD/tests/gpu/gpu_basic"; then
	# the threshold is taken on the collector's own clock between CUPTI's API enter and
	# exit callbacks, which holds CUPTI's own work around the call: on the H200, 3 and
	# then 2 calls CUPTI timed under 800 and under 400 ns got a chain at 1000 ns.  So:
	# most of the calls CUPTI timed under 500 ns have none (those that do are listed)
	short=$(q "$db" "SELECT count(*) FROM CUPTI_ACTIVITY_KIND_RUNTIME WHERE end - start < 500")
	shortbt=$(q "$db" "SELECT count(*) FROM CUPTI_ACTIVITY_KIND_RUNTIME WHERE \
end - start < 500 AND callchainId IS NOT NULL")
	q "$db" "SELECT group_concat(s.value || ' ' || (r.end - r.start) || ' ns', ', ') FROM \
CUPTI_ACTIVITY_KIND_RUNTIME r JOIN StringIds s ON s.id = r.nameId WHERE r.end - r.start < 500 \
AND r.callchainId IS NOT NULL" | sed 's/^/  | chains on short calls: /'
	if [ "${short:-0}" -gt 0 ] && [ $((${shortbt:-0} * 2)) -lt "$short" ]; then
		ok "$name: all (1000 ns): ${shortbt:-0} of $short calls CUPTI timed under 500 ns have a chain"
	else
		bad "$name: all (1000 ns): ${shortbt:-?} of ${short:-?} calls CUPTI timed under 500 ns have a chain"
	fi
	n=$(q "$db" "SELECT count(*) FROM CUPTI_ACTIVITY_KIND_RUNTIME WHERE callchainId IS NOT NULL")
	if [ "${n:-0}" -gt 0 ]; then ok "$name: $n calls of 1000 ns or more have chains"; else
		bad "$name: no chain at the default threshold"; fi
fi
if profile high --cudabacktrace=all:10000000000 "$BUILD/tests/gpu/gpu_basic"; then
	want "10 s threshold: no chain, no CUDA_CALLCHAINS table" \
		"SELECT count(*) FROM sqlite_master WHERE name = 'CUDA_CALLCHAINS'" 0
fi

if [ -x "$TORCH_PYTHON" ]; then
	echo "== PyTorch: torch_launch_bound.py eager with --cudabacktrace=all"
	tl="$here/torch_launch_bound.py"
	if profile torch --cudabacktrace=all "$TORCH_PYTHON" "$tl" eager 20 50; then
		want "launches with chains starting at cudaLaunchKernel" \
			"SELECT count(*) > 0 FROM $CALLS JOIN $FRAMES f ON f.id = cc AND f.d = 0 WHERE \
api GLOB 'cudaLaunchKernel*' AND f.sym = 'cudaLaunchKernel'" 1
		want "the launches' chains go through libtorch" \
			"SELECT count(*) FROM $CALLS WHERE api GLOB 'cudaLaunchKernel*' AND cc IS NOT NULL \
AND NOT EXISTS (SELECT 1 FROM $FRAMES f WHERE f.id = cc AND f.mod GLOB '*libtorch*')" 0
		want "... and reach the Python interpreter" \
			"SELECT count(*) FROM $CALLS WHERE api GLOB 'cudaLaunchKernel*' AND cc IS NOT NULL \
AND NOT EXISTS (SELECT 1 FROM $FRAMES f WHERE f.id = cc AND (f.mod GLOB '*libpython*' OR \
f.mod GLOB '*/python3*') AND f.sym GLOB '*PyEval*')" 0
		want "no gprof-cli or libcupti frame" \
			"SELECT count(*) FROM $FRAMES WHERE mod GLOB '*libgprof-*' OR mod GLOB '*libcupti*'" 0
		echo "  | $(q "$db" "SELECT value FROM META_DATA_EXPORT WHERE name = \
'GPROF_CUDA_CALLCHAINS'") chains, $(q "$db" "SELECT value FROM META_DATA_EXPORT WHERE \
name = 'GPROF_CUDA_CALLCHAINS_UNJOINED'") unjoined; a launch's first frames:"
		python3 -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
cc = c.execute("SELECT r.callchainId FROM CUPTI_ACTIVITY_KIND_RUNTIME r JOIN StringIds s ON s.id = r.nameId WHERE s.value GLOB ? AND r.callchainId IS NOT NULL ORDER BY r.start DESC LIMIT 1", ("cudaLaunchKernel*",)).fetchone()
for d, s, m in c.execute("SELECT c.stackDepth, s.value, m.value FROM CUDA_CALLCHAINS c JOIN StringIds s ON s.id = c.symbol JOIN StringIds m ON m.id = c.module WHERE c.id = ? ORDER BY c.stackDepth LIMIT 14", (cc[0] if cc else -1,)):
    print("  |   %2d %-60.60s %s" % (d, s, m.rsplit("/", 1)[-1]))' "$db"
		grep ELAPSED "$tmp/torch.out" | sed 's/^/  | with backtraces: /'
		if "$TORCH_PYTHON" "$tl" eager 20 50 >"$tmp/bare.out" 2>&1; then
			grep ELAPSED "$tmp/bare.out" | sed 's/^/  | bare:            /'
		fi
	fi
	echo "== PyTorch: torch_launch_bound.py eager with --cudabacktrace=all:0 --python-backtrace=cuda"
	line=$(grep -n 'x.add_(1.0)' "$tl" | head -1 | cut -d: -f1)
	site="body (torch_launch_bound.py:$line)"
	# each chain's innermost Python frame (originalIP 0: the Python rows)
	PYSITE="(SELECT c.id AS id, s.value AS site FROM CUDA_CALLCHAINS c JOIN StringIds s ON \
s.id = c.symbol JOIN (SELECT id, min(stackDepth) AS d FROM CUDA_CALLCHAINS WHERE originalIP = 0 \
GROUP BY id) p ON p.id = c.id AND p.d = c.stackDepth)"
	if profile torchbt0 --cudabacktrace=all:0 "$TORCH_PYTHON" "$tl" eager 20 50 &&
		profile torchpy "--cudabacktrace=all:0 --python-backtrace=cuda" \
			"$TORCH_PYTHON" "$tl" eager 20 50; then
		want "the loop's 1000 launches (and the warm-up's 50) have $site innermost" \
			"SELECT count(*) >= 1050 FROM $CALLS JOIN $PYSITE p ON p.id = cc WHERE \
api GLOB 'cudaLaunchKernel*' AND p.site = '$site'" 1
		want "each Python frame is followed by another or by _PyEval_EvalFrameDefault" \
			"SELECT count(*) FROM CUDA_CALLCHAINS a JOIN CUDA_CALLCHAINS b ON b.id = a.id \
AND b.stackDepth = a.stackDepth + 1 JOIN StringIds s ON s.id = b.symbol WHERE a.originalIP = 0 \
AND b.originalIP != 0 AND s.value != '_PyEval_EvalFrameDefault'" 0
		want "the Python frames' module is the script" \
			"SELECT count(*) FROM $FRAMES f WHERE f.sym = '$site' AND f.mod != '$tl'" 0
		want "no backtrace without its Python frames" \
			"SELECT value FROM META_DATA_EXPORT WHERE name = 'GPROF_PYTHON_BACKTRACES_UNREAD'" 0
		top=$("$GPROF_CLI" stats -q -r cuda_gpu_python_sum -f csv "$db" 2>&1 | sed -n 2p)
		case $top in
		*",$site") ok "$name: cuda_gpu_python_sum names $site first" ;;
		*) bad "$name: cuda_gpu_python_sum's first row: [$top], want ...,$site" ;;
		esac
		"$GPROF_CLI" stats -q -r cuda_gpu_python_sum "$db" 2>&1 | head -8 | sed 's/^/  | /'
		echo "  | a loop launch's frames:"
		python3 -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
cc = c.execute("SELECT r.callchainId FROM CUPTI_ACTIVITY_KIND_RUNTIME r JOIN StringIds s ON s.id = r.nameId WHERE s.value GLOB ? AND r.callchainId IS NOT NULL ORDER BY r.start DESC LIMIT 1", ("cudaLaunchKernel*",)).fetchone()
for d, s, m in c.execute("SELECT c.stackDepth, s.value, m.value FROM CUDA_CALLCHAINS c JOIN StringIds s ON s.id = c.symbol JOIN StringIds m ON m.id = c.module WHERE c.id = ? ORDER BY c.stackDepth LIMIT 40", (cc[0] if cc else -1,)):
    print("  |   %2d %-60.60s %s" % (d, s, m.rsplit("/", 1)[-1]))' "$db"
		echo "  | $(q "$db" "SELECT group_concat(name || '=' || value, ', ') FROM \
META_DATA_EXPORT WHERE name GLOB 'GPROF_PYTHON_BACKTRACES*' OR name = 'GPROF_CUDA_CALLCHAINS'")"
		grep ELAPSED "$tmp/bare.out" | sed 's/^/  | bare:                      /'
		grep ELAPSED "$tmp/torchbt0.out" | sed 's/^/  | backtraces all:0:          /'
		grep ELAPSED "$tmp/torchpy.out" | sed 's/^/  | + --python-backtrace=cuda: /'
	fi
else
	echo "== PyTorch: skipped (no $TORCH_PYTHON)"
fi

if command -v "$NSYS" >/dev/null 2>&1; then
	echo "== nsys side by side: --cudabacktrace=all:0 on gpu_basic"
	if "$NSYS" profile -t cuda --cudabacktrace=all:0 -s process-tree -f true \
		-o "$tmp/nsys" "$BUILD/tests/gpu/gpu_basic" >"$tmp/nsys.out" 2>&1 &&
		"$NSYS" export -t sqlite -f true -o "$tmp/nsys.sqlite" "$tmp/nsys.nsys-rep" \
			>>"$tmp/nsys.out" 2>&1; then
		s="SELECT group_concat(name || ' ' || type || ' ' || \"notnull\" || ' ' || pk, ', ') \
FROM pragma_table_info('CUDA_CALLCHAINS')"
		theirs=$(q "$tmp/nsys.sqlite" "$s")
		ours=$(q "$tmp/gpu_basic.db" "$s")
		if [ -z "$theirs" ] || [ "$theirs" = None ]; then
			bad "nsys wrote no CUDA_CALLCHAINS"
		elif [ "$ours" = "$theirs" ]; then
			ok "CUDA_CALLCHAINS: nsys's columns"
		else
			bad "CUDA_CALLCHAINS: ours [$ours], nsys [$theirs]"
		fi
		for f in nsys.sqlite gpu_basic.db; do
			echo "  | $f: frame 0 of the chains by API: $(q "$tmp/$f" "SELECT group_concat(x, \
', ') FROM (SELECT a.value || ' -> ' || s.value || ' x' || count(*) AS x FROM \
CUPTI_ACTIVITY_KIND_RUNTIME r JOIN StringIds a ON a.id = r.nameId JOIN CUDA_CALLCHAINS c \
ON c.id = r.callchainId AND c.stackDepth = 0 JOIN StringIds s ON s.id = c.symbol GROUP BY \
a.value, s.value)")"
		done
		echo "  | nsys META_DATA_CAPTURE keys naming backtraces: $(q "$tmp/nsys.sqlite" \
			"SELECT group_concat(name || '=' || value, ', ') FROM META_DATA_CAPTURE WHERE \
name LIKE '%BACKTRACE%' OR name LIKE '%CALLCHAIN%' OR name LIKE '%CUDA_BT%'")"
	else
		bad "nsys profile/export failed"
		tail -5 "$tmp/nsys.out" | sed 's/^/  | /'
	fi
else
	echo "== nsys side by side: skipped (no $NSYS)"
fi

finish
