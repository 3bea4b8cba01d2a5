/*
 * test_trace_values.c - the -t/--trace table of `gprof-cli profile`
 * (cli/profile_options.c, issue 10 section 3): every value of nsys's list is known; the
 * traced ones set their bit, the others are accepted with exactly one warning line that
 * names them and set nothing but what they imply (cuXXX libraries and openacc: cuda, as
 * nsys); unknown words and none with others stay errors; the YAML config's 'trace' key
 * goes through the same table; the rows of the end-of-run check (section 4) are complete.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/profile_options.h"
#include "core/config.h"
#include "core/util.h"

/* nsys's -t values (issue 10 and nsys-cli.md section 1.2), each of which must be known. */
static const char *const nsys_values[] = {"cuda",
					  "nvtx",
					  "osrt",
					  "cublas",
					  "cublas-verbose",
					  "cudnn",
					  "cusparse",
					  "cusparse-verbose",
					  "cusolver",
					  "cusolver-verbose",
					  "cudla",
					  "cudla-verbose",
					  "opengl",
					  "opengl-annotations",
					  "openacc",
					  "openmp",
					  "mpi",
					  "oshmem",
					  "ucx",
					  "nccl",
					  "vulkan",
					  "vulkan-annotations",
					  "nvvideo",
					  "dx11",
					  "dx11-annotations",
					  "dx12",
					  "dx12-annotations",
					  "wddm",
					  "python-gil",
					  "syscall",
					  "cuda-sw",
					  "cuda-hw",
					  "tegra-accelerators",
					  "openxr",
					  "openxr-annotations",
					  "gds",
					  "s3",
					  "s3-verbose",
					  NULL};

static char err_text[8192];

/* Parse `profile -t <list> app` with stderr captured into err_text.  Returns the parser's
 * result; o is released by the caller. */
static int parse_trace_arg(struct profile_options *o, const char *list)
{
	char *argv[] = {"profile", "-t", (char *)list, "app", NULL};
	FILE *tmp = tmpfile();
	int saved = dup(2), rc;
	size_t n;

	assert_non_null(tmp);
	fflush(stderr);
	dup2(fileno(tmp), 2);
	profile_options_init(o);
	rc = profile_options_parse(o, 4, argv);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(tmp);
	n = fread(err_text, 1, sizeof(err_text) - 1, tmp);
	err_text[n] = '\0';
	fclose(tmp);
	return rc;
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void test_every_nsys_value_known(void **state)
{
	size_t n;
	const struct profile_trace_value *t = profile_trace_table(&n);

	(void)state;
	for (size_t i = 0; nsys_values[i]; i++) {
		const struct profile_trace_value *v =
		    profile_trace_find(nsys_values[i], strlen(nsys_values[i]));

		if (!v)
			fail_msg("nsys -t value '%s' is not in the table", nsys_values[i]);
		assert_string_equal(v->name, nsys_values[i]);
	}
	/* names are unique, lower-case words; "none" is handled apart */
	for (size_t i = 0; i < n; i++) {
		assert_ptr_equal(profile_trace_find(t[i].name, strlen(t[i].name)), &t[i]);
		assert_int_equal(strspn(t[i].name, "abcdefghijklmnopqrstuvwxyz0123456789-"),
				 strlen(t[i].name));
	}
	assert_null(profile_trace_find("none", 4));
	assert_null(profile_trace_find("cud", 3));
	assert_non_null(profile_trace_find("cuda,nvtx", 4)); /* a length, not a C string */
}

/* Every row, alone: a traced one sets its bit (text: the canonical name) and warns not;
 * an ignored one warns in one line naming it and sets only what it implies. */
static void test_each_row_alone(void **state)
{
	size_t n;
	const struct profile_trace_value *t = profile_trace_table(&n);
	struct profile_options o;

	(void)state;
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(parse_trace_arg(&o, t[i].name), 0);
		if (t[i].traced) {
			assert_int_equal(o.trace, t[i].bit | t[i].implies);
			assert_int_equal(o.trace_ignored, 0);
			assert_string_equal(err_text, "");
			assert_null(strstr(profile_trace_text(o.trace), "none"));
		} else {
			char want[128];

			assert_int_equal(o.trace, t[i].implies);
			assert_int_equal(o.trace_ignored, 1ull << i);
			snprintf(want, sizeof(want),
				 "gprof-cli: warning: --trace values not traced by gprof-cli: %s "
				 "(ignored)\n",
				 t[i].name);
			assert_string_equal(err_text, want);
		}
		profile_options_release(&o);
	}
}

