#!/bin/sh
# run-cudalibs-tests.sh - cuBLAS/cuDNN tracing (-t cublas,cudnn) on PyTorch, side by side
# with nsys 2025.3 when it is installed: tests/gpu/cudalibs_check.py on
# tests/gpu/torch_cudalibs.py.  Environment: GPROF_CLI, TORCH_PYTHON (default
# /opt/torch/.venv/bin/python3), NSYS, IMPORTER, NSYS_DEBS (as run-engine-tests.sh), ITERS.
# Closing line "N passed, N failed"; exit 1 on a failure.
here=$(cd "$(dirname "$0")" && pwd)
TORCH_PYTHON=${TORCH_PYTHON:-/opt/torch/.venv/bin/python3}
if [ ! -x "$TORCH_PYTHON" ]; then
	echo "== cuBLAS/cuDNN tests skipped: no $TORCH_PYTHON (set TORCH_PYTHON)"
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
out=$(mktemp -d /tmp/gprof-cudalibs.XXXXXX)
python3 "$here/cudalibs_check.py" "$out"
rc=$?
[ $rc -eq 0 ] && rm -rf "$out"
exit $rc
