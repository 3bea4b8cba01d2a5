#!/usr/bin/env python3
"""py_offsets_probe.py - find, in this very process, the CPython structure offsets that
gprof-cli's Python frame reader (core/wire_python.c, `profile --python-sampling`) uses,
and compare them with the table gprof-cli holds for this Python version.

Run it with the interpreter to be profiled (pure Python and ctypes; CPython 3.11 or 3.12,
x86-64 Linux):

    /opt/torch/.venv/bin/python3 tests/gpu/py_offsets_probe.py

Each line: `name found expected MATCH|MISMATCH` (found "?" when the probe could not find
it); then a walk of this thread's frames done the way gprof-cli does it, with the table's
offsets, against sys._getframe(); last line "probe: N match, N mismatch", exit status 1 on
any mismatch.  The expected values below are core/wire_python.c's tables
(tests/unit/test_sampler_python.c checks that the two agree).

How each offset is found: addresses from the C API (_PyRuntime, PyInterpreterState_Get,
PyThreadState_Get) and id() of objects, then a scan of the structure's memory for a value
known in advance (the interpreter in _PyRuntime, the thread state in the interpreter, the
native thread id in the thread state, the code object / the caller's frame in an
interpreter frame, a code object's file name, qualified name, location table and first
line, a string's text).  Only addresses inside readable mappings of /proc/self/maps are
dereferenced.
"""
import ctypes
import os
import sys
import threading

# core/wire_python.c: py311_offsets and py312_offsets (0: the version has no such field)
EXPECTED = {
    (3, 11): {
        "runtime_interp_head": 40,
        "interp_threads_head": 16,
        "tstate_next": 8,
        "tstate_cframe": 56,
        "tstate_native_thread_id": 160,
        "cframe_current_frame": 8,
        "frame_code": 32,
        "frame_previous": 48,
        "frame_prev_instr": 56,
        "frame_is_entry": 68,
        "frame_owner": 0,
        "code_filename": 112,
        "code_qualname": 128,
        "code_firstlineno": 72,
        "code_linetable": 136,
        "code_adaptive": 184,
        "ascii_header": 48,
        "compact_header": 72,
        "bytes_data": 32,
        "var_size": 16,
    },
    (3, 12): {
        "runtime_interp_head": 40,
        "interp_threads_head": 72,
        "tstate_next": 8,
        "tstate_cframe": 56,
        "tstate_native_thread_id": 144,
        "cframe_current_frame": 0,
        "frame_code": 0,
        "frame_previous": 8,
        "frame_prev_instr": 56,
        "frame_is_entry": 0,
        "frame_owner": 70,
        "code_filename": 112,
        "code_qualname": 128,
        "code_firstlineno": 68,
        "code_linetable": 136,
        "code_adaptive": 192,
        "ascii_header": 40,
        "compact_header": 56,
        "bytes_data": 32,
        "var_size": 16,
    },
}
FRAME_OWNED_BY_CSTACK = 3  # 3.12: the shim frame of each C -> Python entry

api = ctypes.pythonapi
api.PyInterpreterState_Get.restype = ctypes.c_void_p
api.PyThreadState_Get.restype = ctypes.c_void_p

# readable mappings, to dereference only what can be read
READABLE = []
with open("/proc/self/maps") as f:
    for ln in f:
        p = ln.split()
        if "r" in p[1]:
            lo, hi = (int(x, 16) for x in p[0].split("-"))
            READABLE.append((lo, hi, p[5] if len(p) > 5 else ""))


def mapping(a):
    for lo, hi, path in READABLE:
        if lo <= a < hi:
            return path
    return None


def readable(a, n=8):
    return any(lo <= a and a + n <= hi for lo, hi, _ in READABLE)


R = ctypes.c_uint64.from_address  # a C call: reads with no Python frame of its own


def u64(a):
    return R(a).value


def i32(a):
    return ctypes.c_int32.from_address(a).value


def u8(a):
    return ctypes.c_uint8.from_address(a).value


def scan(base, size, value, step=8, read=u64):
    """Offsets in [base, base+size) that hold value."""
    return [o for o in range(0, size - step + 1, step) if read(base + o) == value]


found = {}
notes = []


