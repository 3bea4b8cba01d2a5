/*
 * profile_options.c - option table, parser and --help text of `gprof-cli profile`
 * (nsys profile switch names and defaults: nsys-cli.md section 1.2).
 */
#include <ctype.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/profile_options.h"
#include "core/util.h"

static const char *const trace_names[] = {"cuda", "nvtx", "osrt", "gpu-metrics"};
#define N_TRACE	    (sizeof(trace_names) / sizeof(trace_names[0]))
#define TRACE_VALID "cuda, nvtx, osrt, gpu-metrics, none"

int profile_parse_bool(const char *name, const char *value)
{
	if (!value || !strcmp(value, "true"))
		return 1;
	if (!strcmp(value, "false"))
		return 0;
	error("invalid value '%s' for '--%s'", value, name);
	hint("use --%s=true or --%s=false", name, name);
	return -1;
}

const char *profile_trace_text(unsigned trace)
{
	static char buf[64];
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < N_TRACE; i++) {
		if (!(trace & (1u << i)))
			continue;
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s", len ? "," : "",
					trace_names[i]);
	}
	return len ? buf : "none";
}

static int apply_trace(struct profile_options *o, const char *value)
{
	unsigned trace = 0;
	int none = 0, others = 0;
	const char *p = value;

	for (;;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		size_t i;

		if (len == 4 && !strncmp(p, "none", 4)) {
			none = 1;
		} else {
			for (i = 0; i < N_TRACE; i++)
				if (strlen(trace_names[i]) == len &&
				    !strncmp(p, trace_names[i], len))
					break;
			if (i == N_TRACE) {
				error("unknown --trace value '%.*s' (valid: " TRACE_VALID ")",
				      (int)len, p);
				hint("give a comma list without spaces, e.g. -t nvtx,osrt");
				return -1;
			}
			trace |= 1u << i;
			others = 1;
		}
		if (!end)
			break;
		p = end + 1;
	}
	if (none && others) {
		error("--trace value 'none' cannot be combined with others in '%s'", value);
		hint("use either -t none or a list such as -t nvtx,osrt");
		return -1;
	}
	o->trace = trace;
	return 0;
}

static int apply_output(struct profile_options *o, const char *value)
{
	if (!*value) {
		error("empty --output file name");
		hint("give a file name, e.g. -o myreport (writes myreport.db)");
		return -1;
	}
	o->output = value;
	return 0;
}

static int apply_force(struct profile_options *o, const char *value)
{
	int b = profile_parse_bool("force-overwrite", value);

	if (b < 0)
		return -1;
	o->force_overwrite = b;
	return 0;
}

/* Does s start with an environment variable name followed by '='? */
static int starts_with_assignment(const char *s)
{
	const char *p = s;

	if (!(isalpha((unsigned char)*p) || *p == '_'))
		return 0;
	while (isalnum((unsigned char)*p) || *p == '_')
		p++;
	return *p == '=';
}

/* -e A=B[,C=D...]: a comma starts a new assignment only when NAME= follows it, so that
 * values may hold commas (-e LIST=a,b). */
static int apply_env(struct profile_options *o, const char *value)
{
	const char *p = value;

	if (!starts_with_assignment(p)) {
		error("invalid --env-var value '%s'", value);
		hint("use NAME=VALUE, e.g. -e OMP_NUM_THREADS=4 (several as A=B,C=D)");
		return -1;
	}
	while (*p) {
		const char *q = p + 1;
		const char *next = NULL;

		while ((q = strchr(q, ',')) != NULL) {
			if (starts_with_assignment(q + 1)) {
				next = q;
				break;
			}
			q++;
		}
		size_t len = next ? (size_t)(next - p) : strlen(p);
		char *item = xmalloc(len + 1);

		memcpy(item, p, len);
		item[len] = '\0';
		o->env = xrealloc(o->env, (o->n_env + 1) * sizeof(*o->env));
		o->env[o->n_env++] = item;
		if (!next)
			break;
		p = next + 1;
	}
	return 0;
}

static int apply_threshold(struct profile_options *o, const char *value)
{
	uint64_t v;

	if (gp_parse_u64(value, &v) < 0) {
		error("invalid --osrt-threshold value '%s'", value);
		hint("give a duration in nanoseconds, e.g. --osrt-threshold=10000");
		return -1;
	}
	o->osrt_threshold_ns = v;
	return 0;
}

static int apply_stats(struct profile_options *o, const char *value)
{
	int b = profile_parse_bool("stats", value);

	if (b < 0)
		return -1;
	o->stats = b;
	return 0;
}

static int apply_show_output(struct profile_options *o, const char *value)
{
	int b = profile_parse_bool("show-output", value);

	if (b < 0)
		return -1;
	o->show_output = b;
	return 0;
}

