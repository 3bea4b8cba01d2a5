#!/bin/bash
# mpi-profile-rank0.sh - profile only local rank 0 of an MPI job with gprof-cli; every other
# rank runs the application directly (the TensorRT-LLM / NVIDIA launcher pattern).
#
# Usage (the script goes between the launcher and the application):
#
#   mpirun -np 8 scripts/mpi-profile-rank0.sh ./app args...
#   mpirun -np 8 scripts/mpi-profile-rank0.sh -t cuda,nvtx -c cudaProfilerApi \
#          --capture-range-end=repeat -o llm.%h.%q{OMPI_COMM_WORLD_RANK} -- ./app args...
#   srun -n 8 scripts/mpi-profile-rank0.sh --config llm-capture.yaml -- python train.py
#
# Arguments: when the first argument starts with '-', everything up to the first `--` is
# given to `gprof-cli profile` and the rest is the application and its arguments; otherwise
# all arguments are the application, profiled with $GPROF_PROFILE_OPTS.
#
# Local rank: the first of these that is set decides which process this is on its node:
#   OMPI_COMM_WORLD_LOCAL_RANK (Open MPI), SLURM_LOCALID (srun), MPI_LOCALRANKID (MPICH,
#   Intel MPI), MV2_COMM_WORLD_LOCAL_RANK (MVAPICH), PMI_RANK (PMI launchers; a global rank,
#   so with it only global rank 0 is profiled).  With none set (no launcher) the process is
#   profiled.  With several nodes, local rank 0 of EACH node is profiled: put %h or
#   %q{OMPI_COMM_WORLD_RANK} in -o so that the nodes' reports do not collide in a shared
#   folder.
#
# Environment:
#   GPROF_CLI              the gprof-cli to run (default: gprof-cli from PATH)
#   GPROF_PROFILE_RANK     the local rank to profile (default 0)
#   GPROF_PROFILE_OPTS     profile options used when none are given on the command line
#                          (default "-o report.%h.rank%q{GPROF_MPI_RANK}"), split on blanks
#   GPROF_CLI_CONFIG       a YAML config read by `gprof-cli profile` (see examples/)
# The script exports GPROF_MPI_RANK (the global rank, or the local one when no global rank is
# known) so that -o patterns can use %q{GPROF_MPI_RANK} under any launcher.
#
# Exit status: the application's (gprof-cli profile passes it through); 2 for a usage error.

set -u

die() {
	echo "mpi-profile-rank0.sh: $*" >&2
	exit 2
}

local_rank=${OMPI_COMM_WORLD_LOCAL_RANK:-${SLURM_LOCALID:-${MPI_LOCALRANKID:-${MV2_COMM_WORLD_LOCAL_RANK:-${PMI_RANK:-0}}}}}
GPROF_MPI_RANK=${OMPI_COMM_WORLD_RANK:-${SLURM_PROCID:-${PMI_RANK:-${MV2_COMM_WORLD_RANK:-$local_rank}}}}
export GPROF_MPI_RANK
want=${GPROF_PROFILE_RANK:-0}

case $local_rank in
'' | *[!0-9]*) die "local rank '$local_rank' is not a number" ;;
esac
case $want in
'' | *[!0-9]*) die "GPROF_PROFILE_RANK '$want' is not a number" ;;
esac

opts=()
if [ $# -gt 0 ] && [ "${1#-}" != "$1" ]; then
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do
		opts+=("$1")
		shift
	done
	[ $# -gt 0 ] || die "profile options must be followed by -- and the application"
	shift # the --
else
	# shellcheck disable=SC2206 # split on blanks, as documented
	opts=(${GPROF_PROFILE_OPTS:-"-o" "report.%h.rank%q{GPROF_MPI_RANK}"})
fi
[ $# -gt 0 ] || die "no application given (usage: mpi-profile-rank0.sh [OPTIONS --] APP [ARGS...])"

if [ "$local_rank" -eq "$want" ]; then
	exec "${GPROF_CLI:-gprof-cli}" profile "${opts[@]}" "$@"
fi
exec "$@"
