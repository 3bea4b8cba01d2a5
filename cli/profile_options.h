/*
 * profile_options.h - the options of `gprof-cli profile`: one table that drives the
 * getopt_long parser, the --help text and (later) YAML config keys.
 *
 * Names and meanings follow `nsys profile` (../shared/reference/nsys-cli.md section 1.2).
 * Boolean switches take nsys's forms: `--stats`, `--stats=true|false`,
 * `--stats true|false` and `-f true|false` (the separate-word value is taken only when
 * another word, the application, follows it).  Parsing stops at the first non-option:
 * everything from the application name on belongs to the application.
 */
#ifndef GPROF_PROFILE_OPTIONS_H
#define GPROF_PROFILE_OPTIONS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/capture.h"
#include "core/config.h"

/* -t/--trace values (bit set). */
enum profile_trace {
	PROFILE_TRACE_CUDA = 1u << 0,	     /* CUDA API + GPU activities (CUPTI) */
	PROFILE_TRACE_NVTX = 1u << 1,	     /* NVTX ranges and marks */
	PROFILE_TRACE_OSRT = 1u << 2,	     /* OS runtime calls (LD_PRELOAD) */
	PROFILE_TRACE_GPU_METRICS = 1u << 3, /* GPU metrics sampling (CUPTI) */
};

#define PROFILE_DEFAULT_TRACE	      (PROFILE_TRACE_CUDA | PROFILE_TRACE_NVTX | PROFILE_TRACE_OSRT)
#define PROFILE_DEFAULT_TRACE_TEXT    "cuda,nvtx,osrt"
#define PROFILE_DEFAULT_OSRT_THRESH   1000 /* ns, as nsys --osrt-threshold */
#define PROFILE_DEFAULT_CUDA_FLUSH_MS 200  /* ms; nsys: 0 (buffers full), see man page */
#define PROFILE_DEFAULT_KILL	      15   /* --kill default: SIGTERM (nsys) */

/* The parsed command line.  Strings are borrowed from argv unless noted. */
struct profile_options {
	unsigned trace;			 /* enum profile_trace bits; 0 = "none" */
	const char *output;		 /* -o as given; NULL = report<N> (smallest free N) */
	int force_overwrite;		 /* -f */
	char **env;			 /* -e "NAME=VALUE" strings, owned (xstrdup'd) */
	size_t n_env;			 /* entries in env */
	uint64_t osrt_threshold_ns;	 /* --osrt-threshold, ns */
	int stats;			 /* --stats */
	int show_output;		 /* -w (default 1) */
	int trace_fork_before_exec;	 /* --trace-fork-before-exec: trace fork()ed children
					  * before they exec (nsys; default 0) */
	int cuda_memory_usage;		 /* --cuda-memory-usage */
	int cuda_graph_node;		 /* --cuda-graph-trace: 0 = graph, 1 = node */
	int cuda_trace_all_apis;	 /* --cuda-trace-all-apis */
	unsigned cuda_flush_interval_ms; /* --cuda-flush-interval, ms; 0 = only when a CUPTI
					  * buffer fills and at exit (nsys's default) */
	/* GPU metrics (issue 5; man gprof-cli-profile).  --gpu-metrics-devices other than
	 * none also turns on -t gpu-metrics; with -t gpu-metrics and no devices given,
	 * the devices are cuda-visible. */
	const char *gpu_metrics_devices; /* all|none|cuda-visible|ID,... as given; NULL */
	unsigned gpu_metrics_frequency;	 /* sampling rate in Hz, 10..200000 (10000) */
	const char *gpu_metrics_set;	 /* NAME or file:PATH; NULL = "default" */
	int gpu_metrics_mode;		 /* GP_METRICS_MODE_SAMPLE (default) or _RANGE */
	int gpu_metrics_ranges_nvtx;	 /* --gpu-metrics-ranges=nvtx (range mode) */
	int help;			 /* -h given: the help text was printed */
	/* Session length (nsys-cli.md section 1.2). */
	uint64_t duration_ns; /* -d/--duration in ns; 0 = no limit */
	int kill_signal;      /* --kill: signal sent to the app's process group when the
			       * session ends before the app (duration); 0 = none */
	int stop_on_exit;     /* -x/--stop-on-exit (default 1); 0 requires a duration */
	int wait_all;	      /* --wait: 1 = all (default), 0 = primary */
	/* Capture ranges (nsys-cli.md section 1.2; core/capture.h): -c/--capture-range
	 * (mode), --capture-range-end (end, max_ranges), -p/--nvtx-capture (nvtx) and
	 * -y/--delay (delay_ns, ns after the launch).  All zero = mode none, end
	 * stop-shutdown, no delay.  profile_options_parse() refuses -c nvtx without -p
	 * and -p without -c nvtx (usage errors, as nsys). */
	struct capture_settings capture;
	int nvtx_capture_given;	       /* -p was given */
	const char *nvtx_capture_text; /* -p as given (borrowed), or NULL */
	/* Config file (core/config.h). */
	const char *config_path; /* --config as given (borrowed), or NULL */
	int print_config;	 /* --print-config: no application needed */
	/* When non-NULL, every option applied by profile_options_parse() is recorded here
	 * with config_set() (values normalised: booleans "true"/"false", one entry per
	 * env-var assignment), so that it holds the effective configuration. */
	struct config *record;
	int app_argc;	 /* words of the application command line */
	char **app_argv; /* borrowed from argv; NULL-terminated */
};

