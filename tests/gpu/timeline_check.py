#!/usr/bin/env python3
"""timeline_check.py - check a `gprof-cli export --type perfetto` trace and its
`--type chrome-json` twin against the report they came from (issue 14), with Python's
standard library only (no protoc on the GPU machine).

usage: timeline_check.py REPORT.db TRACE.pftrace TRACE.json

The .pftrace is read with a small protobuf wire reader using the field numbers of
Perfetto's perfetto_trace.proto (the subset is tests/proto/perfetto_subset.proto):
Trace.packet 1; TracePacket timestamp 8, track_event 11, interned_data 12,
track_descriptor 60; TrackDescriptor uuid 1, name 2, process 3, thread 4, parent_uuid 5,
counter 8; TrackEvent type 9, name_iid 10, track_uuid 11, name 23, counter_value 30,
flow_ids 47, terminating_flow_ids 48; InternedData event_names 2 {iid 1, name 2}.

Checks (one "ok"/"FAIL" line each, then "N passed, N failed"; exit 1 on a failure):
  - one "CUDA HW (device N) / Stream M" track per device and stream with GPU work;
  - as many slices on those tracks as kernels + memcpy + memset + graph launches, on
    "CUDA API" rows as CUPTI_ACTIVITY_KIND_RUNTIME rows, on "NVTX" as push/pop ranges;
  - every track's BEGIN/END packets in time order and nested, none left open;
  - Perfetto: one flow per API call with GPU work, from the call (earlier) to its first
    GPU operation; JSON: one arrow per GPU operation whose API call is in the report;
  - a "CUDA memory usage" counter when CUDA_GPU_MEMORY_USAGE_EVENTS has rows;
  - the JSON parses, X events have dur >= 0, ts in microseconds, flow s/f paired, and as
    many X events as the slices above plus the OS runtime calls.
"""
import json
import re
import sqlite3
import sys

results = [0, 0]


def check(ok, what):
    print("  %s %s" % ("ok  " if ok else "FAIL", what))
    results[0 if ok else 1] += 1


def varint(b, i):
    v = s = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << s
        s += 7
        if c < 0x80:
            return v, i


def fields(b):
    """(field, wire type, value) of one message; LEN values as bytes."""
    i, n = 0, len(b)
    while i < n:
        key, i = varint(b, i)
        f, w = key >> 3, key & 7
        if w == 0:
            v, i = varint(b, i)
        elif w == 1:
            v = int.from_bytes(b[i:i + 8], "little")
            i += 8
        elif w == 2:
            ln, i = varint(b, i)
            v = b[i:i + ln]
            i += ln
        elif w == 5:
            v = int.from_bytes(b[i:i + 4], "little")
            i += 4
        else:
            raise ValueError("wire type %d" % w)
        yield f, w, v


def read_pftrace(path):
    data = open(path, "rb").read()
    tracks, events, names = {}, [], {}
    for f, w, pkt in fields(data):
        assert f == 1 and w == 2, "Trace holds only packets (field 1)"
        ts, te, td = None, None, None
        for pf, _, v in fields(pkt):
            if pf == 8:
                ts = v
            elif pf == 11:
                te = v
            elif pf == 60:
                td = v
            elif pf == 12:
                for idf, _, entry in fields(v):
                    if idf == 2:
                        d = {k: x for k, _, x in fields(entry)}
                        names[d[1]] = d[2].decode("utf-8", "replace")
        if td is not None:
            t = {"parent": 0, "name": "", "kind": "row"}
            for k, _, x in fields(td):
                if k == 1:
                    t["uuid"] = x
                elif k == 2:
                    t["name"] = x.decode("utf-8", "replace")
                elif k == 5:
                    t["parent"] = x
                elif k in (3, 4):
                    t["kind"] = "process" if k == 3 else "thread"
                    for kk, _, xx in fields(x):
                        if (k, kk) in ((3, 6), (4, 5)):
                            t["name"] = xx.decode("utf-8", "replace")
                elif k == 8:
                    t["kind"] = "counter"
            tracks[t["uuid"]] = t
        if te is not None:
            e = {"ts": ts, "type": 0, "uuid": 0, "name": None, "out": 0, "in": 0}
            for k, _, x in fields(te):
                if k == 9:
                    e["type"] = x
                elif k == 11:
                    e["uuid"] = x
                elif k == 10:
                    e["iid"] = x
                elif k == 23:
                    e["name"] = x.decode("utf-8", "replace")
                elif k == 47:
                    e["out"] = x
                elif k == 48:
                    e["in"] = x
            events.append(e)
    for e in events:
        if "iid" in e:
            e["name"] = names.get(e["iid"])
    return tracks, events


def count(db, sql):
    try:
        return db.execute(sql).fetchone()[0]
    except sqlite3.Error:
        return 0


