#!/bin/sh
# check-layers.sh (make check, make lint-layers): one-way layers.  Every #include "..." of
# the tree's C sources is classified by the layer of the including file and of the file
# included; an include of a higher layer fails the check, one line each.  The layers, low
# to high (README "Architecture" walks one record through them):
#
#   wire      the wire format, its decoding and the helpers every side shares: core/wire*,
#             core/util.* (with the one int64 hash map),
#             core/nsys_event_type.h (nsys's NVTX ids), core/metrics_names.h (metric tables)
#   inject    the producer side, inside the application: collectors/ (producer.c and the
#             collectors over it; cupti.c owns libcupti)
#   writer    the report writer: core/report*.[ch] (table modules), core/kernel_name.*,
#             core/nvtx_payload.* (NVTX extended payloads to JSON)
#   record    the recorder: core/recorder*, core/capture.* (the capture-window router),
#             core/sampler.* (CPU sampling with perf_event_open, a producer inside gprof-cli)
#   readers   what reads reports back: exporters/ (stats, export, analyze, diff, ...)
#   cli       the commands, their options, config and output names: cli/, core/config.*,
#             core/outname.*, core/metrics_set.*
#
# A layer may include its own layer and any lower one, except that inject and readers see
# only wire (the application must not link the recorder; a reader works on any report,
# nsys's too).  Includes the move to these layers has not reached yet are listed in
# `known` below: each is a step still to take, and the list may only shrink.
# Exit 0 when nothing else is found, else 1.
set -u
cd "$(dirname "$0")/.."

layer_of() {
	case $1 in
	core/wire.h | core/wire_*.[ch] | core/util.h | core/util.c | core/nsys_event_type.h | \
		core/metrics_names.h) echo 0 wire ;;
	collectors/*) echo 1 inject ;;
	core/report*.[ch] | core/kernel_name.[ch] | core/nvtx_payload.[ch]) echo 2 writer ;;
	core/recorder*.[ch] | core/capture.[ch] | core/sampler*.[ch]) echo 3 record ;;
	exporters/*) echo 4 readers ;;
	cli/* | core/config.[ch] | core/outname.[ch] | core/metrics_set.[ch]) echo 5 cli ;;
	*) echo "? unknown" ;;
	esac
}

# "includer included" pairs still crossing upwards: none left (issue 16 removed the last,
# the writer's use of recorder.h; it has report_config and report_stats of its own)
known=""

status=0
seen=""
for f in $(find core collectors exporters cli -name '*.[ch]' | sort); do
	set -- $(layer_of "$f")
	fl=$1 fname=$2
	if [ "$fl" = "?" ]; then
		echo "layers: $f: in no layer (add it to scripts/check-layers.sh)"
		status=1
		continue
	fi
	dir=$(dirname "$f")
	for inc in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f"); do
		# resolve as the compiler does: beside the file, then from the root (-I.)
		if [ -f "$dir/$inc" ]; then
			p=$(realpath --relative-to=. "$dir/$inc")
		elif [ -f "$inc" ]; then
			p=$inc
		else
			continue # a generated or system header in quotes
		fi
		case $p in *.def) continue ;; esac # X-macro tables belong to their includer
		set -- $(layer_of "$p")
		il=$1 iname=$2
		[ "$il" = "?" ] && continue # reported when the loop reaches it
		bad=0
		if [ "$il" -gt "$fl" ]; then
			bad=1
		elif { [ "$fname" = inject ] || [ "$fname" = readers ]; } && [ "$il" -ne 0 ] &&
			[ "$il" -ne "$fl" ]; then
			bad=1
		fi
		[ $bad -eq 0 ] && continue
		if printf '%s\n' "$known" | grep -qx "$f $p"; then
			seen="$seen
$f $p"
			continue
		fi
		echo "layers: $f ($fname) includes $p ($iname): a lower layer must not use a higher one"
		status=1
	done
done
# a known crossing that is gone must leave the list, so that it cannot come back
printf '%s\n' "$known" | while read -r pair; do
	[ -n "$pair" ] || continue
	if ! printf '%s\n' "$seen" | grep -qx "$pair"; then
		echo "layers: '$pair' no longer crosses: remove it from known in scripts/check-layers.sh"
		exit 1
	fi
done || status=1
[ $status -eq 0 ] && echo "layers: ok ($(printf '%s' "$known" | grep -c .) known crossings left)"
exit $status