static void test_reserved_and_canonical_rows(void **state)
{
	size_t n;
	const struct profile_trace_value *t = profile_trace_table(&n);
	const char *reserved[] = {"mpi", "cublas", "cudnn", "cublas-verbose"};
	unsigned seen = 0;

	(void)state;
	/* the collectors being written have a bit of their own already */
	for (size_t i = 0; i < 4; i++) {
		const struct profile_trace_value *v =
		    profile_trace_find(reserved[i], strlen(reserved[i]));

		assert_non_null(v);
		assert_int_not_equal(v->bit, 0);
		assert_int_equal(v->bit & (PROFILE_TRACE_CUDA | PROFILE_TRACE_NVTX |
					   PROFILE_TRACE_OSRT | PROFILE_TRACE_GPU_METRICS),
				 0);
	}
	assert_int_equal(profile_trace_find("cublas-verbose", 14)->bit, PROFILE_TRACE_CUBLAS);
	/* the first row of a bit is its canonical name, and the one profile_trace_text writes */
	for (size_t i = 0; i < n; i++) {
		if (!t[i].bit || (seen & t[i].bit))
			continue;
		seen |= t[i].bit;
		if (t[i].traced)
			assert_string_equal(profile_trace_text(t[i].bit), t[i].name);
		else
			assert_string_equal(profile_trace_text(t[i].bit), "none");
	}
	assert_string_equal(profile_trace_text(PROFILE_TRACE_CUDA | PROFILE_TRACE_NVTX |
					       PROFILE_TRACE_OSRT | PROFILE_TRACE_GPU_METRICS),
			    "cuda,nvtx,osrt,gpu-metrics");
	assert_string_equal(profile_trace_text(0), "none");
	/* rows with an end-of-run check have everything it prints */
	for (size_t i = 0; i < n; i++) {
		if (!t[i].block)
			continue;
		assert_true(t[i].traced);
		assert_non_null(t[i].what);
		assert_non_null(t[i].hint_unused);
		assert_non_null(t[i].hint_idle);
	}
	assert_int_equal(profile_trace_find("cuda", 4)->block, 3);
	assert_int_equal(profile_trace_find("gpu-metrics", 11)->block, 4);
}

/* nsys's command line from the field (issue 10): everything in it is traced. */
static void test_nsys_command_line(void **state)
{
	struct profile_options o;
	char *names;

	(void)state;
	assert_int_equal(parse_trace_arg(&o, "cuda,cudnn,cublas,osrt,nvtx"), 0);
	assert_int_equal(o.trace, PROFILE_TRACE_CUDA | PROFILE_TRACE_OSRT | PROFILE_TRACE_NVTX |
				      PROFILE_TRACE_CUBLAS | PROFILE_TRACE_CUDNN);
	assert_int_equal(count_lines(err_text), 0);
	names = profile_trace_ignored_text(&o, ",");
	assert_string_equal(names, "");
	free(names);
	assert_string_equal(profile_trace_text(o.trace), "cuda,nvtx,osrt,cublas,cudnn");
	profile_options_release(&o);

	/* cublas-verbose: the calls are traced as with cublas (and cuda, as nsys), the
	 * arguments are not - the warning names it */
	assert_int_equal(parse_trace_arg(&o, "cublas-verbose,nvtx"), 0);
	assert_int_equal(o.trace, PROFILE_TRACE_CUDA | PROFILE_TRACE_NVTX | PROFILE_TRACE_CUBLAS);
	assert_string_equal(err_text, "gprof-cli: warning: --trace values not traced by "
				      "gprof-cli: cublas-verbose (ignored)\n");
	assert_string_equal(profile_trace_text(o.trace), "cuda,nvtx,cublas");
	profile_options_release(&o);

	/* several ignored values, repeated ones once, aliases of cuda: still one line */
	assert_int_equal(parse_trace_arg(&o, "opengl,vulkan,cuda-sw,opengl,nvtx"), 0);
	assert_int_equal(o.trace, PROFILE_TRACE_CUDA | PROFILE_TRACE_NVTX);
	assert_string_equal(err_text, "gprof-cli: warning: --trace values not traced by "
				      "gprof-cli: opengl, vulkan (ignored)\n");
	profile_options_release(&o);

	/* nsys: a cuXXX library or openacc turns on cuda */
	assert_int_equal(parse_trace_arg(&o, "cusparse,nvtx"), 0);
	assert_int_equal(o.trace, PROFILE_TRACE_CUDA | PROFILE_TRACE_NVTX);
	profile_options_release(&o);
	assert_int_equal(parse_trace_arg(&o, "openmp"), 0);
	assert_int_equal(o.trace, 0);
	profile_options_release(&o);

	/* only the last -t counts, for the warning too */
	{
		char *argv[] = {"profile", "-t", "opengl", "-t", "nvtx", "app", NULL};
		FILE *tmp = tmpfile();
		int saved = dup(2);

		dup2(fileno(tmp), 2);
		profile_options_init(&o);
		assert_int_equal(profile_options_parse(&o, 6, argv), 0);
		fflush(stderr);
		dup2(saved, 2);
		close(saved);
		assert_int_equal(ftell(tmp), 0);
		fclose(tmp);
		assert_int_equal(o.trace, PROFILE_TRACE_NVTX);
		assert_int_equal(o.trace_ignored, 0);
		profile_options_release(&o);
	}
}

