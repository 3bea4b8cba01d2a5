/* test_config.c - YAML config files for `profile` (core/config.h): accepted forms, every error
 * with its exact file:line:column, command-line-wins semantics, print/load round trip. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/testutil.h"

#include "core/config.h"

/* --- a schema shaped like profile's option table ------------------------------------------ */

static const char *const trace_values[] = {"cuda", "nvtx", "osrt", "gpu-metrics", "none", NULL};
static const char *const range_values[] = {"none", "cudaProfilerApi", "nvtx", NULL};
static const char *const graph_values[] = {"graph", "node", NULL};

/* capture-range-end: none|stop|stop-shutdown|repeat[:N]|repeat-shutdown:N (nsys-cli.md §1.2) */
static int validate_range_end(const struct config_option *opt, const char *v, struct strbuf *err,
			      struct strbuf *hint)
{
	uint64_t n;

	if (!strcmp(v, "none") || !strcmp(v, "stop") || !strcmp(v, "stop-shutdown") ||
	    !strcmp(v, "repeat"))
		return 0;
	if (!strncmp(v, "repeat:", 7) && !gp_parse_u64(v + 7, &n) && n > 0)
		return 0;
	if (!strncmp(v, "repeat-shutdown:", 16) && !gp_parse_u64(v + 16, &n) && n > 0)
		return 0;
	strbuf_addf(err, "invalid value '%s' for '%s'", v, opt->name);
	strbuf_addstr(hint,
		      "valid values: none, stop, stop-shutdown, repeat[:N], repeat-shutdown:N");
	return -1;
}

static const struct config_option options[] = {
    {"trace", 't', CONFIG_LIST, config_validate_enum_list, trace_values, "cuda,nvtx,osrt"},
    {"output", 'o', CONFIG_STRING, NULL, NULL, "report%n"},
    {"force-overwrite", 'f', CONFIG_BOOL, NULL, NULL, "false"},
    {"osrt-threshold", 0, CONFIG_STRING, config_validate_uint, NULL, "1000"},
    {"stats", 0, CONFIG_BOOL, NULL, NULL, NULL},
    {"env-var", 'e', CONFIG_ENV, NULL, NULL, NULL},
    {"capture-range", 'c', CONFIG_STRING, config_validate_enum, range_values, "none"},
    {"capture-range-end", 0, CONFIG_STRING, validate_range_end, NULL, NULL},
    {"nvtx-capture", 'p', CONFIG_STRING, NULL, NULL, NULL},
    {"delay", 'y', CONFIG_STRING, config_validate_uint, NULL, NULL},
    {"duration", 'd', CONFIG_STRING, config_validate_positive, NULL, NULL},
    {"kill", 0, CONFIG_STRING, NULL, NULL, NULL},
    {"show-output", 'w', CONFIG_BOOL, NULL, NULL, "true"},
    {"cuda-memory-usage", 0, CONFIG_BOOL, NULL, NULL, NULL},
    {"cuda-graph-trace", 0, CONFIG_STRING, config_validate_enum, graph_values, NULL},
};
static const struct config_schema schema = {options, sizeof(options) / sizeof(options[0])};

/* --- helpers -------------------------------------------------------------------------------- */

static char tmpdir[64];
static char path[128];

