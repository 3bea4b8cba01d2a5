/*
 * config.h - YAML configuration files for `gprof-cli profile` (--config FILE, $GPROF_CLI_CONFIG)
 * and `profile --print-config`.
 *
 * A config file is one YAML mapping whose keys are `profile`'s long option names, spelled as
 * nsys spells them (nsys-cli.md §1.2), and whose values are what `--name=value` would carry:
 *
 *     trace: [cuda, nvtx]          # or: trace: cuda,nvtx
 *     output: r.%q{OMPI_COMM_WORLD_RANK}
 *     force-overwrite: true
 *     osrt-threshold: 1000
 *     env-var: {OMP_NUM_THREADS: 4}  # or a list [A=B, C=D], or the scalar "A=B,C=D"
 *     capture-range: cudaProfilerApi
 *     capture-range-end: repeat:3
 *
 * The caller (cli/cmd_profile.c) owns the table of options (struct config_schema).  config_load()
 * parses the file with libyaml, checks every key against the table, every value's YAML shape
 * against the option's type and every value against the option's validator, and yields an
 * ordered list of entries (option, value string, file:line:column).  The caller applies the
 * entries as if they had been given as `--name=value` BEFORE the command-line options, so the
 * command line wins (nsys's --command-file rule: "switches on the command line win").
 *
 * Value rules (decided here, documented in man/gprof-cli-profile.1):
 *   - Scalars are taken as written (libyaml does no type resolution): `osrt-threshold: 1000`
 *     gives "1000", `delay: 2.5` gives "2.5".  Quoting is allowed everywhere.
 *   - A plain empty, `~` or `null` value is "no value" and is an error ("'x' needs a value").
 *   - Booleans (CONFIG_BOOL) accept nsys's true/false in any letter case, nothing else: YAML 1.1
 *     words (yes/no/on/off/y/n) are rejected with a hint, because YAML 1.1 and 1.2 disagree about
 *     them and nsys's command line only takes true/false.  Values are normalised to "true"/"false".
 *   - Lists (CONFIG_LIST) take a flow or block sequence of scalars or one comma-separated scalar;
 *     the value is the items joined with ',' (what `--trace=cuda,nvtx` carries).
 *   - Environment (CONFIG_ENV) takes a mapping NAME: VALUE, a sequence of "NAME=VALUE" scalars,
 *     or one scalar "A=B,C=D" split by config_env_split(); it yields ONE entry per variable
 *     whose value is "NAME=VALUE" (so values may contain ',').
 *   - Keys may appear once; YAML anchors/aliases work; exactly one YAML document per file.
 *
 * Errors: every error is one line "FILE:LINE:COLUMN: <what>" (1-based line and column of the
 * offending key or value, libyaml's marks: the column counts characters, not bytes; a value
 * reached through an alias reports its anchor's position) printed with error() and followed by
 * a hint() line when there is a fix; libyaml syntax errors print libyaml's problem text at its
 * mark (and its context, e.g. "(while parsing a flow sequence at 1:8)").
 *
 * Ownership: struct config owns its entries and their strings; release with config_release().
 * Not thread-safe; used by the gprof-cli binary only.
 */
#ifndef GPROF_CONFIG_H
#define GPROF_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#include "core/util.h"

/* The YAML shapes an option's value may take, and how they become the value string. */
enum config_type {
	CONFIG_STRING, /* one scalar, taken as written: output, osrt-threshold, capture-range */
	CONFIG_BOOL,   /* true/false (any case), normalised to "true"/"false"; on the command line
			* the bare switch (--force-overwrite) means "true" */
	CONFIG_LIST,   /* scalar "a,b" or sequence [a, b] -> "a,b": trace */
	CONFIG_ENV,    /* mapping {A: B} / sequence [A=B] / scalar "A=B,C=D" -> one entry per
			* variable, value "A=B"; repeatable, later values of one NAME win */
};

struct config_option;

/*
 * Validator for one option value.  `value` is exactly what `--<opt->name>=<value>` would carry
 * (for CONFIG_LIST it is called once per item and once more with the joined list; for CONFIG_ENV
 * once per "NAME=VALUE").  Returns 0 when valid; otherwise returns -1 after writing one
 * lower-case line without location or trailing period into `err` (e.g. "invalid value 'x' for
 * 'capture-range'") and, when there is a fix, one line into `hint` (e.g. "valid values: none,
 * cudaProfilerApi, nvtx").  The same validators serve the command-line parser, which prints
 * err with error() and hint with hint().  Must not print, exit or keep pointers to `value`.
 */
typedef int config_validate_fn(const struct config_option *opt, const char *value,
			       struct strbuf *err, struct strbuf *hint);

/* One row of the caller's option table. */
struct config_option {
	const char *name;	      /* long option name as nsys spells it ("trace") */
	int short_name;		      /* the short switch ('t') or 0; used in hints only */
	enum config_type type;	      /* accepted YAML shapes, see enum config_type */
	config_validate_fn *validate; /* NULL: any value of the right shape */
	const void *data;	      /* for the validator (config_validate_enum's value list) */
	const char *default_value;    /* shown by config_fill_defaults(); NULL: none */
};

/* The caller's option table: `n` rows (keys not in it are errors). */
struct config_schema {
	const struct config_option *options;
	size_t n;
};

/* One option setting, in the order given. */
struct config_entry {
	const struct config_option *opt; /* the schema row (never NULL; points into the schema) */
	char *value;			 /* owned; what --<opt->name>=<value> carries */
	char *file;	       /* owned; the file it came from, NULL: command line/default */
	unsigned line, column; /* 1-based position of the value in `file`; 0 otherwise */
};

