/*
 * launch.c - fork / cork / exec / wait of the profiled application (see launch.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "cli/launch.h"
#include "core/util.h"

static const int fwd_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
#define N_FWD (sizeof(fwd_signals) / sizeof(fwd_signals[0]))

static volatile sig_atomic_t fwd_pid;	 /* application pid while it may receive signals */
static volatile sig_atomic_t fwd_pgid;	 /* application's own group (new_pgrp), or 0 */
static volatile sig_atomic_t got_signal; /* last forwarded signal received, or 0 */
static int tty_handed;			 /* the terminal was given to the application's group */
static struct sigaction old_actions[N_FWD];
static sigset_t old_mask;
static int signals_installed;

/* Check one candidate file: 0 = executable regular file, else an errno. */
static int check_exec(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return errno == ENOTDIR ? ENOENT : errno;
	if (S_ISDIR(st.st_mode))
		return EISDIR;
	if (access(path, X_OK) < 0)
		return EACCES;
	return 0;
}

int launch_resolve(const char *name, char **path)
{
	int err;

	if (!*name) {
		error("empty application name");
		hint("usage: gprof-cli profile [<options>] <application> [<arguments>]");
		return GP_EXIT_NOTFOUND;
	}
	if (strchr(name, '/')) {
		err = check_exec(name);
		if (!err) {
			*path = xstrdup(name);
			return 0;
		}
	} else {
		const char *p = getenv("PATH");
		int saw_eacces = 0;

		if (!p)
			p = "/bin:/usr/bin";
		for (;;) {
			const char *end = strchr(p, ':');
			size_t len = end ? (size_t)(end - p) : strlen(p);
			char *cand = len ? xasprintf("%.*s/%s", (int)len, p, name) : xstrdup(name);

			err = check_exec(cand);
			if (!err) {
				*path = cand;
				return 0;
			}
			free(cand);
			if (err == EACCES)
				saw_eacces = 1;
			if (!end)
				break;
			p = end + 1;
		}
		if (!saw_eacces) {
			error("'%s': command not found", name);
			hint("check the name and $PATH, or give a path such as ./%s", name);
			return GP_EXIT_NOTFOUND;
		}
		err = EACCES;
	}
	switch (err) {
	case ENOENT:
		error("'%s': no such file", name);
		hint("check the path of the application");
		return GP_EXIT_NOTFOUND;
	case EISDIR:
		error("'%s': is a directory, not an application", name);
		return GP_EXIT_NOEXEC;
	case EACCES:
		error("'%s': permission denied (not executable)", name);
		hint("make it executable with 'chmod +x %s'", name);
		return GP_EXIT_NOEXEC;
	default:
		error("'%s': cannot run: %s", name, strerror(err));
		return GP_EXIT_NOEXEC;
	}
}

static void forward_handler(int sig, siginfo_t *info, void *ctx)
{
	pid_t pid = (pid_t)fwd_pid;
	int saved = errno;

	(void)ctx;
	got_signal = sig;
	/* The application's own group never got a signal sent to gprof-cli's group. */
	if (fwd_pgid > 0)
		kill(-(pid_t)fwd_pgid, sig);
	/* A terminal's signal (SI_KERNEL) went to the whole foreground process group,
	 * the application included: don't send it twice. */
	else if (pid > 0 && info->si_code != SI_KERNEL)
		kill(pid, sig);
	errno = saved;
}

void launch_signals_begin(void)
{
	sigset_t block;
	struct sigaction sa;

	sigemptyset(&block);
	for (size_t i = 0; i < N_FWD; i++)
		sigaddset(&block, fwd_signals[i]);
	sigprocmask(SIG_BLOCK, &block, &old_mask);

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = forward_handler;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigfillset(&sa.sa_mask);
	for (size_t i = 0; i < N_FWD; i++)
		sigaction(fwd_signals[i], &sa, &old_actions[i]);
	signals_installed = 1;
}

