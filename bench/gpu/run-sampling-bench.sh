#!/bin/sh
# run-sampling-bench.sh - overhead of PM sampling (-t gpu-metrics, issue 5) on MobileNet-v2
# training (mbv2.py), on the H200.
#
#   GPROF_CLI=... sh bench/gpu/run-sampling-bench.sh <outdir>
#
# Interleaved rounds (ROUNDS, default 3) of the variants in VARIANTS (default
# "bare trace metrics") of the same workload:
#   bare       python3 mbv2.py
#   trace      gprof-cli profile -t cuda,nvtx
#   metrics    gprof-cli profile -t cuda,nvtx,gpu-metrics   (10 kHz, default set; sampled by
#              gprof-cli's sampler process, cli/metrics_process.h)
#   metrics-w1 the same with one evaluation thread (GPROF_CLI_METRICS_WORKERS=1)
#   metrics-app  the same, sampled inside the application (GPROF_CLI_METRICS_IN_APP=1, the
#              design before issue 21)
#   gm-only    gprof-cli profile -t gpu-metrics              (sampling alone)
#   gm-idle    the same with the sampler process under SCHED_IDLE (GPROF_CLI_METRICS_SCHED)
#   gm-noeval  the same, decoding without evaluation or rows (GPROF_CLI_METRICS_EVAL=0)
#   cpu        gprof-cli profile -t none                      (CPU sampling and context
#              switches alone, the defaults: issue 15)
#   cpu-py     the same with --python-sampling=true (Python frames read from the process)
#   cpu-none   gprof-cli profile -t none -s none --cpuctxsw=none   (the same without them)
#   nsys-cpu   nsys profile -t none -s process-tree --cpuctxsw=process-tree (side by side)
#   nsys-trace nsys profile -t cuda,nvtx                      (nsys 2025.3, side by side)
#   nsys-metrics  the same with --gpu-metrics-devices=0 at FREQ
# <outdir>/sampling.tsv, one line per run:
#   round variant ms_per_step command_wall_s samples decode_cpu_ns throttled_us cpu_lost
#   sampler_cpu_ms backlog
# (samples / decode_cpu_ns: GPU_METRICS:SAMPLES_DEVICE_0 and GPU_METRICS:DECODE_CPU_NS of
# the report, "-" without sampling; for cpu: GPROF_CPU_SAMPLES and GPROF_LOST_CPU_SAMPLES; <outdir>/split.txt: GPU_METRICS:DECODE_CPU_SPLIT_NS
# of each sampled run; throttled_us: the cgroup's cpu.stat throttled_usec during the run,
# "-" without a cgroup v2 CPU controller: a CPU quota below the core count shows there);
# cpu_lost / sampler_cpu_ms: every gprof-cli run's GPROF_LOST_CPU_SAMPLES (CPU sampling is on
# in all of them: records the kernel dropped, ring full, plus those dropped past the
# sampler's 256 MiB queue) and GPROF_SAMPLER_CPU_NS in ms (its reader and worker threads);
# backlog: the samples still queued when the application exited, from profile's notice
# ("unwinding the N samples still queued", said past 1 s), else 0; "-" for bare and nsys.
# Then a summary of medians and ratios to bare on stdout, with the largest cpu_lost.
# Env: GPROF_CLI (default build/bin/gprof-cli), TORCH_PYTHON (default
# /opt/torch/.venv/bin/python3), MBV2 (default .gpu/mbv2.py, else ../shared/bench/mbv2.py),
# FREQ (default 10000), VARIANTS.
set -u
out=${1:?usage: run-sampling-bench.sh <outdir>}
ROUNDS=${ROUNDS:-3}
VARIANTS=${VARIANTS:-bare trace metrics}
FREQ=${FREQ:-10000}
GPROF_CLI=${GPROF_CLI:-build/bin/gprof-cli}
PY=${TORCH_PYTHON:-/opt/torch/.venv/bin/python3}
if [ -z "${MBV2:-}" ]; then
	MBV2=../shared/bench/mbv2.py
	[ -f .gpu/mbv2.py ] && MBV2=.gpu/mbv2.py
