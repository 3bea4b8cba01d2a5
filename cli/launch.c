/*
 * launch.c - fork / cork / exec / wait of the profiled application (see launch.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/launch.h"
#include "core/util.h"

static const int fwd_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
#define N_FWD (sizeof(fwd_signals) / sizeof(fwd_signals[0]))

static volatile sig_atomic_t fwd_pid; /* application pid while it may receive signals */
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
	/* A terminal's signal (SI_KERNEL) went to the whole foreground process group,
	 * the application included: don't send it twice. */
	if (pid > 0 && info->si_code != SI_KERNEL)
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

void launch_signals_end(void)
{
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
	struct sigaction dfl;
	char go;
	ssize_t n;
	int err;

	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (size_t i = 0; i < N_FWD; i++)
		sigaction(fwd_signals[i], &dfl, NULL);
	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	if (s->quiet && l->devnull_fd >= 0) {
		dup2(l->devnull_fd, STDOUT_FILENO);
		dup2(l->devnull_fd, STDERR_FILENO);
	}
	do
		n = read(fd, &go, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		_exit(GP_EXIT_NOTFOUND); /* cancelled: the parent closed the cork */
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
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		error("cannot create the launch socket pair: %s", strerror(errno));
		goto fail;
	}
	l->pid = fork();
	if (l->pid < 0) {
		error("cannot fork to launch '%s': %s", s->path, strerror(errno));
		close(sv[0]);
		close(sv[1]);
		goto fail;
	}
	if (l->pid == 0) {
		close(sv[0]);
		child(sv[1], l, s);
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

int launch_go(struct launch *l)
{
	char go = 'g';
	int err = 0;
	ssize_t n;

	fwd_pid = l->pid;
	if (signals_installed)
		sigprocmask(SIG_SETMASK, &old_mask, NULL);
	do
		n = send(l->cork_fd, &go, 1, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n != 1) {
		err = errno ? errno : EPIPE;
		goto failed;
	}
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
	reap(l->pid);
	launch_release(l);
	return err;
}

void launch_cancel(struct launch *l)
{
	fwd_pid = 0;
	launch_release(l);
	reap(l->pid);
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
