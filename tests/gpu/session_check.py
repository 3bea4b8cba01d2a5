"""session_check.py - drives tests/gpu/torch_serve.py under `gprof-cli launch` as a
second shell would (start / stop / cancel / shutdown / sessions list), then checks each
window's report: exactly the requests served inside it (NVTX ranges), CUDA kernels and
launches in proportion to them, nothing from outside.  Prints the figures: per-request
time without gprof-cli, under a session outside a window, inside a window; the time
`stop` takes; report sizes.  Closing line "N passed, N failed".

usage: session_check.py OUTDIR   (environment: GPROF_CLI, TORCH_PYTHON)
"""
import os
import sqlite3
import subprocess
import sys
import time

GPROF = os.environ.get("GPROF_CLI", "build/bin/gprof-cli")
PY = os.environ.get("TORCH_PYTHON", "/opt/torch/.venv/bin/python3")
HERE = os.path.dirname(os.path.abspath(__file__))
APP = os.path.join(HERE, "torch_serve.py")
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
run_dir = os.path.join(out, "run")
os.makedirs(run_dir, mode=0o700, exist_ok=True)
os.environ["XDG_RUNTIME_DIR"] = run_dir
passed = failed = 0


def check(what, good, detail=""):
    global passed, failed
    print("  %s %s %s" % ("ok  " if good else "FAIL", what, detail))
    if good:
        passed += 1
    else:
        failed += 1


class Server:
    def __init__(self, name, under_gprof=True, extra=()):
        self.cmd_path = os.path.join(out, name + ".cmd")
        self.ack_path = os.path.join(out, name + ".ack")
        for p in (self.cmd_path, self.ack_path):
            if os.path.exists(p):
                os.unlink(p)
            os.mkfifo(p)
        argv = [PY, APP, self.cmd_path, self.ack_path]
        if under_gprof:
            argv = [GPROF, "launch", "--session-new=" + name, "-t", "cuda,nvtx,osrt"] + list(extra) + argv
        self.err = open(os.path.join(out, name + ".launch.err"), "w")
        self.proc = subprocess.Popen(argv, cwd=out, stderr=self.err)
        # the app opens CMD for reading first: a non-blocking writer open succeeds then
        t0 = time.time()
        while True:
            try:
                fd = os.open(self.cmd_path, os.O_WRONLY | os.O_NONBLOCK)
                break
            except OSError:
                if self.proc.poll() is not None or time.time() - t0 > 600:
                    self.err.flush()
                    sys.exit("%s exited early (status %s); see %s" %
                             (name, self.proc.returncode, self.err.name))
                time.sleep(0.05)
        os.set_blocking(fd, True)
        self.cmd = os.fdopen(fd, "w")
        self.ack = open(self.ack_path, "r")

    def req(self, n, verb="req"):
        self.cmd.write("%s %d\n" % (verb, n))
        self.cmd.flush()
        words = self.ack.readline().split()
        return int(words[1]), float(words[2])

    def quit(self):
        self.cmd.write("quit\n")
        self.cmd.flush()
        self.ack.readline()
        self.cmd.close()
        self.ack.close()
        return self.proc.wait(timeout=300)


def cli(*args):
    t0 = time.perf_counter()
    r = subprocess.run([GPROF] + list(args), cwd=out, capture_output=True, text=True)
    return r, (time.perf_counter() - t0) * 1e3


def q(db, sql):
    c = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    try:
        return c.execute(sql).fetchone()[0]
    except sqlite3.Error:
        return None
    finally:
        c.close()


def ranges(db):
    return q(db, "SELECT count(*) FROM NVTX_EVENTS e LEFT JOIN StringIds s ON s.id = e.textId "
                 "WHERE e.eventType = 59 AND coalesce(e.text, s.value) = 'request'")


def kernels(db):
    return q(db, "SELECT count(*) FROM CUPTI_ACTIVITY_KIND_KERNEL") or 0


def launches(db):
    return q(db, "SELECT count(*) FROM CUPTI_ACTIVITY_KIND_RUNTIME r JOIN StringIds s ON "
                 "s.id = r.nameId WHERE s.value LIKE 'cudaLaunchKernel%'") or 0


print("== baseline: torch_serve.py without gprof-cli")
base = Server("base", under_gprof=False)
base.req(50)  # warm-up: CUDA context, cuBLAS handles
_, base_us = base.req(500)
base.quit()
print("  mean per request: %.1f us" % base_us)

