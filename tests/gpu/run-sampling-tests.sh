#!/bin/sh
# run-sampling-tests.sh - CPU sampling, context switches and OS runtime backtraces on GPU
# programs (issue 15; make check-gpu runs it through run-all.sh):
#   1. tests/gpu/gpu_basic under the default `gprof-cli profile` (-t cuda,nvtx,osrt,
#      -s process-tree, -b dwarf, --cpuctxsw=process-tree): the report has CPU samples
#      whose stacks reach main, context switches, and CUDA rows; NVIDIA's documented
#      sampling queries run on it (tests/gpu/sampling_check.py); export --type folded and
#      the stats reports cpu_func_sum (naming main) / cpu_func_bottomup (leaves with callers) run;
#   2. the same with -b fp;
#   3. PyTorch (tests/gpu/torch_launch_bound.py eager, when TORCH_PYTHON exists), with
#      --python-sampling=true: samples in libpython (or a python executable that holds it) and libtorch, the CUDA driver's threads
#      sampled too; with CPython 3.11 or 3.12, tests/gpu/py_offsets_probe.py's offsets
#      equal gprof-cli's table, and the Python frames of torch_launch_bound.py are there:
#      body() at its x.add_ line, called by <module>, before the native
#      _PyEval_EvalFrameDefault and after libtorch's frames, in stats cpu_func_sum and in
#      the folded export's whole stacks;
#   4. cost: torch_launch_bound eager's own ELAPSED figure bare, under -s none
#      --cpuctxsw=none and under the default sampling, 3 runs each, medians printed (the
#      goal: sampling adds <= 2 % to -s none);
#   5. nsys side by side, when $NSYS runs: the column layout of COMPOSITE_EVENTS,
#      SAMPLING_CALLCHAINS, SCHED_EVENTS and OSRT_CALLCHAINS in nsys's export of the same
#      program equals ours.
# Environment: GPROF_CLI, BUILD (as make check-gpu sets them), TORCH_PYTHON (default
# /opt/torch/.venv/bin/python3), NSYS (default: nsys on PATH).  Last line: "N passed,
# N failed".
GPROF_CLI=${GPROF_CLI:-build/bin/gprof-cli}
BUILD=${BUILD:-build}
TORCH_PYTHON=${TORCH_PYTHON:-/opt/torch/.venv/bin/python3}
NSYS=${NSYS:-nsys}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d /tmp/gprof-sampling-tests.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

ok() { echo "  ok   $*"; passed=$((passed + 1)); }
bad() { echo "  FAIL $*"; failed=$((failed + 1)); }
q() { python3 -c 'import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])' "$@" 2>/dev/null; }

