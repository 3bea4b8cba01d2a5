#!/bin/sh
# stage.sh - copy what the GPU machine needs into $STAGE (default .gpu/; git-ignored, as
# is every .gpu-*/; pass it to the device run with carry: [".gpu"]): gprof-cli, its libraries and the GPU test programs
# built in $B (default build), the CUPTI-floor library, launchbench and mbv2.py, and the
# Debian libdw1/libelf1 packages that nsys's QdstrmImporter and gprof-cli itself (CPU
# sampling's unwinder) need there: extract them (dpkg -x) and put their lib folder on
# LD_LIBRARY_PATH, as run-issue10.sh does.
set -e
B=${B:-build}
S=${STAGE:-.gpu}
CUDA_HOME=${CUDA_HOME:-/usr/local/cuda}
mkdir -p $S/build/bin $S/build/lib/gprof-cli $S/build/tests/gpu $S/debs
# linked with --whole-archive: core/report.c refers to report_module_cuda weakly, and a
# weak reference does not pull report_cuda.o out of libgprof.a (see the cuda report)
cc -o $S/build/bin/gprof-cli "$B/obj/cli/gprof-cli.o" -Wl,--whole-archive "$B/libgprof.a" \
	-Wl,--no-whole-archive -Wl,-Bstatic -lsqlite3 -lyaml -Wl,-Bdynamic -ldw -lelf -lstdc++ \
	-lpthread -lm -ldl
# the benchmarks that have figures for the H200 host (those built in $B/bench)
mkdir -p $S/build/bench
for b in bench_nvtx bench_recorder bench_timeline bench_recipe bench_sampling; do
	[ -x "$B/bench/$b" ] && cp "$B/bench/$b" $S/build/bench/
done
cp "$B"/lib/gprof-cli/*.so $S/build/lib/gprof-cli/
cp "$B"/tests/gpu/* $S/build/tests/gpu/
# CPU programs the benchmarks run (bench_sampling: cpu_hot)
mkdir -p $S/build/tests/programs
cp "$B"/tests/programs/cpu_hot $S/build/tests/programs/
cc -O2 -Wall -Wextra -Werror -shared -fPIC -o $S/libcupti_floor.so bench/gpu/cupti_floor.c \
	-I. -I"$CUDA_HOME/include" -L"$CUDA_HOME/lib64" -lcupti -Wl,-rpath,"$CUDA_HOME/lib64"
[ -x $S/launchbench ] || "$CUDA_HOME/bin/nvcc" -O2 -arch=sm_90 -o $S/launchbench \
	../shared/bench/launchbench.cu
cp ../shared/bench/mbv2.py $S/mbv2.py
ls $S/debs/libdw1_*.deb >/dev/null 2>&1 || (cd $S/debs && apt-get download libdw1 libelf1)
du -sh "$S"
