#!/bin/sh
# run-nccl-tests.sh - NCCL's own NVTX ranges and their extended payloads on a real NCCL
# (issue 13; make check-gpu runs it through run-all.sh): tests/gpu/torch_nccl_payload.py
# under `gprof-cli profile -t cuda,nvtx`; checks that NVTX_EVENTS holds domain NCCL's
# ranges with jsonText, that 5 AllReduce ranges say "Message size [bytes]" 1048576 and 3
# Broadcast ranges 8192 with one communicator id, that GPROF_NVTX_PAYLOADS counts them and
# nothing was left undecoded, and that `recipe nccl_sum` shows the communicator and size.
# Skipped (said, counted as 0 passed) without torch, CUDA or NCCL.  Environment:
# GPROF_CLI, BUILD, PYTHON (default python3).  Last line: "N passed, N failed".
GPROF_CLI=${GPROF_CLI:-build/bin/gprof-cli}
PYTHON=${PYTHON:-python3}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d /tmp/gprof-nccl-tests.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT

if ! "$PYTHON" -c 'import torch, sys; import torch.distributed as d
sys.exit(0 if torch.cuda.is_available() and d.is_nccl_available() else 1)' 2>/dev/null; then
	echo "skip: PyTorch with CUDA and NCCL not found"
	echo "0 passed, 0 failed"
	exit 0
fi
echo "== gprof-cli profile -t cuda,nvtx python3 torch_nccl_payload.py"
"$GPROF_CLI" profile -t cuda,nvtx -s none -f -o "$tmp/r" "$PYTHON" "$here/torch_nccl_payload.py" \
	>"$tmp/out" 2>"$tmp/err"
rc=$?
sed 's/^/  | /' "$tmp/err" | tail -n 5
"$GPROF_CLI" recipe nccl_sum -q -f csv -o "$tmp/sum" "$tmp/r.db" >"$tmp/recipe.out" 2>&1
"$PYTHON" - "$tmp/r.db" "$rc" "$tmp/sum" <<'PY'
import glob, os, re, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
passed = failed = 0
def check(what, ok, detail=""):
    global passed, failed
    print("  %s %s%s" % ("ok  " if ok else "FAIL", what, (": " + str(detail)) if detail else ""))
    if ok:
        passed += 1
    else:
        failed += 1
check("profile exits 0", sys.argv[2] == "0", sys.argv[2])
rows = db.execute(
    "SELECT COALESCE(e.text, s.value), e.jsonText FROM NVTX_EVENTS e "
    "LEFT JOIN StringIds s ON s.id = e.textId JOIN NVTX_EVENTS d ON d.eventType = 75 "
    "AND d.domainId = e.domainId AND d.globalTid >> 24 = e.globalTid >> 24 "
    "LEFT JOIN StringIds ds ON ds.id = d.textId "
    "WHERE COALESCE(d.text, ds.value) = 'NCCL' AND e.eventType IN (59, 60)").fetchall()
print("  NCCL ranges: %d; first: %s" % (len(rows), rows[:3]))
def sized(name, size):
    n = 0
    for nm, js in rows:
        if nm and name.lower() in nm.lower() and js:
            v = db.execute("SELECT json_extract(?, '$.\"Message size [bytes]\"')",
                           (js,)).fetchone()[0]
            n += v == size
    return n
check("NCCL ranges have jsonText", any(js for _, js in rows), len(rows))
check("5 AllReduce ranges of 1048576 bytes", sized("AllReduce", 1048576) == 5,
      sized("AllReduce", 1048576))
check("3 Broadcast ranges of 8192 bytes", sized("Broadcast", 8192) == 3, sized("Broadcast", 8192))
# (a regex: ids above 2^63 lose digits as JSON numbers read by json_extract)
def comm(js):
    m = re.search(r'"NCCL communicator ID":(\d+)', js)
    return m.group(1) if m else None
comms = {comm(js) for nm, js in rows if js and nm and "AllReduce" in nm}
check("one communicator id", len(comms) == 1 and None not in comms, comms)
meta = dict(db.execute("SELECT name, value FROM META_DATA_EXPORT WHERE name LIKE "
                       "'GPROF_NVTX_PAYLOADS%'").fetchall())
print("  counters:", meta)
check("GPROF_NVTX_PAYLOADS >= 8", int(meta.get("GPROF_NVTX_PAYLOADS", 0)) >= 8)
check("nothing undecoded", int(meta.get("GPROF_NVTX_PAYLOADS_UNDECODED", -1)) == 0)
txt = ""
for f in glob.glob(os.path.join(sys.argv[3], "*")):
    txt += open(f, errors="replace").read()
print("  nccl_sum output files:", sorted(os.path.basename(f) for f in glob.glob(sys.argv[3] + "/*")))
check("nccl_sum shows the AllReduce communicator", any(c and str(c) in txt for c in comms))
print("%d passed, %d failed" % (passed, failed))
PY
