#!/bin/sh
# run-timeline-tests.sh - the timeline export on GPU reports (issue 14; make check-gpu runs
# it through run-all.sh): profile tests/gpu/gpu_basic (kernels on several streams, copies
# of every kind, memsets, async allocations) and gpu_graph (CUDA graphs, node mode) with
# `gprof-cli profile -t cuda,nvtx,osrt --cuda-memory-usage=true`, export each with
# `--type perfetto` and `--type chrome-json`, and check both against the report with
# tests/gpu/timeline_check.py (python3, standard library: no protoc needed).
# Environment: GPROF_CLI, BUILD (as make check-gpu sets them); OUT: when set, the reports
# and traces of gpu_basic are copied there (to open in ui.perfetto.dev, or decode with
# protoc on the development machine).  Last line: "N passed, N failed".
GPROF_CLI=${GPROF_CLI:-build/bin/gprof-cli}
BUILD=${BUILD:-build}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d /tmp/gprof-timeline-tests.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

run() { # run <name> <program> [profile options...]
	name=$1 prog=$2
	shift 2
	out="$tmp/$name"
	echo "== $name: gprof-cli profile -t cuda,nvtx,osrt --cuda-memory-usage=true $* $prog"
	if ! "$GPROF_CLI" profile -t cuda,nvtx,osrt --cuda-memory-usage=true -f -o "$out" "$@" \
		"$BUILD/tests/gpu/$prog" >"$out.stdout" 2>"$out.stderr" ||
		grep -q 'cuda trace disabled' "$out.stderr"; then
		echo "  FAIL profile"
		sed 's/^/  | /' "$out.stderr"
		failed=$((failed + 1))
		return
	fi
	for type in perfetto chrome-json; do
		ext=pftrace
		[ $type = chrome-json ] && ext=json
		start=$(date +%s%N)
		if ! "$GPROF_CLI" export -t $type -o "$out.$ext" "$out.db" 2>"$out.export"; then
			echo "  FAIL export --type $type"
			sed 's/^/  | /' "$out.export"
			failed=$((failed + 1))
			return
		fi
		end=$(date +%s%N)
		echo "  $(cat "$out.export") in $(((end - start) / 1000000)) ms," \
			"$(stat -c %s "$out.$ext") bytes"
	done
	python3 "$here/timeline_check.py" "$out.db" "$out.pftrace" "$out.json" >"$out.check" 2>&1
	cat "$out.check"
	set -- $(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$out.check")
	if [ $# -ne 2 ]; then
		set -- 0 1
	fi
	passed=$((passed + $1))
	failed=$((failed + $2))
	if [ -n "$OUT" ] && [ "$name" = basic ]; then
		cp "$out.db" "$out.pftrace" "$out.json" "$OUT/" 2>/dev/null
	fi
}

run basic gpu_basic
run graph gpu_graph --cuda-graph-trace=node
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
