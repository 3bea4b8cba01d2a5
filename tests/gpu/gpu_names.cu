// gpu_names.cu - kernels whose demangled names exercise the spelling rules of nsys's
// (NVIDIA's) demangler: templates with type, integer, bool and char arguments, an
// anonymous namespace, nested namespaces, a functor type and const/restrict pointers.
// Each kernel runs a known number of times; the EXPECT lines check the counts per
// shortName and the demangledName text as nsys 2025.3 spells it.
#include "gpu_common.h"

namespace outer
{
namespace inner
{
template <typename T> struct Scale {
	T f;
	__device__ T operator()(T x) const
	{
		return x * f;
	}
};
template <typename F, typename T> __global__ void apply(F f, T *x)
{
	x[threadIdx.x] = f(x[threadIdx.x]);
}
} // namespace inner
} // namespace outer

namespace
{
__global__ void anon_kernel(int *x)
{
	x[threadIdx.x] += 1;
}
} // namespace

template <typename T, int N, bool B> __global__ void tk(T *x)
{
	if (B)
		x[threadIdx.x] += (T)N;
}

template <unsigned U, char C, long L> __global__ void lits(int *x)
{
	x[threadIdx.x] = (int)U + C + (int)L;
}

__global__ void restr(const float *__restrict__ a, float *__restrict__ b)
{
	b[threadIdx.x] = a[threadIdx.x];
}

int main()
{
	float *f;
	double *d;
	int *i;

	CK(cudaMalloc(&f, 256 * sizeof(float)));
	CK(cudaMalloc(&d, 256 * sizeof(double)));
	CK(cudaMalloc(&i, 256 * sizeof(int)));
	for (int r = 0; r < 2; r++)
		tk<float, 10, true><<<1, 64>>>(f);
	for (int r = 0; r < 3; r++)
		tk<double, -3, false><<<1, 64>>>(d);
	anon_kernel<<<1, 64>>>(i);
	for (int r = 0; r < 4; r++)
		outer::inner::apply<<<1, 64>>>(outer::inner::Scale<float>{2.0f}, f);
	lits<7u, 'a', 5L><<<1, 64>>>(i);
	restr<<<1, 64>>>(f, f + 128);
	CK(cudaDeviceSynchronize());
	printf("done\n");

	EXPECT("all", "==", 5,
	       "SELECT count(*) FROM CUPTI_ACTIVITY_KIND_KERNEL k JOIN StringIds s ON "
	       "s.id = k.shortName WHERE s.value = 'tk'");
	EXPECT("all", "==", 1, KERNELS_NAMED("anon_kernel"));
	EXPECT("all", "==", 4, KERNELS_NAMED("apply"));
	EXPECT("all", "==", 1, KERNELS_NAMED("lits"));
	EXPECT("all", "==", 1, KERNELS_NAMED("restr"));
	/* demangledName as nsys 2025.3 spells it (NVIDIA's demangler), including T1, T2 for
	 * parameters typed by a template parameter (tests/fixtures/nsys-kernel-names.tsv) */
#define DEMANGLED(text)                                                                            \
	"SELECT count(*) FROM CUPTI_ACTIVITY_KIND_KERNEL k JOIN StringIds s ON s.id = "            \
	"k.demangledName WHERE s.value = '" text "'"
	EXPECT("all", "==", 1, DEMANGLED("<unnamed>::anon_kernel(int *)"));
	EXPECT("all", "==", 1, DEMANGLED("restr(const float *, float *)"));
	EXPECT("all", "==", 1, DEMANGLED("void lits<(unsigned int)7, (char)97, (long)5>(int *)"));
	EXPECT("all", "==", 2, DEMANGLED("void tk<float, (int)10, (bool)1>(T1 *)"));
	EXPECT("all", "==", 3, DEMANGLED("void tk<double, (int)-3, (bool)0>(T1 *)"));
	EXPECT("all", "==", 4,
	       DEMANGLED("void outer::inner::apply<outer::inner::Scale<float>, float>(T1, T2 *)"));
	return 0;
}
