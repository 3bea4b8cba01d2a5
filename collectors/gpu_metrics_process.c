/*
 * gpu_metrics_process.c - the body of gprof-cli's GPU metrics sampler process
 * (gpu_metrics.h: gprof_gpu_metrics_process).  The process is gprof-cli itself, re-executed
 * as `gprof-cli __gpu-metrics-process` by cli/metrics_process.c with the application's
 * environment plus $GPROF_CLI_HELPER; it dlopens this library and calls in here.  The
 * sampling itself is gpu_metrics.c's, unchanged: only where it runs differs.
 */
#include <dlfcn.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "collectors/cupti.h"
#include "gpu_metrics.h"

#define GP_METRICS_PROCESS_NICE 10 /* the sampler's nice value (setpriority) */

typedef int (*cu_init_fn)(unsigned int);
typedef int (*cupti_register_ts_fn)(uint64_t (*)(void));

/* One line "gprof-cli: gpu-metrics: <what>; no metrics sampled" and the GPU_METRICS:ERROR
 * row. */
static void fail(const char *what)
{
	char line[512];

	snprintf(line, sizeof(line), "%s; no metrics sampled", what);
	gp_metrics_problem("ERROR", line);
}

static void say_ready(int fd, char c)
{
	while (write(fd, &c, 1) < 0 && errno == EINTR)
		;
	close(fd);
}

int gprof_gpu_metrics_process(int ready_fd, int stop_fd)
{
	void *cupti, *cu;
	cu_init_fn cu_init;
	cupti_register_ts_fn reg;
	char c;

	if (gp_producer_init(GP_COLLECTOR_INJECT) < 0) {
		say_ready(ready_fd, 'N');
		return 1;
	}
	/* below the application: where CPUs are short, decoding waits, not the application
	 * (its threads inherit it; the hardware buffer holds the samples meanwhile).  For the
	 * benchmarks, $GPROF_CLI_METRICS_SCHED "idle" = SCHED_IDLE, "normal" = nice 0 */
	const char *sched = getenv("GPROF_CLI_METRICS_SCHED");
	sched = sched ? sched : "";
	if (!strcmp(sched, "idle")) {
		struct sched_param sp = {0};
		gp_metrics_note("GPU_METRICS:SCHED", sched_setscheduler(0, SCHED_IDLE, &sp) == 0
							 ? "SCHED_IDLE"
							 : "SCHED_IDLE refused");
	} else if (strcmp(sched, "normal") != 0 &&
		   setpriority(PRIO_PROCESS, 0, GP_METRICS_PROCESS_NICE) != 0) {
		gp_metrics_note("GPU_METRICS:NICE", "not lowered");
	}
	cupti = gp_cupti_open();
	cu = dlopen("libcuda.so.1", RTLD_NOW | RTLD_GLOBAL);
	cu_init = cu ? (cu_init_fn)dlsym(cu, "cuInit") : NULL;
	if (!cupti) {
		fail("libcupti.so.13 not found (set CUDA_HOME or LD_LIBRARY_PATH)");
	} else if (!cu_init) {
		fail("the CUDA driver (libcuda.so.1) is not installed");
	} else {
		/* sample times on the trace clock, as inside the application (cuda.c) */
		reg = (cupti_register_ts_fn)dlsym(cupti, "cuptiActivityRegisterTimestampCallback");
		if (reg)
			reg(gp_now_ns);
		int r = cu_init(0);
		if (r != 0) {
			char what[128];
			snprintf(what, sizeof(what), "cuInit failed (CUDA driver error %d)", r);
			fail(what);
		} else {
			gp_metrics_start(cupti);
			gp_metrics_ready(1);
		}
	}
	say_ready(ready_fd, gp_metrics_devices_sampling() ? 'R' : 'N');
	/* until gprof-cli closes its end: the application's process tree has ended */
	for (;;) {
		ssize_t n = read(stop_fd, &c, 1);
		if (n == 0 || (n < 0 && errno != EINTR))
			break;
	}
	gp_metrics_stop();
	return 0;
}