/* An ordered list of entries plus the last error. */
struct config {
	struct config_entry *entries; /* owned array of `n` entries */
	size_t n, alloc;
	int quiet;	    /* set to 1 to keep config_load() from printing (tests) */
	struct strbuf err;  /* last error line, with its FILE:LINE:COLUMN: prefix */
	struct strbuf hint; /* the fix for the last error, or empty */
};

#define CONFIG_INIT                                                                                \
	{                                                                                          \
		NULL, 0, 0, 0, STRBUF_INIT, STRBUF_INIT                                            \
	}

/* Name of the environment variable holding the default config path. */
#define CONFIG_ENV_VAR "GPROF_CLI_CONFIG"

/* Initialise an empty config (no entries, no file); release with config_release(). */
void config_init(struct config *cfg);
/* Free every entry and the error strings; cfg is empty (and reusable) afterwards. */
void config_release(struct config *cfg);

/*
 * Parse the YAML file `path` and append its settings to `out` (normally empty, from
 * config_init), in file order.  Returns 0 on success (an empty file or a file holding only
 * comments or `~` gives no entries), -1 on error: the file cannot be read, a YAML syntax error,
 * top level not a mapping, a non-scalar or unknown key (hint: the closest valid key), a
 * duplicate key, a value of the wrong shape, a missing value, or a value the option's validator
 * rejects.  On error out->err / out->hint hold the message (also printed with error()/hint()
 * unless out->quiet) and the entries appended so far by this call are removed.
 */
int config_load(const char *path, const struct config_schema *schema, struct config *out);

/*
 * Default config path: $GPROF_CLI_CONFIG when set and non-empty, else NULL.  The caller uses
 * it only when no --config was given (an explicit --config wins over the variable).
 */
const char *config_default_path(void);

/* The schema row named `name` (long name), or NULL. */
const struct config_option *config_find_option(const struct config_schema *schema,
					       const char *name);

/* The last entry of option `name`, or NULL (for CONFIG_ENV: the last of any variable). */
const struct config_entry *config_find(const struct config *cfg, const char *name);

/*
 * Record a setting the way a later switch overrides an earlier one: for CONFIG_ENV the entry of
 * the same variable NAME is replaced (others kept); for every other type the option's existing
 * entry is replaced in place (its position kept); otherwise the entry is appended.  `value` and
 * `file` are copied; file NULL/line 0 mean "command line".  Use it for each command-line switch
 * after the config's entries are in `cfg`: `cfg` is then the effective configuration.
 */
void config_set(struct config *cfg, const struct config_option *opt, const char *value,
		const char *file, unsigned line, unsigned column);

/*
 * Append an entry holding opt->default_value for every schema option that has a default and no
 * entry yet (so --print-config shows what will be used).  Appended in schema order.
 */
void config_fill_defaults(struct config *cfg, const struct config_schema *schema);

/*
 * Build the argument vector to hand to getopt_long: argv[0], then "--name=value" for every
 * entry of cfg (config first, so command-line switches parsed later win), then argv[1..argc).
 * Returns a new NULL-terminated array (*new_argc elements before the NULL); the caller frees it
 * with config_free_argv(array, cfg->n) (the original argv strings are not copied).
 */
char **config_argv(const struct config *cfg, int argc, char **argv, int *new_argc);
void config_free_argv(char **argv, size_t n_entries);

/*
 * Emit `n` entries as a YAML document (libyaml's emitter) on `f`: one key per option in entry
 * order, CONFIG_BOOL as true/false, CONFIG_LIST as a flow sequence, all CONFIG_ENV entries of one
 * option gathered into one block mapping at the first one's place.  Loading the output with the
 * same schema gives the same (option, value) list (the round trip is tested).  Returns 0, or -1
 * after error() when the emitter fails (e.g. write error).
 */
int config_print(FILE *f, const struct config_entry *entries, size_t n);

/*
 * Split an --env-var value "A=B,C=D" into "A=B" and "C=D".  A ',' ends an item only when what
 * follows it starts with a variable name and '=' ([A-Za-z_][A-Za-z0-9_]*=), so "A=x,y,B=z" gives
 * "A=x,y" and "B=z".  On success returns 0 and stores a new array of `*n` new strings in *items
 * (free each, then the array).  Returns -1 with a line in `err` when an item is not NAME=VALUE
 * or the name is not a valid variable name (*items NULL, *n 0).
 */
int config_env_split(const char *list, char ***items, size_t *n, struct strbuf *err);

/* --- stock validators (signature config_validate_fn) ------------------------------------ */

/* value must be one of opt->data, a NULL-terminated `const char *const[]` (exact case).
 * err: "invalid value 'x' for 'name'", hint: "valid values: a, b, c". */
int config_validate_enum(const struct config_option *opt, const char *value, struct strbuf *err,
			 struct strbuf *hint);
/* Every comma-separated item of value must be one of opt->data (as above); empty items are
 * errors.  Use with CONFIG_LIST (e.g. trace). */
int config_validate_enum_list(const struct config_option *opt, const char *value,
			      struct strbuf *err, struct strbuf *hint);
/* value must be a base-10 integer >= 0 (gp_parse_u64), e.g. osrt-threshold (ns), delay (s). */
int config_validate_uint(const struct config_option *opt, const char *value, struct strbuf *err,
			 struct strbuf *hint);
/* value must be a base-10 integer > 0, e.g. duration (s). */
int config_validate_positive(const struct config_option *opt, const char *value, struct strbuf *err,
			     struct strbuf *hint);
/* value must be a boolean word: true/false in any case (what CONFIG_BOOL accepts). */
int config_validate_bool(const struct config_option *opt, const char *value, struct strbuf *err,
			 struct strbuf *hint);

/* 1 if s is true/false in any case, storing 1/0 in *b; 0 otherwise. */
int config_parse_bool(const char *s, int *b);

#endif