static int setup(void **state)
{
	strcpy(tmpdir, "/tmp/gprof-config-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	snprintf(path, sizeof(path), "%s/c.yaml", tmpdir);
	return 0;
}

static int teardown(void **state)
{
	return tu_rm_rf(tmpdir);
}

/* Load `text` from a file; returns config_load's result.  cfg must be config_init'ed. */
static int load_text(struct config *cfg, const char *text)
{
	tu_write_text(path, text);
	cfg->quiet = 1;
	return config_load(path, &schema, cfg);
}

/* Assert that loading `text` fails with "<path>:<where>" and hint (NULL: no hint check). */
static void expect_error(const char *text, const char *where, const char *hint_text)
{
	struct config cfg = CONFIG_INIT;
	char want[512];

	assert_int_equal(load_text(&cfg, text), -1);
	snprintf(want, sizeof(want), "%s:%s", path, where);
	assert_string_equal(cfg.err.buf, want);
	if (hint_text)
		assert_string_equal(cfg.hint.buf, hint_text);
	assert_int_equal(cfg.n, 0);
	config_release(&cfg);
}

static void expect_entry(const struct config *cfg, size_t i, const char *name, const char *value,
			 unsigned line, unsigned column)
{
	assert_true(i < cfg->n);
	assert_string_equal(cfg->entries[i].opt->name, name);
	assert_string_equal(cfg->entries[i].value, value);
	assert_int_equal(cfg->entries[i].line, line);
	assert_int_equal(cfg->entries[i].column, column);
	if (line)
		assert_string_equal(cfg->entries[i].file, path);
}

/* --- accepted forms ------------------------------------------------------------------------- */

static const char full_yaml[] = "# CI profile\n"
				"trace: [cuda, nvtx]\n"
				"output: r.%q{OMPI_COMM_WORLD_RANK}\n"
				"force-overwrite: true\n"
				"osrt-threshold: 1000\n"
				"stats: True\n"
				"env-var: {A: B, OMP_NUM_THREADS: 4}\n"
				"capture-range: cudaProfilerApi\n"
				"capture-range-end: repeat:3\n"
				"nvtx-capture: 'step@*'\n"
				"delay: 2\n"
				"duration: 10\n"
				"kill: sigterm\n"
				"show-output: FALSE\n"
				"cuda-memory-usage: \"true\"\n"
				"cuda-graph-trace: node\n";

static void test_all_keys(void **state)
{
	struct config cfg = CONFIG_INIT;

	assert_int_equal(load_text(&cfg, full_yaml), 0);
	assert_int_equal(cfg.n, 16);
	expect_entry(&cfg, 0, "trace", "cuda,nvtx", 2, 8);
	expect_entry(&cfg, 1, "output", "r.%q{OMPI_COMM_WORLD_RANK}", 3, 9);
	expect_entry(&cfg, 2, "force-overwrite", "true", 4, 18);
	expect_entry(&cfg, 3, "osrt-threshold", "1000", 5, 17);
	expect_entry(&cfg, 4, "stats", "true", 6, 8);
	expect_entry(&cfg, 5, "env-var", "A=B", 7, 11);
	expect_entry(&cfg, 6, "env-var", "OMP_NUM_THREADS=4", 7, 17);
	expect_entry(&cfg, 7, "capture-range", "cudaProfilerApi", 8, 16);
	expect_entry(&cfg, 8, "capture-range-end", "repeat:3", 9, 20);
	expect_entry(&cfg, 9, "nvtx-capture", "step@*", 10, 15);
	expect_entry(&cfg, 10, "delay", "2", 11, 8);
	expect_entry(&cfg, 11, "duration", "10", 12, 11);
	expect_entry(&cfg, 12, "kill", "sigterm", 13, 7);
	expect_entry(&cfg, 13, "show-output", "false", 14, 14);
	expect_entry(&cfg, 14, "cuda-memory-usage", "true", 15, 20);
	expect_entry(&cfg, 15, "cuda-graph-trace", "node", 16, 19);
	assert_string_equal(config_find(&cfg, "output")->value, "r.%q{OMPI_COMM_WORLD_RANK}");
	assert_null(config_find(&cfg, "no-such"));
	config_release(&cfg);
}

static void test_list_forms(void **state)
{
	static const char *const forms[] = {
	    "trace: [cuda, nvtx]\n",
	    "trace:\n  - cuda\n  - nvtx\n",
	    "trace: cuda,nvtx\n",
	    "trace: \"cuda,nvtx\"\n",
	};

	for (size_t i = 0; i < 4; i++) {
		struct config cfg = CONFIG_INIT;

		assert_int_equal(load_text(&cfg, forms[i]), 0);
		assert_int_equal(cfg.n, 1);
		assert_string_equal(cfg.entries[0].value, "cuda,nvtx");
		assert_int_equal(cfg.entries[0].line, i == 1 ? 2 : 1);
		config_release(&cfg);
	}
	/* a single item, and aliases */
	struct config cfg = CONFIG_INIT;
	assert_int_equal(load_text(&cfg, "trace: [osrt]\nnvtx-capture: &s step@*\n"
					 "output: *s\n"),
			 0);
	assert_int_equal(cfg.n, 3);
	expect_entry(&cfg, 0, "trace", "osrt", 1, 8);
	/* an alias reports the position of the anchored value */
	expect_entry(&cfg, 2, "output", "step@*", 2, 15);
	config_release(&cfg);
}

static void test_env_forms(void **state)
{
	struct config cfg = CONFIG_INIT;

	/* block mapping; values may hold ',' and '=' */
	assert_int_equal(load_text(&cfg, "env-var:\n  A: B\n  LIST: \"x,y=z\"\n  EMPTY: ''\n"), 0);
	assert_int_equal(cfg.n, 3);
	expect_entry(&cfg, 0, "env-var", "A=B", 2, 3);
	expect_entry(&cfg, 1, "env-var", "LIST=x,y=z", 3, 3);
	expect_entry(&cfg, 2, "env-var", "EMPTY=", 4, 3);
	config_release(&cfg);

	/* sequence of NAME=VALUE */
	assert_int_equal(load_text(&cfg, "env-var: [A=B, 'C=d,e']\n"), 0);
	assert_int_equal(cfg.n, 2);
	expect_entry(&cfg, 0, "env-var", "A=B", 1, 11);
	expect_entry(&cfg, 1, "env-var", "C=d,e", 1, 16);
	config_release(&cfg);

	/* nsys's scalar form A=B,C=D */
	assert_int_equal(load_text(&cfg, "env-var: A=B,C=x,y,_D9=\n"), 0);
	assert_int_equal(cfg.n, 3);
	expect_entry(&cfg, 0, "env-var", "A=B", 1, 10);
	expect_entry(&cfg, 1, "env-var", "C=x,y", 1, 10);
	expect_entry(&cfg, 2, "env-var", "_D9=", 1, 10);
	config_release(&cfg);
}

static void test_bool_forms(void **state)
{
	static const struct {
		const char *text, *value;
	} forms[] = {
	    {"stats: true\n", "true"},	 {"stats: True\n", "true"},	{"stats: TRUE\n", "true"},
	    {"stats: false\n", "false"}, {"stats: 'false'\n", "false"}, {"stats: False\n", "false"},
	};

	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		struct config cfg = CONFIG_INIT;

		assert_int_equal(load_text(&cfg, forms[i].text), 0);
		assert_int_equal(cfg.n, 1);
		assert_string_equal(cfg.entries[0].value, forms[i].value);
		config_release(&cfg);
	}
}

