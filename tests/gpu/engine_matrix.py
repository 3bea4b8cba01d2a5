#!/usr/bin/env python3
"""engine_matrix.py - capture ranges with what LLM engines do (issue 10), against nsys.

usage: engine_matrix.py OUTDIR [CELL...]
environment: GPROF_CLI (gprof-cli), TORCH_PYTHON (python with torch), NSYS and
IMPORTER (nsys 2025.3 and its QdstrmImporter; nsys is left out when unset or missing),
JOBS (cells run at once, default 3), GPROF_EXTRA_ENV ("K=V K=V" for every gprof-cli run).

Each cell runs tests/gpu/torch_engine.py under `gprof-cli profile -t cuda,nvtx` with its
capture options and checks, per report:
  - profile's exit status (0; 143 where the range end shuts the application down) and
    that the application did not crash (its "steps done" line, for non-shutdown cells);
  - exactly the expected reports (x.db, or x.1.db .. x.N.db and no x.N+1.db);
  - kernels > 0, every kernel's launch (same correlationId) in the same report, no record
    lost to a zero timestamp;
  - the per-range reports hold the same kernels per name (cells whose ranges do the same
    work);
  - with nsys: the same command under nsys, report for report: kernel instances per short
    name, graph launches (CUPTI_ACTIVITY_KIND_GRAPH_TRACE), memcpy and memset counts,
    GPU memory events, synchronisations, CUDA events, graph and graph-node creation events
    (CUDA_GRAPH_EVENTS, CUDA_GRAPH_NODE_EVENTS), CUDA runtime calls per name (nsys's default API filter: names nsys
    hides are left out of both sides).
Prints "ok"/"FAIL" lines and closes with "N passed, N failed"; exit 1 on a failure.
"""
import concurrent.futures
import os
import shlex
import sqlite3
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
GPROF = os.environ.get("GPROF_CLI", "gprof-cli")
PY = os.environ.get("TORCH_PYTHON", "/opt/torch/.venv/bin/python3")
NSYS = os.environ.get("NSYS", "")
IMPORTER = os.environ.get("IMPORTER", "")
USE_NSYS = bool(NSYS and os.path.exists(NSYS) and IMPORTER and os.path.exists(IMPORTER))

# name: (app args, profile options, reports (0: one report without a number), shutdown,
#        same kernels in every report)
CR = "-c cudaProfilerApi --capture-range-end="
NV = "-c nvtx -p iter --capture-range-end="
CELLS = {
    "nocap-replay": ("--graph replay", "", 0, False, False),
    "nocap-replay-node": ("--graph replay", "--cuda-graph-trace=node", 0, False, False),
    "cuda-stop-eager": ("", CR + "stop", 0, False, False),
    "cuda-stop-replay-2s": ("--graph replay --streams 2", CR + "stop", 0, False, False),
    "cuda-repeat-eager-2s": ("--streams 2", CR + "repeat", 3, False, True),
    "cuda-repeat-replay": ("--graph replay", CR + "repeat", 3, False, True),
    "cuda-repeat-replay-node-2s": ("--graph replay --streams 2",
                                   CR + "repeat --cuda-graph-trace=node", 3, False, True),
    "cuda-repeat-capture": ("--graph capture", CR + "repeat", 3, False, False),
    "cuda-repeat-capture-node": ("--graph capture", CR + "repeat --cuda-graph-trace=node", 3,
                                 False, False),
    "cuda-rshut-replay-node": ("--graph replay", CR + "repeat-shutdown:2 "
                               "--cuda-graph-trace=node", 2, True, True),
    "cuda-shutdown-replay": ("--graph replay", CR + "stop-shutdown", 0, True, False),
    "nvtx-repeat-replay": ("--graph replay --mark nvtx", NV + "repeat", 3, False, True),
    "nvtx-stop-capture-node-2s": ("--graph capture --mark nvtx --streams 2",
                                  NV + "stop --cuda-graph-trace=node", 0, False, False),
    "nvtx-repeat-replay-node-2s": ("--graph replay --mark nvtx --streams 2",
                                   NV + "repeat:3 --cuda-graph-trace=node", 3, False, True),
    "cuda-repeat-compile": ("--compile", CR + "repeat", 3, False, True),
    "cuda-repeat-compile-replay": ("--compile --graph replay", CR + "repeat", 3, False, True),
    "cuda-repeat-memory-replay": ("--memory --graph replay",
                                  CR + "repeat --cuda-memory-usage=true", 3, False, False),
}

