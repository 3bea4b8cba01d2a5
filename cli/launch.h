/*
 * launch.h - start the application for `gprof-cli profile` (perf/uftrace model:
 * peers-and-style.md, "Ten habits" #7).
 *
 *   launch_resolve()  find the executable as execvp would (PATH search), before anything
 *                     is created, so "not found" / "not executable" leave no report;
 *   launch_signals_begin()  block SIGINT/SIGTERM/SIGHUP/SIGQUIT and install forwarding
 *                     handlers; call before starting threads so they inherit the block;
 *   launch_fork()     fork; the child waits on the cork (a SOCK_CLOEXEC socket pair) with
 *                     default signal dispositions and the original mask;
 *   launch_go()       uncork: the child execve()s; an exec failure comes back as errno
 *                     over the same socket pair (a successful exec closes it);
 *   launch_wait()     wait for the application, forwarding the signals above to it
 *                     (except those the terminal already sent to the whole process group),
 *                     and reap it with wait4.
 *
 * The child shares gprof-cli's process group, so terminal signals (Ctrl-C) reach it
 * directly; signals sent to gprof-cli alone (kill PID) are forwarded by pid.
 */
#ifndef GPROF_LAUNCH_H
#define GPROF_LAUNCH_H

#include <sys/resource.h>
#include <sys/types.h>

/* What to run.  Everything is prepared before fork: the child only calls
 * async-signal-safe functions (the recorder's threads are running). */
struct launch_spec {
	const char *path;  /* executable, as resolved by launch_resolve() */
	char *const *argv; /* argv[0..], NULL-terminated */
	char *const *envp; /* complete environment, NULL-terminated */
	int quiet;	   /* non-zero: stdout and stderr to /dev/null (-w false) */
};

/* A launched (or corked) application. */
struct launch {
	pid_t pid;	/* the child's pid (> 0 after launch_fork) */
	int cork_fd;	/* parent's end of the cork socket pair, -1 once used */
	int devnull_fd; /* /dev/null for quiet, -1 when unused */
	char **sh_argv; /* "/bin/sh path args..." for ENOEXEC scripts (as execvp) */
};

/* Resolve `name` as execvp does: a name with '/' is used as is, otherwise $PATH is
 * searched (default "/bin:/usr/bin").  On success sets *path (caller frees) and
 * returns 0.  Otherwise prints one error line and a hint and returns GP_EXIT_NOTFOUND
 * (127: no such file / command not found) or GP_EXIT_NOEXEC (126: found but not
 * executable, or a directory). */
int launch_resolve(const char *name, char **path);

/* Block the forwarded signals and install their handlers (see above). */
void launch_signals_begin(void);
/* Restore the original handlers and signal mask. */
void launch_signals_end(void);

/* Fork the corked child.  Returns 0, or -1 after printing an error (fork failed). */
int launch_fork(struct launch *l, const struct launch_spec *s);

/* Uncork the child and wait for its exec.  Returns 0 when the exec succeeded (the
 * application now runs and signals are forwarded to it); otherwise the child has been
 * reaped and the exec's errno (> 0) is returned. */
int launch_go(struct launch *l);

/* Close the cork without starting the application and reap the child. */
void launch_cancel(struct launch *l);

/* Wait for the application to exit, forwarding signals meanwhile.  Fills *status
 * (exit code, or 128+N when killed by signal N), *signaled and *ru (may be NULL).
 * Returns 0, or -1 when wait4 failed (error printed). */
int launch_wait(struct launch *l, int *status, int *signaled, struct rusage *ru);

#endif
