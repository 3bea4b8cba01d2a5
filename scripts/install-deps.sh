#!/bin/sh
# Install the Debian packages gprof-cli needs to build and test, when any is missing
# and we can (root with apt-get).  Used by `make demo` and .ci/run.
need=""
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
# openmpi-bin, libopenmpi-dev: tests/e2e/test_mpi.c (skipped without them)
for p in build-essential libsqlite3-dev libyaml-dev libcmocka-dev sqlite3 mandoc openmpi-bin libopenmpi-dev; do
	have "$p" || need="$need $p"
done
[ -z "$need" ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
	echo "gprof-cli: missing build dependencies:$need" >&2
	echo "hint: sudo apt-get install$need" >&2
	exit 1
fi
echo "installing:$need"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq && apt-get install -y -qq $need >/dev/null
