/*
 * metrics_process.c - start and stop gprof-cli's GPU metrics sampler process (see
 * metrics_process.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/metrics_process.h"
#include "core/util.h"
#include "core/wire.h"

/* Fixed descriptor numbers of the two pipe ends in the sampler (cmd_metrics_process.c). */
#define READY_FD 3
#define STOP_FD	 4

static int is_var(const char *kv, const char *name)
{
	size_t n = strlen(name);

	return !strncmp(kv, name, n) && kv[n] == '=';
}

/* The sampler's environment (malloc'd array of borrowed or malloc'd strings; *owned gets
 * the malloc'd ones to free). */
static char **sampler_env(char *const *app_env, const char *channel, const char *devices,
			  char **owned)
{
	size_t n = 0, k = 0;
	int physical = devices && strcmp(devices, "cuda-visible") && strcmp(devices, "none");
	char **v;

	while (app_env[n])
		n++;
	v = xcalloc(n + 6, sizeof(*v));
	for (size_t i = 0; i < n; i++) {
		const char *kv = app_env[i];
		if (is_var(kv, "LD_PRELOAD") || is_var(kv, "CUDA_INJECTION64_PATH") ||
		    is_var(kv, "NVTX_INJECTION64_PATH") || is_var(kv, GP_ENV_TRACE) ||
		    is_var(kv, GP_ENV_HELPER) || is_var(kv, GP_ENV_CHANNEL) ||
		    (physical &&
		     (is_var(kv, "CUDA_VISIBLE_DEVICES") || is_var(kv, "CUDA_DEVICE_ORDER"))))
			continue;
		v[k++] = (char *)kv;
	}
	owned[0] = xasprintf("%s=gpu-metrics", GP_ENV_TRACE);
	owned[1] = xasprintf("%s=1", GP_ENV_HELPER);
	owned[2] = xasprintf("%s=%s", GP_ENV_CHANNEL, channel);
	v[k++] = owned[0];
	v[k++] = owned[1];
	v[k++] = owned[2];
	if (physical)
		v[k++] = "CUDA_DEVICE_ORDER=PCI_BUS_ID";
	v[k] = NULL;
	return v;
}

/* Add a close of every descriptor above STOP_FD to fa. */
static void close_others(posix_spawn_file_actions_t *fa)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
	posix_spawn_file_actions_addclosefrom_np(fa, STOP_FD + 1);
#else
	long max = sysconf(_SC_OPEN_MAX);

	for (int fd = STOP_FD + 1; fd < (max > 0 && max < 65536 ? max : 65536); fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			posix_spawn_file_actions_addclose(fa, fd);
#endif
}

/* Wait for pid at most `ms`; 1 reaped (its wait status in *status when not NULL; -1 when
 * someone else reaped it), 0 still running. */
static int reap_within(pid_t pid, int ms, int *status)
{
	if (status)
		*status = -1;
	for (int waited = 0;; waited += 10) {
		pid_t r = waitpid(pid, status, WNOHANG);
		if (r == pid || (r < 0 && errno != EINTR))
			return 1;
		if (waited >= ms)
			return 0;
		poll(NULL, 0, 10);
	}
}