# runtime API names nsys hides by default (compared only when both sides show them)
API_IGNORE = {"cudaGetDevice", "cudaGetLastError", "cudaPeekAtLastError"}


# record counts compared with nsys, report for report
COUNTS = ("graphs", "memcpy", "memset", "memory", "memory_live", "sync", "cuda_event",
          "graph_events", "node_events")


def q(db, sql):
    try:
        return db.execute(sql).fetchall()
    except sqlite3.Error:
        return []


def summary(path):
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    s = {
        "kernels": dict(q(db, "SELECT s.value, count(*) FROM CUPTI_ACTIVITY_KIND_KERNEL k "
                              "JOIN StringIds s ON s.id = k.shortName GROUP BY 1")),
        "graphs": q(db, "SELECT count(*) FROM CUPTI_ACTIVITY_KIND_GRAPH_TRACE")[0:1],
        "memcpy": q(db, "SELECT count(*) FROM CUPTI_ACTIVITY_KIND_MEMCPY")[0:1],
        "memset": q(db, "SELECT count(*) FROM CUPTI_ACTIVITY_KIND_MEMSET")[0:1],
        # memory: the events of the range's own API calls (joined by correlationId), and
        # apart from them the bytes live at the range's end per memory kind (net of
        # allocations and frees): nsys's snapshot of what was allocated before the first
        # range also holds a few blocks allocated and freed before it (net 0 bytes)
        "memory": q(db, "SELECT count(*) FROM CUDA_GPU_MEMORY_USAGE_EVENTS m WHERE EXISTS "
                        "(SELECT 1 FROM CUPTI_ACTIVITY_KIND_RUNTIME r WHERE r.correlationId = "
                        "m.correlationId)")[0:1],
        "memory_live": q(db, "SELECT group_concat(k || ':' || b) FROM (SELECT memKind k, "
                             "sum(CASE memoryOperationType WHEN 0 THEN bytes ELSE -bytes END) b "
                             "FROM CUDA_GPU_MEMORY_USAGE_EVENTS GROUP BY 1 ORDER BY 1)")[0:1],
        # context syncs (syncType 4) are compared apart: nsys 2025.3 writes one for each
        # cudaProfilerStop and none for cudaDeviceSynchronize, gprof-cli what CUPTI delivers
        # (README "Capture ranges with CUDA graphs")
        "sync": q(db, "SELECT count(*) FROM CUPTI_ACTIVITY_KIND_SYNCHRONIZATION "
                      "WHERE syncType != 4")[0:1],
        "context_sync": q(db, "SELECT coalesce(s.value, '?'), count(*) FROM "
                              "CUPTI_ACTIVITY_KIND_SYNCHRONIZATION y LEFT JOIN "
                              "CUPTI_ACTIVITY_KIND_RUNTIME r ON r.correlationId = y.correlationId "
                              "LEFT JOIN StringIds s ON s.id = r.nameId WHERE y.syncType = 4 "
                              "GROUP BY 1"),
        "cuda_event": q(db, "SELECT count(*) FROM CUPTI_ACTIVITY_KIND_CUDA_EVENT")[0:1],
        "graph_events": q(db, "SELECT count(*) FROM CUDA_GRAPH_EVENTS")[0:1],
        "node_events": q(db, "SELECT count(*) FROM CUDA_GRAPH_NODE_EVENTS")[0:1],
        "api": dict(q(db, "SELECT s.value, count(*) FROM CUPTI_ACTIVITY_KIND_RUNTIME r "
                          "JOIN StringIds s ON s.id = r.nameId GROUP BY 1")),
    }
    for k in COUNTS:
        s[k] = s[k][0][0] if s[k] else 0
    launches = q(db, "SELECT count(*) FROM CUPTI_ACTIVITY_KIND_KERNEL k WHERE EXISTS "
                     "(SELECT 1 FROM CUPTI_ACTIVITY_KIND_RUNTIME r WHERE r.correlationId = "
                     "k.correlationId)")
    s["joined"] = launches[0][0] if launches else 0
    # details printed when a count differs from nsys's
    first = q(db, "SELECT min(start) FROM CUPTI_ACTIVITY_KIND_RUNTIME")
    first = first[0][0] if first and first[0][0] is not None else 0
    s["details"] = {
        # per syncType and the name of the API call with the same correlationId
        "sync": q(db, "SELECT y.syncType, coalesce(s.value, '?'), count(*), sum(y.start < %d) "
                      "FROM CUPTI_ACTIVITY_KIND_SYNCHRONIZATION y LEFT JOIN "
                      "CUPTI_ACTIVITY_KIND_RUNTIME r ON r.correlationId = y.correlationId "
                      "LEFT JOIN StringIds s ON s.id = r.nameId GROUP BY 1, 2" % first),
        # ..., the earliest and latest of those before the first API call (us before it)
        "memory": q(db, "SELECT memoryOperationType, memKind, count(*), sum(start < %d), "
                        "sum(bytes), (%d - min(start)) / 1000, (%d - max(CASE WHEN start < %d "
                        "THEN start END)) / 1000 FROM CUDA_GPU_MEMORY_USAGE_EVENTS GROUP BY 1, 2"
                        % (first, first, first, first)),
        "graph_events": q(db, "SELECT eventClass, count(*), sum(start < %d) FROM "
                              "CUDA_GRAPH_EVENTS GROUP BY 1" % first),
        "node_events": q(db, "SELECT eventClass, count(*), sum(start < %d) FROM "
                             "CUDA_GRAPH_NODE_EVENTS GROUP BY 1" % first),
        "cuda_event": q(db, "SELECT count(*), sum(timestamp < %d) FROM "
                            "CUPTI_ACTIVITY_KIND_CUDA_EVENT" % first),
    }
    z = q(db, "SELECT value FROM META_DATA_EXPORT WHERE name = 'GPROF_ZERO_TIMESTAMPS'")
    s["zero_ts"] = int(z[0][0]) if z else 0
    return s


