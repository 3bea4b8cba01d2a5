#!/usr/bin/env python3
"""compare_nsys.py - compare a gprof-cli report with an nsys export of the same workload.

usage: compare_nsys.py GPROF.db NSYS.sqlite

Prints, for each report: kernel instances per mangled name (and per demangled name),
GPU time totals (kernels, copies, sets), API call counts per name; then the differences:
names whose instance counts differ and the GPU-time ratios.  Exit status 1 when kernel
counts differ or a GPU-time total differs by more than 2%.
"""
import sqlite3
import sys


def q(db, sql):
    try:
        return db.execute(sql).fetchall()
    except sqlite3.Error:
        return []


def summary(path):
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    s = {}
    s["kern_by_mangled"] = dict(q(db, "SELECT m.value, count(*) FROM CUPTI_ACTIVITY_KIND_KERNEL k "
                                   "JOIN StringIds m ON m.id = coalesce(k.mangledName, k.demangledName) "
                                   "GROUP BY 1"))
    s["kern_by_demangled"] = dict(q(db, "SELECT d.value, count(*) FROM CUPTI_ACTIVITY_KIND_KERNEL k "
                                     "JOIN StringIds d ON d.id = k.demangledName GROUP BY 1"))
    s["kern_by_short"] = dict(q(db, "SELECT d.value, count(*) FROM CUPTI_ACTIVITY_KIND_KERNEL k "
                                 "JOIN StringIds d ON d.id = k.shortName GROUP BY 1"))
    for t, name in (("CUPTI_ACTIVITY_KIND_KERNEL", "kernel"), ("CUPTI_ACTIVITY_KIND_MEMCPY", "memcpy"),
                    ("CUPTI_ACTIVITY_KIND_MEMSET", "memset")):
        r = q(db, "SELECT count(*), coalesce(sum(end - start), 0) FROM %s" % t)
        s[name] = r[0] if r else (0, 0)
    s["api"] = dict(q(db, "SELECT s.value, count(*) FROM CUPTI_ACTIVITY_KIND_RUNTIME r "
                       "JOIN StringIds s ON s.id = r.nameId GROUP BY 1"))
    return s


def main():
    g, n = summary(sys.argv[1]), summary(sys.argv[2])
    bad = 0
    print("%-8s %12s %16s %12s %16s %8s" % ("kind", "gprof count", "gprof ns", "nsys count", "nsys ns", "ratio"))
    for k in ("kernel", "memcpy", "memset"):
        gc, gt = g[k]
        nc, nt = n[k]
        ratio = gt / nt if nt else float("nan") if gt else 1.0
        print("%-8s %12d %16d %12d %16d %8.4f" % (k, gc, gt, nc, nt, ratio))
        if nt and abs(ratio - 1) > 0.02:
            bad += 1
            print("  GPU time differs by more than 2%")
    for key in ("kern_by_mangled", "kern_by_short", "kern_by_demangled"):
        a, b = g[key], n[key]
        diff = sorted(x for x in set(a) | set(b) if a.get(x) != b.get(x))
        print("%s: %d names in gprof-cli, %d in nsys, %d differ" % (key, len(a), len(b), len(diff)))
        for x in diff[:10]:
            print("  %6s %6s  %s" % (a.get(x, "-"), b.get(x, "-"), x[:160]))
        if key == "kern_by_mangled" and diff:
            bad += 1
    a, b = g["api"], n["api"]
    diff = sorted(x for x in set(a) | set(b) if a.get(x) != b.get(x))
    print("API names: %d in gprof-cli, %d in nsys, %d differ in count" % (len(a), len(b), len(diff)))
    for x in diff[:25]:
        print("  %8s %8s  %s" % (a.get(x, "-"), b.get(x, "-"), x))
    print("RESULT", "same" if not bad else "DIFFERENT")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