static void test_empty_files(void **state)
{
	static const char *const texts[] = {"",	    "# only a comment\n", "~\n", "---\n",
					    "{}\n", "--- {}\n...\n"};

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct config cfg = CONFIG_INIT;

		assert_int_equal(load_text(&cfg, texts[i]), 0);
		assert_int_equal(cfg.n, 0);
		config_release(&cfg);
	}
}

/* --- errors, each with its exact position ------------------------------------------------- */

static void test_unknown_keys(void **state)
{
	expect_error("trace: cuda\ntrcae: nvtx\n", "2:1: unknown key 'trcae'",
		     "did you mean 'trace'?");
	expect_error("stats: true\n  # c\nforce_overwrite: true\n",
		     "3:1: unknown key 'force_overwrite'",
		     "write the long option name without dashes or underscores: 'force-overwrite'");
	expect_error("--trace: cuda\n", "1:1: unknown key '--trace'",
		     "write the long option name without dashes or underscores: 'trace'");
	expect_error("t: cuda\n", "1:1: unknown key 't'",
		     "'t' is the short switch -t; write its long name 'trace'");
	expect_error("output: a\n   \nsampling-period: 5\n", "3:1: unknown key 'sampling-period'",
		     NULL);
	expect_error("env: {A: B}\n", "1:1: unknown key 'env'", "did you mean 'env-var'?");
	/* a far-off key lists every valid key */
	struct config cfg = CONFIG_INIT;
	assert_int_equal(load_text(&cfg, "zzzzzzzzzzzzzzzzzzzz: 1\n"), -1);
	assert_non_null(strstr(cfg.hint.buf, "valid keys are profile's long option names: trace, "
					     "output, force-overwrite,"));
	config_release(&cfg);
}