fi
mkdir -p "$out"
tsv=$out/sampling.tsv
: >"$tsv"

now() { date +%s.%N; }
NSYS=${NSYS:-/opt/nvidia/nsight-compute/2025.3.1/host/target-linux-x64/nsys}
throttled() { sed -n 's/^throttled_usec //p' /sys/fs/cgroup/cpu.stat 2>/dev/null || echo -; }
cat /sys/fs/cgroup/cpu.max >"$out/cpu.max" 2>/dev/null

meta() { # meta <report> <name>: a META_DATA_CAPTURE value, or -
	python3 -c "import sqlite3,sys
r=sqlite3.connect(sys.argv[1]).execute('SELECT value FROM META_DATA_CAPTURE WHERE name=?',
    (sys.argv[2],)).fetchone()
print(r[0] if r else '-')" "$1" "$2" 2>/dev/null || echo -
}

meta_export() { # meta_export <report> <name>: a META_DATA_EXPORT value, or -
	python3 -c "import sqlite3,sys
r=sqlite3.connect(sys.argv[1]).execute('SELECT value FROM META_DATA_EXPORT WHERE name=?',
    (sys.argv[2],)).fetchone()
print(r[0] if r else '-')" "$1" "$2" 2>/dev/null || echo -
}

run_variant() { # run_variant <round> <variant>
	log=$out/mbv2.$2.$1.log
	rep=/tmp/sampling-bench-$2
	th0=$(throttled)
	t0=$(now)
	case $2 in
	bare) "$PY" "$MBV2" >"$log" 2>&1 ;;
	trace) "$GPROF_CLI" profile -t cuda,nvtx -f -o $rep "$PY" "$MBV2" >"$log" 2>&1 ;;
	metrics)
		"$GPROF_CLI" profile -t cuda,nvtx,gpu-metrics --gpu-metrics-frequency="$FREQ" -f \
			-o $rep "$PY" "$MBV2" >"$log" 2>&1
		;;
	metrics-w1)
		GPROF_CLI_METRICS_WORKERS=1 "$GPROF_CLI" profile -t cuda,nvtx,gpu-metrics \
			--gpu-metrics-frequency="$FREQ" -f -o $rep "$PY" "$MBV2" >"$log" 2>&1
		;;
	metrics-app)
		GPROF_CLI_METRICS_IN_APP=1 "$GPROF_CLI" profile -t cuda,nvtx,gpu-metrics \
			--gpu-metrics-frequency="$FREQ" -f -o $rep "$PY" "$MBV2" >"$log" 2>&1
		;;
	gm-only)
		"$GPROF_CLI" profile -t gpu-metrics --gpu-metrics-frequency="$FREQ" -f -o $rep \
			"$PY" "$MBV2" >"$log" 2>&1
		;;
	gm-idle)
		GPROF_CLI_METRICS_SCHED=idle "$GPROF_CLI" profile -t gpu-metrics \
			--gpu-metrics-frequency="$FREQ" -f -o $rep "$PY" "$MBV2" >"$log" 2>&1
		;;
	gm-noeval)
		GPROF_CLI_METRICS_EVAL=0 "$GPROF_CLI" profile -t gpu-metrics \
			--gpu-metrics-frequency="$FREQ" -f -o $rep "$PY" "$MBV2" >"$log" 2>&1
		;;
	cpu) "$GPROF_CLI" profile -t none -f -o $rep "$PY" "$MBV2" >"$log" 2>&1 ;;
	cpu-py)
		"$GPROF_CLI" profile -t none --python-sampling=true -f -o $rep "$PY" "$MBV2" \
			>"$log" 2>&1
		;;
	cpu-none)
		"$GPROF_CLI" profile -t none -s none --cpuctxsw=none -f -o $rep "$PY" "$MBV2" \
			>"$log" 2>&1
		;;
	nsys-cpu)
		"$NSYS" profile -t none -s process-tree --cpuctxsw=process-tree -f true -o $rep \
			"$PY" "$MBV2" >"$log" 2>&1
		rm -f $rep.nsys-rep $rep.qdstrm
		;;
	nsys-trace)
		"$NSYS" profile -t cuda,nvtx -f true -o $rep "$PY" "$MBV2" >"$log" 2>&1
		rm -f $rep.nsys-rep $rep.qdstrm
		;;
	nsys-metrics)
		"$NSYS" profile -t cuda,nvtx --gpu-metrics-devices=0 --gpu-metrics-frequency="$FREQ" \
			-f true -o $rep "$PY" "$MBV2" >"$log" 2>&1
		rm -f $rep.nsys-rep $rep.qdstrm
		;;
	esac
	t1=$(now)
	th1=$(throttled)
	th=-
	[ "$th0" != - ] && [ "$th1" != - ] && th=$((th1 - th0))
	ms=$(sed -n 's/.*ms_per_step=\([0-9.]*\).*/\1/p' "$log" | tail -1)
	samples=- cpu=-
	case $2 in metrics | metrics-w1 | metrics-app | gm-*)
		samples=$(meta $rep.db GPU_METRICS:SAMPLES_DEVICE_0)
		cpu=$(meta $rep.db GPU_METRICS:DECODE_CPU_NS)
		echo "$1 $2 $(meta $rep.db GPU_METRICS:DECODE_CPU_SPLIT_NS)" >>"$out/split.txt"
		;;
	cpu | cpu-py)
		samples=$(meta_export $rep.db GPROF_CPU_SAMPLES)
		cpu=$(meta_export $rep.db GPROF_LOST_CPU_SAMPLES)
		;;
	esac
	lost=- scpu=- backlog=-
	case $2 in bare | nsys-*) ;; *)
		lost=$(meta_export $rep.db GPROF_LOST_CPU_SAMPLES)
		scpu=$(meta_export $rep.db GPROF_SAMPLER_CPU_NS)
		[ "$scpu" != - ] && scpu=$((scpu / 1000000))
		backlog=$(sed -n 's/.*unwinding the \([0-9]*\) samples still queued.*/\1/p' "$log")
		;;
	esac
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "${ms:-?}" \
		"$(awk "BEGIN{printf \"%.3f\", $t1 - $t0}")" "$samples" "$cpu" "$th" "$lost" "$scpu" \
		"${backlog:-0}" | tee -a "$tsv"
}

