// gpu_common.h - helpers shared by the GPU test programs: error checks and the
// "EXPECT <mode> <op> <value> <SQL>" lines that tests/gpu/run-gpu-tests.sh checks
// against the report (mode: all | mem | graph | node; op: == or >=).
#ifndef GPU_COMMON_H
#define GPU_COMMON_H
#include <cstdio>
#include <cstdlib>
#include <cuda_runtime.h>

#define CK(x)                                                                                      \
	do {                                                                                       \
		cudaError_t e_ = (x);                                                              \
		if (e_ != cudaSuccess) {                                                           \
			fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #x,                 \
				cudaGetErrorString(e_));                                           \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

#define EXPECT(mode, op, value, ...)                                                               \
	do {                                                                                       \
		printf("EXPECT %s %s %lld ", mode, op, (long long)(value));                        \
		printf(__VA_ARGS__);                                                               \
		printf("\n");                                                                      \
	} while (0)

// SQL for "kernels whose shortName is NAME"
#define KERNELS_NAMED(name)                                                                        \
	"SELECT count(*) FROM CUPTI_ACTIVITY_KIND_KERNEL k JOIN StringIds s ON s.id = "            \
	"k.shortName WHERE s.value = '" name "'"
#define API_NAMED(name)                                                                            \
	"SELECT count(*) FROM CUPTI_ACTIVITY_KIND_RUNTIME r JOIN StringIds s ON s.id = r.nameId "  \
	"WHERE s.value = '" name "'"
#endif