static void test_errors(void **state)
{
	struct profile_options o;

	(void)state;
	assert_int_equal(parse_trace_arg(&o, "cuda,bogus"), -1);
	assert_int_equal(count_lines(err_text), 2);
	assert_non_null(strstr(err_text, "gprof-cli: unknown --trace value 'bogus' (traced: "
					 "cuda, nvtx, osrt, gpu-metrics"));
	assert_non_null(strstr(err_text, "\nhint: "));
	profile_options_release(&o);

	assert_int_equal(parse_trace_arg(&o, "cuda,cublsa"), -1);
	assert_non_null(strstr(err_text, "hint: did you mean 'cublas'?\n"));
	profile_options_release(&o);
	assert_int_equal(parse_trace_arg(&o, "cdua"), -1);
	assert_non_null(strstr(err_text, "hint: did you mean 'cuda'?\n"));
	profile_options_release(&o);

	assert_int_equal(parse_trace_arg(&o, "cuda,,nvtx"), -1);
	assert_non_null(strstr(err_text, "empty item"));
	profile_options_release(&o);

	/* none: alone only (an ignored value counts as another value) */
	assert_int_equal(parse_trace_arg(&o, "none,opengl"), -1);
	assert_non_null(strstr(err_text, "'none' cannot be combined"));
	assert_int_equal(count_lines(err_text), 2);
	profile_options_release(&o);
	assert_int_equal(parse_trace_arg(&o, "none"), 0);
	assert_int_equal(o.trace, 0);
	assert_string_equal(err_text, "");
	profile_options_release(&o);
}

/* The config file's 'trace' key: the same table and rules, worded for the file. */
static void test_config_key(void **state)
{
	const struct config_schema *schema = profile_config_schema();
	const struct config_option *opt = NULL;
	struct strbuf err = STRBUF_INIT, fix = STRBUF_INIT;

	(void)state;
	for (size_t i = 0; i < schema->n; i++)
		if (!strcmp(schema->options[i].name, "trace"))
			opt = &schema->options[i];
	assert_non_null(opt);
	assert_int_equal(opt->type, CONFIG_LIST);
	assert_int_equal(opt->validate(opt, "cuda,cudnn,cublas,osrt,nvtx", &err, &fix), 0);
	assert_int_equal(opt->validate(opt, "vulkan,python-gil,syscall,mpi", &err, &fix), 0);
	assert_int_equal(opt->validate(opt, "none", &err, &fix), 0);
	assert_string_equal(err.buf, "");
	assert_int_equal(opt->validate(opt, "cuda,oops", &err, &fix), -1);
	assert_non_null(strstr(err.buf, "invalid value 'oops' for 'trace'"));
	assert_true(fix.len > 0);
	strbuf_reset(&err);
	strbuf_reset(&fix);
	assert_int_equal(opt->validate(opt, "nvtx,none", &err, &fix), -1);
	assert_non_null(strstr(err.buf, "'none' cannot be combined"));
	assert_string_equal(fix.buf, "use either none or a list such as nvtx,osrt");
	strbuf_release(&err);
	strbuf_release(&fix);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_nsys_value_known),
	    cmocka_unit_test(test_each_row_alone),
	    cmocka_unit_test(test_reserved_and_canonical_rows),
	    cmocka_unit_test(test_nsys_command_line),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_config_key),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