static void test_shape_errors(void **state)
{
	expect_error("output: [a, b]\n", "1:9: 'output' takes one value, not a list", NULL);
	expect_error("output:\n  a: b\n", "2:3: 'output' takes one value, not a mapping", NULL);
	expect_error("stats: [true]\n", "1:8: 'stats' takes one value, not a list", NULL);
	expect_error("trace: {cuda: 1}\n", "1:8: 'trace' takes a list, not a mapping", NULL);
	expect_error("trace: [cuda, [nvtx]]\n",
		     "1:15: items of 'trace' must be plain values, not a list", NULL);
	expect_error("trace: []\n", "1:8: 'trace' needs at least one value", NULL);
	expect_error("trace: [cuda, ~]\n", "1:15: empty item in 'trace'", NULL);
	expect_error("[trace, cuda]\n",
		     "1:1: expected a mapping of option names to values, found a list",
		     "write one 'name: value' line per option, e.g. 'trace: cuda,nvtx'");
	expect_error("just text\n",
		     "1:1: expected a mapping of option names to values, found a value", NULL);
	expect_error("? [a]\n: b\n", "1:3: keys must be option names, not a list", NULL);
	expect_error("env-var: {A: [1]}\n",
		     "1:14: the value of 'A' in 'env-var' must be a plain value, not a list", NULL);
	expect_error("env-var: [{A: B}]\n",
		     "1:11: items of 'env-var' must be NAME=VALUE, not a mapping", NULL);
}

static void test_value_errors(void **state)
{
	expect_error("output:\n", "1:8: 'output' needs a value", NULL);
	expect_error("trace: cuda\noutput: ~\n", "2:9: 'output' needs a value", NULL);
	expect_error("output: null\n", "1:9: 'output' needs a value", NULL);
	expect_error("force-overwrite: yes\n",
		     "1:18: 'force-overwrite' must be true or false, not 'yes'",
		     "write true or false (yes/no/on/off are not accepted)");
	expect_error("stats: 1\n", "1:8: 'stats' must be true or false, not '1'", NULL);
	expect_error("trace: [cuda, nvtx, mpi]\n", "1:21: invalid value 'mpi' for 'trace'",
		     "valid values: cuda, nvtx, osrt, gpu-metrics, none");
	expect_error("trace: cuda,bogus\n", "1:8: invalid value 'bogus' for 'trace'", NULL);
	expect_error("trace: cuda,,nvtx\n", "1:8: empty item in 'trace' value 'cuda,,nvtx'",
		     "separate values with single commas, no spaces");
	expect_error("capture-range: cudaprofilerapi\n",
		     "1:16: invalid value 'cudaprofilerapi' for 'capture-range'",
		     "valid values: none, cudaProfilerApi, nvtx");
	expect_error("capture-range-end: repeat:x\n",
		     "1:20: invalid value 'repeat:x' for 'capture-range-end'", NULL);
	expect_error("duration: 0\n", "1:11: invalid value '0' for 'duration'",
		     "give a whole number > 0");
	expect_error("delay: -1\n", "1:8: invalid value '-1' for 'delay'",
		     "give a whole number >= 0");
	expect_error("osrt-threshold: 1e3\n", "1:17: invalid value '1e3' for 'osrt-threshold'",
		     NULL);
	expect_error("cuda-graph-trace: nodes\n",
		     "1:19: invalid value 'nodes' for 'cuda-graph-trace'",
		     "valid values: graph, node");
	expect_error("env-var: {9A: b}\n", "1:11: invalid variable name '9A' in 'env-var'", NULL);
	expect_error("env-var: [A=B, novalue]\n", "1:16: 'novalue' in 'env-var' is not NAME=VALUE",
		     NULL);
	expect_error("env-var: =x\n", "1:10: missing variable name in '=x' in 'env-var'", NULL);
	expect_error("env-var: {A: }\n", "1:14: variable 'A' in 'env-var' needs a value",
		     "write A: \"\" for an empty value");
	expect_error("env-var: {A: 1, A: 2}\n", "1:17: variable 'A' given twice in 'env-var'",
		     "the first is at line 1");
	expect_error("trace: cuda\nstats: true\ntrace: nvtx\n", "3:1: duplicate key 'trace'",
		     "the first is at line 1; keep one");
}

