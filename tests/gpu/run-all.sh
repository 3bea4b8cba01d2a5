#!/bin/sh
# run-all.sh - every GPU test suite (make check-gpu): the cuda collector
# (run-gpu-tests.sh), capture ranges on PyTorch engines (run-engine-tests.sh), interactive
# sessions (run-session-tests.sh), cuBLAS/cuDNN
# (run-cudalibs-tests.sh), PM sampling (run-metrics-sampling-tests.sh) and the range profiler
# (run-metrics-range-tests.sh), analyze's launch_bound rule, eager vs CUDA graph
# (run-analyze-tests.sh), the timeline export (run-timeline-tests.sh), host and GPU memory
# (run-hostmem-tests.sh), the multi-report recipes
# on torchrun ranks (run-recipe-tests.sh), NCCL's NVTX payloads (run-nccl-tests.sh), CPU sampling and OS runtime backtraces
# (run-sampling-tests.sh), backtraces of CUDA calls (run-cudabt-tests.sh), one after the other, each with its own log section; then
# the sums as "N passed, N failed".  Environment as the suites: GPROF_CLI, BUILD.
# Exit 1 if any suite failed or ended without its closing line.
here=$(cd "$(dirname "$0")" && pwd)
passed=0
failed=0
for suite in run-gpu-tests run-engine-tests run-session-tests run-cudalibs-tests run-metrics-sampling-tests run-metrics-range-tests run-analyze-tests run-timeline-tests run-recipe-tests run-hostmem-tests run-nccl-tests run-sampling-tests run-cudabt-tests; do
	echo "==== $suite"
	log=$(mktemp)
	sh "$here/$suite.sh" 2>&1 | tee "$log"
	set -- $(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$log" | tail -n 1)
	rm -f "$log"
	if [ $# -ne 2 ]; then
		echo "==== $suite: no closing line (crashed?), counted as 1 failure"
		set -- 0 1
	fi
	passed=$((passed + $1))
	failed=$((failed + $2))
done
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