static int apply_cuda_memory_usage(struct profile_options *o, const char *value)
{
	int b = profile_parse_bool("cuda-memory-usage", value);

	if (b < 0)
		return -1;
	o->cuda_memory_usage = b;
	return 0;
}

static int apply_cuda_graph_trace(struct profile_options *o, const char *value)
{
	if (!strcmp(value, "graph")) {
		o->cuda_graph_node = 0;
	} else if (!strcmp(value, "node")) {
		o->cuda_graph_node = 1;
	} else {
		error("invalid --cuda-graph-trace value '%s' (valid: graph, node)", value);
		hint("use --cuda-graph-trace=graph (whole graphs) or =node (each node)");
		return -1;
	}
	return 0;
}

static int apply_cuda_trace_all_apis(struct profile_options *o, const char *value)
{
	int b = profile_parse_bool("cuda-trace-all-apis", value);

	if (b < 0)
		return -1;
	o->cuda_trace_all_apis = b;
	return 0;
}

static int apply_help(struct profile_options *o, const char *value)
{
	o->help = 1;
	return 0;
}

static const struct profile_option options[] = {
    {"trace", 't', PROFILE_OPT_VALUE, "<list>",
     "what to trace: a comma list of cuda, nvtx, osrt, gpu-metrics, or none "
     "(default " PROFILE_DEFAULT_TRACE_TEXT ")",
     apply_trace},
    {"output", 'o', PROFILE_OPT_VALUE, "<file>",
     "report file; .db is appended when missing (default report<N>.db, N the smallest "
     "free number)",
     apply_output},
    {"force-overwrite", 'f', PROFILE_OPT_BOOL, NULL,
     "overwrite an existing report file (default false)", apply_force},
    {"env-var", 'e', PROFILE_OPT_VALUE, "<A=B>",
     "set an environment variable for the application; repeatable, several as A=B,C=D", apply_env},
    {"osrt-threshold", 0, PROFILE_OPT_VALUE, "<ns>",
     "record OS runtime calls lasting at least this many nanoseconds (default 1000)",
     apply_threshold},
    {"stats", 0, PROFILE_OPT_BOOL, NULL,
     "print the default stats reports after the run (default false)", apply_stats},
    {"show-output", 'w', PROFILE_OPT_BOOL, NULL,
     "let the application write to this terminal; false sends its stdout and stderr "
     "to /dev/null (default true)",
     apply_show_output},
    {"cuda-memory-usage", 0, PROFILE_OPT_BOOL, NULL,
     "trace GPU memory allocations and frees (default false)", apply_cuda_memory_usage},
    {"cuda-graph-trace", 0, PROFILE_OPT_VALUE, "graph|node",
     "trace CUDA graph launches as whole graphs or node by node (default graph)",
     apply_cuda_graph_trace},
    {"cuda-trace-all-apis", 0, PROFILE_OPT_BOOL, NULL,
     "also record the high-volume CUDA API calls filtered out by default "
     "(default false)",
     apply_cuda_trace_all_apis},
    {"help", 'h', PROFILE_OPT_FLAG, NULL, "print this help and exit", apply_help},
};
#define N_OPTIONS (sizeof(options) / sizeof(options[0]))

const struct profile_option *profile_option_table(size_t *n)
{
	*n = N_OPTIONS;
	return options;
}

const struct profile_option *profile_option_find(const char *name)
{
	for (size_t i = 0; i < N_OPTIONS; i++)
		if (!strcmp(options[i].name, name))
			return &options[i];
	return NULL;
}

void profile_options_init(struct profile_options *o)
{
	memset(o, 0, sizeof(*o));
	o->trace = PROFILE_DEFAULT_TRACE;
	o->osrt_threshold_ns = PROFILE_DEFAULT_OSRT_THRESH;
	o->show_output = 1;
}

void profile_options_release(struct profile_options *o)
{
	for (size_t i = 0; i < o->n_env; i++)
		free(o->env[i]);
	free(o->env);
	o->env = NULL;
	o->n_env = 0;
}

/* Print `text` word-wrapped from column `col` to `width`, continuing at `indent`. */
static void print_wrapped(FILE *f, const char *text, int col, int indent, int width)
{
	const char *p = text;

	while (*p) {
		const char *word_end = p;
		int len;

		while (*word_end && *word_end != ' ')
			word_end++;
		len = (int)(word_end - p);
		if (col > indent && col + 1 + len > width) {
			fprintf(f, "\n%*s", indent, "");
			col = indent;
		} else if (col > indent) {
			fputc(' ', f);
			col++;
		}
		fwrite(p, 1, (size_t)len, f);
		col += len;
		p = word_end;
		while (*p == ' ')
			p++;
	}
	fputc('\n', f);
}