static void test_syntax_errors(void **state)
{
	/* libyaml's problem text at libyaml's mark */
	expect_error("trace: [cuda, nvtx\noutput: x\n",
		     "2:7: did not find expected ',' or ']' (while parsing a flow sequence at 1:8)",
		     NULL);
	expect_error("trace: cuda\n output: x\n",
		     "2:8: mapping values are not allowed in this context", NULL);
	expect_error("trace: cuda\n\tstats: true\n",
		     "2:1: found a tab character that violates indentation (while scanning a "
		     "plain scalar at 1:8)",
		     "indent with spaces: YAML does not allow tabs");
	expect_error("output: 'abc\n",
		     "2:1: found unexpected end of stream (while scanning a "
		     "quoted scalar at 1:9)",
		     NULL);
	expect_error("output: a\n---\nstats: true\n", "3:1: more than one YAML document",
		     "put every option in one mapping; remove the '---'");
	expect_error("output: *nope\n", "1:9: found undefined alias", NULL);
	expect_error("output: \xff\xfe\n", "1:9: invalid leading UTF-8 octet", NULL);
}

static void test_missing_file(void **state)
{
	struct config cfg = CONFIG_INIT;
	char p[160];

	snprintf(p, sizeof(p), "%s/none.yaml", tmpdir);
	cfg.quiet = 1;
	assert_int_equal(config_load(p, &schema, &cfg), -1);
	char want[256];
	snprintf(want, sizeof(want), "cannot open config file '%s': No such file or directory", p);
	assert_string_equal(cfg.err.buf, want);
	assert_string_equal(cfg.hint.buf,
			    "check the path given to --config or in $GPROF_CLI_CONFIG");
	config_release(&cfg);
}

/* An error removes only what this call appended; earlier entries stay. */
static void test_error_keeps_earlier_entries(void **state)
{
	struct config cfg = CONFIG_INIT;

	assert_int_equal(load_text(&cfg, "output: a\n"), 0);
	assert_int_equal(load_text(&cfg, "stats: true\ntrace: nope\n"), -1);
	assert_int_equal(cfg.n, 1);
	assert_string_equal(cfg.entries[0].value, "a");
	config_release(&cfg);
}

static void test_default_path(void **state)
{
	unsetenv(CONFIG_ENV_VAR);
	assert_null(config_default_path());
	setenv(CONFIG_ENV_VAR, "", 1);
	assert_null(config_default_path());
	setenv(CONFIG_ENV_VAR, "/etc/gprof.yaml", 1);
	assert_string_equal(config_default_path(), "/etc/gprof.yaml");
	unsetenv(CONFIG_ENV_VAR);
}

/* --- command line wins ---------------------------------------------------------------------- */

static void test_command_line_wins(void **state)
{
	struct config cfg = CONFIG_INIT;
	const struct config_option *out = config_find_option(&schema, "output");
	const struct config_option *env = config_find_option(&schema, "env-var");

	assert_int_equal(load_text(&cfg, "trace: cuda\noutput: cfg\nenv-var: {A: 1, B: 2}\n"), 0);
	assert_int_equal(cfg.n, 4);
	/* command line: -o cli -e B=3 -e C=4 */
	config_set(&cfg, out, "cli", NULL, 0, 0);
	config_set(&cfg, env, "B=3", NULL, 0, 0);
	config_set(&cfg, env, "C=4", NULL, 0, 0);
	assert_int_equal(cfg.n, 5);
	expect_entry(&cfg, 0, "trace", "cuda", 1, 8);
	expect_entry(&cfg, 1, "output", "cli", 0, 0);
	assert_null(cfg.entries[1].file);
	expect_entry(&cfg, 2, "env-var", "A=1", 3, 11);
	expect_entry(&cfg, 3, "env-var", "B=3", 0, 0);
	expect_entry(&cfg, 4, "env-var", "C=4", 0, 0);
	assert_string_equal(config_find(&cfg, "output")->value, "cli");

	/* defaults fill only what is unset, in schema order */
	config_fill_defaults(&cfg, &schema);
	assert_int_equal(cfg.n, 9);
	expect_entry(&cfg, 5, "force-overwrite", "false", 0, 0);
	expect_entry(&cfg, 6, "osrt-threshold", "1000", 0, 0);
	expect_entry(&cfg, 7, "capture-range", "none", 0, 0);
	expect_entry(&cfg, 8, "show-output", "true", 0, 0);
	config_release(&cfg);
}