def main():
    if len(sys.argv) != 4:
        print(__doc__)
        return 2
    db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    gpu_tables = [t for t in ("CUPTI_ACTIVITY_KIND_KERNEL", "CUPTI_ACTIVITY_KIND_MEMCPY",
                              "CUPTI_ACTIVITY_KIND_MEMSET", "CUPTI_ACTIVITY_KIND_GRAPH_TRACE")
                  if t in tables]
    gpu_union = " UNION ALL ".join(
        "SELECT deviceId, streamId, correlationId, globalPid FROM %s" % t for t in gpu_tables)
    n_gpu = count(db, "SELECT count(*) FROM (%s)" % gpu_union) if gpu_tables else 0
    n_api = count(db, "SELECT count(*) FROM CUPTI_ACTIVITY_KIND_RUNTIME")
    n_nvtx = count(db, "SELECT count(*) FROM NVTX_EVENTS WHERE eventType IN (59, 70)")
    n_osrt = count(db, "SELECT count(*) FROM OSRT_API")
    with_api = ("FROM (%s) g WHERE EXISTS (SELECT 1 FROM CUPTI_ACTIVITY_KIND_RUNTIME r "
                "WHERE r.correlationId = g.correlationId AND (r.globalTid >> 24) = "
                "(g.globalPid >> 24))" % gpu_union)
    # JSON: one arrow per GPU operation; Perfetto: one per API call (the first operation
    # of a graph launch in node mode ends it)
    n_flows = count(db, "SELECT count(*) " + with_api) if gpu_tables and n_api else 0
    n_calls = count(db, "SELECT count(*) FROM (SELECT DISTINCT g.correlationId, "
                        "g.globalPid >> 24 " + with_api + ")") if gpu_tables and n_api else 0
    streams = set(db.execute("SELECT DISTINCT deviceId, streamId FROM (%s)" % gpu_union)) \
        if gpu_tables else set()
    print("report: %d GPU operations on %d streams, %d API calls, %d NVTX ranges, %d flows"
          % (n_gpu, len(streams), n_api, n_nvtx, n_flows))
    check(n_gpu > 0, "the report has GPU work")

    tracks, events = read_pftrace(sys.argv[2])
    by_name = {}
    for t in tracks.values():
        by_name.setdefault(t["name"], []).append(t["uuid"])
    for dev, stream in sorted(streams):
        name = "CUDA HW (device %d) / Stream %d" % (dev, stream)
        check(name in by_name, "track '%s'" % name)

    def begins(pred):
        return sum(1 for e in events if e["type"] == 1 and pred(tracks[e["uuid"]]["name"]))
    check(begins(lambda n: n.startswith("CUDA HW")) == n_gpu,
          "slices on the stream tracks == %d GPU operations" % n_gpu)
    check(begins(lambda n: n == "CUDA API") == n_api, "slices on CUDA API rows == %d" % n_api)
    check(begins(lambda n: n == "NVTX") == n_nvtx, "slices on NVTX rows == %d" % n_nvtx)
    kernels = [e["name"] for e in events
               if e["type"] == 1 and tracks[e["uuid"]]["name"].startswith("CUDA HW")
               and e["name"] and not e["name"].startswith("[")]
    print("  kernel names, e.g.: %s" % ", ".join(sorted(set(kernels))[:6]))

    last, stack, bad = {}, {}, 0
    for e in events:
        if e["type"] not in (1, 2):
            continue
        u = e["uuid"]
        if e["ts"] < last.get(u, -1):
            bad += 1
        last[u] = e["ts"]
        st = stack.setdefault(u, [])
        if e["type"] == 1:
            st.append(e["ts"])
        elif not st or st.pop() > e["ts"]:
            bad += 1
    bad += sum(len(s) for s in stack.values())
    check(bad == 0, "every track's slices in time order and nested (%d problems)" % bad)

    out = {e["out"]: e["ts"] for e in events if e["out"]}
    ends = [e for e in events if e["in"]]
    paired = sum(1 for e in ends if e["in"] in out and out[e["in"]] <= e["ts"])
    check(paired == n_calls and len(ends) == len({e["in"] for e in ends}),
          "flows API call -> its first GPU operation: %d (report: %d calls)" % (paired, n_calls))
    if count(db, "SELECT count(*) FROM CUDA_GPU_MEMORY_USAGE_EVENTS"):
        check(any(n.startswith("CUDA memory usage") for n in by_name), "memory counter track")

    doc = json.load(open(sys.argv[3]))
    evs = doc["traceEvents"]
    xs = [e for e in evs if e["ph"] == "X"]
    check(all(e["dur"] >= 0 for e in xs), "JSON: X events have dur >= 0")
    check(all(re.fullmatch(r"-?\d+(\.\d{1,3})?", json.dumps(e["ts"])) for e in evs if "ts" in e),
          "JSON: ts in microseconds with at most 3 decimals")
    s_ids = sorted(e["id"] for e in evs if e["ph"] == "s")
    f_ids = sorted(e["id"] for e in evs if e["ph"] == "f")
    check(s_ids == f_ids and len(s_ids) == n_flows, "JSON: %d flow pairs" % len(s_ids))
    want = n_gpu + n_api + n_nvtx + n_osrt
    check(len(xs) == want, "JSON: %d X events == %d" % (len(xs), want))
    print("%d passed, %d failed" % tuple(results))
    return 1 if results[1] else 0


if __name__ == "__main__":
    sys.exit(main())
