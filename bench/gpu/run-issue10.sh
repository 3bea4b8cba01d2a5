#!/bin/sh
# run-issue10.sh - the issue-10 device batch on the H200 (capture ranges with CUDA graphs).
#
#   sh bench/gpu/run-issue10.sh <what> <outdir>
#   what: toggle   the crash's root cause: cuda-repeat-replay under each
#                  GPROF_CUDA_CAPTURE_TOGGLE policy (all = the old behaviour, api, gpu,
#                  none, auto = the fix)
#         matrix   tests/gpu/engine_matrix.py, every cell, gprof-cli and nsys side by side
#         libs     what cuBLAS/cuDNN say through NVTX (gprof-cli -t nvtx on a torch GEMM +
#                  conv program) and the tables nsys -t cublas,cudnn writes
#         capoff   the cost outside capture ranges on a CUDA-graph engine (below)
# Uses the files bench/gpu/stage.sh put in $G (default .gpu/).
set -u
what=$1 out=$2
G=${G:-$PWD/.gpu}
export GPROF_CLI=$G/build/bin/gprof-cli
export TORCH_PYTHON=${TORCH_PYTHON:-/opt/torch/.venv/bin/python3}
H=/opt/nvidia/nsight-compute/2025.3.1/host
export NSYS=$H/target-linux-x64/nsys
export IMPORTER=$H/linux-desktop-glibc_2_11_3-x64/QdstrmImporter
mkdir -p "$out" /tmp/dw
for f in "$G"/debs/*.deb; do dpkg -x "$f" /tmp/dw; done
export LD_LIBRARY_PATH=/tmp/dw/usr/lib/x86_64-linux-gnu
here=$(cd "$(dirname "$0")/../.." && pwd)
case $what in
toggle)
	for p in all api gpu none auto; do
		GPROF_EXTRA_ENV="GPROF_CUDA_CAPTURE_TOGGLE=$p" NSYS= JOBS=1 \
			python3 "$here/tests/gpu/engine_matrix.py" "$out/toggle-$p" cuda-repeat-replay \
			>"$out/toggle-$p.txt" 2>&1
		echo "policy $p: $(tail -1 "$out/toggle-$p.txt")"
		grep -h -i -A3 "segment\|fatal\|Traceback" "$out/toggle-$p"/*/g.log | head -20
	done
	;;
matrix)
	python3 "$here/tests/gpu/engine_matrix.py" "$out/matrix" ${CELLS:-} >"$out/matrix.txt" 2>&1
	tail -1 "$out/matrix.txt"
	;;
libs)
	cat >/tmp/libs.py <<'PY'
import torch
x = torch.randn(256, 256, device="cuda", dtype=torch.half)
c = torch.nn.Conv2d(16, 16, 3).cuda().half()
i = torch.randn(4, 16, 32, 32, device="cuda", dtype=torch.half)
for _ in range(5):
    y = x @ x
    z = c(i)
torch.cuda.synchronize()
print("libs done")
PY
	$GPROF_CLI profile -t cuda,nvtx -f -o "$out/libs-gprof" $TORCH_PYTHON /tmp/libs.py >"$out/libs-gprof.log" 2>&1
	python3 - "$out/libs-gprof.db" <<'PY' >"$out/libs-gprof.txt" 2>&1
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
print(db.execute("select count(*) from NVTX_EVENTS").fetchall())
for r in db.execute("select domainId, eventType, coalesce(text, (select value from StringIds where id = textId)), count(*) from NVTX_EVENTS group by 1,2,3 order by 4 desc limit 40"):
    print(r)
PY
	$NSYS profile -t cuda,nvtx,cublas,cudnn -f true -o "$out/libs-nsys" $TORCH_PYTHON /tmp/libs.py >"$out/libs-nsys.log" 2>&1
	$IMPORTER -i "$out/libs-nsys.qdstrm" >>"$out/libs-nsys.log" 2>&1
	$NSYS export --type sqlite -f true -o "$out/libs-nsys.sqlite" "$out/libs-nsys.nsys-rep" >>"$out/libs-nsys.log" 2>&1
	python3 - "$out/libs-nsys.sqlite" <<'PY' >"$out/libs-nsys.txt" 2>&1
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
for (name, sql) in db.execute("select name, sql from sqlite_master where type='table'"):
    n = db.execute('select count(*) from "%s"' % name).fetchone()[0]
    print(n, sql)
for t in ("CUBLAS_EVENTS", "CUDNN_EVENTS", "NVTX_EVENTS"):
    try:
        for r in db.execute('select * from %s limit 8' % t):
            print(t, r)
        for r in db.execute('select domainId, eventType, coalesce(text, (select value from StringIds where id = textId)), count(*) from %s group by 1,2,3 order by 4 desc limit 30' % t):
            print(t, r)
    except Exception as e:
        print(t, e)
for r in db.execute("select * from StringIds limit 400"):
    print(r)
PY
	rm -f "$out"/*.qdstrm "$out"/*.nsys-rep
	tail -3 "$out/libs-gprof.txt" "$out/libs-nsys.txt"
	;;
esac
# capoff: what the profiler costs outside its capture ranges on a CUDA-graph engine
# (torch_engine.py --graph replay --iters 400: steps after the last range are timed);
# interleaved rounds of bare, gprof-cli -c cudaProfilerApi (auto policy), the same with
# every kind always on (GPROF_CUDA_CAPTURE_TOGGLE=none), nsys -c cudaProfilerApi, and the
# same four eager (--graph none).  Lines of capoff.tsv: round variant graph ms_per_step
case $what in
capoff)
	E="$here/tests/gpu/torch_engine.py --iters ${ITERS:-400}"
	for r in 1 2 3; do
		for g in ${GRAPHS:-replay}; do
			for v in bare auto always nsys; do
				log=$out/capoff.$v.$g.$r.log
				case $v in
				bare) $TORCH_PYTHON $E --graph $g >"$log" 2>&1 ;;
				auto) $GPROF_CLI profile -t cuda,nvtx -c cudaProfilerApi --capture-range-end=repeat \
					-f -o /tmp/capoff $TORCH_PYTHON $E --graph $g >"$log" 2>&1 ;;
				always) GPROF_CUDA_CAPTURE_TOGGLE=none $GPROF_CLI profile -t cuda,nvtx \
					-c cudaProfilerApi --capture-range-end=repeat -f -o /tmp/capoff \
					$TORCH_PYTHON $E --graph $g >"$log" 2>&1 ;;
				nsys) $NSYS profile -t cuda,nvtx -c cudaProfilerApi --capture-range-end=repeat \
					-f true -o /tmp/capoff-n $TORCH_PYTHON $E --graph $g >"$log" 2>&1 ;;
				esac
				printf '%s\t%s\t%s\t%s\n' $r $v $g \
					"$(sed -n 's/.*ms_per_step=\([0-9.]*\).*/\1/p' "$log" | tail -1)" |
					tee -a "$out/capoff.tsv"
			done
		done
	done
	;;
esac
