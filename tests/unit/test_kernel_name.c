/*
 * test_kernel_name.c - kernel names spelled as nsys spells them (core/kernel_name.c):
 * the post-pass on libstdc++'s text, shortName, and every name of
 * tests/fixtures/nsys-kernel-names.tsv (what nsys 2025.3.1 wrote on the H200 for PyTorch,
 * cuDNN, cuBLAS and our test kernels) demangled to exactly nsys's text.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/kernel_name.h"

static void check_short(const char *dem, const char *want)
{
	size_t b, e;

	if (!want) {
		assert_int_equal(kernel_name_short(dem, strlen(dem), &b, &e), -1);
		return;
	}
	assert_int_equal(kernel_name_short(dem, strlen(dem), &b, &e), 0);
	assert_int_equal(e - b, strlen(want));
	assert_memory_equal(dem + b, want, e - b);
}

static void check_style(const char *in, const char *want)
{
	char *s = kernel_name_style(in);
	assert_string_equal(s, want);
	free(s);
}

static void test_style(void **state)
{
	(void)state;
	check_style("tiny(float*, int)", "tiny(float *, int)");
	check_style("void add<float>(float*, float const*, int)",
		    "void add<float>(float *, const float *, int)");
	check_style("void k(unsigned int const&, char**, void (*)(int))",
		    "void k(const unsigned int &, char **, void (*)(int))");
	check_style("void ns::f<at::Half>(at::Half const*)",
		    "void ns::f<at::Half>(const at::Half *)");
	check_style("void f(at::Tensor&, at::Tensor const&, x<float const>)",
		    "void f(at::Tensor &, const at::Tensor &, x<const float>)");
	check_style("void f(a::B<int, c::D<float> > const&)",
		    "void f(const a::B<int, c::D<float>> &)");
	check_style("a::b(x)::{lambda(float, int)#12}::operator()() const",
		    "a::b(x)::[lambda(float, int) (instance 12)]::operator ()() const");
	check_style("std::array<char*, 2ul> >", "std::array<char *, (unsigned long)2>>");
	/* spellings of nsys 2025.3 on the H200 (tests/gpu/gpu_names.cu) */
	check_style("(anonymous namespace)::anon_kernel(int*)", "<unnamed>::anon_kernel(int *)");
	check_style("void lits<7u, (char)97, 5l>(int*)",
		    "void lits<(unsigned int)7, (char)97, (long)5>(int *)");
	check_style("void tk<double, -3, false>(double*)",
		    "void tk<double, (int)-3, (bool)0>(double *)");
	check_style("void k<std::array<char*, 1ul>, 4>(int)",
		    "void k<std::array<char *, (unsigned long)1>, (int)4>(int)");
	check_style("void f<a2, b10>(x<3>)", "void f<a2, b10>(x<(int)3>)");
}

static void test_short_name(void **state)
{
	(void)state;
	check_short("tiny(float *, int)", "tiny");
	check_short("void ns::add<float>(float *, float *, int)", "add");
	check_short(
	    "void at::native::vectorized_elementwise_kernel<4, at::native::FillFunctor<float>, "
	    "std::array<char*, 1ul> >(int, at::native::FillFunctor<float>, "
	    "std::array<char*, 1ul>)",
	    "vectorized_elementwise_kernel");
	check_short("(anonymous namespace)::kernel()", "kernel");
	check_short("<unnamed>::anon_kernel(int *)", "anon_kernel");
	check_short("void tk<float, (int)10, (bool)1>(float *)", "tk");
	check_short("void lits<(unsigned int)7, (char)97, (long)5>(int *)", "lits");
	check_short("void cub::DeviceReduceKernel<cub::Policy, float*>(float*) const",
		    "DeviceReduceKernel");
	check_short("sm90_xmma_gemm", NULL);
}

static void check_demangle(const char *mangled, const char *want)
{
	char *s = kernel_name_demangle(mangled);

	if (!want) {
		assert_null(s);
		return;
	}
	assert_non_null(s);
	assert_string_equal(s, want);
	free(s);
}

static void test_demangle(void **state)
{
	(void)state;
	/* template parameters as T1, T2, ...: T_ is T1, T<n>_ is T<n+2> */
	check_demangle("_Z3addIfEvPT_PKS0_i", "void add<float>(T1 *, const T1 *, int)");
	check_demangle("_Z1fIiEvT_S0_", "void f<int>(T1, T1)");
	check_demangle("_Z1fIJifEEvDpT_", "void f<int, float>(T1...)");
	check_demangle("_ZN7cutlass7Kernel2I4GemmEEvNT_6ParamsE",
		       "void cutlass::Kernel2<Gemm>(T1::Params)");
	/* not templates, not mangled */
	check_demangle("_Z4tinyPfi", "tiny(float *, int)");
	check_demangle("scale_c", NULL);
	check_demangle("_Zjunk", NULL);
	check_demangle("", NULL);
	/* a clone suffix stays; a production the pre-pass does not follow (decltype)
	 * falls back to libstdc++'s types */
	check_demangle("_Z1fIiEvT_.isra.0", "void f<int>(T1) [clone .isra.0]");
	check_demangle("_Z1fIiEDTcl1gfp_EET_", "decltype (g({parm#1})) f<int>(int)");
}

/* Every row of the fixture: mangledName -> demangledName and shortName as nsys wrote. */
static void test_nsys_fixture(void **state)
{
	FILE *f = fopen("tests/fixtures/nsys-kernel-names.tsv", "r");
	char line[65536];
	int rows = 0;

	(void)state;
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		char *mangled, *dem, *shortname, *got;
		size_t b, e;
		if (line[0] == '#')
			continue;
		mangled = strtok(line, "\t");
		dem = strtok(NULL, "\t");
		shortname = strtok(NULL, "\t\n");
		assert_non_null(shortname);
		rows++;
		/* every truncation of a real name: a result or NULL, never a crash */
		for (size_t n = strlen(mangled); n > 2; n--) {
			char *cut = strndup(mangled, n - 1);
			free(kernel_name_demangle(cut));
			free(cut);
		}
		got = kernel_name_demangle(mangled);
		if (!got) { /* extern "C": stored as it is */
			assert_string_equal(mangled, dem);
			continue;
		}
		if (strcmp(got, dem))
			fail_msg("%s\n  nsys:      %s\n  gprof-cli: %s", mangled, dem, got);
		assert_int_equal(kernel_name_short(got, strlen(got), &b, &e), 0);
		assert_int_equal(e - b, strlen(shortname));
		assert_memory_equal(got + b, shortname, e - b);
		free(got);
	}
	fclose(f);
	assert_true(rows >= 80);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_style),
	    cmocka_unit_test(test_short_name),
	    cmocka_unit_test(test_demangle),
	    cmocka_unit_test(test_nsys_fixture),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