print("== session: gprof-cli launch --session-new=gpu -t cuda,nvtx,osrt torch_serve.py")
s = Server("gpu")
last, _ = s.req(50)  # warm-up, outside every window
_, idle_us = s.req(500)  # outside a window
r, _ = cli("sessions", "list")
check("sessions list shows the session idle", "gpu" in r.stdout and "idle" in r.stdout, r.stdout.strip())
r, _ = cli("start", "--session=gpu", "-o", "w1")
check("start", r.returncode == 0, r.stderr.strip())
_, in_us = s.req(200)
r, stop_ms = cli("stop", "--session=gpu")
check("stop prints Generated", r.returncode == 0 and "Generated:" in r.stderr, r.stderr.strip())
w1 = os.path.join(out, "w1.db")
check("w1: 200 request ranges", ranges(w1) == 200, str(ranges(w1)))
k1, l1 = kernels(w1), launches(w1)
check("w1: kernels a whole multiple of 200 (>= 3 per request)", k1 >= 600 and k1 % 200 == 0, str(k1))
rs = "(SELECT CAST(value AS INTEGER) FROM META_DATA_CAPTURE WHERE name = 'GPROF_CAPTURE_RANGE_START')"
re_ = "(SELECT CAST(value AS INTEGER) FROM META_DATA_CAPTURE WHERE name = 'GPROF_CAPTURE_RANGE_STOP')"
out_k = q(w1, "SELECT count(*) FROM CUPTI_ACTIVITY_KIND_KERNEL WHERE start < %s OR end > %s" % (rs, re_))
check("w1: every kernel inside the window", out_k == 0, str(out_k))
out_n = q(w1, "SELECT count(*) FROM NVTX_EVENTS WHERE start < %s" % rs)
check("w1: no NVTX event before the window", out_n == 0, str(out_n))
s.req(100)  # between windows
r, _ = cli("start", "--session=gpu", "-o", "w2")
s.req(120)
r, stop2_ms = cli("stop", "--session=gpu")
w2 = os.path.join(out, "w2.db")
check("w2: 120 request ranges", ranges(w2) == 120, str(ranges(w2)))
k2, l2 = kernels(w2), launches(w2)
check("w2: kernels per request as in w1", k2 * 200 == k1 * 120, "%d vs %d" % (k2, k1))
check("w2: kernel launches per request as in w1", l2 * 200 == l1 * 120, "%d vs %d" % (l2, l1))
check("w1 untouched by w2", ranges(w1) == 200)
r, _ = cli("start", "--session=gpu", "-o", "w2")
check("start onto an existing report without -f: exit 4", r.returncode == 4, r.stderr.strip())
r, _ = cli("start", "--session=gpu", "-o", "wc")
s.req(10)
r, _ = cli("cancel", "--session=gpu")
check("cancel writes nothing", r.returncode == 0 and not os.path.exists(os.path.join(out, "wc.db")))
r, _ = cli("start", "--session=gpu", "-o", "w3")
s.req(30)
rc = s.quit()  # the window open at exit is written
w3 = os.path.join(out, "w3.db")
check("launch exits 0 with the app", rc == 0, str(rc))
check("w3 (open at exit): 30 request ranges", ranges(w3) == 30, str(ranges(w3)))

print("== shutdown --kill sigkill")
s2 = Server("gpu2")
s2.req(20)
cli("start", "--session=gpu2", "-o", "w4")
s2.req(5)
r, _ = cli("shutdown", "--session=gpu2", "--kill=sigkill")
rc = s2.proc.wait(timeout=120)
check("shutdown ends the session (launch exit 137)", r.returncode == 0 and rc == 137, "%d %d" % (r.returncode, rc))
check("shutdown cancels the open window", not os.path.exists(os.path.join(out, "w4.db")))

print("== launch -c cudaProfilerApi: a CUDA graph made while no window is armed")
s3 = Server("gpu3", extra=("-c", "cudaProfilerApi"))
s3.req(5)
s3.req(0, "graph")  # made outside every window, before any start
s3.req(5, "greq")
r, _ = cli("start", "--session=gpu3", "-o", "g1")
check("start arms the trigger", r.returncode == 0, r.stderr.strip())
s3.req(20, "prof")
r, _ = cli("stop", "--session=gpu3")
check("stop writes g1", r.returncode == 0 and "Generated:" in r.stderr, r.stderr.strip())
s3.req(5, "greq")  # between windows
r, _ = cli("start", "--session=gpu3", "-o", "g2")
s3.req(30, "prof")
r, _ = cli("stop", "--session=gpu3")
s3.quit()
for name, n in (("g1", 20), ("g2", 30)):
    db = os.path.join(out, name + ".db")
    check("%s: %d request ranges" % (name, n), ranges(db) == n, str(ranges(db)))
    gl = q(db, "SELECT count(*) FROM CUPTI_ACTIVITY_KIND_GRAPH_TRACE") or 0
    check("%s: %d graph launches" % (name, n), gl == n, str(gl))
    ge = q(db, "SELECT count(*) FROM CUDA_GRAPH_EVENTS") or 0
    check("%s: the graph's creation events (made before the window)" % name, ge > 0, str(ge))
    orphan = q(db, "SELECT count(DISTINCT k.graphId) FROM CUPTI_ACTIVITY_KIND_GRAPH_TRACE k WHERE "
                   "NOT EXISTS (SELECT 1 FROM CUDA_GRAPH_EVENTS g WHERE "
                   "g.graphId = k.graphId)")
    check("%s: every graph launched has its creation event" % name, orphan == 0, str(orphan))

print("== figures")
print("  per request: %.1f us without gprof-cli, %.1f us under a session outside a window "
      "(%+.1f%%), %.1f us inside a window" % (base_us, idle_us, (idle_us / base_us - 1) * 100, in_us))
print("  stop: %.0f ms (200 requests, %d kernels), %.0f ms (120 requests)" % (stop_ms, k1, stop2_ms))
print("  w1.db %.1f MB, w2.db %.1f MB" % (os.path.getsize(w1) / 1e6, os.path.getsize(w2) / 1e6))
print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
