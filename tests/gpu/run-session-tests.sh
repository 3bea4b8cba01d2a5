#!/bin/sh
# run-session-tests.sh - interactive sessions on the GPU (issue 11): tests/gpu/torch_serve.py
# (PyTorch, a small MLP per request) under `gprof-cli launch`, driven from a second process
# by tests/gpu/session_check.py: start / stop windows with exact request counts and CUDA
# kernels in proportion, cancel, a window open at the application's exit, shutdown --kill,
# and the figures (per-request time without gprof-cli, outside and inside a window; the
# time stop takes).  Environment: GPROF_CLI, BUILD (as run-gpu-tests.sh), TORCH_PYTHON
# (default /opt/torch/.venv/bin/python3); GPU_TESTS_KEEP=<dir> keeps reports and logs.
# Closing line "N passed, N failed"; exit 1 on a failure.
here=$(cd "$(dirname "$0")" && pwd)
GPROF_CLI=${GPROF_CLI:-build/bin/gprof-cli}
TORCH_PYTHON=${TORCH_PYTHON:-/opt/torch/.venv/bin/python3}
if [ ! -x "$TORCH_PYTHON" ]; then
	echo "== session tests skipped: no $TORCH_PYTHON (set TORCH_PYTHON)"
	echo "0 passed, 0 failed"
	exit 0
fi
case $GPROF_CLI in /*) ;; *) GPROF_CLI=$(pwd)/$GPROF_CLI ;; esac
export GPROF_CLI TORCH_PYTHON
if [ -n "$GPU_TESTS_KEEP" ]; then
	out=$GPU_TESTS_KEEP
else
	out=$(mktemp -d /tmp/gprof-session.XXXXXX) || exit 1
	trap 'rm -rf "$out"' EXIT
fi
python3 "$here/session_check.py" "$out"