/* config_argv puts the file's settings before the command line's, so getopt sees them first. */
static void test_config_argv(void **state)
{
	struct config cfg = CONFIG_INIT;
	char *argv[] = {"profile", "-o", "cli", "./app", "--trace=x", NULL};
	char **v;
	int n;

	assert_int_equal(load_text(&cfg, "output: cfg\nstats: true\nenv-var: A=1,B=2\n"), 0);
	v = config_argv(&cfg, 5, argv, &n);
	assert_int_equal(n, 9);
	assert_string_equal(v[0], "profile");
	assert_string_equal(v[1], "--output=cfg");
	assert_string_equal(v[2], "--stats=true");
	assert_string_equal(v[3], "--env-var=A=1");
	assert_string_equal(v[4], "--env-var=B=2");
	assert_string_equal(v[5], "-o");
	assert_string_equal(v[6], "cli");
	assert_string_equal(v[7], "./app");
	assert_string_equal(v[8], "--trace=x");
	assert_null(v[9]);
	config_free_argv(v, cfg.n);
	config_release(&cfg);
}

/* --- print-config round trip ---------------------------------------------------------------- */

static char *print_to_string(const struct config *cfg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(config_print(f, cfg->entries, cfg->n), 0);
	fclose(f);
	return buf;
}

static void round_trip(struct config *cfg)
{
	struct config back = CONFIG_INIT;
	char *text = print_to_string(cfg);
	size_t n = 0;

	assert_int_equal(load_text(&back, text), 0);
	for (size_t i = 0; i < cfg->n; i++)
		n++;
	assert_int_equal(back.n, n);
	for (size_t i = 0; i < n; i++) {
		assert_ptr_equal(back.entries[i].opt, cfg->entries[i].opt);
		assert_string_equal(back.entries[i].value, cfg->entries[i].value);
	}
	free(text);
	config_release(&back);
}

static void test_print_format(void **state)
{
	struct config cfg = CONFIG_INIT;
	char *text;

	assert_int_equal(load_text(&cfg, "trace: cuda,nvtx\nforce-overwrite: TRUE\n"
					 "env-var: [A=1, B=x y]\noutput: r.%q{RANK}\ndelay: 2\n"),
			 0);
	text = print_to_string(&cfg);
	assert_string_equal(text, "trace: [cuda, nvtx]\n"
				  "force-overwrite: true\n"
				  "env-var:\n"
				  "  A: 1\n"
				  "  B: x y\n"
				  "output: r.%q{RANK}\n"
				  "delay: 2\n");
	free(text);
	config_release(&cfg);
}

static void test_print_round_trip(void **state)
{
	struct config cfg = CONFIG_INIT;
	const struct config_option *out = config_find_option(&schema, "output");
	const struct config_option *pc = config_find_option(&schema, "nvtx-capture");
	const struct config_option *env = config_find_option(&schema, "env-var");

	assert_int_equal(load_text(&cfg, full_yaml), 0);
	round_trip(&cfg);

	/* awkward strings: YAML indicators, null words, spaces, quotes, non-ASCII, newlines */
	static const char *const tricky[] = {
	    "%q{X}", "null", "~",      "",     " lead",	 "trail ",    "a: b", "#x",
	    "x #y",  "'q'",  "\"dq\"", "- x",  "[a]",	 "{a}",	      "*a",   "&a",
	    "!t",    "|",    ">",      "@x",   "`x",	 "ünï",	      "a\nb", "yes",
	    "true",  "1e3",  "0x10",   "a\\b", "step@*", "a\\@b@dom",
	};
	for (size_t i = 0; i < sizeof(tricky) / sizeof(tricky[0]); i++) {
		struct config c = CONFIG_INIT;
		char ev[64];

		config_set(&c, out, tricky[i], NULL, 0, 0);
		config_set(&c, pc, tricky[i], NULL, 0, 0);
		snprintf(ev, sizeof(ev), "V=%s", tricky[i]);
		config_set(&c, env, ev, NULL, 0, 0);
		round_trip(&c);
		config_release(&c);
	}
	config_release(&cfg);
}

/* config_print shows the effective value once: later entries override earlier ones. */
static void test_print_effective(void **state)
{
	struct config cfg = CONFIG_INIT;
	char *text;

	assert_int_equal(load_text(&cfg, "env-var: A=1,B=2,A=3\nstats: false\n"), 0);
	config_set(&cfg, config_find_option(&schema, "stats"), "true", NULL, 0, 0);
	text = print_to_string(&cfg);
	assert_string_equal(text, "env-var:\n  B: 2\n  A: 3\nstats: true\n");
	free(text);
	config_release(&cfg);
}

