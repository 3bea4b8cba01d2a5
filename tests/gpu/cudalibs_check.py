"""cudalibs_check.py - cuBLAS/cuDNN tracing on a real GPU (`-t cublas,cudnn`, collectors/
cudalibs.c), side by side with nsys 2025.3 when it is installed.

Runs tests/gpu/torch_cudalibs.py (PyTorch: fp16 matmul, Linear with bias, fp32 bmm, fp16
Conv2d, ITERS each, in NVTX ranges "matmul", "linear", "bmm", "conv") under

  gprof-cli profile -t cuda,nvtx,cublas,cudnn      (traced)
  gprof-cli profile -t cuda,nvtx                   (not traced: no preload, no rows)
  nsys profile -t cuda,nvtx,cublas,cudnn           (when NSYS and IMPORTER exist)

and checks the traced report: one NvtxDomainCreate row 'cuBLAS' and one 'cuDNN'; every
range of those domains a push/pop row with textId (text NULL), start <= end, on the
Python main thread; cublasCreate_v2 at least once; at least ITERS GEMM calls per cuBLAS
phase inside its NVTX range; at least ITERS cuDNN calls inside "conv"; every GEMM and
cudnnBackendExecute call holds a CUDA API call of its thread (the kernel launch it made,
from CUPTI); and per name, every count nsys shows in its cuBLAS/cuDNN domains is ours too
(names only we show are printed: cuBLASLt, cuDNN 9 and cuBLAS calls nsys 2025.3 leaves
out).  Usage: cudalibs_check.py WORKDIR.  Environment: GPROF_CLI, TORCH_PYTHON, NSYS,
IMPORTER, ITERS (5).  Prints one line per check and "N passed, N failed".
"""
import json
import os
import sqlite3
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
GPROF = os.environ.get("GPROF_CLI", "gprof-cli")
PY = os.environ.get("TORCH_PYTHON", sys.executable)
NSYS = os.environ.get("NSYS", "")
IMPORTER = os.environ.get("IMPORTER", "")
USE_NSYS = bool(NSYS and os.path.exists(NSYS) and IMPORTER and os.path.exists(IMPORTER))
ITERS = int(os.environ.get("ITERS", "5"))
APP = [PY, os.path.join(HERE, "torch_cudalibs.py")]
TRACE = "cuda,nvtx,cublas,cudnn"

passed = failed = 0


def res(ok, what):
    global passed, failed
    print("%s %s" % ("ok  " if ok else "FAIL", what))
    if ok:
        passed += 1
    else:
        failed += 1


def run(cmd, log):
    with open(log, "w") as f:
        return subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT).returncode


def q(db, sql, args=()):
    try:
        return db.execute(sql, args).fetchall()
    except sqlite3.Error as e:
        print("     (query failed: %s)" % e)
        return []


def one(db, sql, args=()):
    r = q(db, sql, args)
    return r[0][0] if r else None


# The rows of domain d: (name, start, end, globalTid, text).
DOM_ROWS = ("SELECT s.value, e.start, e.end, e.globalTid, e.text FROM NVTX_EVENTS e "
            "LEFT JOIN StringIds s ON s.id = e.textId WHERE e.eventType = 59 AND e.domainId "
            "IN (SELECT domainId FROM NVTX_EVENTS WHERE eventType = 75 AND text = ?)")


def per_name(db, domain):
    counts = {}
    for name, *_ in q(db, DOM_ROWS, (domain,)):
        counts[name] = counts.get(name, 0) + 1
    return counts


def check_traced(path, info):
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    for dom in ("cuBLAS", "cuDNN"):
        res(one(db, "SELECT count(*) FROM NVTX_EVENTS WHERE eventType = 75 AND text = ?",
                (dom,)) == 1, "one NvtxDomainCreate row '%s'" % dom)
    blas, dnn = q(db, DOM_ROWS, ("cuBLAS",)), q(db, DOM_ROWS, ("cuDNN",))
    gtid = one(db, "SELECT globalTid FROM NVTX_EVENTS WHERE eventType = 59 AND text = 'conv'")
    rows = blas + dnn
    res(rows and all(r[4] is None and r[0] and r[1] <= r[2] for r in rows),
        "%d cuBLAS + %d cuDNN ranges: textId set, text NULL, start <= end" %
        (len(blas), len(dnn)))
    res(gtid is not None and all(r[3] == gtid for r in rows),
        "every range on the Python main thread (tid %s)" % info.get("main_tid"))
    res(per_name(db, "cuBLAS").get("cublasCreate_v2", 0) >= 1, "cublasCreate_v2 recorded")
    for phase in ("matmul", "linear", "bmm"):
        n = one(db, "SELECT count(*) FROM NVTX_EVENTS p JOIN NVTX_EVENTS e ON "
                    "e.globalTid = p.globalTid AND e.start >= p.start AND e.end <= p.end "
                    "JOIN StringIds s ON s.id = e.textId WHERE p.eventType = 59 AND "
                    "p.text = ? AND e.eventType = 59 AND (s.value LIKE '%gemm%' OR "
                    "s.value = 'cublasLtMatmul') AND e.domainId IN (SELECT domainId FROM "
                    "NVTX_EVENTS WHERE eventType = 75 AND text = 'cuBLAS')", (phase,))
        res(n is not None and n >= ITERS, "%s: %s GEMM calls in the NVTX range (>= %d)" %
            (phase, n, ITERS))
    n = one(db, "SELECT count(*) FROM NVTX_EVENTS p JOIN NVTX_EVENTS e ON "
                "e.globalTid = p.globalTid AND e.start >= p.start AND e.end <= p.end "
                "JOIN StringIds s ON s.id = e.textId WHERE p.eventType = 59 AND "
                "p.text = 'conv' AND e.eventType = 59 AND s.value = 'cudnnBackendExecute'")
    res(n is not None and n >= ITERS, "conv: %s cudnnBackendExecute calls (>= %d)" % (n, ITERS))
    # correlation with the CUDA work: each GEMM / execute call holds an API call of its
    # thread (the launch it made)
    api = q(db, "SELECT start, end, globalTid FROM CUPTI_ACTIVITY_KIND_RUNTIME")
    work = [r for r in rows if r[0] and ("gemm" in r[0].lower() or
                                         r[0] in ("cublasLtMatmul", "cudnnBackendExecute"))]
    held = sum(1 for r in work if any(a[2] == r[3] and r[1] <= a[0] and a[1] <= r[2]
                                      for a in api))
    res(work and held == len(work),
        "%d of %d GEMM/execute calls hold a CUDA API call of their thread" % (held, len(work)))
    print("     ours: cuBLAS %s" % sorted(per_name(db, "cuBLAS").items()))
    print("     ours: cuDNN %s" % sorted(per_name(db, "cuDNN").items()))
    return db


