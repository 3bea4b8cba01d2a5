#!/bin/sh
# run-recipe-tests.sh - `gprof-cli recipe` on a real multi-process GPU run (issue 13; make
# check-gpu runs it through run-all.sh): torchrun starts 4 ranks of
# tests/gpu/torch_ddp_steps.py on the one GPU (torch.distributed on gloo: NCCL refuses two
# ranks on one device), each under `gprof-cli profile -t cuda,nvtx,osrt -o run.%q{RANK}`;
# rank 1 runs 8x the matmuls in steps 3 and 4, rank 2 sleeps 150 ms before its all_reduce
# in step 6.  Checks, with python3's csv module on the --output tables:
#   straggler --name step --collective allreduce: steps 3 and 4 -> rank 1, "more GPU kernel
#     time" naming a kernel; step 6 -> rank 2, "CPU-side wait (OS runtime)"; no other step
#     flagged relative; files: ranks 0-3 from torchrun's RANK, world size 4, monotonic;
#   cuda_gpu_kern_sum: the top kernel's Max Rank is 1, on 4 ranks;
#   cuda_gpu_time_util_map --bins 20: 4 x 20 cells, each 0..100 %;
#   nvtx_gpu_proj_pace --name forward: 4 ranks x 8 instances;
#   the SVGs parse (python3 xml.etree).
# Skipped (said, counted as 0 passed) without torch or CUDA.  Environment: GPROF_CLI, BUILD;
# OUT: when set, the reports and the recipe folders are copied there.
# Last line: "N passed, N failed".
GPROF_CLI=${GPROF_CLI:-build/bin/gprof-cli}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d /tmp/gprof-recipe-tests.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT

if ! python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
	echo "skip: PyTorch with CUDA not found"
	echo "0 passed, 0 failed"
	exit 0
fi
TORCHRUN="python3 -m torch.distributed.run"
echo "== $TORCHRUN --nproc_per_node 4 --no-python gprof-cli profile -t cuda,nvtx,osrt" \
	"-o run.%q{RANK} python3 torch_ddp_steps.py 8"
if ! (cd "$tmp" && MASTER_PORT=29517 $TORCHRUN --nproc_per_node 4 --master_port 29517 \
	--no-python "$GPROF_CLI" profile -t cuda,nvtx,osrt -o 'run.%q{RANK}' \
	python3 "$here/torch_ddp_steps.py" 8 >run.out 2>&1); then
	echo "  FAIL torchrun"
	sed 's/^/  | /' "$tmp/run.out" | tail -40
	echo "0 passed, 1 failed"
	exit 1
fi
R="$tmp/run.0.db $tmp/run.1.db $tmp/run.2.db $tmp/run.3.db"
fail=0
for args in "straggler --name step --collective allreduce --threshold 0.6 -o $tmp/strag" \
	"cuda_gpu_kern_sum -o $tmp/kern" \
	"cuda_gpu_time_util_map --bins 20 -o $tmp/map" \
	"nvtx_gpu_proj_pace --name forward -o $tmp/proj"; do
	echo "== gprof-cli recipe $args"
	# shellcheck disable=SC2086
	if ! "$GPROF_CLI" recipe $args $R >"$tmp/recipe.out" 2>&1; then
		echo "  FAIL recipe $args"
		sed 's/^/  | /' "$tmp/recipe.out" | tail -20
		fail=1
	fi
done
"$GPROF_CLI" recipe straggler --name step --collective allreduce --threshold 0.6 $R 2>/dev/null |
	sed -n '/: steps$/,/: rank_scores$/p'
if [ -n "$OUT" ]; then
	cp -r "$tmp"/run.*.db "$tmp/strag" "$tmp/kern" "$tmp/map" "$tmp/proj" "$OUT/" 2>/dev/null
fi
[ $fail -eq 0 ] || { echo "0 passed, 1 failed"; exit 1; }
python3 - "$tmp" <<'EOF'
import csv, os, sys
import xml.etree.ElementTree as ET

d = sys.argv[1]
passed = failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
        print("  ok  ", what)
    else:
        failed += 1
        print("  FAIL", what)


def rows(path):
    with open(os.path.join(d, path), newline="") as f:
        return list(csv.DictReader(f))


files = rows("strag/files.csv")
check([r["Rank"] for r in files] == ["0", "1", "2", "3"], "files: ranks 0-3 from RANK")
check(all(r["World Size"] == "4" and r["Alignment"] == "monotonic" for r in files),
      "files: world size 4, one CLOCK_MONOTONIC")
steps = {int(r["Step"]): r for r in rows("strag/steps.csv")}
check(len(steps) == 8, "straggler: 8 steps")
for s in (3, 4):
    r = steps.get(s, {})
    check(r.get("Slowest Rank") == "1" and r.get("Straggler") == "relative"
          and r.get("Reason") == "more GPU kernel time" and "+" in r.get("Detail", ""),
          f"straggler: step {s} -> rank 1, more GPU kernel time ({r.get('Detail')})")
r = steps.get(6, {})
check(r.get("Slowest Rank") == "2" and r.get("Straggler") == "relative"
      and r.get("Reason") == "CPU-side wait (OS runtime)",
      f"straggler: step 6 -> rank 2, CPU-side wait ({r.get('Detail')})")
others = [s for s, r in steps.items() if s not in (3, 4, 6) and r["Straggler"] == "relative"]
check(not others, f"straggler: no other step flagged ({others})")
top = rows("kern/all_stats.csv")[0]
check(top["Max Rank"] == "1" and top["Ranks"] == "4",
      f"cuda_gpu_kern_sum: top kernel {top['Name'][:40]} most on rank 1, on 4 ranks")
cells = rows("map/util_map.csv")
check(len(cells) == 80, f"cuda_gpu_time_util_map: 4 x 20 cells ({len(cells)})")
check(all(0 <= float(r["Util (%)"]) <= 100 for r in cells),
      "cuda_gpu_time_util_map: every Util (%) in 0..100")
pace = rows("proj/pace.csv")
check(len(pace) == 32, f"nvtx_gpu_proj_pace: 4 x 8 instances ({len(pace)})")
for svg in ("strag/straggler.svg", "map/cuda_gpu_time_util_map.svg",
            "proj/nvtx_gpu_proj_pace.svg"):
    try:
        ET.parse(os.path.join(d, svg))
        check(True, f"{svg} parses")
    except Exception as e:  # noqa: BLE001
        check(False, f"{svg} parses: {e}")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
EOF
