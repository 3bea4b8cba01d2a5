#!/bin/sh
# run-gpu-bench.sh - the GPU benchmark and the nsys side-by-side (issue 3), on the H200.
#
#   sh bench/gpu/run-gpu-bench.sh <what> <outdir>
#   what: lb | mbv2 | compare-lb | compare-mbv2 | capoff-lb | wall-mbv2 | wall-lb
#
# Uses the files bench/gpu/stage.sh put in .gpu/ (gprof-cli, libcupti_floor.so,
# launchbench, mbv2.py, libdw/libelf debs).  Interleaved rounds (bare, CUPTI floor,
# gprof-cli, nsys, ...) of the same workload; each line of <outdir>/<what>.tsv is
#   round  variant  app_metric  command_wall_s
# (VARIANTS="bare floor floor-kernel ..." picks the variants of lb/mbv2; floor-kernel,
# floor-api, floor-pinned, floor-nots: the floor with one knob of cupti_floor.c changed;
# gprof-flush0: --cuda-flush-interval=0)
# (app metric: launchbench us_per_kernel, mbv2 ms_per_step; command wall: the whole
# `gprof-cli profile` / `nsys profile` command, or the bare app).
# compare-*: one gprof-cli run and one nsys run (import + export to SQLite), then
# bench/gpu/compare_nsys.py and `nsys stats` on both reports next to `gprof-cli stats`.
# capoff-lb (issue 4, launches outside any capture range): interleaved rounds of bare,
# gprof-cli without -c ("full"), gprof-cli -c cudaProfilerApi with launchbench, which never
# calls cudaProfilerStart ("capoff": CUPTI's event kinds disabled outside ranges), and the
# same with the injection library of the previous behaviour in $G/oldlib ("capoff-old":
# kinds enabled, records dropped on arrival), when that folder exists.
# wall-*: where the whole command's wall time goes: the application is started by a
# shell that writes timestamps just before and after it, so each line of <what>.tsv is
#   round  variant  app_metric  command_wall_s  before_app_s  app_s  after_app_s
# (before: command start to app start, e.g. the recorder set-up; after: app exit to
# command exit: the recorder's finish and report).  Variants: bare, floor, gprof
# (-t cuda,nvtx), gprof-nvtx (-t nvtx: no CUPTI).
set -u
what=$1 out=$2
ROUNDS=${ROUNDS:-5}
G=${G:-$PWD/.gpu}
GPROF=$G/build/bin/gprof-cli
H=/opt/nvidia/nsight-compute/2025.3.1/host
NSYS=$H/target-linux-x64/nsys
IMPORTER=$H/linux-desktop-glibc_2_11_3-x64/QdstrmImporter
mkdir -p "$out" /tmp/dw
for f in "$G"/debs/*.deb; do dpkg -x "$f" /tmp/dw; done
DWLIB=/tmp/dw/usr/lib/x86_64-linux-gnu
case $what in
*lb) APP="$G/launchbench"; ARGS=${LB_ARGS:-1000 100}; METRIC=us_per_kernel ;;
*mbv2) APP=python3; ARGS="$G/mbv2.py"; METRIC=ms_per_step ;;
esac

now() { date +%s.%N; }
metric() { sed -n "s/.*$METRIC=\([0-9.]*\).*/\1/p" "$1" | tail -1; }

run_variant() { # run_variant <round> <variant>
	log=$out/$what.$2.$1.log
	t0=$(now)
	case $2 in
	bare) $APP $ARGS >"$log" 2>&1 ;;
	floor) CUDA_INJECTION64_PATH=$G/libcupti_floor.so $APP $ARGS >"$log" 2>&1 ;;
	floor-kernel) FLOOR_KINDS=kernel CUDA_INJECTION64_PATH=$G/libcupti_floor.so $APP $ARGS \
		>"$log" 2>&1 ;;
	floor-api) FLOOR_KINDS=api CUDA_INJECTION64_PATH=$G/libcupti_floor.so $APP $ARGS \
		>"$log" 2>&1 ;;
	floor-pinned) FLOOR_PINNED=1 CUDA_INJECTION64_PATH=$G/libcupti_floor.so $APP $ARGS \
		>"$log" 2>&1 ;;
	floor-nots) FLOOR_TSCB=0 CUDA_INJECTION64_PATH=$G/libcupti_floor.so $APP $ARGS \
		>"$log" 2>&1 ;;
	gprof-flush0) $GPROF profile -t cuda,nvtx --cuda-flush-interval=0 -f -o /tmp/bench-gprof \
		$APP $ARGS >"$log" 2>&1 ;;
	gprof) $GPROF profile -t cuda,nvtx -f -o /tmp/bench-gprof $APP $ARGS >"$log" 2>&1 ;;
	nsys) LD_LIBRARY_PATH=$DWLIB $NSYS profile -t cuda,nvtx -f true -o /tmp/bench-nsys \
		$APP $ARGS >"$log" 2>&1 ;;
	full) $GPROF profile -t cuda,nvtx -f -o /tmp/bench-gprof $APP $ARGS >"$log" 2>&1 ;;
	capoff) $GPROF profile -t cuda,nvtx -c cudaProfilerApi -f -o /tmp/bench-gprof \
		$APP $ARGS >"$log" 2>&1 ;;
	capoff-old) GPROF_CLI_LIBDIR=$G/oldlib $GPROF profile -t cuda,nvtx -c cudaProfilerApi \
		-f -o /tmp/bench-gprof $APP $ARGS >"$log" 2>&1 ;;
	gprof-nvtx) $GPROF profile -t nvtx -f -o /tmp/bench-gprof $APP $ARGS >"$log" 2>&1 ;;
	esac
	t1=$(now)
	printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$(metric "$log")" \
		"$(awk "BEGIN{printf \"%.3f\", $t1 - $t0}")" | tee -a "$out/$what.tsv"
}

