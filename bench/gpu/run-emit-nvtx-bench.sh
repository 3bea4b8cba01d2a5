#!/bin/sh
# run-emit-nvtx-bench.sh - the PyTorch emit_nvtx model of issue 17 (torch_emit_nvtx.py: a
# Transformer encoder's training steps, one NVTX range per operator with a message unique
# per call), bare, under gprof-cli and under nsys, on the H200.
#
#   GPROF_CLI=... sh bench/gpu/run-emit-nvtx-bench.sh <outdir>
#
# Interleaved rounds (ROUNDS, default 3) of:
#   bare    python3 torch_emit_nvtx.py
#   gprof   gprof-cli profile -t cuda,nvtx -s none --cpuctxsw=none
#   nsys    nsys profile -t cuda,nvtx -s none --cpuctxsw=none   (nsys 2025.3, when $NSYS runs)
# <outdir>/emit.tsv, one line per run: round variant ms_per_step command_wall_s nvtx_rows
# (nvtx_rows: the gprof-cli report's NVTX_EVENTS rows, "-" otherwise).  Then the medians
# and their ratios to bare, and gprof-cli's over nsys's, on stdout.
# Env: GPROF_CLI (default build/bin/gprof-cli), TORCH_PYTHON (default
# /opt/torch/.venv/bin/python3), NSYS, STEPS (default 60).
set -u
out=${1:?usage: run-emit-nvtx-bench.sh <outdir>}
ROUNDS=${ROUNDS:-3}
STEPS=${STEPS:-60}
GPROF_CLI=${GPROF_CLI:-build/bin/gprof-cli}
PY=${TORCH_PYTHON:-/opt/torch/.venv/bin/python3}
NSYS=${NSYS:-/opt/nvidia/nsight-compute/2025.3.1/host/target-linux-x64/nsys}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
tsv=$out/emit.tsv
: >"$tsv"
now() { date +%s.%N; }
variants="bare gprof"
"$NSYS" --version >/dev/null 2>&1 && variants="$variants nsys"

for r in $(seq 1 "$ROUNDS"); do
	for v in $variants; do
		log=$out/emit.$v.$r.log
		rep=/tmp/emit-bench-$v
		rm -f "$rep".*
		t0=$(now)
		case $v in
		bare) "$PY" "$here/torch_emit_nvtx.py" "$STEPS" >"$log" 2>&1 ;;
		gprof) "$GPROF_CLI" profile -f -t cuda,nvtx -s none --cpuctxsw=none -o "$rep" \
			"$PY" "$here/torch_emit_nvtx.py" "$STEPS" >"$log" 2>&1 ;;
		nsys) "$NSYS" profile -f true -t cuda,nvtx -s none --cpuctxsw=none -o "$rep" \
			"$PY" "$here/torch_emit_nvtx.py" "$STEPS" >"$log" 2>&1 ;;
		esac
		wall=$(awk "BEGIN{print $(now) - $t0}")
		ms=$(sed -n 's/^MS_PER_STEP //p' "$log" | tail -1)
		rows=-
		for f in "$rep.sqlite" "$rep.db"; do
			[ -f "$f" ] && rows=$(python3 -c "import sqlite3,sys
print(sqlite3.connect(sys.argv[1]).execute('SELECT count(*) FROM NVTX_EVENTS').fetchone()[0])" \
				"$f" 2>/dev/null)
		done
		echo "$r $v ${ms:--} $wall ${rows:--}" >>"$tsv"
		echo "round $r $v: ${ms:-?} ms/step, command ${wall} s, NVTX rows ${rows:--}"
		rm -f "$rep".*
	done
done
python3 - "$tsv" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    r, v, ms, wall, rows = line.split()
    if ms != "-":
        runs.setdefault(v, []).append(float(ms))
med = {v: statistics.median(x) for v, x in runs.items()}
for v, m in med.items():
    print("%-6s median %.3f ms/step (%s)%s" % (v, m, ", ".join("%.3f" % x for x in runs[v]),
          "  x%.3f of bare" % (m / med["bare"]) if "bare" in med else ""))
if "gprof" in med and "nsys" in med:
    print("gprof-cli / nsys: x%.3f (below 1: gprof-cli ahead)" % (med["gprof"] / med["nsys"]))
PY
