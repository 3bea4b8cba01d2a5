#!/bin/sh
# make lint-unused: functions nothing calls, by cppcheck's unusedFunction check over
# gprof-cli, the collectors, the tests and the benchmarks (a function only the tests call
# counts as used).  Entry points that something outside the tree calls by name are listed
# below; any other function found fails the check (exit 1), one line each.  Without
# cppcheck the check is skipped (exit 0) with a line saying so.
set -u
cd "$(dirname "$0")/.."
# called from outside: the CUDA driver and NVTX (dlsym), LD_PRELOAD interposition, libFuzzer,
# gprof-cli's GPU metrics sampler process (dlsym: cli/cmd_metrics_process.c)
entry="InitializeInjection InitializeInjectionNvtx2 InitializeInjectionNvtxExtension execlp reallocarray LLVMFuzzerTestOneInput
LLVMFuzzerInitialize gprof_gpu_metrics_process"
# dead, in a file another change is reworking (collectors/producer.c, issue 17): to remove
known="gp_producer_active"
if ! command -v cppcheck >/dev/null 2>&1; then
	echo "unused: skipped: no cppcheck (Debian: apt-get install cppcheck)"
	exit 0
fi
# one job: cppcheck turns unusedFunction off with -j
found=$(cppcheck --enable=unusedFunction --quiet -D_GNU_SOURCE -I. \
	--template='{id} {file}:{line} {message}' \
	cli core exporters collectors tests/unit tests/e2e tests/testutil.c tests/fuzz \
	bench/*.c 2>&1 |
	sed -n "s/^unusedFunction \([^ ]*\) The function '\([^']*\)' is never used.*/\2 \1/p")
status=0
bad=""
for f in $(printf '%s\n' "$found" | cut -d' ' -f1); do
	case " $(echo $entry $known) " in
	*" $f "*) continue ;;
	esac
	bad="$bad $f"
done
if [ -n "$bad" ]; then
	printf '%s\n' "$found" | while read -r f where; do
		case " $bad " in
		*" $f "*) echo "unused: $where: $f() is never called: remove it" ;;
		esac
	done
	status=1
else
	echo "unused: no function without a caller"
fi
exit $status
