// gpu_graph.cu - a CUDA graph captured from a stream (3 kernels + 1 memset), launched 4
// times, plus 2 plain launches, plus a graph built node by node (2 kernels, one depending
// on the other), cloned, the clone instantiated and launched twice.  Counts for
// --cuda-graph-trace=graph and =node, and the graph/node creation events
// (CUDA_GRAPH_EVENTS, CUDA_GRAPH_NODE_EVENTS).
#include "gpu_common.h"

__global__ void g_a(float *x)
{
	x[threadIdx.x] += 1.0f;
}
__global__ void g_b(float *x)
{
	x[threadIdx.x] *= 2.0f;
}
__global__ void plain(float *x)
{
	x[threadIdx.x] = 0.0f;
}
__global__ void g_c(float *x)
{
	x[threadIdx.x] -= 1.0f;
}

int main()
{
	float *d;
	cudaStream_t s;
	cudaGraph_t g;
	cudaGraphExec_t ge, ce;
	cudaGraph_t m, mc;
	cudaGraphNode_t n1, n2;

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

	/* a graph built by hand: g_c -> g_c, cloned; the clone is instantiated */
	void *args[] = {&d};
	cudaKernelNodeParams kp = {};
	kp.func = (void *)g_c;
	kp.gridDim = dim3(1);
	kp.blockDim = dim3(256);
	kp.kernelParams = args;
	CK(cudaGraphCreate(&m, 0));
	CK(cudaGraphAddKernelNode(&n1, m, NULL, 0, &kp));
	CK(cudaGraphAddKernelNode(&n2, m, &n1, 1, &kp));
	CK(cudaGraphClone(&mc, m));
	CK(cudaGraphInstantiate(&ce, mc, 0));
	for (int i = 0; i < 2; i++)
		CK(cudaGraphLaunch(ce, s));
	CK(cudaStreamSynchronize(s));
	CK(cudaGraphExecDestroy(ce));
	CK(cudaGraphDestroy(mc));
	CK(cudaGraphDestroy(m));
	CK(cudaGraphExecDestroy(ge));
	CK(cudaGraphDestroy(g));
	CK(cudaFree(d));
	printf("done\n");

	EXPECT("all", "==", 6, API_NAMED("cudaGraphLaunch_v10000"));
	EXPECT("all", "==", 2, KERNELS_NAMED("plain"));
	EXPECT("graph", "==", 6, "SELECT count(*) FROM CUPTI_ACTIVITY_KIND_GRAPH_TRACE");
	EXPECT("graph", "==", 6,
	       "SELECT count(*) FROM CUPTI_ACTIVITY_KIND_GRAPH_TRACE g JOIN "
	       "CUPTI_ACTIVITY_KIND_RUNTIME r ON r.correlationId = g.correlationId");
	EXPECT("graph", "==", 0, KERNELS_NAMED("g_a"));
	EXPECT("graph", "==", 0, KERNELS_NAMED("g_c"));
	EXPECT("node", "==", 4, KERNELS_NAMED("g_c"));
	EXPECT("node", "==", 8, KERNELS_NAMED("g_a"));
	EXPECT("node", "==", 4, KERNELS_NAMED("g_b"));
	EXPECT("node", "==", 16,
	       "SELECT count(*) FROM CUPTI_ACTIVITY_KIND_KERNEL WHERE graphId IS NOT NULL");
	EXPECT("node", "==", 4,
	       "SELECT count(*) FROM CUPTI_ACTIVITY_KIND_MEMSET WHERE graphNodeId IS NOT NULL");
	/* graph creation events, counted as nsys 2025.3 wrote them for this program on the
	 * H200: 7 graphs created (3 by us: capture, create, clone; 4 by the driver inside the
	 * two cudaGraphInstantiate calls), 1 clone (5 from 4), 2 execs; in node mode 22 node
	 * creations, 8 of them clones (4 + 2 + 2) */
#define GRAPH_EVENTS(cls) "SELECT count(*) FROM CUDA_GRAPH_EVENTS WHERE eventClass = " cls
	EXPECT("graph", "==", 7, GRAPH_EVENTS("95"));
	EXPECT("graph", "==", 1, GRAPH_EVENTS("96 AND originalGraphId IS NOT NULL"));
	EXPECT("graph", "==", 2, GRAPH_EVENTS("94 AND graphExecId IS NOT NULL"));
	EXPECT("graph", "==", 10,
	       "SELECT count(*) FROM CUDA_GRAPH_EVENTS e JOIN StringIds s ON s.id = e.nameId "
	       "WHERE s.value IN ('Graph Creation', 'Graph Clone', 'GraphExec Creation')");
	EXPECT("graph", "==", 0,
	       "SELECT count(*) FROM sqlite_master WHERE name = 'CUDA_GRAPH_NODE_EVENTS'");
	EXPECT("node", "==", 22,
	       "SELECT count(*) FROM CUDA_GRAPH_NODE_EVENTS WHERE eventClass = 77");
	EXPECT("node", "==", 8,
	       "SELECT count(*) FROM CUDA_GRAPH_NODE_EVENTS WHERE originalGraphNodeId IS NOT NULL");
	EXPECT("node", "==", 0,
	       "SELECT count(*) FROM sqlite_master WHERE name = 'CUDA_GRAPH_EVENTS'");
	return 0;
}