static void test_env_split(void **state)
{
	char **items;
	size_t n;
	struct strbuf err = STRBUF_INIT;

	assert_int_equal(config_env_split("A=B", &items, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(items[0], "A=B");
	free(items[0]);
	free(items);

	assert_int_equal(config_env_split("A=x,y,B=,C=1=2,d", &items, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_string_equal(items[0], "A=x,y");
	assert_string_equal(items[1], "B=");
	assert_string_equal(items[2], "C=1=2,d");
	for (size_t i = 0; i < n; i++)
		free(items[i]);
	free(items);

	assert_int_equal(config_env_split("novalue", &items, &n, &err), -1);
	assert_string_equal(err.buf, "'novalue' is not NAME=VALUE");
	assert_null(items);
	assert_int_equal(n, 0);
	strbuf_reset(&err);
	assert_int_equal(config_env_split("1A=2", &items, &n, &err), -1);
	assert_string_equal(err.buf, "invalid variable name in '1A=2'");
	strbuf_reset(&err);
	assert_int_equal(config_env_split("", &items, &n, &err), -1);
	assert_string_equal(err.buf, "'' is not NAME=VALUE");
	strbuf_release(&err);
}

static void test_stock_validators(void **state)
{
	struct strbuf err = STRBUF_INIT, hint = STRBUF_INIT;
	const struct config_option *t = config_find_option(&schema, "trace");
	const struct config_option *c = config_find_option(&schema, "capture-range");
	int b = -1;

	assert_int_equal(config_validate_enum_list(t, "cuda,nvtx,osrt", &err, &hint), 0);
	assert_int_equal(config_validate_enum_list(t, "cuda,", &err, &hint), -1);
	assert_string_equal(err.buf, "empty item in 'trace' value 'cuda,'");
	assert_int_equal(config_validate_enum(c, "nvtx", &err, &hint), 0);
	assert_int_equal(config_validate_uint(c, "0", &err, &hint), 0);
	assert_int_equal(config_validate_positive(c, "1", &err, &hint), 0);
	strbuf_reset(&err);
	assert_int_equal(config_validate_bool(c, "on", &err, &hint), -1);
	assert_string_equal(err.buf, "'capture-range' must be true or false, not 'on'");
	assert_int_equal(config_parse_bool("FaLsE", &b), 1);
	assert_int_equal(b, 0);
	assert_int_equal(config_parse_bool("no", &b), 0);
	strbuf_release(&err);
	strbuf_release(&hint);
}

/* The shipped examples load (run from the repository root, as `make check` does). */
static void test_examples(void **state)
{
	struct config cfg = CONFIG_INIT;

	if (access("examples/ci-profile.yaml", R_OK))
		skip();
	cfg.quiet = 1;
	assert_int_equal(config_load("examples/ci-profile.yaml", &schema, &cfg), 0);
	assert_int_equal(cfg.n, 10);
	assert_string_equal(config_find(&cfg, "trace")->value, "nvtx,osrt");
	assert_string_equal(config_find(&cfg, "output")->value, "ci-%h-%n");
	assert_string_equal(cfg.entries[6].value, "OMP_NUM_THREADS=4");
	config_release(&cfg);

	assert_int_equal(config_load("examples/llm-capture.yaml", &schema, &cfg), 0);
	assert_int_equal(cfg.n, 6);
	assert_string_equal(config_find(&cfg, "capture-range")->value, "cudaProfilerApi");
	assert_string_equal(config_find(&cfg, "capture-range-end")->value, "repeat:3");
	assert_string_equal(config_find(&cfg, "output")->value,
			    "llm.%h.rank%q{OMPI_COMM_WORLD_RANK}");
	config_release(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_all_keys, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_list_forms, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_env_forms, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bool_forms, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_empty_files, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_keys, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_shape_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_value_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_syntax_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_error_keeps_earlier_entries, setup, teardown),
	    cmocka_unit_test(test_default_path),
	    cmocka_unit_test_setup_teardown(test_command_line_wins, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_argv, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_print_format, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_print_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_print_effective, setup, teardown),
	    cmocka_unit_test(test_env_split),
	    cmocka_unit_test(test_stock_validators),
	    cmocka_unit_test(test_examples),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
