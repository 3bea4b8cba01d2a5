#!/usr/bin/env python3
"""sampling_check.py REPORT.db - what a CPU-sampled GPU report must hold
(tests/gpu/run-sampling-tests.sh, issue 15): CPU samples with stacks that reach main (or
Python's entry), context switches, CUDA rows; NVIDIA's documented SQLite examples for
the sampling tables (Nsight Systems Analysis Guide, "Common SQLite Examples": Thread
Summary, Function Table) run unchanged.  Prints one line per check and
"N passed, N failed"; exit status 1 when any failed.
"""
import sqlite3
import sys

THREAD_SUMMARY = """SELECT
    globalTid / 0x1000000 % 0x1000000 AS PID,
    globalTid % 0x1000000 AS TID,
    ROUND(100.0 * SUM(cpuCycles) /
            (
                SELECT SUM(cpuCycles) FROM COMPOSITE_EVENTS
                GROUP BY globalTid / 0x1000000000000 % 0x100
            ),
        2
    ) as CPU_utilization,
    (SELECT value FROM StringIds WHERE id =
            (
                SELECT nameId FROM ThreadNames
                WHERE ThreadNames.globalTid = COMPOSITE_EVENTS.globalTid
            )
    ) as thread_name
FROM COMPOSITE_EVENTS
GROUP BY globalTid
ORDER BY CPU_utilization DESC
LIMIT 10;"""

FUNCTION_NAMES = """ALTER TABLE SAMPLING_CALLCHAINS ADD COLUMN symbolName TEXT;
UPDATE SAMPLING_CALLCHAINS SET symbolName = (SELECT value FROM StringIds WHERE symbol = StringIds.id);
ALTER TABLE SAMPLING_CALLCHAINS ADD COLUMN moduleName TEXT;
UPDATE SAMPLING_CALLCHAINS SET moduleName = (SELECT value FROM StringIds WHERE module = StringIds.id);"""

SELF_TIME = """SELECT symbolName, moduleName, ROUND(100.0 * sum(cpuCycles) /
    (SELECT SUM(cpuCycles) FROM COMPOSITE_EVENTS), 2) AS selfTimePercentage
FROM SAMPLING_CALLCHAINS
LEFT JOIN COMPOSITE_EVENTS ON SAMPLING_CALLCHAINS.id == COMPOSITE_EVENTS.id
WHERE stackDepth == 0
GROUP BY symbol, module
ORDER BY selfTimePercentage DESC
LIMIT 5;"""

TOTAL_TIME = """SELECT symbolName, moduleName, ROUND(100.0 * sum(cpuCycles) /
    (SELECT SUM(cpuCycles) FROM COMPOSITE_EVENTS), 2) AS totalTimePercentage
FROM SAMPLING_CALLCHAINS
LEFT JOIN COMPOSITE_EVENTS ON SAMPLING_CALLCHAINS.id == COMPOSITE_EVENTS.id
GROUP BY symbol, module
ORDER BY totalTimePercentage DESC
LIMIT 5;"""

passed = failed = 0


def check(ok, what):
    global passed, failed
    print(("ok   " if ok else "FAIL ") + what)
    if ok:
        passed += 1
    else:
        failed += 1


# NVIDIA's examples add columns (ALTER TABLE): run them on a copy in memory, so that the
# report keeps nsys's layout for the column comparison that follows
db = sqlite3.connect(":memory:")
src = sqlite3.connect(sys.argv[1])
src.backup(db)
src.close()
one = lambda sql: db.execute(sql).fetchone()[0]
n = one("SELECT count(*) FROM COMPOSITE_EVENTS")
check(n > 0, "%d CPU samples" % n)
entry = one("SELECT count(DISTINCT c.id) FROM SAMPLING_CALLCHAINS c JOIN StringIds s "
            "ON s.id = c.symbol WHERE s.value IN ('main', 'Py_BytesMain', 'Py_RunMain')")
check(entry > 0, "%d of %d stacks reach main (the others: other threads, e.g. CUDA's)"
      % (entry, n))
check(one("SELECT count(*) FROM SCHED_EVENTS") > 0, "context switches")
has_rt = one("SELECT count(*) FROM sqlite_master WHERE name = 'CUPTI_ACTIVITY_KIND_RUNTIME'")
check(has_rt and one("SELECT count(*) FROM CUPTI_ACTIVITY_KIND_RUNTIME") > 0, "CUDA API rows")
rows = db.execute(THREAD_SUMMARY).fetchall()
check(rows and abs(sum(r[2] for r in rows[:10]) - 100) < 1 or len(rows) == 10,
      "Thread Summary: %d threads, top %s %%" % (len(rows), rows[0][2] if rows else "-"))
db.executescript(FUNCTION_NAMES)
self_rows = db.execute(SELF_TIME).fetchall()
check(len(self_rows) > 0, "Function Table (self): %s" % (self_rows[:2],))
total_rows = db.execute(TOTAL_TIME).fetchall()
check(len(total_rows) > 0 and total_rows[0][2] >= self_rows[0][2],
      "Function Table (total): %s" % (total_rows[:2],))
print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
