#!/bin/sh
# Install the Debian packages gprof-cli needs to build and test, when any is missing
# and we can (root with apt-get).  Used by `make demo` and .ci/run.  With --fuzz also
# clang, for make check-fuzz (optional: when it cannot be installed, that is said and
# make check-fuzz skips).
need=""
opt=""
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
# openmpi-bin, libopenmpi-dev: tests/e2e/test_mpi.c (skipped without them)
# protobuf-compiler: protoc --decode of the Perfetto export in tests/e2e/test_timeline.c
# libxml2-utils, librsvg2-bin: xmllint and rsvg-convert parse and render the recipes' SVG
# pictures (tests/unit/test_svg.c, tests/e2e/test_recipe.c; skipped without them)
# libdw-dev: elfutils' libdwfl, the unwinder and symbols of CPU sampling (core/sampler.c)
# libjemalloc2, libtcmalloc-minimal4: --host-memory-usage under another allocator in
# tests/e2e/test_hostmem.c (skipped without them)
# python3: CPython for --python-sampling and --python-backtrace tests, and the JSON checks of
# the timeline export's samples (tests/e2e/test_sampling.c)
for p in python3 build-essential libsqlite3-dev libyaml-dev libcmocka-dev sqlite3 mandoc openmpi-bin libopenmpi-dev protobuf-compiler libxml2-utils librsvg2-bin libdw-dev libjemalloc2 libtcmalloc-minimal4; do
	have "$p" || need="$need $p"
done
# optional: clang for make check-fuzz (libFuzzer, ASan, UBSan; skipped without it)
if [ "${1:-}" = "--fuzz" ]; then
	have clang || opt=" clang"
fi
[ -z "$need$opt" ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
	[ -n "$opt" ] && echo "gprof-cli: optional packages missing:$opt (make check-fuzz is skipped)" >&2
	[ -z "$need" ] && exit 0
	echo "gprof-cli: missing build dependencies:$need" >&2
	echo "hint: sudo apt-get install$need" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || exit 1
if [ -n "$need" ]; then
	echo "installing:$need"
	apt-get install -y -qq $need >/dev/null || exit 1
fi
if [ -n "$opt" ]; then
	echo "installing (optional):$opt"
	apt-get install -y -qq $opt >/dev/null ||
		echo "gprof-cli: could not install$opt; make check-fuzz will be skipped" >&2
fi
exit 0