def put(name, offsets):
    found[name] = offsets[0] if offsets else None
    if len(offsets) > 1:
        notes.append("%s: several candidates %s (the first taken)" % (name, offsets))


def line_of(table, first, addr):
    """The line of code unit addr in a 3.11/3.12 location table (as py_line_of)."""
    line, at, i = first, 0, 0

    def varint():
        nonlocal i
        v = shift = 0
        while i < len(table):
            b = table[i]
            i += 1
            v |= (b & 63) << shift
            shift += 6
            if not (b & 64):
                break
        return v

    def svarint():
        v = varint()
        return -(v >> 1) if v & 1 else v >> 1

    while i < len(table):
        b = table[i]
        i += 1
        code, n = (b >> 3) & 15, (b & 7) + 1
        if not (b & 128):
            return 0
        if code == 15:
            pass
        elif code == 14:
            line += svarint()
            varint()
            varint()
            varint()
        elif code == 13:
            line += svarint()
        elif code >= 10:
            line += code - 10
            i += 2
        else:
            i += 1
        if at <= addr < at + n:
            return 0 if code == 15 else line
        at += n
    return 0


def iframe_of(frame):
    """A PyFrameObject's f_frame (ob_refcnt, ob_type, f_back, then f_frame)."""
    return u64(id(frame) + 24)


def main():
    ver = sys.version_info[:2]
    exp = EXPECTED.get(ver)
    print("python %s (%s), executable %s" % (sys.version.split()[0], hex(sys.hexversion),
                                             os.path.realpath(sys.executable)))
    if exp is None:
        print("gprof-cli has no table for CPython %d.%d: the expected column shows 3.12's"
              % ver)
        exp = EXPECTED[(3, 12)]
    runtime = ctypes.addressof(ctypes.c_void_p.in_dll(api, "_PyRuntime"))
    print("_PyRuntime 0x%x in %s" % (runtime, mapping(runtime)))
    try:
        pv = ctypes.c_ulong.in_dll(api, "Py_Version").value
        print("Py_Version 0x%x (%s sys.hexversion)"
              % (pv, "equals" if pv == sys.hexversion else "differs from"))
    except ValueError:
        print("Py_Version: no such symbol")
    interp = api.PyInterpreterState_Get()
    tstate = api.PyThreadState_Get()

    put("runtime_interp_head", scan(runtime, 256, interp))
    put("interp_threads_head", scan(interp, 256, tstate))
    put("tstate_native_thread_id", scan(tstate, 320, threading.get_native_id()))

    # a second thread: the newest is threads.head, its next the main thread's state
    got, go = [], threading.Event()

    def other():
        got.append(api.PyThreadState_Get())
        go.wait()

    t = threading.Thread(target=other)
    t.start()
    while not got:
        pass
    th = found["interp_threads_head"]
    head = u64(interp + th) if th is not None else 0
    if head != got[0]:
        notes.append("threads.head is not the newest thread's state")
    put("tstate_next", scan(got[0], 64, tstate))
    go.set()
    t.join()

    cframe_probe()
    frame_probe()
    code_probe()
    str_probe()


def cframe_probe():
    """tstate->cframe->current_frame is this function's frame while it runs: plain loops
    and C calls only (a 3.11 list comprehension would run in a frame of its own)."""
    me = iframe_of(sys._getframe())
    ts = api.PyThreadState_Get()
    hits = []
    for o in range(0, 320, 8):
        p = R(ts + o).value
        if p and readable(p, 16):
            for k in (0, 8):
                if R(p + k).value == me:
                    hits.append((o, k))
    put("tstate_cframe", [h[0] for h in hits])
    put("cframe_current_frame", [h[1] for h in hits])


class Probe:
    """A class, so that the code objects' qualified names differ from their names."""

    def inner(self, outer_iframe, out):
        me = iframe_of(sys._getframe())
        out["inner"] = me
        out["outer"] = outer_iframe
        out["inner_code"] = id(sys._getframe().f_code)
        # prev_instr: the CALL of this line, while the call runs
        w = [u64(me + o) for o in range(0, 80, 8)]; ln = sys._getframe().f_lineno  # noqa: E702
        out["words"], out["line"] = w, ln
        out["bytes"] = [u8(me + o) for o in range(0, 80)]

    def outer(self, out):
        self.inner(iframe_of(sys._getframe()), out)
        return out

    def entry(self, prev_off):
        """Called from C (map): the first frame of its _PyEval_EvalFrameDefault; in 3.12
        its previous frame is the shim on that call's C stack, read while it is there."""
        me = iframe_of(sys._getframe())
        prev = u64(me + prev_off)
        shim = [u8(prev + o) for o in range(0, 80)] if prev and readable(prev, 80) else []
        return [u8(me + o) for o in range(0, 80)], shim


