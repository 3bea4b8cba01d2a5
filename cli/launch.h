/*
 * launch.h - start the application for `gprof-cli profile` (perf/uftrace model:
 * peers-and-style.md, "Ten habits" #7).
 *
 *   launch_resolve()  find the executable as execvp would (PATH search), before anything
 *                     is created, so "not found" / "not executable" leave no report;
 *   launch_signals_begin()  block SIGINT/SIGTERM/SIGHUP/SIGQUIT and install forwarding
 *                     handlers; call before starting threads so they inherit the block;
 *   launch_fork()     fork, before the recorder's threads exist; the child waits on the
 *                     cork (a SOCK_CLOEXEC socket pair) with default signal dispositions
 *                     and the original mask.  Forking first makes the pid known for -o %p;
 *   launch_go()       uncork, sending the channel path: the child puts it in its
 *                     environment and execve()s; an exec failure comes back as errno over
 *                     the same socket pair (a successful exec closes it);
 *   launch_wait()     wait for the application, forwarding the signals above to it
 *                     (except those the terminal already sent to the whole process group),
 *                     and reap it with wait4.
 *
 * By default the child shares gprof-cli's process group, so terminal signals (Ctrl-C)
 * reach it directly; signals sent to gprof-cli alone (kill PID) are forwarded by pid.
 *
 * With spec->new_pgrp (profile --duration, or --capture-range-end=stop-shutdown /
 * repeat-shutdown:N, with a --kill signal: the session may end before the application,
 * and nsys then signals the application's process group) the
 * child leads a process group of its own, so launch_kill() reaches its children without
 * touching gprof-cli or the shell's other jobs.  When gprof-cli is the terminal's
 * foreground group, the child's group is made the foreground group just before exec (so
 * Ctrl-C and terminal input go to the application, as without it) and gprof-cli takes
 * the terminal back when the application exits.  Every forwarded signal then goes to the
 * whole group.
 *
 *   launch_wait_until()  launch_wait() with a deadline (pidfd + poll; session length);
 *   launch_wait_event()  the same, also ending when a file descriptor becomes readable
 *                        (the end of a capture: --capture-range-end=stop-shutdown);
 *   launch_kill()        signal the application's group (or the process alone);
 *   launch_take_signal() the last forwarded signal gprof-cli received, so that waits
 *                        after the application's exit can end on Ctrl-C / kill.
 */
#ifndef GPROF_LAUNCH_H
#define GPROF_LAUNCH_H

#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

/* What to run.  Everything is prepared before fork: the child only calls
 * async-signal-safe functions (the recorder's threads are running). */
struct launch_spec {
	const char *path;  /* executable, as resolved by launch_resolve() */
	char *const *argv; /* argv[0..], NULL-terminated */
	char *const *envp; /* complete environment, NULL-terminated */
	/* envp entry the child replaces with "<channel_var>=<path sent by launch_go>"
	 * (-1: none), and the variable's name, e.g. GP_ENV_CHANNEL */
	int channel_index;
	const char *channel_var;
	int quiet; /* non-zero: stdout and stderr to /dev/null (-w false), unless ... */
	/* ... the fds the child takes as its stdout / stderr (dup2; `profile` gives the
	 * channels of its tee, cli/streams.h); -1: inherited (or /dev/null with quiet) */
	int stdout_fd, stderr_fd;
	int new_pgrp; /* non-zero: the child leads its own process group (see above) */
};

/* A launched (or corked) application. */
struct launch {
	pid_t pid;	/* the child's pid (> 0 after launch_fork) */
	int cork_fd;	/* parent's end of the cork socket pair, -1 once used */
	int devnull_fd; /* /dev/null for quiet, -1 when unused */
	char **sh_argv; /* "/bin/sh path args..." for ENOEXEC scripts (as execvp) */
	pid_t pgid;	/* the child's process group when spec->new_pgrp, else 0 */
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

/* Uncork the child, giving it `channel` (the value for spec->channel_var; may be NULL),
 * and wait for its exec.  Returns 0 when the exec succeeded (the application now runs and
 * signals are forwarded to it); otherwise the child has been reaped and the exec's errno
 * (> 0) is returned. */
int launch_go(struct launch *l, const char *channel);

/* Close the cork without starting the application and reap the child. */
void launch_cancel(struct launch *l);

/* Wait for the application to exit, forwarding signals meanwhile.  Fills *status
 * (exit code, or 128+N when killed by signal N), *signaled and *ru (may be NULL).
 * Returns 0, or -1 when wait4 failed (error printed). */
int launch_wait(struct launch *l, int *status, int *signaled, struct rusage *ru);

/* Like launch_wait(), but give up at `deadline_ns` (CLOCK_MONOTONIC, gp_monotonic_ns();
 * 0 = no deadline).  Returns 0 when the application exited and was reaped (*status etc.
 * filled), 1 when the deadline passed first (still running, signals still forwarded),
 * -1 when waiting failed (error printed). */
int launch_wait_until(struct launch *l, uint64_t deadline_ns, int *status, int *signaled,
		      struct rusage *ru);

/* Like launch_wait_until(), but also return 2 as soon as `event_fd` (-1: none) becomes
 * readable while the application still runs (it is not read; profile passes
 * recorder_shutdown_fd(), core/recorder.h).  An exit seen at the same moment wins
 * (returns 0).  Returns 0, 1 (deadline), 2 (event) or -1 (error printed). */
int launch_wait_event(struct launch *l, uint64_t deadline_ns, int event_fd, int *status,
		      int *signaled, struct rusage *ru);

/* Send `sig` to the application's process group (spec->new_pgrp) or, without one, to
 * the launched process.  Returns 0, or -1 with errno (ESRCH: nothing left to signal). */
int launch_kill(struct launch *l, int sig);

/* 1 when a process of the application's own group (spec->new_pgrp) still exists;
 * 0 otherwise (and always 0 without an own group). */
int launch_group_alive(const struct launch *l);

/* Make gprof-cli the child subreaper (prctl PR_SET_CHILD_SUBREAPER, Linux 3.4), so that
 * processes the application leaves running are re-parented to gprof-cli instead of
 * init, and launch_reap_orphans() can tell when they have all exited (profile
 * --wait=all).  Call before launch_fork().  Returns 0, or -1 when unsupported. */
int launch_subreaper(void);

/* Reap every exited re-parented descendant without blocking.  Call only after the
 * application itself was reaped (launch_wait).  Returns 1 while descendants remain,
 * 0 when none is left; a child `keep` (gprof-cli's own GPU metrics sampler,
 * cli/metrics_process.h; 0: none) does not count as one (it may be reaped here when it
 * has exited).  The children are read from /proc/self/task/TID/children, or, without
 * CONFIG_PROC_CHILDREN, from every /proc/PID/stat. */
int launch_reap_orphans(pid_t keep);

/* The last of the forwarded signals (SIGINT, SIGTERM, SIGHUP, SIGQUIT) gprof-cli
 * received since the previous call, or 0; clears it.  Async-signal-safe read. */
int launch_take_signal(void);

#endif
