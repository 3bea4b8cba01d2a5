#!/bin/sh
# run-engine-tests.sh - capture ranges with what LLM engines do (issue 10): every cell of
# tests/gpu/engine_matrix.py (capture none / stop / stop-shutdown / repeat /
# repeat-shutdown:N / nvtx x CUDA graph none / replayed / captured in the range x graph and
# node trace x one or two streams, torch.compile, --cuda-memory-usage) on PyTorch, side by
# side with nsys 2025.3 when it is installed (NSYS, IMPORTER; the Debian libdw/libelf that
# its importer needs in $NSYS_DEBS, as bench/gpu/stage.sh brings them).
# Environment: GPROF_CLI, TORCH_PYTHON (default /opt/torch/.venv/bin/python3), JOBS.
# Closing line "N passed, N failed"; exit 1 on a failure.
here=$(cd "$(dirname "$0")" && pwd)
TORCH_PYTHON=${TORCH_PYTHON:-/opt/torch/.venv/bin/python3}
if [ ! -x "$TORCH_PYTHON" ]; then
	echo "== engine tests skipped: no $TORCH_PYTHON (set TORCH_PYTHON)"
	echo "0 passed, 0 failed"
	exit 0
fi
H=/opt/nvidia/nsight-compute/2025.3.1/host
export NSYS=${NSYS:-$H/target-linux-x64/nsys}
export IMPORTER=${IMPORTER:-$H/linux-desktop-glibc_2_11_3-x64/QdstrmImporter}
if [ -n "${NSYS_DEBS:-}" ] && [ -d "$NSYS_DEBS" ]; then
	mkdir -p /tmp/dw
	for f in "$NSYS_DEBS"/*.deb; do dpkg -x "$f" /tmp/dw; done
	export LD_LIBRARY_PATH=/tmp/dw/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi
export TORCH_PYTHON
out=$(mktemp -d /tmp/gprof-engine.XXXXXX)
python3 "$here/engine_matrix.py" "$out"
rc=$?
[ $rc -eq 0 ] && rm -rf "$out"
exit $rc
