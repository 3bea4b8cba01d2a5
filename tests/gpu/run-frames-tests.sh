#!/bin/sh
# run-frames-tests.sh - the raw-frame tap on the GPU (issue 16): tests/gpu/gpu_basic
# profiled with -t cuda,nvtx and GPROF_CLI_DUMP_FRAMES.  Checks:
#   1. `gprof-cli dump` prints one CUDA_KERNEL line per CUPTI_ACTIVITY_KIND_KERNEL row and
#      one CUDA_API line per CUPTI_ACTIVITY_KIND_RUNTIME/DRIVER row, and no bad frame;
#   2. `gprof-cli dump -o` (the frames replayed through the recorder's sink) gives the
#      same rows as the report the run wrote, table by table, for the CUPTI, NVTX,
#      ThreadNames and StringIds tables ("frames in, rows out" with CUDA records);
#   3. the tap is kept as $FRAMES_KEEP/cuda_basic.frames when FRAMES_KEEP is set: copy it
#      to tests/fixtures/frames/, add "cuda_basic" to tests/unit/test_frames_golden.c's
#      fixtures and run GPROF_UPDATE_GOLDEN=1 on that test to make the CPU-only golden of
#      the CUDA table modules.
# Environment: GPROF_CLI, BUILD (as run-gpu-tests.sh; make gpu-programs builds gpu_basic).
# Needs python3 (its sqlite3 module).  Last line: "N passed, N failed".
GPROF_CLI=${GPROF_CLI:-build/bin/gprof-cli}
BUILD=${BUILD:-build}
tmp=$(mktemp -d /tmp/gprof-frames-tests.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

res() { # res <good 0|1> <what>
	if [ "$1" -eq 1 ]; then
		passed=$((passed + 1))
		echo "ok   $2"
	else
		failed=$((failed + 1))
		echo "FAIL $2"
	fi
}

if ! GPROF_CLI_DUMP_FRAMES="$tmp/cuda.frames" "$GPROF_CLI" profile -t cuda,nvtx -f \
	-o "$tmp/run" "$BUILD/tests/gpu/gpu_basic" all >"$tmp/profile.log" 2>&1; then
	cat "$tmp/profile.log"
	res 0 "profile -t cuda,nvtx gpu_basic with GPROF_CLI_DUMP_FRAMES"
	echo "$passed passed, $failed failed"
	exit 1
fi
res 1 "profile -t cuda,nvtx gpu_basic with GPROF_CLI_DUMP_FRAMES"
[ -n "$FRAMES_KEEP" ] && mkdir -p "$FRAMES_KEEP" && cp "$tmp/cuda.frames" "$FRAMES_KEEP/cuda_basic.frames"

"$GPROF_CLI" dump "$tmp/cuda.frames" >"$tmp/dump.txt" 2>"$tmp/dump.err"
res $([ $? -eq 0 ] && echo 1 || echo 0) "dump exits 0"
"$GPROF_CLI" dump -o "$tmp/replay.db" "$tmp/cuda.frames" >/dev/null 2>"$tmp/replay.err"
res $([ $? -eq 0 ] && echo 1 || echo 0) "dump -o replays the frames into a report"

python3 - "$tmp/run.db" "$tmp/replay.db" "$tmp/dump.txt" <<'EOF'
import sqlite3, sys
run, replay, dump = sys.argv[1:4]
lines = open(dump).read().splitlines()
def count(prefix):
    return sum(1 for l in lines if l.startswith("  " + prefix + " "))
a = sqlite3.connect(run)
b = sqlite3.connect(replay)
def rows(db, t):
    try:
        return db.execute('SELECT * FROM "%s" ORDER BY rowid' % t).fetchall()
    except sqlite3.OperationalError:
        return None
ok = True
def check(good, what):
    global ok
    print(("ok   " if good else "FAIL ") + what)
    ok = ok and good
kern = rows(a, "CUPTI_ACTIVITY_KIND_KERNEL") or []
check(len(kern) > 0 and count("CUDA_KERNEL") == len(kern),
      "dump: %d CUDA_KERNEL lines for %d kernel rows" % (count("CUDA_KERNEL"), len(kern)))
api = len(rows(a, "CUPTI_ACTIVITY_KIND_RUNTIME") or []) + len(rows(a, "CUPTI_ACTIVITY_KIND_DRIVER") or [])
check(count("CUDA_API") == api, "dump: %d CUDA_API lines for %d runtime+driver rows" % (count("CUDA_API"), api))
check(not any("(bad frame" in l for l in lines), "dump: no bad frame")
tables = [t for (t,) in a.execute("SELECT name FROM sqlite_master WHERE type='table' AND "
          "(name LIKE 'CUPTI_%' OR name IN ('NVTX_EVENTS','ThreadNames','TARGET_INFO_GPU',"
          "'TARGET_INFO_CUDA_CONTEXT_INFO','TARGET_INFO_CUDA_STREAM'))")]
same = [t for t in tables if rows(a, t) == rows(b, t)]
check(len(tables) > 0 and same == tables,
      "replay: same rows in %d of %d tables%s" % (len(same), len(tables),
      "" if same == tables else " (differ: %s)" % ", ".join(t for t in tables if t not in same)))
sys.exit(0 if ok else 1)
EOF
py=$?
res $([ $py -eq 0 ] && echo 1 || echo 0) "frames in, rows out with CUDA records (lines above)"
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