int metrics_process_start(struct metrics_process *mp, char *const *app_env, const char *channel,
			  const char *libdir, const char *devices)
{
	int ready[2], stop[2], hi_ready, hi_stop, rc = -1;
	char *owned[3] = {NULL, NULL, NULL}, **env;
	char *argv[] = {"gprof-cli", "__gpu-metrics-process", (char *)libdir, NULL};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none;
	char c = 0;

	memset(mp, 0, sizeof(*mp));
	mp->stop_fd = -1;
	if (pipe2(ready, O_CLOEXEC) < 0)
		goto no_pipe;
	if (pipe2(stop, O_CLOEXEC) < 0) {
		close(ready[0]);
		close(ready[1]);
		goto no_pipe;
	}
	/* above READY_FD/STOP_FD, so that the dup2s below never meet their own number */
	hi_ready = fcntl(ready[1], F_DUPFD_CLOEXEC, 10);
	hi_stop = fcntl(stop[0], F_DUPFD_CLOEXEC, 10);
	close(ready[1]);
	close(stop[0]);
	env = sampler_env(app_env, channel, devices, owned);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, hi_ready, READY_FD);
	posix_spawn_file_actions_adddup2(&fa, hi_stop, STOP_FD);
	/* nothing else of gprof-cli's: an inherited end of the application's output pipes
	 * would keep the tee waiting for an EOF that comes only after the sampler stops */
	close_others(&fa);
	posix_spawnattr_init(&at);
	sigemptyset(&none);
	posix_spawnattr_setsigmask(&at, &none); /* gprof-cli blocks the forwarded signals */
	posix_spawnattr_setpgroup(&at, 0);	/* Ctrl-C is the application's, not ours */
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP);
	int err = hi_ready < 0 || hi_stop < 0
		      ? errno
		      : posix_spawn(&mp->pid, "/proc/self/exe", &fa, &at, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	free(env);
	for (int i = 0; i < 3; i++)
		free(owned[i]);
	if (hi_ready >= 0)
		close(hi_ready);
	if (hi_stop >= 0)
		close(hi_stop);
	if (err) {
		mp->pid = 0;
		error("cannot start the GPU metrics sampler process: %s", strerror(err));
		hint("check that /proc is mounted (gprof-cli runs itself from /proc/self/exe), or "
		     "profile without -t gpu-metrics");
		close(ready[0]);
		close(stop[1]);
		return -1;
	}
	mp->stop_fd = stop[1];
	struct pollfd p = {.fd = ready[0], .events = POLLIN};
	int pr;
	do
		pr = poll(&p, 1, METRICS_PROCESS_START_S * 1000);
	while (pr < 0 && errno == EINTR);
	ssize_t got = pr > 0 ? read(ready[0], &c, 1) : -1;
	close(ready[0]);
	if (got == 1 && c == 'R')
		return 0;
	/* it started nothing (said why), died, or hangs: no sampler */
	if (got == 1 && c == 'N')
		rc = 0;
	else if (pr == 0)
		error("the GPU metrics sampler process did not start sampling within %d s",
		      METRICS_PROCESS_START_S);
	else
		error("the GPU metrics sampler process ended before sampling");
	if (rc < 0)
		hint("run 'gprof-cli status -e' to see what this machine allows, or profile "
		     "without -t gpu-metrics");
	close(mp->stop_fd);
	mp->stop_fd = -1;
	if (!reap_within(mp->pid, METRICS_PROCESS_STOP_S * 1000, NULL)) {
		kill(mp->pid, SIGKILL);
		reap_within(mp->pid, 5000, NULL);
	}
	mp->pid = 0;
	return rc;
no_pipe:
	error("cannot start the GPU metrics sampler process: %s", strerror(errno));
	hint("too many open files? raise 'ulimit -n'");
	return -1;
}

void metrics_process_stop(struct metrics_process *mp)
{
	struct pollfd p = {.fd = mp->stop_fd, .events = POLLOUT};
	int status;

	if (!mp->pid)
		return;
	/* the pipe's read end is the sampler's alone: closed before it was asked to stop, the
	 * sampler ended during the run (whoever reaped it: --wait=all reaps every child) */
	int died = poll(&p, 1, 0) == 1 && (p.revents & POLLERR);
	close(mp->stop_fd);
	mp->stop_fd = -1;
	if (!reap_within(mp->pid, METRICS_PROCESS_STOP_S * 1000, &status)) {
		warning("the GPU metrics sampler process did not stop within %d s; killed (its "
			"last samples are lost)",
			METRICS_PROCESS_STOP_S);
		kill(mp->pid, SIGKILL);
		reap_within(mp->pid, 5000, NULL);
	} else if (died) {
		if (status != -1 && WIFSIGNALED(status))
			warning(
			    "the GPU metrics sampler process was killed by signal %d during the "
			    "run; the samples after that are lost",
			    WTERMSIG(status));
		else
			warning("the GPU metrics sampler process ended during the run; the samples "
				"after that are lost");
	}
	mp->pid = 0;
}
