/*
 * outname.h - expansion of `profile -o/--output` names, as nsys does (nsys-cli.md §1.2):
 *
 *     %q{VAR}  value of VAR in the environment the target will run with (error when unset)
 *     %h       host name (gethostname)
 *     %p       pid of the launched process (the root of the process tree)
 *     %n       the smallest number >= 1 for which the resulting file does not exist
 *              (documented by nsys for `recipe --output`; here also for -o)
 *     %%       a literal '%'
 *
 * Any other '%' is an error: "%x" unknown, "%q" without "{", "%q{" without "}", "%q{}" and a
 * trailing lone '%'.  The report suffix (OUTNAME_SUFFIX, ".db") is appended when the expanded
 * name ends with neither ".db" nor ".sqlite" (nsys's export suffix; the file is SQLite either
 * way); %n tests the name with its suffix.  The default name is
 * OUTNAME_DEFAULT ("report%n": report1.db, report2.db, ... never overwriting).
 *
 * %p and fork: the launched process's pid is known only after fork().  Expand in two steps:
 *
 *     struct outname_ctx ctx = {.envp = target_envp};      // pid 0: not known yet
 *     int r = outname_expand(pattern, &ctx, &name, &err);   // before fork: catches every error
 *     if (r < 0) { error("%s", err.buf); ... exit GP_EXIT_USAGE }
 *     pid = fork() ...
 *     if (r & OUTNAME_PID_PENDING) {                        // name still holds "%p" (and %n)
 *             ctx.pid = pid;
 *             outname_expand(name.buf, &ctx, &final, &err); // cannot fail for a pattern the
 *     }                                                     // first step produced
 *
 * With pid 0 the result is itself a pattern: %q{} and %h are replaced (their values' '%' written
 * as "%%"), "%%" stays "%%", and "%p" and "%n" stay as they are (%n because the free number
 * depends on the pid).  Without %p in the pattern the first step's result is final.
 */
#ifndef GPROF_OUTNAME_H
#define GPROF_OUTNAME_H

#include <sys/types.h>

#include "core/util.h"

#define OUTNAME_DEFAULT	   "report%n" /* -o default */
#define OUTNAME_SUFFIX	   ".db"      /* report file suffix, appended when missing */
#define OUTNAME_ALT_SUFFIX ".sqlite"  /* also accepted as a report suffix (default suffix only) */

/* What the expansion may use.  All fields are optional (zero = default). */
struct outname_ctx {
	char *const *envp;    /* target's environment ("NAME=VALUE", NULL-terminated) for
			       * %q{}; NULL: this process's environment (getenv) */
	const char *hostname; /* %h; NULL: gethostname() */
	pid_t pid;	      /* %p; 0: not known yet (see OUTNAME_PID_PENDING above) */
	const char *suffix;   /* appended when missing and used by %n; NULL: OUTNAME_SUFFIX
			       * (or OUTNAME_ALT_SUFFIX kept), "": none */
	struct strbuf *hint;  /* optional: receives a one-line fix when an error is returned */
};

/* Returned bit: the result still holds %p (and maybe %n); expand again once the pid is known. */
#define OUTNAME_PID_PENDING 1

/*
 * Expand `pattern` into `out` (appended to; the suffix added as described above).  Returns 0
 * (or OUTNAME_PID_PENDING) on success; -1 on error, with one line in `err` that names the
 * pattern and where (1-based character position) or the missing variable, e.g.
 *   "cannot expand output name 'r.%q{RANK}': environment variable 'RANK' is not set"
 *   "bad output name 'r%x': unknown substitution '%x' at character 2"
 * and, when ctx->hint is set, the fix in *ctx->hint.  `out` may hold a partial result then.
 * Files are only tested for existence (lstat), never created: two processes expanding the same
 * %n pattern at once may pick the same number (use %q{rank} or %p for parallel runs).
 */
int outname_expand(const char *pattern, const struct outname_ctx *ctx, struct strbuf *out,
		   struct strbuf *err);

#endif
