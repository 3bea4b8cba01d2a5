/*
 * gpu_range.c - the gpu-metrics collector, range mode (--gpu-metrics-mode=range): CUPTI
 * range profiler + profiler host API (cupti-design.md §4).  Being written (issue 5):
 * until then range mode says so once on stderr and in the report, and records nothing.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gpu_metrics.h"

static int wanted;

void gp_range_init(void *cupti_handle, CUpti_SubscriberHandle subscriber)
{
	const char *t = getenv(GP_ENV_TRACE), *o = getenv(GP_ENV_OPTIONS);
	static const char msg[] = "gprof-cli: gpu-metrics range mode is not available in this "
				  "build; no GPROF_RANGE_METRICS rows are recorded\n";

	(void)cupti_handle;
	(void)subscriber;
	wanted = t && strstr(t, "gpu-metrics") && o && strstr(o, "gpu-metrics-mode=range");
	if (wanted && write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
		wanted = 0;
}

void gp_range_context_created(CUcontext ctx)
{
	(void)ctx;
}

void gp_range_context_destroy(CUcontext ctx)
{
	(void)ctx;
}

int gp_range_wants(CUpti_CallbackId cbid)
{
	(void)cbid;
	return 0;
}

void gp_range_driver_callback(CUpti_CallbackId cbid, const void *data)
{
	(void)cbid;
	(void)data;
}

void gp_range_stop(void)
{
}