check_report() { # check_report <name> <db> <stderr>: what every sampled report must hold
	name=$1 db=$2 err=$3
	if grep -q 'CPU sampling and context switches off' "$err"; then
		bad "$name: sampling refused here: $(grep -A1 'CPU sampling' "$err" | tr '\n' ' ')"
		return
	fi
	python3 "$here/sampling_check.py" "$db" >"$db.check" 2>&1
	sed 's/^/  | /' "$db.check"
	set -- $(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$db.check")
	[ $# -eq 2 ] || set -- 0 1
	passed=$((passed + $1))
	failed=$((failed + $2))
	for t in folded; do
		if "$GPROF_CLI" export --type $t -f -o "$db.$t" "$db" 2>/dev/null &&
			[ -s "$db.$t" ]; then
			ok "$name: export --type $t ($(wc -l <"$db.$t") stacks)"
		else
			bad "$name: export --type $t"
		fi
	done
	# cpu_func_sum lists every function with its inclusive share (main among them);
	# cpu_func_bottomup the sampled leaves with their callers, up to 8 deep: in a CUDA
	# program the leaves sit deeper than that in the driver, so main need not show there
	for r in cpu_func_sum cpu_func_bottomup; do
		want=main
		[ $r = cpu_func_bottomup ] && want=" <- "
		if "$GPROF_CLI" stats -q -r $r "$db" >"$db.$r" 2>&1 && grep -q -- "$want" "$db.$r"; then
			ok "$name: stats $r"
		else
			bad "$name: stats $r"
			sed 's/^/  | /' "$db.$r" | head -20
		fi
	done
}

echo "== gpu_basic (default: -b dwarf)"
out=$tmp/basic
if "$GPROF_CLI" profile -f -o "$out" "$BUILD/tests/gpu/gpu_basic" >"$out.out" 2>"$out.err"; then
	check_report basic "$out.db" "$out.err"
else
	bad "gpu_basic: profile failed"
	sed 's/^/  | /' "$out.err"
fi

echo "== gpu_basic -b fp"
out=$tmp/basic_fp
if "$GPROF_CLI" profile -b fp -f -o "$out" "$BUILD/tests/gpu/gpu_basic" >"$out.out" \
	2>"$out.err"; then
	check_report basic_fp "$out.db" "$out.err"
	m=$(q "$out.db" "SELECT count(*) FROM SAMPLING_CALLCHAINS WHERE unwindMethod = 1")
	[ "${m:-0}" -gt 0 ] && ok "basic_fp: frame-pointer frames ($m)" ||
		bad "basic_fp: no frame-pointer frames"
else
	bad "gpu_basic -b fp: profile failed"
fi

# check_torch_python <db>: the Python frames of torch_launch_bound.py eager, whose time goes
# in body()'s `x.add_(1.0)` line, called from the module's step loop
check_torch_python() {
	db=$1 script=$here/torch_launch_bound.py
	add=$(grep -n 'x\.add_(1\.0)' "$script" | head -1 | cut -d: -f1)
	body="body (torch_launch_bound.py:$add)"
	n=$(q "$db" "SELECT count(DISTINCT c.id) FROM SAMPLING_CALLCHAINS c JOIN StringIds s ON \
s.id = c.symbol JOIN StringIds m ON m.id = c.module WHERE s.value = '$body' AND m.value = \
'$script'")
	[ "${n:-0}" -gt 0 ] && ok "torch: $n samples at $body (module the script's path)" ||
		bad "torch: no sample at $body"
	# the line's callers in order: body, then <module> further out
	n=$(q "$db" "SELECT count(*) FROM (SELECT c.id, min(CASE WHEN s.value = '$body' THEN \
c.stackDepth END) AS b, min(CASE WHEN s.value LIKE '<module> (torch_launch_bound.py:%' THEN \
c.stackDepth END) AS m FROM SAMPLING_CALLCHAINS c JOIN StringIds s ON s.id = c.symbol \
GROUP BY c.id) WHERE b < m")
	[ "${n:-0}" -gt 0 ] && ok "torch: $n samples with $body called by <module>" ||
		bad "torch: $body never under <module> (torch_launch_bound.py)"
	# interleaved: the native _PyEval_EvalFrameDefault that runs it comes after it, and
	# the native PyTorch frames of the line come before it (which line launched the work)
	n=$(q "$db" "SELECT count(*) FROM (SELECT c.id, max(CASE WHEN s.value = '$body' THEN \
c.stackDepth END) AS py, max(CASE WHEN s.value = '_PyEval_EvalFrameDefault' THEN \
c.stackDepth END) AS ev FROM SAMPLING_CALLCHAINS c JOIN StringIds s ON s.id = c.symbol \
GROUP BY c.id) WHERE py < ev")
	[ "${n:-0}" -gt 0 ] && ok "torch: $n samples with $body before _PyEval_EvalFrameDefault" ||
		bad "torch: $body never interleaved before _PyEval_EvalFrameDefault"
	n=$(q "$db" "SELECT count(*) FROM (SELECT c.id, min(CASE WHEN m.value LIKE \
'%libtorch%' THEN c.stackDepth END) AS t, min(CASE WHEN s.value = '$body' THEN \
c.stackDepth END) AS b FROM SAMPLING_CALLCHAINS c JOIN StringIds s ON s.id = c.symbol \
JOIN StringIds m ON m.id = c.module GROUP BY c.id) WHERE t < b")
	[ "${n:-0}" -gt 0 ] && ok "torch: $n samples in libtorch under $body" ||
		bad "torch: no libtorch frame under $body"
	if "$GPROF_CLI" stats -q -r cpu_func_sum "$db" >"$db.pysum" 2>&1 &&
		grep -qF "$body" "$db.pysum"; then
		ok "torch: stats cpu_func_sum lists $body"
	else
		bad "torch: stats cpu_func_sum without $body"
		head -20 "$db.pysum" | sed 's/^/  | /'
	fi
	# (cpu_func_bottomup shows 8 callers of each leaf: body sits deeper above libtorch's
	# leaves on the H200, so the whole stacks are looked at, in the folded export)
	if "$GPROF_CLI" export -q --type folded -f -o "$db.folded" "$db" >/dev/null 2>&1 &&
		grep -qF -- ";$body" "$db.folded"; then
		ok "torch: export --type folded has stacks through $body"
	else
		bad "torch: export --type folded: no stack through $body"
		head -5 "$db.folded" | cut -c1-300 | sed 's/^/  | /'
	fi
}

if [ -x "$TORCH_PYTHON" ]; then
	pyver=$("$TORCH_PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
	echo "== CPython $pyver offsets: tests/gpu/py_offsets_probe.py under $TORCH_PYTHON"
	"$TORCH_PYTHON" "$here/py_offsets_probe.py" >"$tmp/probe" 2>&1
	sed 's/^/  | /' "$tmp/probe"
	if grep -q '^probe: [0-9]* match, 0 mismatch$' "$tmp/probe"; then
		ok "probe: gprof-cli's offsets table is CPython $pyver's"
	else
		bad "probe: gprof-cli's offsets differ from CPython $pyver's (see above)"
	fi
	echo "== PyTorch: torch_launch_bound.py eager"
	out=$tmp/torch
	if "$GPROF_CLI" profile --python-sampling=true -f -o "$out" "$TORCH_PYTHON" \
		"$here/torch_launch_bound.py" eager >"$out.out" 2>"$out.err"; then
		check_report torch "$out.db" "$out.err"
		# (a venv's python may hold libpython in its executable: python3.12 itself)
		for mod in python libtorch; do
			n=$(q "$out.db" "SELECT count(DISTINCT c.id) FROM SAMPLING_CALLCHAINS c JOIN \
StringIds m ON m.id = c.module WHERE m.value LIKE '%$mod%'")
			[ "${n:-0}" -gt 0 ] && ok "torch: $n samples in $mod" ||
				bad "torch: no sample in $mod"
		done
		n=$(q "$out.db" "SELECT count(DISTINCT globalTid) FROM COMPOSITE_EVENTS")
		[ "${n:-0}" -ge 2 ] && ok "torch: $n threads sampled" ||
			bad "torch: only ${n:-0} thread sampled"
		n=$(q "$out.db" "SELECT count(DISTINCT c.id) FROM SAMPLING_CALLCHAINS c JOIN \
StringIds s ON s.id = c.symbol WHERE s.value LIKE '%(torch_launch_bound.py:%'")
		if [ "$pyver" = 3.11 ] || [ "$pyver" = 3.12 ]; then
			[ "${n:-0}" -gt 0 ] && ok "torch: $n samples with Python frames (CPython $pyver)" ||
				bad "torch: no Python frame (CPython $pyver)"
			check_torch_python "$out.db"
		else
			echo "  info Python frames: ${n:-0} (CPython $pyver: none expected)"
		fi
		n=$(q "$out.db" "SELECT count(*) FROM OSRT_API WHERE callchainId != 0")
		echo "  info OSRT calls with a backtrace: ${n:-0}"
	else
		bad "torch: profile failed"
		sed 's/^/  | /' "$out.err" | tail -20
	fi

	echo "== cost: torch_launch_bound eager ELAPSED, 3 runs each (median)"
	for mode in bare nosample sample; do
		: >"$tmp/el.$mode"
		for i in 1 2 3; do
			case $mode in
			bare) "$TORCH_PYTHON" "$here/torch_launch_bound.py" eager >"$tmp/o" 2>&1 ;;
			nosample) "$GPROF_CLI" profile -s none --cpuctxsw=none -f -o "$tmp/c" \
				"$TORCH_PYTHON" "$here/torch_launch_bound.py" eager >"$tmp/o" 2>&1 ;;
			sample) "$GPROF_CLI" profile -f -o "$tmp/c" "$TORCH_PYTHON" \
				"$here/torch_launch_bound.py" eager >"$tmp/o" 2>&1 ;;
			esac
			sed -n 's/^ELAPSED [a-z]* \([0-9.]*\) ms.*/\1/p' "$tmp/o" >>"$tmp/el.$mode"
		done
		eval "med_$mode=$(sort -n "$tmp/el.$mode" | sed -n 2p)"
	done
	echo "  bare ${med_bare:-?} ms, -s none ${med_nosample:-?} ms, sampling ${med_sample:-?} ms"
	python3 -c 'import sys