def main():
    work = sys.argv[1] if len(sys.argv) > 1 else "/tmp/gprof-cudalibs"
    os.makedirs(work, exist_ok=True)
    g = os.path.join(work, "g")
    info_path = os.path.join(work, "g.json")
    rc = run([GPROF, "profile", "-t", TRACE, "-f", "true", "-o", g] + APP +
             [info_path, str(ITERS)], g + ".log")
    info = json.load(open(info_path)) if os.path.exists(info_path) else {}
    res(rc == 0 and info, "gprof-cli -t %s ran the workload (exit %d)" % (TRACE, rc))
    print("     torch %s cuda %s cudnn %s; libraries %s" % (
        info.get("torch"), info.get("cuda"), info.get("cudnn"),
        info.get("cublas_files", []) + info.get("cudnn_files", [])))
    res(info.get("preloaded") is True, "libgprof-cudalibs.so preloaded with -t cublas,cudnn")
    if any(".so.12" in f for f in info.get("cublas_files", [])):
        print("     note: this torch uses cuBLAS 12; the wrappers are generated for cuBLAS 13 "
              "(regenerate: scripts/gen-cudalibs.py on CUDA 12 headers)")
    ours = check_traced(g + ".db", info) if os.path.exists(g + ".db") else None
    res(ours is not None, "report %s.db written" % g)

    u = os.path.join(work, "u")
    rc = run([GPROF, "profile", "-t", "cuda,nvtx", "-f", "true", "-o", u] + APP +
             [u + ".json", str(ITERS)], u + ".log")
    uinfo = json.load(open(u + ".json")) if os.path.exists(u + ".json") else {}
    res(rc == 0 and uinfo.get("preloaded") is False, "-t cuda,nvtx: not preloaded")
    if os.path.exists(u + ".db"):
        db = sqlite3.connect("file:%s.db?mode=ro" % u, uri=True)
        res(one(db, "SELECT count(*) FROM NVTX_EVENTS WHERE eventType = 75 AND text IN "
                    "('cuBLAS', 'cuDNN')") == 0, "-t cuda,nvtx: no cuBLAS/cuDNN domain")
    print("     workload time: traced %.3f s, not traced %.3f s" %
          (info.get("phases_s", 0), uinfo.get("phases_s", 0)))

    if USE_NSYS and ours is not None:
        n = os.path.join(work, "n")
        rc = run([NSYS, "profile", "-t", TRACE, "-f", "true", "-o", n] + APP +
                 [n + ".json", str(ITERS)], n + ".log")
        if not os.path.exists(n + ".nsys-rep") and os.path.exists(n + ".qdstrm"):
            run([IMPORTER, "-i", n + ".qdstrm"], n + ".import.log")
        run([NSYS, "export", "--type", "sqlite", "-f", "true", "-o", n + ".sqlite",
             n + ".nsys-rep"], n + ".export.log")
        res(os.path.exists(n + ".sqlite"), "nsys report exported (exit %d)" % rc)
        if os.path.exists(n + ".sqlite"):
            theirs = sqlite3.connect("file:%s.sqlite?mode=ro" % n, uri=True)
            tables = {r[0] for r in q(theirs, "SELECT name FROM sqlite_master")}
            print("     nsys tables named like cublas/cudnn: %s" %
                  sorted(t for t in tables if "CUBLAS" in t.upper() or "CUDNN" in t.upper()))
            for dom in ("cuBLAS", "cuDNN"):
                mine, nsys = per_name(ours, dom), per_name(theirs, dom)
                print("     nsys: %s %s" % (dom, sorted(nsys.items())))
                diff = {k: (mine.get(k, 0), v) for k, v in nsys.items() if mine.get(k, 0) != v}
                res(not diff, "%s: every name nsys shows has nsys's count in ours%s" %
                    (dom, "" if not diff else " - differ (ours, nsys): %s" % diff))
                extra = {k: v for k, v in mine.items() if k not in nsys}
                print("     %s only in ours: %s" % (dom, sorted(extra.items())))
    elif not USE_NSYS:
        print("     nsys comparison skipped (NSYS/IMPORTER not found)")
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
