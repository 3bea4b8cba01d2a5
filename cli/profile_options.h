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

/* What gprof-cli traces (bit set, struct profile_options.trace).  Each bit is turned on by
 * the rows of the trace table (profile_trace_table()) that name it and are traced.  MPI,
 * cuBLAS and cuDNN have their bits already; their rows say traced = 0 until their
 * collectors exist (then flipping the row's `traced` is the whole change here). */
enum profile_trace {
	PROFILE_TRACE_CUDA = 1u << 0,	     /* CUDA API + GPU activities (CUPTI) */
	PROFILE_TRACE_NVTX = 1u << 1,	     /* NVTX ranges and marks */
	PROFILE_TRACE_OSRT = 1u << 2,	     /* OS runtime calls (LD_PRELOAD) */
	PROFILE_TRACE_GPU_METRICS = 1u << 3, /* GPU metrics sampling (CUPTI) */
	PROFILE_TRACE_MPI = 1u << 4,	     /* MPI calls (PMPI, LD_PRELOAD) */
	PROFILE_TRACE_CUBLAS = 1u << 5,	     /* cuBLAS API calls (reserved: row traced = 0) */
	PROFILE_TRACE_CUDNN = 1u << 6,	     /* cuDNN API calls (reserved: row traced = 0) */
};

/*
 * One -t/--trace value that nsys knows (nsys-cli.md section 1.2), or gprof-cli's own
 * gpu-metrics.  A traced row turns on `bit`; a row with traced = 0 is accepted, named in
 * one warning line ("--trace values not traced by gprof-cli: ... (ignored)") and turns
 * on nothing but `implies`.  Words that are in no row are an error.
 *
 * The last four fields make `profile` say what was not seen (issue 10, section 4): when
 * the session decoded no event record (wire.h gp_rec_is_state() false) of record type
 * block `block` (type >> 8: 3 = cuda, 4 = gpu-metrics), the end of the run prints
 * "warning: no <what> collected (-t <name>)" and a hint: hint_unused when not even a
 * state record of the block came (the collector never started, e.g. the application
 * never initialised CUDA), else hint_idle.  block 0: not checked.
 */
struct profile_trace_value {
	const char *name;	 /* as nsys spells it, e.g. "cublas-verbose" */
	unsigned bit;		 /* enum profile_trace bit it turns on when traced; 0 = none */
	int traced;		 /* 1: gprof-cli traces it; 0: accepted and ignored */
	unsigned implies;	 /* bits turned on as well, traced or not (nsys: openacc and the
				  * cuXXX libraries also turn on cuda) */
	unsigned block;		 /* wire record type block checked at the end; 0 = none */
	const char *what;	 /* what the records are called, e.g. "CUDA events" */
	const char *hint_unused; /* hint when no record of the block came at all */
	const char *hint_idle;	 /* hint when only state records came (no event) */
};

/* The trace table, `*n` rows: the canonical row of each bit comes first (its name is
 * the one profile_trace_text() writes); aliases and verbose variants follow it. */
const struct profile_trace_value *profile_trace_table(size_t *n);

/* The row of trace value `name` (`len` bytes, need not be NUL-terminated); NULL when
 * the word is not a known value ("none" is not a row). */
const struct profile_trace_value *profile_trace_find(const char *name, size_t len);

#define PROFILE_DEFAULT_TRACE	      (PROFILE_TRACE_CUDA | PROFILE_TRACE_NVTX | PROFILE_TRACE_OSRT)
#define PROFILE_DEFAULT_TRACE_TEXT    "cuda,nvtx,osrt"
#define PROFILE_DEFAULT_OSRT_THRESH   1000 /* ns, as nsys --osrt-threshold */
#define PROFILE_DEFAULT_HOSTMEM_THR   4096 /* bytes, --host-memory-threshold (ours) */
#define PROFILE_DEFAULT_CUDA_FLUSH_MS 200  /* ms; nsys: 0 (buffers full), see man page */
/* --sampling-period range, ns of CPU time (nsys's range of the option) */
#define PROFILE_SAMPLING_PERIOD_MIN 125000u
#define PROFILE_SAMPLING_PERIOD_MAX 16000000u
#define PROFILE_DEFAULT_KILL	    15 /* --kill default: SIGTERM (nsys) */

/* --cudabacktrace's classes (nsys's values), in this order: kernel, memory, sync, other. */
#define PROFILE_CUDABT_CLASSES	  4
#define PROFILE_CUDABT_OFF	  UINT64_MAX
#define PROFILE_CUDABT_DEFAULT_NS 1000 /* nsys 2025's threshold when none is given */