/* Take the terminal back from the application's group (see launch.h). */
static void reclaim_tty(void)
{
	sigset_t ttou, old;

	if (!tty_handed)
		return;
	tty_handed = 0;
	sigemptyset(&ttou);
	sigaddset(&ttou, SIGTTOU);
	pthread_sigmask(SIG_BLOCK, &ttou, &old);
	if (tcsetpgrp(STDIN_FILENO, getpgrp()) < 0)
		(void)0; /* the terminal went away: nothing to restore */
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

int launch_take_signal(void)
{
	int sig = got_signal;

	got_signal = 0;
	return sig;
}

void launch_signals_end(void)
{
	reclaim_tty();
	fwd_pgid = 0;
	if (!signals_installed)
		return;
	fwd_pid = 0;
	for (size_t i = 0; i < N_FWD; i++)
		sigaction(fwd_signals[i], &old_actions[i], NULL);
	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	signals_installed = 0;
}

/* The child between fork and exec: async-signal-safe calls only. */
static void child(int fd, const struct launch *l, const struct launch_spec *s)
{
	static char go[PATH_MAX + 64];
	struct sigaction dfl;
	size_t len = 0, vlen;
	ssize_t n;
	int err;

	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (size_t i = 0; i < N_FWD; i++)
		sigaction(fwd_signals[i], &dfl, NULL);
	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	if (s->new_pgrp)
		setpgid(0, 0);
	if (s->stdout_fd >= 0)
		dup2(s->stdout_fd, STDOUT_FILENO);
	else if (s->quiet && l->devnull_fd >= 0)
		dup2(l->devnull_fd, STDOUT_FILENO);
	if (s->stderr_fd >= 0)
		dup2(s->stderr_fd, STDERR_FILENO);
	else if (s->quiet && l->devnull_fd >= 0)
		dup2(l->devnull_fd, STDERR_FILENO);
	/* The go message: 'g' then the channel path, ended by the parent's shutdown.  It is
	 * read in place after "<channel_var>", whose '=' then replaces the 'g'. */
	vlen = s->channel_var ? strlen(s->channel_var) : 0;
	for (;;) {
		n = read(fd, go + vlen + len, sizeof(go) - vlen - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	if (len < 1 || go[vlen] != 'g')
		_exit(GP_EXIT_NOTFOUND); /* cancelled: the parent closed the cork */
	if (s->channel_index >= 0 && s->channel_var && len > 1) {
		memcpy(go, s->channel_var, vlen);
		go[vlen] = '=';
		go[vlen + len] = '\0';
		((char **)s->envp)[s->channel_index] = go;
	}
	if (s->new_pgrp && tty_handed) {
		/* become the terminal's foreground group; SIGTTOU blocked so that a
		 * background group may do it */
		sigset_t ttou;

		sigemptyset(&ttou);
		sigaddset(&ttou, SIGTTOU);
		sigprocmask(SIG_BLOCK, &ttou, NULL);
		tcsetpgrp(STDIN_FILENO, getpid());
		sigprocmask(SIG_SETMASK, &old_mask, NULL);
	}
	execve(s->path, s->argv, s->envp);
	err = errno;
	if (err == ENOEXEC && l->sh_argv) {
		execve(l->sh_argv[0], l->sh_argv, s->envp);
		err = errno;
	}
	n = write(fd, &err, sizeof(err));
	(void)n;
	_exit(err == ENOENT ? GP_EXIT_NOTFOUND : GP_EXIT_NOEXEC);
}

int launch_fork(struct launch *l, const struct launch_spec *s)
{
	int sv[2];
	int argc = 0;

	memset(l, 0, sizeof(*l));
	l->cork_fd = -1;
	l->devnull_fd = -1;
	while (s->argv[argc])
		argc++;
	/* execvp's fallback for files without a #! line */
	l->sh_argv = xcalloc((size_t)argc + 2, sizeof(char *));
	l->sh_argv[0] = "/bin/sh";
	l->sh_argv[1] = (char *)s->path;
	for (int i = 1; i < argc; i++)
		l->sh_argv[i + 1] = s->argv[i];

	if (s->quiet) {
		l->devnull_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (l->devnull_fd < 0)
			warning("cannot open '/dev/null': %s; application output not hidden",
				strerror(errno));
	}
	/* hand the terminal over only when it is ours to give */
	tty_handed = s->new_pgrp && isatty(STDIN_FILENO) && tcgetpgrp(STDIN_FILENO) == getpgrp();
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		error("cannot create the launch socket pair: %s", strerror(errno));
		tty_handed = 0;
		goto fail;
	}
	l->pid = fork();
	if (l->pid < 0) {
		error("cannot fork to launch '%s': %s", s->path, strerror(errno));
		tty_handed = 0;
		close(sv[0]);
		close(sv[1]);
		goto fail;
	}
	if (l->pid == 0) {
		close(sv[0]);
		child(sv[1], l, s);
	}
	if (s->new_pgrp) {
		/* also here, so that the group exists whichever process runs first */
		if (setpgid(l->pid, l->pid) < 0 && errno != EACCES)
			warning("cannot give '%s' its own process group: %s", s->path,
				strerror(errno));
		l->pgid = l->pid;
		fwd_pgid = l->pid;
	}
	close(sv[1]);
	l->cork_fd = sv[0];
	return 0;
fail:
	if (l->devnull_fd >= 0)
		close(l->devnull_fd);
	l->devnull_fd = -1;
	free(l->sh_argv);
	l->sh_argv = NULL;
	return -1;
}

static void launch_release(struct launch *l)
{
	if (l->cork_fd >= 0)
		close(l->cork_fd);
	l->cork_fd = -1;
	if (l->devnull_fd >= 0)
		close(l->devnull_fd);
	l->devnull_fd = -1;
	free(l->sh_argv);
	l->sh_argv = NULL;
}

static void reap(pid_t pid)
{
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

int launch_go(struct launch *l, const char *channel)
{
	char *msg = xasprintf("g%s", channel ? channel : "");
	size_t len = strlen(msg), off = 0;
	int err = 0;
	ssize_t n;

	fwd_pid = l->pid;
	if (signals_installed)
		sigprocmask(SIG_SETMASK, &old_mask, NULL);
	while (off < len) {
		n = send(l->cork_fd, msg + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? errno : EPIPE;
			break;
		}
		off += (size_t)n;
	}
	free(msg);
	if (err)
		goto failed;
	shutdown(l->cork_fd, SHUT_WR); /* ends the go message */
	do
		n = read(l->cork_fd, &err, sizeof(err));
	while (n < 0 && errno == EINTR);
	if (n == 0) { /* closed by a successful exec */
		launch_release(l);
		return 0;
	}
	if (n != (ssize_t)sizeof(err) || err <= 0)
		err = n < 0 ? errno : EIO;
failed:
	fwd_pid = 0;
	fwd_pgid = 0;
	reap(l->pid);
	reclaim_tty();
	launch_release(l);
	return err;
}

void launch_cancel(struct launch *l)
{
	fwd_pid = 0;
	fwd_pgid = 0;
	launch_release(l);
	reap(l->pid);
	reclaim_tty();
}

int launch_wait(struct launch *l, int *status, int *signaled, struct rusage *ru)
{
	siginfo_t si;
	int ws = 0;
	pid_t got;

	/* Wait without reaping first, so that no signal is forwarded to a recycled pid. */
	memset(&si, 0, sizeof(si));
	while (waitid(P_PID, (id_t)l->pid, &si, WEXITED | WNOWAIT) < 0) {
		if (errno != EINTR) {
			error("cannot wait for process %d: %s", (int)l->pid, strerror(errno));
			fwd_pid = 0;
			return -1;
		}
	}
	fwd_pid = 0;
	reclaim_tty();
	do
		got = wait4(l->pid, &ws, 0, ru);
	while (got < 0 && errno == EINTR);
	if (got < 0) {
		error("cannot reap process %d: %s", (int)l->pid, strerror(errno));
		return -1;
	}
	if (WIFSIGNALED(ws)) {
		*status = 128 + WTERMSIG(ws);
		*signaled = 1;
	} else {
		*status = WEXITSTATUS(ws);
		*signaled = 0;
	}
	return 0;
}

int launch_wait_until(struct launch *l, uint64_t deadline_ns, int *status, int *signaled,
		      struct rusage *ru)
{
	return launch_wait_event(l, deadline_ns, -1, status, signaled, ru);
}

int launch_wait_event(struct launch *l, uint64_t deadline_ns, int event_fd, int *status,
		      int *signaled, struct rusage *ru)
{
	int pidfd;

	if (!deadline_ns && event_fd < 0)
		return launch_wait(l, status, signaled, ru);
	/* pidfd_open (Linux 5.3) makes the wait a poll; without it, look every 10 ms */
	pidfd = (int)syscall(SYS_pidfd_open, l->pid, 0);
	for (;;) {
		siginfo_t si;
		struct pollfd pfd[2];
		uint64_t now;
		int timeout_ms = -1, n = 0;

		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, (id_t)l->pid, &si, WEXITED | WNOWAIT | WNOHANG) < 0) {
			if (errno == EINTR)
				continue;
			error("cannot wait for process %d: %s", (int)l->pid, strerror(errno));
			if (pidfd >= 0)
				close(pidfd);
			return -1;
		}
		if (si.si_pid == l->pid) {
			if (pidfd >= 0)
				close(pidfd);
			return launch_wait(l, status, signaled, ru);
		}
		now = gp_monotonic_ns();
		if (deadline_ns && now >= deadline_ns) {
			if (pidfd >= 0)
				close(pidfd);
			return 1;
		}
		if (deadline_ns)
			timeout_ms = (int)((deadline_ns - now + 999999) / 1000000);
		if (pidfd < 0 && (timeout_ms < 0 || timeout_ms > 10))
			timeout_ms = 10;
		if (pidfd >= 0) {
			pfd[n].fd = pidfd;
			pfd[n].events = POLLIN;
			pfd[n++].revents = 0;
		}
		if (event_fd >= 0) {
			pfd[n].fd = event_fd;
			pfd[n].events = POLLIN;
			pfd[n++].revents = 0;
		}
		if (poll(pfd, (nfds_t)n, timeout_ms) > 0 && event_fd >= 0 &&
		    (pfd[n - 1].revents & POLLIN)) {
			/* the application may have exited at the same moment: that wins */
			memset(&si, 0, sizeof(si));
			if (waitid(P_PID, (id_t)l->pid, &si, WEXITED | WNOWAIT | WNOHANG) == 0 &&
			    si.si_pid == l->pid)
				continue;
			if (pidfd >= 0)
				close(pidfd);
			return 2;
		} /* EINTR: look again */
	}
}

int launch_kill(struct launch *l, int sig)
{
	if (l->pgid > 0)
		return kill(-l->pgid, sig);
	if (l->pid > 0)
		return kill(l->pid, sig);
	errno = ESRCH;
	return -1;
}

int launch_group_alive(const struct launch *l)
{
	return l->pgid > 0 && kill(-l->pgid, 0) == 0;
}

int launch_subreaper(void)
{
	return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0 ? 0 : -1;
}

/* Does gprof-cli have a child other than keep?  1 yes (or cannot tell), 0 no. */
static int other_children(pid_t keep)
{
	char path[320], buf[4096];
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int found = 0, readable = 0;

	while (d && (e = readdir(d)) && !found) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/children", e->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		readable = 1;
		long pid;
		while (!found && fscanf(f, "%ld", &pid) == 1)
			found = pid != (long)keep;
		fclose(f);
	}
	if (d)
		closedir(d);
	if (readable)
		return found;
	/* no children files: every process's parent */
	pid_t me = getpid();
	d = opendir("/proc");
	while (d && (e = readdir(d)) && !found) {
		long pid = strtol(e->d_name, NULL, 10), ppid = 0;
		if (pid <= 0 || pid == (long)keep)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = 0;
		const char *rp = strrchr(buf, ')'); /* after the command name */
		found = rp && sscanf(rp + 1, " %*c %ld", &ppid) == 1 && ppid == (long)me;
	}
	if (d)
		closedir(d);
	return d ? found : 1;
}

int launch_reap_orphans(pid_t keep)
{
	for (;;) {
		pid_t got = waitpid(-1, NULL, WNOHANG);

		if (got > 0)
			continue;
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) /* ECHILD: none left */
			return 0;
		return keep > 0 ? other_children(keep) : 1; /* some still run */
	}
}
