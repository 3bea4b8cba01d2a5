#!/bin/sh
# nsys-gpu-metrics-info.sh - what nsys 2025.3 calls GPU metrics on this GPU (issue 21):
# its metric sets, the files of its installation that define them, and the metrics and
# values of one nsys run and one gprof-cli run of the same program side by side.
#
#   sh bench/gpu/nsys-gpu-metrics-info.sh <outdir>
#
# Writes into <outdir>:
#   sets.txt        `nsys profile --gpu-metrics-set=help` (the sets and the default one)
#   files.txt       files of nsys's installation that name "SMs Active" (the set
#                   definitions: raw counters and formulas), with a copy of each text file
#                   under 100 kB in defs/
#   nsys.txt        TARGET_INFO_GPU_METRICS of nsys's report (metricId, metricName, typeId)
#                   and per metric: samples, mean, p95 of GPU_METRICS.value
#   gprof.txt       the same for gprof-cli's report of the same command
#   compare.txt     per metric and phase (the program's copy/idle/fma NVTX ranges), nsys's
#                   and gprof-cli's sample count, mean and p95, within 2 % or not
#                   (bench/gpu/compare_metrics.py; both runs trace cuda and nvtx)
#   compare-nsys-runs.txt, compare-gprof-runs.txt  (with REPEAT=1) the same comparison
#                   between two runs of nsys, and of gprof-cli: the run-to-run spread
#                   (the "nsys" columns hold the first run)
# Environment: GPROF_CLI, BUILD (gpu test programs, default .gpu/build), G (staged files,
# default .gpu), FREQ (default 10000), REPEAT.  Uses nsys and QdstrmImporter as run-issue10.sh.
set -u
out=${1:?usage: nsys-gpu-metrics-info.sh <outdir>}
G=${G:-$PWD/.gpu}
BUILD=${BUILD:-$G/build}
GPROF_CLI=${GPROF_CLI:-$G/build/bin/gprof-cli}
FREQ=${FREQ:-10000}
H=/opt/nvidia/nsight-compute/2025.3.1/host
NSYS=$H/target-linux-x64/nsys
IMPORTER=$H/linux-desktop-glibc_2_11_3-x64/QdstrmImporter
mkdir -p "$out/defs" /tmp/dw
for f in "$G"/debs/*.deb; do dpkg -x "$f" /tmp/dw; done
export LD_LIBRARY_PATH=/tmp/dw/usr/lib/x86_64-linux-gnu
app="$BUILD/tests/gpu/metrics_sampling"

"$NSYS" profile --gpu-metrics-set=help >"$out/sets.txt" 2>&1
"$NSYS" profile --gpu-metrics-devices=help >>"$out/sets.txt" 2>&1
grep -rIl --exclude-dir=proc "SMs Active" /opt/nvidia 2>/dev/null | head -50 >"$out/files.txt"
while read -r f; do
	sz=$(stat -c %s "$f")
	[ "$sz" -lt 100000 ] && cp "$f" "$out/defs/$(echo "$f" | tr / _)"
done <"$out/files.txt"

summary() { # summary <report.sqlite> <out.txt>
	python3 - "$1" >"$2" 2>&1 <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
print("== TARGET_INFO_GPU_METRICS")
for row in db.execute("SELECT * FROM TARGET_INFO_GPU_METRICS ORDER BY metricId"):
    print("  ", row)
print("== per metric: samples, mean, p95, first/last timestamp")
for mid, name in db.execute("SELECT DISTINCT metricId, metricName FROM TARGET_INFO_GPU_METRICS "
                            "ORDER BY metricId").fetchall():
    v = [r[0] for r in db.execute("SELECT value FROM GPU_METRICS WHERE metricId = ? "
                                  "ORDER BY value", (mid,))]
    t = db.execute("SELECT min(timestamp), max(timestamp) FROM GPU_METRICS WHERE metricId = ?",
                   (mid,)).fetchone()
    if v:
        print("  %3d %-60s n=%d mean=%.3f p95=%.3f t=%s" %
              (mid, name, len(v), sum(v) / len(v), v[int(0.95 * (len(v) - 1))], t))
    else:
        print("  %3d %-60s n=0" % (mid, name))
PY
}

"$NSYS" profile -t cuda,nvtx --gpu-metrics-devices=0 --gpu-metrics-frequency="$FREQ" -f true \
	-o "$out/n" "$app" >"$out/nsys.log" 2>&1
[ -f "$out/n.nsys-rep" ] || "$IMPORTER" -i "$out/n.qdstrm" >>"$out/nsys.log" 2>&1
"$NSYS" export --type sqlite -f true -o "$out/n.sqlite" "$out/n.nsys-rep" >>"$out/nsys.log" 2>&1
summary "$out/n.sqlite" "$out/nsys.txt"
"$GPROF_CLI" profile -t cuda,nvtx,gpu-metrics --gpu-metrics-devices=0 \
	--gpu-metrics-frequency="$FREQ" -f -o "$out/g" "$app" >"$out/gprof.log" 2>&1
summary "$out/g.db" "$out/gprof.txt"
python3 "$(dirname "$0")/compare_metrics.py" "$out/n.sqlite" "$out/g.db" >"$out/compare.txt" 2>&1
if [ "${REPEAT:-0}" = 1 ]; then
	"$NSYS" profile -t cuda,nvtx --gpu-metrics-devices=0 --gpu-metrics-frequency="$FREQ" \
		-f true -o "$out/n2" "$app" >>"$out/nsys.log" 2>&1
	[ -f "$out/n2.nsys-rep" ] || "$IMPORTER" -i "$out/n2.qdstrm" >>"$out/nsys.log" 2>&1
	"$NSYS" export --type sqlite -f true -o "$out/n2.sqlite" "$out/n2.nsys-rep" \
		>>"$out/nsys.log" 2>&1
	python3 "$(dirname "$0")/compare_metrics.py" "$out/n.sqlite" "$out/n2.sqlite" \
		>"$out/compare-nsys-runs.txt" 2>&1
	"$GPROF_CLI" profile -t cuda,nvtx,gpu-metrics --gpu-metrics-devices=0 \
		--gpu-metrics-frequency="$FREQ" -f -o "$out/g2" "$app" >>"$out/gprof.log" 2>&1
	python3 "$(dirname "$0")/compare_metrics.py" "$out/g.db" "$out/g2.db" \
		>"$out/compare-gprof-runs.txt" 2>&1
	rm -f "$out/n2.qdstrm" "$out/n2.nsys-rep"
fi
rm -f "$out/n.qdstrm" "$out/n.nsys-rep"
head -40 "$out/sets.txt"
wc -l "$out/files.txt"
head -30 "$out/nsys.txt"