def frame_probe():
    out = Probe().outer({})
    me, code = out["inner"], out["inner_code"]
    put("frame_code", [o for o in range(0, 80, 8) if out["words"][o // 8] == code])
    put("frame_previous", [o for o in range(0, 80, 8) if out["words"][o // 8] == out["outer"]])
    adaptive = type(Probe.inner.__code__).__basicsize__
    co = Probe.inner.__code__
    lo, hi = code + adaptive, code + adaptive + len(co.co_code)
    pi = [o for o in range(0, 80, 8) if lo <= out["words"][o // 8] < hi]
    put("frame_prev_instr", pi)
    if pi:
        idx = (out["words"][pi[0] // 8] - lo) // 2
        ln = line_of(co.co_linetable, co.co_firstlineno, idx)
        notes.append("prev_instr's line %d, f_lineno %d: %s" % (
            ln, out["line"], "same" if ln == out["line"] else "DIFFERENT"))
        if ln != out["line"]:
            found["frame_prev_instr"] = None
    ent, shim = list(map(Probe().entry, [found["frame_previous"] or 0]))[0]
    inner_b = out["bytes"]
    if sys.version_info[:2] == (3, 11):
        # is_entry: 1 in a frame entered from C, 0 in one called from Python
        put("frame_is_entry", [o for o in range(60, 80) if ent[o] == 1 and inner_b[o] == 0])
        found["frame_owner"] = 0
    else:
        found["frame_is_entry"] = 0
        put("frame_owner", [o for o in range(60, min(80, len(shim)))
                            if shim[o] == FRAME_OWNED_BY_CSTACK and inner_b[o] == 0 and
                            ent[o] == 0])


def code_probe():
    co = Probe.inner.__code__
    a = id(co)
    size = type(co).__basicsize__
    put("code_filename", scan(a, size, id(co.co_filename)))
    put("code_qualname", scan(a, size, id(co.co_qualname)))
    put("code_linetable", scan(a, size, id(co.co_linetable)))
    put("code_firstlineno", scan(a, size, co.co_firstlineno, 4, i32))
    # tp_basicsize of the code type is the offset of co_code_adaptive; its first code
    # unit's opcode byte is co_code's (RESUME, never specialised)
    put("code_adaptive", [size] if u8(a + size) == co.co_code[0] else [])


def str_probe():
    s = "".join(["gprof_probe_", "ascii"])  # built at run time: not interned
    put("ascii_header", scan(id(s), sys.getsizeof(s), int.from_bytes(s[:8].encode(), "little")))
    t = "".join(["caf\xe9_", "latin1_text"])
    put("compact_header", scan(id(t), sys.getsizeof(t),
                               int.from_bytes(t[:8].encode("latin-1"), "little")))
    b = bytes(range(65, 65 + 24))
    put("bytes_data", scan(id(b), sys.getsizeof(b), int.from_bytes(b[:8], "little")))
    put("var_size", scan(id(b), 32, len(b)))
    st_s, st_t = u64(id(s) + 32) & 0xFF, u64(id(t) + 32) & 0xFF
    # state: interned 2 bits, kind 3 (1: one byte), compact 1, ascii 1
    good = ((st_s >> 2) & 7) == 1 and st_s & 32 and st_s & 64 and \
        ((st_t >> 2) & 7) == 1 and st_t & 32 and not st_t & 64
    notes.append("str state bits (kind, compact, ascii at bits 2-4, 5, 6): %s"
                 % ("as expected" if good else "DIFFERENT: 0x%x 0x%x" % (st_s, st_t)))
    if not good:
        found["ascii_header"] = None


def read_str(o, obj):
    st = u64(obj + 32) & 0xFF
    if not (st & 32) or ((st >> 2) & 7) != 1:
        return "?"
    n = u64(obj + 16)
    return ctypes.string_at(obj + (o["ascii_header"] if st & 64 else o["compact_header"]),
                            n).decode("latin-1")


def walk(o):
    """This thread's frames read the way core/wire_python.c does, with the table o:
    [(qualname, line, is_entry)], innermost (this function) first, shim frames skipped;
    and sys._getframe(), to compare."""
    interp = R(ctypes.addressof(ctypes.c_void_p.in_dll(api, "_PyRuntime")) +
               o["runtime_interp_head"]).value
    ts = R(interp + o["interp_threads_head"]).value
    while ts and R(ts + o["tstate_native_thread_id"]).value != threading.get_native_id():
        ts = R(ts + o["tstate_next"]).value
    frame = R(R(ts + o["tstate_cframe"]).value + o["cframe_current_frame"]).value
    res = []
    while frame and len(res) < 64:
        code = u64(frame + o["frame_code"])
        if o["frame_owner"] and u8(frame + o["frame_owner"]) == FRAME_OWNED_BY_CSTACK:
            if res:
                res[-1] = (res[-1][0], res[-1][1], 1)
            frame = u64(frame + o["frame_previous"])
            continue
        instr = u64(frame + o["frame_prev_instr"])
        lt = u64(code + o["code_linetable"])
        table = ctypes.string_at(lt + o["bytes_data"], u64(lt + o["var_size"]))
        first = i32(code + o["code_firstlineno"])
        line = line_of(table, first, (instr - code - o["code_adaptive"]) // 2)
        entry = u8(frame + o["frame_is_entry"]) if o["frame_is_entry"] else 0
        res.append((read_str(o, u64(code + o["code_qualname"])), line, entry))
        frame = u64(frame + o["frame_previous"])
    want, f = [], sys._getframe()
    while f:  # the callers are still at the lines they were at during the walk
        want.append((f.f_code.co_qualname, f.f_lineno))
        f = f.f_back
    return res, want


def walk_check(o):
    def level2(_):
        return walk(o)

    def level1():
        return list(map(level2, [0]))[0]

    got, want = level1()
    print("walk with the table's offsets (innermost first; * = entry frame):")
    ok = len(got) == len(want)
    for i in range(max(len(got), len(want))):
        g = got[i] if i < len(got) else ("-", 0, 0)
        w = want[i] if i < len(want) else ("-", 0)
        # the innermost frame (walk) runs on: its line moves before f_lineno is read
        same = g[0] == w[0] and (i == 0 or g[1] == w[1])
        ok = ok and same
        print("  %-40s %5d%s   sys._getframe: %-40s %5d %s" % (
            g[0], g[1], "*" if g[2] else " ", w[0], w[1], "" if same else "DIFFERENT"))
    # level2 is entered from C (map): an entry frame; walk and level1 are not
    ent = len(got) > 2 and [g[2] for g in got[:3]] == [0, 1, 0]
    print("  entry frames: %s" % ("level2 (called by map) is one, walk and level1 not" if ent
                                   else "WRONG"))
    return ok and ent


if __name__ == "__main__":
    main()
    exp = EXPECTED.get(sys.version_info[:2], EXPECTED[(3, 12)])
    match = mismatch = 0
    for name, want in exp.items():
        got = found.get(name)
        same = got == want
        match, mismatch = match + same, mismatch + (not same)
        print("%-24s %4s %4d %s" % (name, "?" if got is None else got, want,
                                    "MATCH" if same else "MISMATCH"))
    for n in notes:
        print("note: " + n)
    if mismatch == 0:
        w = walk_check(exp)
        print("walk %s" % ("MATCH" if w else "MISMATCH"))
        match, mismatch = match + w, mismatch + (not w)
    elif all(found.get(k) is not None for k in exp):
        print("the table does not match: the walk with the offsets found instead")
        print("walk with the found offsets %s" % ("MATCH" if walk_check(found) else "MISMATCH"))
    else:
        print("walk skipped: the table does not match and some offsets were not found")
    print("probe: %d match, %d mismatch" % (match, mismatch))
    sys.exit(1 if mismatch else 0)
