/*
 * cupti.c - the libcupti handle of the injection library and CUPTI's result text
 * (collectors/cupti.h).
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

#include "collectors/cupti.h"

static void *cupti_handle;
static CUptiResult(CUPTIAPI *p_cuptiGetResultString)(CUptiResult, const char **);

static void *load(void)
{
	static const char *const rel[] = {"extras/CUPTI/lib64/libcupti.so.13",
					  "lib64/libcupti.so.13", "lib/libcupti.so.13"};
	const char *homes[2] = {getenv("CUDA_HOME"), "/usr/local/cuda"};
	char path[4096];
	void *h = dlopen("libcupti.so.13", RTLD_NOW | RTLD_NOLOAD);

	if (h)
		return h;
	if ((h = dlopen("libcupti.so.13", RTLD_NOW)))
		return h;
	for (int i = 0; i < 2; i++) {
		if (!homes[i] || !*homes[i])
			continue;
		for (size_t j = 0; j < sizeof(rel) / sizeof(rel[0]); j++) {
			snprintf(path, sizeof(path), "%s/%s", homes[i], rel[j]);
			if ((h = dlopen(path, RTLD_NOW)))
				return h;
		}
	}
	return NULL;
}

void *gp_cupti_open(void)
{
	if (cupti_handle)
		return cupti_handle;
	cupti_handle = load();
	if (cupti_handle)
		*(void **)&p_cuptiGetResultString = dlsym(cupti_handle, "cuptiGetResultString");
	return cupti_handle;
}

const char *gp_cupti_result_text(CUptiResult r)
{
	const char *s = NULL;

	if (p_cuptiGetResultString && p_cuptiGetResultString(r, &s) == CUPTI_SUCCESS && s)
		return s;
	return "CUPTI error";
}