case $what in
lb | mbv2)
	: >"$out/$what.tsv"
	$APP $ARGS >/dev/null 2>&1 # warm caches (driver, page cache, torch import)
	r=1
	while [ $r -le "$ROUNDS" ]; do
		for v in ${VARIANTS:-bare floor gprof nsys}; do
			run_variant $r $v
		done
		r=$((r + 1))
	done
	;;
capoff-lb)
	: >"$out/$what.tsv"
	$APP $ARGS >/dev/null 2>&1
	variants="bare full capoff"
	[ -d "$G/oldlib" ] && variants="$variants capoff-old"
	r=1
	while [ $r -le "$ROUNDS" ]; do
		for v in $variants; do
			run_variant $r $v
		done
		r=$((r + 1))
	done
	;;
wall-mbv2 | wall-lb)
	: >"$out/$what.tsv"
	$APP $ARGS >/dev/null 2>&1
	r=1
	while [ $r -le "$ROUNDS" ]; do
		for v in bare floor gprof gprof-nvtx; do
			log=$out/$what.$v.$r.log ts=$out/$what.$v.$r.ts
			wrap="echo \$(date +%s.%N) >$ts; $APP $ARGS; echo \$(date +%s.%N) >>$ts"
			t0=$(now)
			case $v in
			bare) sh -c "$wrap" >"$log" 2>&1 ;;
			floor) CUDA_INJECTION64_PATH=$G/libcupti_floor.so sh -c "$wrap" >"$log" 2>&1 ;;
			gprof) $GPROF profile -t cuda,nvtx -f -o /tmp/bench-gprof sh -c "$wrap" \
				>"$log" 2>&1 ;;
			gprof-nvtx) $GPROF profile -t nvtx -f -o /tmp/bench-gprof sh -c "$wrap" \
				>"$log" 2>&1 ;;
			esac
			t1=$(now)
			a0=$(sed -n 1p "$ts") a1=$(sed -n 2p "$ts")
			printf '%s\t%s\t%s\t%s\n' "$r" "$v" "$(metric "$log")" \
				"$(awk "BEGIN{printf \"%.3f\t%.3f\t%.3f\t%.3f\", $t1 - $t0, $a0 - $t0, $a1 - $a0, $t1 - $a1}")" |
				tee -a "$out/$what.tsv"
		done
		r=$((r + 1))
	done
	;;
compare-lb | compare-mbv2)
	name=${what#compare-}
	$GPROF profile -t cuda,nvtx -f -o "$out/$name-gprof" $APP $ARGS >"$out/$name-gprof.log" 2>&1
	LD_LIBRARY_PATH=$DWLIB $NSYS profile -t cuda,nvtx -f true -o /tmp/$name-nsys $APP $ARGS \
		>"$out/$name-nsys.log" 2>&1
	[ -f /tmp/$name-nsys.nsys-rep ] ||
		LD_LIBRARY_PATH=$DWLIB $IMPORTER -i /tmp/$name-nsys.qdstrm >>"$out/$name-nsys.log" 2>&1
	$NSYS export --type sqlite -f true -o "$out/$name-nsys.sqlite" /tmp/$name-nsys.nsys-rep \
		>>"$out/$name-nsys.log" 2>&1
	python3 bench/gpu/compare_nsys.py "$out/$name-gprof.db" "$out/$name-nsys.sqlite" \
		>"$out/$name-compare.txt" 2>&1
	cp "$out/$name-gprof.db" /tmp/$name-gprof.sqlite
	R=cuda_api_sum,cuda_gpu_kern_sum,cuda_gpu_mem_time_sum,cuda_gpu_mem_size_sum,cuda_gpu_sum
	$NSYS stats -q -f csv -r $R /tmp/$name-gprof.sqlite >"$out/$name-nsysstats-on-gprof.csv" 2>&1
	$NSYS stats -q -f csv -r $R "$out/$name-nsys.sqlite" >"$out/$name-nsysstats-on-nsys.csv" 2>&1
	$GPROF stats -f csv -r $R "$out/$name-gprof.db" >"$out/$name-gprofstats.csv" 2>&1
	;;
esac
