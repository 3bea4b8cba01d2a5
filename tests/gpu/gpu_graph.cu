// gpu_graph.cu - a CUDA graph captured from a stream (3 kernels + 1 memset), launched 4
// times, plus 2 plain launches.  Counts for --cuda-graph-trace=graph and =node.
#include "gpu_common.h"

__global__ void g_a(float *x) { x[threadIdx.x] += 1.0f; }
__global__ void g_b(float *x) { x[threadIdx.x] *= 2.0f; }
__global__ void plain(float *x) { x[threadIdx.x] = 0.0f; }

int main()
{
	float *d;
	cudaStream_t s;
	cudaGraph_t g;
	cudaGraphExec_t ge;

	CK(cudaMalloc(&d, 1024 * sizeof(float)));
	CK(cudaStreamCreate(&s));
	plain<<<1, 256, 0, s>>>(d);
	CK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
	g_a<<<1, 256, 0, s>>>(d);
	g_b<<<1, 256, 0, s>>>(d);
	CK(cudaMemsetAsync(d + 512, 0, 256 * sizeof(float), s));
	g_a<<<1, 256, 0, s>>>(d);
	CK(cudaStreamEndCapture(s, &g));
	CK(cudaGraphInstantiate(&ge, g, 0));
	for (int i = 0; i < 4; i++)
		CK(cudaGraphLaunch(ge, s));
	plain<<<1, 256, 0, s>>>(d);
	CK(cudaStreamSynchronize(s));
	CK(cudaGraphExecDestroy(ge));
	CK(cudaGraphDestroy(g));
	CK(cudaFree(d));
	printf("done\n");

	EXPECT("all", "==", 4, API_NAMED("cudaGraphLaunch_v10000"));
	EXPECT("all", "==", 2, KERNELS_NAMED("plain"));
	EXPECT("graph", "==", 4, "SELECT count(*) FROM CUPTI_ACTIVITY_KIND_GRAPH_TRACE");
	EXPECT("graph", "==", 4,
	       "SELECT count(*) FROM CUPTI_ACTIVITY_KIND_GRAPH_TRACE g JOIN "
	       "CUPTI_ACTIVITY_KIND_RUNTIME r ON r.correlationId = g.correlationId");
	EXPECT("graph", "==", 0, KERNELS_NAMED("g_a"));
	EXPECT("node", "==", 8, KERNELS_NAMED("g_a"));
	EXPECT("node", "==", 4, KERNELS_NAMED("g_b"));
	EXPECT("node", "==", 12,
	       "SELECT count(*) FROM CUPTI_ACTIVITY_KIND_KERNEL WHERE graphId IS NOT NULL");
	EXPECT("node", "==", 4,
	       "SELECT count(*) FROM CUPTI_ACTIVITY_KIND_MEMSET WHERE graphNodeId IS NOT NULL");
	return 0;
}
