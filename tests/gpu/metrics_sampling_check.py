#!/usr/bin/env python3
# metrics_sampling_check.py - checks of a report written with PM sampling (-t gpu-metrics),
# for tests/gpu/run-metrics-sampling-tests.sh.  Prints "ok  ..." / "FAIL ..." lines and
# "info ..." lines (measured numbers); last line "RESULT <passed> <failed>".
#
#   metrics_sampling_check.py phases REPORT HZ   tests/gpu/metrics_sampling's copy/idle/fma
#   metrics_sampling_check.py alone REPORT HZ    -t gpu-metrics without cuda
#   metrics_sampling_check.py rate REPORT HZ     samples kept, or the loss reported
#   metrics_sampling_check.py mbv2 REPORT HZ     mbv2.py: busy in steps, idle where no kernel
#   metrics_sampling_check.py notes REPORT KEY... META_DATA_CAPTURE has GPU_METRICS:KEY rows
#
# Metrics are found by their Perfworks counter (gr__cycles_active, ...), so any
# prefix/rollup of a custom set works, or by nsys's name (the default set on GH100: "GR
# Active [Throughput %]", ...; NSYS_NAMES).  Sample intervals: a GPU_METRICS timestamp is the
# end of a sample; its start is the previous sample's end, at most 1/HZ before its end.
import bisect
import sqlite3
import sys

passed = failed = 0


def res(ok, what):
    global passed, failed
    print("%s %s" % ("ok  " if ok else "FAIL", what))
    if ok:
        passed += 1
    else:
        failed += 1


def info(what):
    print("info " + what)


# nsys's metricName (GH100 set) -> the key of the counter it is read from
NSYS_NAMES = {
    "GR Active [Throughput %]": "gr__cycles_active",
    "SMs Active [Throughput %]": "sm__cycles_active",
    "SM Issue [Throughput %]": "sm__inst_executed_realtime",
    "Tensor Active [Throughput %]": "tensor",
    "DRAM Read Bandwidth [Throughput %]": "dramc__read_throughput",
    "DRAM Write Bandwidth [Throughput %]": "dramc__write_throughput",
    "Compute Warps in Flight [Throughput %]": "tpc__warps_active",
}


def metrics(db):
    """{counter: (typeId, metricId)} for the first device, keyed by a few counters."""
    rows = db.execute("SELECT typeId, metricId, metricName FROM TARGET_INFO_GPU_METRICS "
                      "ORDER BY typeId, metricId").fetchall()
    out = {}
    for t, m, name in rows:
        if name in NSYS_NAMES and NSYS_NAMES[name] not in out:
            out[NSYS_NAMES[name]] = (t, m)
        for key in ("gr__cycles_active", "sm__cycles_active", "sm__inst_executed_realtime",
                    "dramc__read_throughput", "dramc__write_throughput", "tensor",
                    "sm__throughput", "lts__throughput", "tpc__warps_active"):
            if key in name and key not in out:
                out[key] = (t, m)
    return out, rows


def series(db, tm):
    """[(start, end, value)] of one metric, in time order."""
    ts = db.execute("SELECT timestamp, value FROM GPU_METRICS WHERE typeId=? AND metricId=? "
                    "ORDER BY timestamp", tm).fetchall()
    out = []
    prev = None
    for t, v in ts:
        # a sample covers one period; after a gap (samples lost) not the whole gap
        out.append((max(prev, t - period) if prev is not None else t - period, t, v))
        prev = t
    return out


def kernel_cover(db):
    """Merged kernel busy intervals [(start, end)] and a coverage function."""
    iv = sorted(db.execute("SELECT start, end FROM CUPTI_ACTIVITY_KIND_KERNEL").fetchall())
    merged = []
    for s, e in iv:
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    starts = [m[0] for m in merged]

    def cover(a, b):
        if b <= a:
            return 0.0
        i = max(bisect.bisect_right(starts, a) - 1, 0)
        tot = 0
        while i < len(merged) and merged[i][0] < b:
            tot += max(0, min(b, merged[i][1]) - max(a, merged[i][0]))
            i += 1
        return tot / (b - a)

    return merged, cover


def mean_in(s, a, b):
    v = [x[2] for x in s if x[0] >= a and x[1] <= b]
    return (sum(v) / len(v) if v else float("nan")), len(v)


def nvtx(db, name):
    return db.execute("SELECT e.start, e.end FROM NVTX_EVENTS e LEFT JOIN StringIds s ON "
                      "s.id = e.textId WHERE COALESCE(e.text, s.value) = ? AND e.end IS NOT "
                      "NULL ORDER BY e.start", (name,)).fetchall()


def kernels_named(db, name):
    return db.execute("SELECT min(k.start), max(k.end), count(*) FROM CUPTI_ACTIVITY_KIND_KERNEL "
                      "k JOIN StringIds s ON s.id = k.shortName WHERE s.value = ?",
                      (name,)).fetchone()