a, b = float(sys.argv[1]), float(sys.argv[2])
print("  info sampling / -s none: x%.4f (goal <= 1.02)" % (b / a))' \
		"${med_nosample:-1}" "${med_sample:-1}" 2>/dev/null
else
	echo "== PyTorch: skipped ($TORCH_PYTHON not found)"
fi

if command -v "$NSYS" >/dev/null 2>&1; then
	echo "== nsys side by side: the tables' columns"
	if "$NSYS" profile -t cuda,nvtx,osrt -s process-tree --cpuctxsw=process-tree -f true \
		-o "$tmp/nsys" "$BUILD/tests/gpu/gpu_basic" >"$tmp/nsys.out" 2>&1 &&
		"$NSYS" export -t sqlite -f true -o "$tmp/nsys.sqlite" "$tmp/nsys.nsys-rep" \
			>>"$tmp/nsys.out" 2>&1; then
		for t in COMPOSITE_EVENTS SAMPLING_CALLCHAINS SCHED_EVENTS OSRT_CALLCHAINS; do
			s="SELECT group_concat(name || ' ' || type || ' ' || pk, ', ') FROM \
pragma_table_info('$t')"
			theirs=$(q "$tmp/nsys.sqlite" "$s")
			ours=$(q "$tmp/basic.db" "$s")
			if [ -z "$theirs" ] || [ "$theirs" = None ]; then
				echo "  info nsys wrote no $t"
			elif [ "$ours" = "$theirs" ]; then
				ok "$t: nsys's columns"
			else
				bad "$t: ours [$ours], nsys [$theirs]"
			fi
		done
	else
		bad "nsys profile/export failed"
		tail -5 "$tmp/nsys.out" | sed 's/^/  | /'
	fi
else
	echo "== nsys side by side: skipped (no $NSYS)"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
