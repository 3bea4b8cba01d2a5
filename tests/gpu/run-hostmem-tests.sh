#!/bin/sh
# run-hostmem-tests.sh - host and GPU memory on one report (issue 20; make check-gpu runs it
# through run-all.sh): tests/gpu/torch_hostmem.py under `gprof-cli profile -t cuda,nvtx
# --cuda-memory-usage=true --host-memory-usage=true`; checks that the host (malloc/mmap)
# peak is inside NVTX range "host" and at least 512 MiB, the device peak inside "gpu" and at
# least 1 GiB, the pinned (cudaHostAlloc) peak inside "stage" and at least 256 MiB, and that
# mem_peak, cpu_mem_peak and the memory SVG say so; prints the figures and the run time
# bare and profiled.  Environment: GPROF_CLI, BUILD (as make check-gpu sets them), PYTHON
# (default python3); OUT: when set, the report and the SVG are copied there.
# Last line: "N passed, N failed".
GPROF_CLI=${GPROF_CLI:-build/bin/gprof-cli}
PYTHON=${PYTHON:-python3}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d /tmp/gprof-hostmem-tests.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
check() { # check <what> <command...>
	what=$1
	shift
	if "$@"; then
		echo "  ok   $what"
		passed=$((passed + 1))
	else
		echo "  FAIL $what"
		failed=$((failed + 1))
	fi
}

if ! "$PYTHON" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
	echo "  FAIL PyTorch with CUDA is not importable by $PYTHON"
	echo "0 passed, 1 failed"
	exit 1
fi
t0=$(date +%s%N)
"$PYTHON" "$here/torch_hostmem.py" >"$tmp/bare.out" 2>&1
t1=$(date +%s%N)
echo "== gprof-cli profile -t cuda,nvtx --cuda-memory-usage=true --host-memory-usage=true torch_hostmem.py"
"$GPROF_CLI" profile -t cuda,nvtx --cuda-memory-usage=true --host-memory-usage=true -f \
	-o "$tmp/r" "$PYTHON" "$here/torch_hostmem.py" >"$tmp/prof.out" 2>"$tmp/prof.err"
rc=$?
t2=$(date +%s%N)
echo "  run time: bare $(((t1 - t0) / 1000000)) ms, profiled $(((t2 - t1) / 1000000)) ms"
check "profile exits 0" [ $rc -eq 0 ]
sed 's/^/  | /' "$tmp/prof.err" | tail -n 5
"$GPROF_CLI" stats -r cpu_mem_peak,mem_peak "$tmp/r.db" | sed 's/^/  | /'
"$GPROF_CLI" stats -r mem_peak -f csv "$tmp/r.db" >"$tmp/mem.csv" 2>/dev/null
"$GPROF_CLI" export --type mem-svg -f -o "$tmp/mem.svg" "$tmp/r.db" 2>"$tmp/svg.err"
# (mem_svg.c draws each pixel column's min..max as a <line>)
check "memory SVG written" sh -c "grep -q '<line' '$tmp/mem.svg' && grep -q '</svg>' '$tmp/mem.svg'"
"$PYTHON" - "$tmp/r.db" "$tmp/mem.csv" >"$tmp/check.out" 2>&1 <<'PY'
import csv, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
MiB = 1 << 20
def one(sql):
    r = db.execute(sql).fetchone()
    return r[0] if r else None
def inside(t, name):
    return one("SELECT count(*) FROM NVTX_EVENTS n LEFT JOIN StringIds s ON s.id = n.textId "
               "WHERE coalesce(n.text, s.value) = '%s' AND %d BETWEEN n.start AND n.end"
               % (name, t)) > 0
ok = True
def claim(what, cond):
    global ok
    print("  %s %s" % ("ok  " if cond else "FAIL", what))
    ok = ok and cond
hp, ht = db.execute("SELECT max(peakBytes), peakTime FROM GPROF_HOST_MEMORY_PROCESSES").fetchone()
print("  host peak %.1f MiB at %d ns" % (hp / MiB, ht))
claim("host peak >= 512 MiB", hp >= 512 * MiB)
claim("host peak inside NVTX range 'host'", inside(ht, "host"))
rows = list(csv.reader(open(sys.argv[2])))
rows = rows or [[]]
g = [r for r in rows[1:] if r and r[0] == "gpu"]
p = [r for r in rows[1:] if r and r[0] == "pinned"]
claim("mem_peak has a gpu row", len(g) == 1)
claim("mem_peak has a pinned row", len(p) == 1)
if g:
    print("  gpu peak %s MB at %s ns, open: %s" % (g[0][3], g[0][4], g[0][6]))
    # (the csv's MB have 3 decimals: 1,000-byte steps)
    claim("gpu peak >= 1 GiB", float(g[0][3]) * 1e6 >= 1024 * MiB - 1000)
    claim("gpu peak owned by 'gpu'", g[0][6].split(" < ")[0].endswith(":gpu"))
if p:
    print("  pinned peak %s MB at %s ns, open: %s" % (p[0][3], p[0][4], p[0][6]))
    claim("pinned peak >= 256 MiB", float(p[0][3]) * 1e6 >= 256 * MiB - 1000)
    claim("pinned peak owned by 'stage'", p[0][6].split(" < ")[0].endswith(":stage"))
ev = one("SELECT count(*) FROM GPROF_HOST_MEMORY_EVENTS")
lost = one("SELECT value FROM META_DATA_EXPORT WHERE name = 'GPROF_LOST_DROPPED_RECORDS'")
thr = one("SELECT sum(allocs), sum(belowAllocs) FROM GPROF_HOST_MEMORY_PROCESSES")
print("  host events %d, dropped records %s" % (ev, lost))
print("  RESULT %s" % ("pass" if ok else "fail"))
PY
cat "$tmp/check.out"
set -- $(grep -c '^  ok' "$tmp/check.out") $(grep -c '^  FAIL' "$tmp/check.out")
passed=$((passed + $1))
failed=$((failed + $2))
if [ -n "$OUT" ]; then
	cp "$tmp/r.db" "$tmp/mem.svg" "$OUT/" 2>/dev/null
fi
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