"$PY" "$MBV2" >/dev/null 2>&1 # warm the driver, page cache and torch import
r=1
while [ $r -le "$ROUNDS" ]; do
	for v in $VARIANTS; do
		run_variant $r $v
	done
	r=$((r + 1))
done
python3 - "$tsv" <<'PY'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
by = {}
for r in rows:
    by.setdefault(r[1], []).append(r)
def med(v, i):
    x = [float(r[i]) for r in by.get(v, []) if r[i] not in ("?", "-")]
    return statistics.median(x) if x else float("nan")
base = med("bare", 2)
def most(v, i):
    x = [float(r[i]) for r in by.get(v, []) if len(r) > i and r[i] not in ("?", "-")]
    return max(x) if x else float("nan")
print("variant   runs  ms/step(med)  vs bare  wall_s(med)  samples(med)  decode us/sample"
      "  cpu_lost(max)  sampler_cpu_ms(med)  backlog(max)")
for v in ("bare", "trace", "metrics", "metrics-w1", "metrics-app", "gm-only", "gm-idle",
          "gm-noeval", "cpu", "cpu-py", "cpu-none", "nsys-cpu", "nsys-trace", "nsys-metrics"):
    if v not in by:
        continue
    s, c = med(v, 4), med(v, 5)
    per = c / 1e3 / s if s == s and c == c and s > 0 and not v.startswith("cpu") else float("nan")
    print("%-12s %4d  %12.3f  %6.3fx  %11.3f  %12.0f  %16.1f  %13.0f  %19.0f  %12.0f"
          % (v, len(by.get(v, [])), med(v, 2), med(v, 2) / base, med(v, 3), s, per,
             most(v, 7), med(v, 8) if any(len(r) > 8 for r in by[v]) else float("nan"),
             most(v, 9)))
PY