void profile_options_help(FILE *f)
{
	const int indent = 32;

	fprintf(f, "usage: gprof-cli profile [<options>] <application> [<application-arguments>]\n"
		   "\n"
		   "Launch <application>, trace it, and write a report (an SQLite database in the\n"
		   "Nsight Systems export schema).  Options end at the application name.\n"
		   "\n"
		   "options:\n");
	for (size_t i = 0; i < N_OPTIONS; i++) {
		const struct profile_option *op = &options[i];
		char head[96];
		int n;

		if (op->short_name)
			n = snprintf(head, sizeof(head), "  -%c, --%s", op->short_name, op->name);
		else
			n = snprintf(head, sizeof(head), "      --%s", op->name);
		if (op->kind == PROFILE_OPT_BOOL)
			n += snprintf(head + n, sizeof(head) - (size_t)n, "[=true|false]");
		else if (op->kind == PROFILE_OPT_VALUE)
			n += snprintf(head + n, sizeof(head) - (size_t)n, "=%s", op->arg);
		fputs(head, f);
		if (n >= indent - 1) {
			fprintf(f, "\n%*s", indent, "");
			n = indent;
		} else {
			fprintf(f, "%*s", indent - n, "");
			n = indent;
		}
		print_wrapped(f, op->help, n, indent, 80);
	}
	fprintf(f, "\n"
		   "Boolean options also take nsys's forms --stats true and -f true.  The exit\n"
		   "status is the application's (128+N when signal N killed it); 126 and 127 when\n"
		   "it cannot be run.  See 'man gprof-cli-profile'.\n");
}

/* Find the row for a getopt return value. */
static const struct profile_option *row_for(int c)
{
	if (c >= 1000 && c < 1000 + (int)N_OPTIONS)
		return &options[c - 1000];
	for (size_t i = 0; i < N_OPTIONS; i++)
		if (options[i].short_name && options[i].short_name == c)
			return &options[i];
	return NULL;
}

int profile_options_parse(struct profile_options *o, int argc, char **argv)
{
	struct option longopts[N_OPTIONS + 1];
	char shortopts[3 * N_OPTIONS + 3];
	size_t ns = 0;
	int c;

	shortopts[ns++] = '+';
	shortopts[ns++] = ':';
	for (size_t i = 0; i < N_OPTIONS; i++) {
		const struct profile_option *op = &options[i];

		longopts[i].name = op->name;
		longopts[i].has_arg = op->kind == PROFILE_OPT_VALUE  ? required_argument
				      : op->kind == PROFILE_OPT_BOOL ? optional_argument
								     : no_argument;
		longopts[i].flag = NULL;
		longopts[i].val = op->short_name ? op->short_name : 1000 + (int)i;
		if (op->short_name) {
			shortopts[ns++] = (char)op->short_name;
			if (op->kind == PROFILE_OPT_VALUE)
				shortopts[ns++] = ':';
			else if (op->kind == PROFILE_OPT_BOOL) {
				shortopts[ns++] = ':';
				shortopts[ns++] = ':';
			}
		}
	}
	memset(&longopts[N_OPTIONS], 0, sizeof(longopts[N_OPTIONS]));
	shortopts[ns] = '\0';

	opterr = 0;
	optind = 0; /* full re-initialisation (GNU getopt) */
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		const struct profile_option *op;
		const char *value;

		if (c == '?') {
			if (optopt && row_for(optopt))
				error("option '%s' takes no value", argv[optind - 1]);
			else if (optopt && optopt < 1000)
				error("unknown option '-%c'", optopt);
			else
				error("unknown option '%s'", argv[optind - 1]);
			hint("see 'gprof-cli profile --help'");
			return -1;
		}
		if (c == ':') {
			op = row_for(optopt);
			error("option '--%s' needs a value", op ? op->name : "?");
			hint("see 'gprof-cli profile --help'");
			return -1;
		}
		op = row_for(c);
		if (!op)
			die("internal error: getopt returned %d", c);
		value = optarg;
		/* nsys's space-separated boolean form: --stats true ./app, -f false ./app */
		if (op->kind == PROFILE_OPT_BOOL && !value && optind + 1 < argc &&
		    (!strcmp(argv[optind], "true") || !strcmp(argv[optind], "false")))
			value = argv[optind++];
		if (op->apply(o, value) < 0)
			return -1;
		if (o->help) {
			profile_options_help(stdout);
			return 1;
		}
	}
	if (optind >= argc) {
		error("no application given");
		hint("usage: gprof-cli profile [<options>] <application> [<arguments>]");
		return -1;
	}
	o->app_argc = argc - optind;
	o->app_argv = argv + optind;
	return 0;
}