def agreement(busy, cover, shift=0):
    """Of the samples fully busy (kernel coverage >= 99 %) or fully idle (<= 1 %), the
    fraction whose GR-active value agrees (>= 80 % busy, <= 10 % idle), and counts."""
    good = n_busy = n_idle = 0
    for a, b, v in busy:
        c = cover(a + shift, b + shift)
        if c >= 0.99:
            n_busy += 1
            good += v >= 80
        elif c <= 0.01:
            n_idle += 1
            good += v <= 10
    n = n_busy + n_idle
    return (good / n if n else 0.0), n_busy, n_idle


def best_shift(busy, cover, step):
    """Shift (ns) of the kernel timeline against the samples that best matches GR active
    (mean |coverage*100 - value|), scanned over +-20 steps."""
    sub = busy[:: max(1, len(busy) // 4000)]
    best = None
    for k in range(-20, 21):
        sh = k * step
        err = sum(abs(cover(a + sh, b + sh) * 100 - v) for a, b, v in sub) / max(len(sub), 1)
        if best is None or err < best[1]:
            best = (sh, err)
    return best


def common(db, hz):
    m, rows = metrics(db)
    res(len(rows) >= 5, "TARGET_INFO_GPU_METRICS lists the sampled metrics (%d rows)" % len(rows))
    res(all((t & 0xFF) == 0 for t, _, _ in rows) and len({t for t, _, _ in rows}) == 1,
        "typeId encodes GPU 0 in its low byte")
    res("gr__cycles_active" in m, "GR-active metric sampled")
    if "gr__cycles_active" not in m:
        return m, []
    busy = series(db, m["gr__cycles_active"])
    n = len(busy)
    span = (busy[-1][1] - busy[0][1]) / 1e9 if n > 1 else 0
    expect = span * hz
    info("samples %d over %.3f s at %d Hz (expected %.0f)" % (n, span, hz, expect))
    res(n > 10 and 0.9 * expect <= n <= 1.1 * expect + 2,
        "sample count %d within 10 %% of %.0f (%.3f s x %d Hz)" % (n, expect, span, hz))
    vals = db.execute("SELECT min(value), max(value) FROM GPU_METRICS WHERE metricId = ?",
                      (m["gr__cycles_active"][1],)).fetchone()
    res(vals[0] >= 0 and vals[1] <= 100, "GR active within 0..100 (%s..%s)" % vals)
    return m, busy


def phases(db, hz):
    m, busy = common(db, hz)
    if not busy:
        return
    need = ("sm__inst_executed_realtime", "dramc__read_throughput", "dramc__write_throughput")
    res(all(k in m for k in need), "SM-issue and DRAM read/write metrics sampled")
    if not all(k in m for k in need):
        return
    issue = series(db, m["sm__inst_executed_realtime"])
    rd = series(db, m["dramc__read_throughput"])
    wr = series(db, m["dramc__write_throughput"])
    c0, c1, nc = kernels_named(db, "copy_kernel")
    f0, f1, nf = kernels_named(db, "fma_kernel")
    idle = nvtx(db, "idle")
    res(nc > 0 and nf > 0 and len(idle) == 1, "copy and fma kernels and the idle range traced")
    if not (nc and nf and idle):
        return
    i0, i1 = idle[0][0] + 1000000, idle[0][1] - 1000000
    windows = {"copy": (c0, c1), "idle": (i0, i1), "fma": (f0, f1)}
    means = {}
    for ph, (a, b) in windows.items():
        g, n = mean_in(busy, a, b)
        means[ph] = (g, mean_in(issue, a, b)[0], mean_in(rd, a, b)[0], mean_in(wr, a, b)[0], n)
        info("%-4s window %.1f ms, %d samples: GR active %.1f %%, SM issue %.1f %%, DRAM read "
             "%.1f %%, DRAM write %.1f %%" % ((ph, (b - a) / 1e6, n) + means[ph][:4]))
    g, iss, r, w, n = means["copy"]
    res(n > 0 and r + w >= 50, "copy: DRAM read+write %.1f %% >= 50 %%" % (r + w))
    res(n > 0 and g >= 90, "copy: GR active %.1f %% >= 90 %%" % g)
    g, iss, r, w, n = means["idle"]
    res(n > 0 and g <= 2 and r + w <= 2 and iss <= 2,
        "idle: GR active %.1f %%, DRAM %.1f %%, SM issue %.1f %% all <= 2 %%" % (g, r + w, iss))
    g, iss, r, w, n = means["fma"]
    res(n > 0 and iss >= 40, "fma: SM issue %.1f %% >= 40 %%" % iss)
    res(n > 0 and r + w <= 10, "fma: DRAM read+write %.1f %% <= 10 %%" % (r + w))
    res(means["copy"][2] + means["copy"][3] > 5 * (means["fma"][2] + means["fma"][3] + 1),
        "DRAM leans to copy, not fma")
    res(means["fma"][1] > 2 * means["copy"][1], "SM issue leans to fma (%.1f vs %.1f)"
        % (means["fma"][1], means["copy"][1]))
    _, cover = kernel_cover(db)
    agree, nb, ni = agreement(busy, cover)
    info("samples fully inside kernels: %d, fully outside: %d; GR active agrees for %.1f %%"
         % (nb, ni, agree * 100))
    res(nb > 100 and ni > 100 and agree >= 0.95,
        "GR active follows the CUPTI kernel timeline (%.1f %% of %d samples agree)"
        % (agree * 100, nb + ni))
    step = int(1e9 / hz / 4)
    sh, err = best_shift(busy, cover, step)
    info("best kernel-timeline shift against samples: %+d ns (mean |error| %.2f %%)"
         % (sh, err))
    res(abs(sh) <= 2 * 1e9 / hz, "sample clock aligned with the kernel clock within 2 sample "
        "intervals (best shift %+d ns)" % sh)


def alone(db, hz):
    common(db, hz)
    k = db.execute("SELECT count(*) FROM sqlite_master WHERE name = "
                   "'CUPTI_ACTIVITY_KIND_KERNEL'").fetchone()[0]
    res(k == 0, "-t gpu-metrics alone traces no kernels")


def rate(db, hz):
    m, busy = metrics(db)[0], None
    if "gr__cycles_active" not in m:
        m = {"gr__cycles_active": db.execute("SELECT typeId, metricId FROM "
                                             "TARGET_INFO_GPU_METRICS LIMIT 1").fetchone()}
    busy = series(db, m["gr__cycles_active"])
    n = len(busy)
    span = (busy[-1][1] - busy[0][1]) / 1e9 if n > 1 else 0
    loss = db.execute("SELECT value FROM META_DATA_CAPTURE WHERE name = 'GPU_METRICS:LOSS'"
                      ).fetchall()
    cpu = db.execute("SELECT value FROM META_DATA_CAPTURE WHERE name = "
                     "'GPU_METRICS:DECODE_CPU_NS'").fetchone()
    info("%d Hz: %d samples over %.3f s (expected %.0f); decode CPU %s ns (%.1f us/sample); "
         "loss notes: %s" % (hz, n, span, span * hz, cpu[0] if cpu else "?",
                             int(cpu[0]) / 1e3 / max(n, 1) if cpu else 0,
                             [r[0] for r in loss]))
    res(n > 0 and (n >= 0.9 * span * hz or loss),
        "%d Hz: samples kept (%d of %.0f) or the loss reported" % (hz, n, span * hz))


def mbv2(db, hz):
    m, busy = common(db, hz)
    if not busy:
        return
    steps = nvtx(db, "step")
    res(len(steps) >= 60, "mbv2: %d step ranges" % len(steps))
    if not steps:
        return
    a, b = steps[10][0] if len(steps) > 10 else steps[0][0], steps[-1][1]
    g, n = mean_in(busy, a, b)
    inside = [x[2] for x in busy if x[0] >= a and x[1] <= b]
    low = sum(v <= 10 for v in inside)
    info("mbv2 timed steps %.1f ms: %d samples, GR active mean %.1f %%, %d samples (%.1f %%) "
         "<= 10 %%" % ((b - a) / 1e6, n, g, low, 100.0 * low / max(n, 1)))
    for key in ("sm__inst_executed_realtime", "tensor", "dramc__read_throughput"):
        if key in m:
            info("mbv2 steps: %s mean %.1f %%" % (key, mean_in(series(db, m[key]), a, b)[0]))
    res(g >= 50, "mbv2: GPU busy during steps (GR active mean %.1f %%)" % g)
    merged, cover = kernel_cover(db)
    gaps = [(merged[i + 1][0] - merged[i][1]) for i in range(len(merged) - 1)
            if merged[i][1] >= a and merged[i + 1][0] <= b]
    big = [x for x in gaps if x >= 3 * 1e9 / hz]
    info("mbv2 kernel-free gaps inside the timed steps: %d, of them %d >= 3 sample intervals "
         "(longest %.3f ms)" % (len(gaps), len(big), max(gaps) / 1e6 if gaps else 0))
    agree, nb, ni = agreement(busy, cover)
    info("mbv2 whole run: %d samples fully inside kernels, %d fully outside; GR active "
         "agrees for %.1f %%" % (nb, ni, agree * 100))
    res(ni > 0 and agree >= 0.9, "mbv2: GR active idle where no kernel runs and busy where "
        "kernels run (%.1f %% of %d samples agree)" % (agree * 100, nb + ni))


def notes(db, keys):
    for k in keys:
        rows = db.execute("SELECT value FROM META_DATA_CAPTURE WHERE name = ?",
                          ("GPU_METRICS:" + k,)).fetchall()
        res(len(rows) > 0, "META_DATA_CAPTURE GPU_METRICS:%s recorded (%s)"
            % (k, rows[0][0][:120] if rows else "none"))


if __name__ == "__main__":
    what, report = sys.argv[1], sys.argv[2]
    db = sqlite3.connect("file:%s?mode=ro" % report, uri=True)
    if what == "notes":
        notes(db, sys.argv[3:])
    else:
        hz = int(sys.argv[3])
        period = int(1e9 / hz)
        try:
            {"phases": phases, "alone": alone, "rate": rate, "mbv2": mbv2}[what](db, hz)
        except sqlite3.Error as e:
            res(False, "%s: %s" % (what, e))
    print("RESULT %d %d" % (passed, failed))