def run(cmd, log, env=None):
    with open(log, "w") as f:
        f.write("$ %s\n" % " ".join(shlex.quote(c) for c in cmd))
        f.flush()
        return subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, env=env,
                              timeout=400).returncode


def reports(base, n):
    return [base + ".db"] if n == 0 else ["%s.%d.db" % (base, i) for i in range(1, n + 1)]


def run_cell(out, name):
    app, opts, nrep, shutdown, same = CELLS[name]
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    lines, ok, bad = [], 0, 0

    def res(good, what):
        nonlocal ok, bad
        lines.append("  %s %s" % ("ok  " if good else "FAIL", what))
        ok += bool(good)
        bad += not good

    app_cmd = [PY, os.path.join(HERE, "torch_engine.py")] + app.split()
    env = dict(os.environ)
    for kv in os.environ.get("GPROF_EXTRA_ENV", "").split():
        k, _, v = kv.partition("=")
        env[k] = v
    g = os.path.join(d, "g")
    rc = run([GPROF, "profile", "-t", "cuda,nvtx", "-f", "-o", g] + opts.split() + app_cmd,
             g + ".log", env)
    log = open(g + ".log", errors="replace").read()
    res(rc == (143 if shutdown else 0), "gprof-cli exit status %d" % rc)
    if not shutdown:
        res("steps done" in log, "the application ran to its end (no crash)")
    res("Segmentation" not in log and "core dumped" not in log, "no crash in the log")
    mine = reports(g, nrep)
    res(all(os.path.exists(r) for r in mine), "reports %s" % [os.path.basename(r) for r in mine])
    res(not os.path.exists("%s.%d.db" % (g, max(nrep, 1) + (1 if nrep else 0))),
        "no report beyond them")
    sums = []
    for r in mine:
        if not os.path.exists(r):
            sums.append(None)
            continue
        s = summary(r)
        sums.append(s)
        nk = sum(s["kernels"].values())
        res(nk > 0 or s["graphs"] > 0, "%s: %d kernels, %d graph launches, %d memcpy, %d memset, "
            "%d memory events" % (os.path.basename(r), nk, s["graphs"], s["memcpy"],
                                  s["memset"], s["memory"]))
        res(s["joined"] == nk, "%s: every kernel's launch in the report (%d of %d)"
            % (os.path.basename(r), s["joined"], nk))
        res(s["zero_ts"] == 0, "%s: no zero-timestamp loss (%d)" % (os.path.basename(r),
                                                                   s["zero_ts"]))
    if same and len(sums) > 1 and all(sums):
        res(all(s["kernels"] == sums[0]["kernels"] and s["graphs"] == sums[0]["graphs"]
                for s in sums), "the %d reports hold the same kernels per name" % len(sums))
    if USE_NSYS:
        n = os.path.join(d, "n")
        nopts = opts.replace("-p iter", "-p iter -e NSYS_NVTX_PROFILER_REGISTER_ONLY=0")
        rc = run([NSYS, "profile", "-t", "cuda,nvtx", "-f", "true", "-o", n] + nopts.split() +
                 app_cmd, n + ".log")
        theirs = []
        for i, r in enumerate(reports(n, nrep)):
            base = r[:-3]
            # nsys converts to .nsys-rep itself when it finds its importer
            if not os.path.exists(base + ".nsys-rep") and os.path.exists(base + ".qdstrm"):
                run([IMPORTER, "-i", base + ".qdstrm"], base + ".import.log")
            if not os.path.exists(base + ".nsys-rep"):
                lines.append("  note nsys files: %s" % sorted(os.listdir(d)))
                theirs.append(None)
                continue
            run([NSYS, "export", "--type", "sqlite", "-f", "true", "-o", base + ".sqlite",
                 base + ".nsys-rep"], base + ".export.log")
            theirs.append(base + ".sqlite" if os.path.exists(base + ".sqlite") else None)
        res(all(theirs), "nsys wrote the same reports (%d; exit %d)" % (len(theirs), rc))
        for r, s, t in zip(mine, sums, theirs):
            if not s or not t:
                continue
            ts = summary(t)
            b = os.path.basename(r)
            diff = {k: (s["kernels"].get(k, 0), ts["kernels"].get(k, 0))
                    for k in set(s["kernels"]) | set(ts["kernels"])
                    if s["kernels"].get(k, 0) != ts["kernels"].get(k, 0)}
            res(not diff, "%s vs nsys: kernels per name %d = %d%s" % (
                b, sum(s["kernels"].values()), sum(ts["kernels"].values()),
                "" if not diff else " differ: %s" % sorted(diff.items())[:8]))
            for k in COUNTS:
                res(s[k] == ts[k], "%s vs nsys: %s %s = %s" % (b, k, s[k], ts[k]))
                if s[k] != ts[k] and k in s["details"]:
                    lines.append("  note %s %s (type, count, before the first API call, ...): "
                                 "gprof %s nsys %s" % (b, k, s["details"][k], ts["details"][k]))
            if s["context_sync"] != ts["context_sync"]:
                lines.append("  note %s context syncs (known difference): gprof %s nsys %s" % (
                    b, s["context_sync"], ts["context_sync"]))
            common = (set(s["api"]) & set(ts["api"])) - API_IGNORE
            adiff = {k: (s["api"][k], ts["api"][k]) for k in common if s["api"][k] != ts["api"][k]}
            only = sorted(set(s["api"]) ^ set(ts["api"]))
            res(not adiff, "%s vs nsys: runtime calls per name (%d names in common)%s" % (
                b, len(common), "" if not adiff else " differ: %s" % sorted(adiff.items())[:8]))
            if only:
                lines.append("  note %s: API names on one side only: %s" % (
                    b, ["%s(%s)" % (x, "gprof" if x in s["api"] else "nsys") for x in only]))
    return name, lines, ok, bad


def main():
    out = sys.argv[1]
    names = sys.argv[2:] or list(CELLS)
    os.makedirs(out, exist_ok=True)
    passed = failed = 0
    jobs = int(os.environ.get("JOBS", "3"))
    print("engine matrix: %d cells, nsys %s" % (len(names), "on" if USE_NSYS else "off"))
    with concurrent.futures.ThreadPoolExecutor(jobs) as ex:
        for name, lines, ok, bad in ex.map(lambda n: run_cell(out, n), names):
            app, opts, *_ = CELLS[name]
            print("== %s: profile -t cuda,nvtx %s torch_engine.py %s" % (name, opts, app))
            print("\n".join(lines), flush=True)
            passed += ok
            failed += bad
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
