#!/usr/bin/env python3
# compare_metrics.py - nsys's and gprof-cli's GPU metrics of the same program, per metric and
# per phase (issue 21: "compare mean and p95 per metric per phase (copy-bound, compute-bound,
# idle) - within 2 %").  The phases are the NVTX push/pop ranges of the program
# (tests/gpu/metrics_sampling: copy, idle, fma), so both reports need -t nvtx.
#
#   compare_metrics.py NSYS.sqlite GPROF.db [PHASE ...]      (default phases: copy idle fma)
#
# Metrics are matched by TARGET_INFO_GPU_METRICS.metricName.  A sample belongs to a phase when
# its timestamp (the end of its interval) lies inside the phase's range, the first and last
# interval of the range left out (they straddle its edges).  Means and p95s agree when they
# differ by at most 2 % of the metric's full scale: for "%" units 2 points of percentage, for
# the others 2 % of the largest value either report holds for the metric (the same rule:
# "[Throughput %]" is "[Avg]" over its peak).
# nsys 2025.3 stores some warp counts as signed 8-bit numbers: a raw value of 128 or more
# ("[Avg Warps per Cycle]" of a TPC's two SMs at full occupancy is 128) comes out as
# value - 256.  Where nsys's series of a metric holds negative values in [-128, -1] and
# gprof-cli's none, the line says how many, and the comparison is made again with them
# unwrapped (+256): verdict "ok after nsys's 8-bit wrap" when that agrees.
# Prints one line per metric and phase and a closing "N within 2 %, N not" line.
import sqlite3
import sys


def phases(db, names):
    out = {}
    for n in names:
        out[n] = db.execute(
            "SELECT e.start, e.end FROM NVTX_EVENTS e LEFT JOIN StringIds s ON s.id = e.textId "
            "WHERE COALESCE(e.text, s.value) = ? AND e.end IS NOT NULL ORDER BY e.start",
            (n,)).fetchall()
    return out


def series(db):
    """{metricName: [(timestamp, value)]} of the first GPU."""
    t = db.execute("SELECT min(typeId) FROM TARGET_INFO_GPU_METRICS").fetchone()[0]
    out = {}
    for mid, name in db.execute("SELECT metricId, metricName FROM TARGET_INFO_GPU_METRICS "
                                "WHERE typeId = ?", (t,)).fetchall():
        out[name] = db.execute("SELECT timestamp, value FROM GPU_METRICS WHERE typeId = ? AND "
                               "metricId = ? ORDER BY timestamp", (t, mid)).fetchall()
    return out


def stats(samples, ranges):
    v = []
    for a, b in ranges:
        inside = [x for t, x in samples if a <= t <= b]
        v.extend(inside[1:-1])
    if not v:
        return None
    v.sort()
    return len(v), sum(v) / len(v), v[int(0.95 * (len(v) - 1))]


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: compare_metrics.py NSYS.sqlite GPROF.db [PHASE ...]")
    names = sys.argv[3:] or ["copy", "idle", "fma"]
    a, b = sqlite3.connect(sys.argv[1]), sqlite3.connect(sys.argv[2])
    pa, pb = phases(a, names), phases(b, names)
    sa, sb = series(a), series(b)
    good = bad = 0
    print("%-58s %-5s %22s %22s  %s" % ("metric", "phase", "nsys n/mean/p95",
                                       "gprof-cli n/mean/p95", "verdict"))
    for name in sa:
        if name not in sb:
            print("%-58s only in nsys's report" % name)
            bad += 1
            continue
        pct = "%" in name
        va, vb = [x for _, x in sa[name]], [x for _, x in sb[name]]
        scale = 100.0 if pct else max([abs(x) for x in va + vb] + [1e-9])
        neg = [x for x in va if x < 0]
        wrapped = bool(neg) and min(neg) >= -128 and not any(x < 0 for x in vb)
        if wrapped:
            print("%-58s nsys: %d of %d samples negative (min %g): 8-bit wrap" %
                  (name, len(neg), len(va), min(neg)))
            unwrapped = [(t, x + 256 if x < 0 else x) for t, x in sa[name]]
            scale = max([abs(x) for _, x in unwrapped] + [abs(x) for x in vb] + [1e-9])
        for ph in names:
            x, y = stats(sa[name], pa[ph]), stats(sb[name], pb[ph])
            if not x or not y:
                print("%-58s %-5s no samples (nsys %s, gprof-cli %s)" % (name, ph, x, y))
                continue

            def agree(x):
                return all(abs(u - w) <= 0.02 * scale for u, w in ((x[1], y[1]), (x[2], y[2])))

            ok = agree(x)
            verdict = "ok" if ok else "DIFFERS"
            if not ok and wrapped:
                x2 = stats(unwrapped, pa[ph])
                if x2 and agree(x2):
                    ok, verdict = True, "ok after nsys's 8-bit wrap (unwrapped %.4g/%.4g)" % (
                        x2[1], x2[2])
            good += ok
            bad += not ok
            print("%-58s %-5s %6d/%8.4g/%8.4g %6d/%8.4g/%8.4g  %s" %
                  (name, ph, x[0], x[1], x[2], y[0], y[1], y[2], verdict))
    for name in sb:
        if name not in sa:
            print("%-58s only in gprof-cli's report" % name)
            bad += 1
    print("%d within 2 %%, %d not" % (good, bad))


main()
