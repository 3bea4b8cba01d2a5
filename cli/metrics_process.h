/*
 * metrics_process.h - gprof-cli's GPU metrics sampler process (issue 21): `profile -t
 * gpu-metrics` in sampling mode samples the GPUs from a process of its own, as nsys's daemon
 * does, instead of inside the application: the application pays nothing for decoding (tens
 * of us of CPU per sample and device, bench/RESULTS-gpu.md), and sampling starts before the
 * application is launched, so the report covers the run from its launch (nsys's coverage).
 *
 * The process is gprof-cli re-executed as `gprof-cli __gpu-metrics-process LIBDIR`
 * (cli/cmd_metrics_process.c), which dlopens LIBDIR/libgprof-inject.so and runs
 * gprof_gpu_metrics_process() (collectors/gpu_metrics.h): the collector's own sampling code,
 * connected to the recorder's channel like any producer, its HELLO marked GP_HELLO_HELPER so
 * the report gets no process or thread of it.  It runs in a process group of its own
 * (Ctrl-C reaches the application, not the sampler: the end of the run is still sampled)
 * and stops when gprof-cli closes its end of a pipe, or when gprof-cli dies.
 *
 * Set GPROF_CLI_METRICS_IN_APP=1 to sample inside the application instead (the previous
 * design; for comparisons: bench/gpu/).
 */
#ifndef GPROF_METRICS_PROCESS_H
#define GPROF_METRICS_PROCESS_H

#include <sys/types.h>

/* A running sampler process.  pid 0: none. */
struct metrics_process {
	pid_t pid;
	int stop_fd; /* gprof-cli's end of the stop pipe (closing it stops the sampler) */
};

/* Environment variable that chooses in-application sampling (value "1"). */
#define METRICS_IN_APP_ENV "GPROF_CLI_METRICS_IN_APP"
/* Seconds metrics_process_start() waits for the sampler to start (cuInit of every GPU of
 * a large machine, the PM sampling set-up). */
#define METRICS_PROCESS_START_S 60
/* Seconds metrics_process_stop() waits for the last samples before SIGKILL. */
#define METRICS_PROCESS_STOP_S 30

/*
 * Start the sampler and wait until it samples.  app_env: the application's environment
 * (NULL-terminated "K=V" strings, borrowed: the channel, trace and options variables of
 * `profile` included; channel: the recorder's channel path, recorder_channel_path()); the
 * sampler gets it without the injection variables (LD_PRELOAD,
 * CUDA_INJECTION64_PATH, NVTX_INJECTION64_PATH), with $GPROF_CLI_TRACE=gpu-metrics and
 * $GPROF_CLI_HELPER=1; with devices "all" or a list of ids (nsys's GPU ids, nvidia-smi's
 * order), also without CUDA_VISIBLE_DEVICES and with CUDA_DEVICE_ORDER=PCI_BUS_ID; with
 * "cuda-visible" (the default) it sees the devices the application sees.  libdir: the folder
 * of libgprof-inject.so (absolute).  Returns 0 with mp->pid > 0 when it samples; 0 with
 * mp->pid == 0 when it started nothing (the sampler said why on stderr and in the report;
 * the profile goes on without metrics); -1 when it could not be started or did not answer
 * in METRICS_PROCESS_START_S (error printed, nothing left running).
 */
int metrics_process_start(struct metrics_process *mp, char *const *app_env, const char *channel,
			  const char *libdir, const char *devices);

/* Stop the sampler: it decodes and sends what is left, then exits; waits for it at most
 * METRICS_PROCESS_STOP_S, then kills it (a warning says so).  A sampler that ended during
 * the run (killed, crashed) gets a warning too; like every message of the run it is also
 * stored in the report (DIAGNOSTIC_EVENT).  No-op when mp->pid is 0. */
void metrics_process_stop(struct metrics_process *mp);

#endif