/* How an option takes its value. */
enum profile_option_kind {
	PROFILE_OPT_BOOL,  /* true|false, the value may be omitted (= true) */
	PROFILE_OPT_VALUE, /* a required value */
	PROFILE_OPT_FLAG,  /* no value (--help) */
};

/* One row of the option table. */
struct profile_option {
	const char *name;	       /* long name without "--", e.g. "trace" (nsys's) */
	int short_name;		       /* e.g. 't', or 0 */
	enum profile_option_kind kind; /* how the value is given */
	const char *arg;	       /* value placeholder in --help, e.g. "<list>" */
	const char *help;	       /* one-line description for --help */
	/* Apply `value` (NULL for a bare boolean or flag) to o.  Returns 0, or -1 after
	 * printing one error line and a hint (invalid value). */
	int (*apply)(struct profile_options *o, const char *value);
	/* Config-file support (core/config.h): the value validator, its data, and the
	 * default shown by --print-config (NULL: none).  Rows without a config key
	 * (help, config, print-config) have no_config set. */
	config_validate_fn *validate;
	const void *data;
	const char *default_value;
	int no_config;
};

/* The option table, `*n` rows, in --help order. */
const struct profile_option *profile_option_table(size_t *n);

/* The YAML config schema built from the option table: one config_option per row
 * except help/config/print-config, in table order (CONFIG_BOOL for booleans,
 * CONFIG_LIST for trace, CONFIG_ENV for env-var, CONFIG_STRING otherwise).  Static;
 * never freed. */
const struct config_schema *profile_config_schema(void);

/* Find `--config FILE` / `--config=FILE` in argv[1..] before the application name
 * (the last one wins).  Returns the file name (borrowed from argv) or NULL. */
const char *profile_options_find_config(int argc, char **argv);

/* Look an option up by long name; NULL when unknown. */
const struct profile_option *profile_option_find(const char *name);

/* Set every field to its default (nsys's defaults, trace = cuda,nvtx,osrt). */
void profile_options_init(struct profile_options *o);

/* Parse argv (argv[0] = "profile").  Returns 0 when the options are valid and an
 * application was given (or --print-config was, which needs none: then app_argc may
 * be 0); 1 when --help was printed (exit 0); -1 after printing one error line and a
 * hint (exit GP_EXIT_USAGE).  Also checks the options together: --stop-on-exit=false
 * needs --duration. */
int profile_options_parse(struct profile_options *o, int argc, char **argv);

/* Free what profile_options_parse allocated (the env list). */
void profile_options_release(struct profile_options *o);

/* Print the --help text of `gprof-cli profile` to f. */
void profile_options_help(FILE *f);

/* The trace set as the canonical comma list ("nvtx,osrt", or "none"); static string. */
const char *profile_trace_text(unsigned trace);

/* Parse a boolean value as nsys does: "true" or "false" (NULL means true).  Returns 0/1,
 * or -1 after printing an error naming `--name`. */
int profile_parse_bool(const char *name, const char *value);

/* Parse seconds as --duration takes them ("30", "0.5", ".25"; at most 9 decimals
 * count) into ns.  Returns 0, or -1 when s is not such a number or overflows. */
int profile_parse_seconds(const char *s, uint64_t *ns);

/* Parse a --kill value: none (0), sigterm, sigkill, or a signal number 1..SIGRTMAX.
 * Returns 0 and sets *sig, or -1. */
int profile_parse_kill(const char *s, int *sig);

#endif