/* The parsed command line.  Strings are borrowed from argv unless noted. */
struct profile_options {
	unsigned trace;		       /* enum profile_trace bits; 0 = "none" */
	uint64_t trace_ignored;	       /* rows of the trace table given to -t but not traced
					* (bit i = row i); warned about once by the parser */
	const char *output;	       /* -o as given; NULL = report<N> (smallest free N) */
	int force_overwrite;	       /* -f */
	char **env;		       /* -e "NAME=VALUE" strings, owned (xstrdup'd) */
	size_t n_env;		       /* entries in env */
	uint64_t osrt_threshold_ns;    /* --osrt-threshold, ns */
	uint64_t osrt_bt_threshold_ns; /* --osrt-backtrace-threshold, ns; 0: none */
	uint64_t cudabt_ns[PROFILE_CUDABT_CLASSES]; /* --cudabacktrace: each class's threshold,
						     * ns; PROFILE_CUDABT_OFF: off (default) */
	/* CPU sampling (issue 15; core/sampler.h, man gprof-cli-profile) */
	int sample;			 /* -s/--sample: 1 process-tree (default), 0 none */
	int cpuctxsw;			 /* --cpuctxsw: 1 process-tree (default), 0 none */
	int backtrace;			 /* -b/--backtrace: enum sampler_backtrace (auto: dwarf) */
	uint64_t sampling_period_ns;	 /* --sampling-period / 1e9 / --sampling-frequency, ns */
	int python_sampling;		 /* --python-sampling: Python frames in the samples */
	int python_backtrace;		 /* --python-backtrace=cuda: Python frames in the CUDA
					  * backtraces (--cudabacktrace's) */
	int stats;			 /* --stats */
	int show_output;		 /* -w (default 1) */
	int trace_fork_before_exec;	 /* --trace-fork-before-exec: trace fork()ed children
					  * before they exec (nsys; default 0) */
	int cuda_memory_usage;		 /* --cuda-memory-usage */
	int host_memory_usage;		 /* --host-memory-usage (ours; nsys has none) */
	uint64_t host_memory_threshold;	 /* --host-memory-threshold, bytes (default 4096) */
	int cuda_graph_node;		 /* --cuda-graph-trace: 0 = graph, 1 = node */
	int cuda_trace_all_apis;	 /* --cuda-trace-all-apis */
	const char *mpi_impl;		 /* --mpi-impl: "openmpi", "mpich" or NULL (detect) */
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
 * needs --duration.  When it succeeds and -t named values that are known but not traced
 * (o->trace_ignored), one warning line names them. */
int profile_options_parse(struct profile_options *o, int argc, char **argv);

/* Free what profile_options_parse allocated (the env list). */
void profile_options_release(struct profile_options *o);

/* Print the --help text of `gprof-cli profile` to f. */
void profile_options_help(FILE *f);
/* Print the option rows of that text (one per table row, wrapped at 80 columns) for
 * which keep(row) is non-zero (keep NULL: every row); `gprof-cli launch` prints the
 * profile options it takes this way. */
void profile_options_help_rows(FILE *f, int (*keep)(const struct profile_option *op));
/* The row of short option c (e.g. 't'); NULL when no row has it. */
const struct profile_option *profile_option_short(int c);

/* The trace set as the canonical comma list ("nvtx,osrt", or "none"); static string. */
const char *profile_trace_text(unsigned trace);

/*
 * --cudabacktrace=<list> as nsys reads it: a comma list of all, kernel, memory, sync and
 * other, each with an optional ":<ns>" threshold (default PROFILE_CUDABT_DEFAULT_NS), or
 * none alone; a later item wins for its classes.  Fills ns[PROFILE_CUDABT_CLASSES] (a class
 * not named: PROFILE_CUDABT_OFF).  Returns 0, or -1 with one error line in *err and its
 * hint in *hint (neither written on success).
 */
struct strbuf;
int profile_parse_cudabacktrace(const char *value, uint64_t *ns, struct strbuf *err,
				struct strbuf *hint);

/* --cudabacktrace's effective value, spelled back in nsys's words: "none", or the classes
 * that are on with their thresholds ("kernel:1000,memory:1000"; "all:<ns>" when the four
 * share one).  rec != 0: the collector's form instead, "K,M,S,O" with each class's
 * threshold or "-" (collectors/cuda.c).  Returns a new string (caller frees). */
char *profile_cudabacktrace_text(const uint64_t *ns, int rec);

/* The values of -t that are known but not traced (o->trace_ignored), in table order,
 * joined with `sep` (e.g. "opengl, vulkan"); "" when none.  Caller frees. */
char *profile_trace_ignored_text(const struct profile_options *o, const char *sep);

/* Parse a boolean value as nsys does: "true" or "false" (NULL means true).  Returns 0/1,
 * or -1 after printing an error naming `--name`. */
int profile_parse_bool(const char *name, const char *value);

/* Longest --duration / --delay (ns, about 146 years): session start + delay + duration
 * stays far from uint64 overflow. */
#define PROFILE_SECONDS_NS_MAX (1ull << 62)

/* Parse seconds as --duration takes them ("30", "0.5", ".25"; at most 9 decimals
 * count) into ns.  Returns 0, or -1 when s is not such a number or exceeds
 * PROFILE_SECONDS_NS_MAX. */
int profile_parse_seconds(const char *s, uint64_t *ns);

/* Parse a --kill value: none (0), sigterm, sigkill, or a signal number 1..SIGRTMAX.
 * Returns 0 and sets *sig, or -1. */
int profile_parse_kill(const char *s, int *sig);

#endif
