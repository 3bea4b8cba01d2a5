/*
 * cmd_status.c - `gprof-cli status [--session=NAME] [-e]` (nsys status): the state of a
 * session (its application, what it traces, whether it collects and into which report,
 * the windows so far), or with -e/--environment what this machine allows, one line per
 * check with the fix when it fails: the CUDA driver and CUPTI (GPU tracing), the GPU
 * performance counters' permission (gpu-metrics), perf_event_paranoid, and the session
 * directory.
 */
#include <dlfcn.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cmds.h"
#include "cli/session.h"
#include "core/util.h"

static void status_help(FILE *f)
{
	fprintf(f, "usage: gprof-cli status [--session=<name>] [-e]\n"
		   "\n"
		   "Print the state of a session (nsys status), or with -e what this machine\n"
		   "allows for profiling, each check with its fix.\n"
		   "\n"
		   "options:\n"
		   "      --session=<name>          the session (default: the only one running)\n"
		   "  -e, --environment             check the environment instead\n"
		   "  -h, --help                    this text\n"
		   "\n"
		   "Exit status: 0; 2 bad command line; 6 no such session, stale or ended.\n"
		   "See 'man gprof-cli-status'.\n");
}

/* Does a library load (dlopen, then unloaded)? */
static int loads(const char *lib)
{
	void *h = dlopen(lib, RTLD_LAZY | RTLD_LOCAL);

	if (h)
		dlclose(h);
	return h != NULL;
}

/* Where the cuda collector finds libcupti.so.13 (collectors/cupti.c: LD_LIBRARY_PATH,
 * then $CUDA_HOME's extras/CUPTI/lib64, lib64 and lib), looked up as files: loading CUPTI
 * here would run its constructors for nothing.  1 and the path in buf, or 0. */
static int find_cupti(const char *cuda_home, char *buf, size_t size)
{
	static const char *const rel[] = {"extras/CUPTI/lib64", "lib64", "lib"};
	const char *ld = getenv("LD_LIBRARY_PATH");

	while (ld && *ld) {
		size_t n = strcspn(ld, ":");

		if (n && (size_t)snprintf(buf, size, "%.*s/libcupti.so.13", (int)n, ld) < size &&
		    access(buf, R_OK) == 0)
			return 1;
		ld += n + (ld[n] == ':');
	}
	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++)
		if ((size_t)snprintf(buf, size, "%s/%s/libcupti.so.13", cuda_home, rel[i]) < size &&
		    access(buf, R_OK) == 0)
			return 1;
	return 0;
}

static int print_environment(void)
{
	const char *cuda_home = getenv("CUDA_HOME") ? getenv("CUDA_HOME") : "/usr/local/cuda";
	char buf[256], path[1024], dir[4096];
	int cupti;

	printf("%-28s %s\n",
	       "CUDA driver (libcuda.so.1):", loads("libcuda.so.1") ? "found" : "not found");
	if (!loads("libcuda.so.1"))
		printf("%-28s %s\n", "",
		       "fix: install the NVIDIA driver (-t cuda needs it; nvtx "
		       "and osrt work without)");
	cupti = find_cupti(cuda_home, path, sizeof(path));
	printf("%-28s %s%s\n", "CUPTI (libcupti.so.13):", cupti ? "found: " : "not found",
	       cupti ? path : "");
	if (!cupti)
		printf("%-28s fix: install the CUDA toolkit's CUPTI and set CUDA_HOME, or add its "
		       "lib64 to LD_LIBRARY_PATH\n",
		       "");
	if (gp_read_line("/proc/driver/nvidia/params", buf, sizeof(buf))) {
		FILE *f = fopen("/proc/driver/nvidia/params", "re");
		int admin = -1;

		while (f && fgets(buf, sizeof(buf), f))
			if (!strncmp(buf, "RmProfilingAdminOnly: ", 22))
				admin = atoi(buf + 22);
		if (f)
			fclose(f);
		printf("%-28s %s\n", "GPU performance counters:",
		       admin == 0		  ? "allowed for every user"
		       : admin == 1 && !geteuid() ? "admin only (you are root: allowed)"
		       : admin == 1		  ? "admin only"
						  : "unknown");
		if (admin == 1 && geteuid())
			printf(
			    "%-28s fix: set NVreg_RestrictProfilingToAdminUsers=0 for the nvidia "
			    "module (or run as root) for -t gpu-metrics\n",
			    "");
	} else {
		printf("%-28s %s\n", "GPU performance counters:", "no NVIDIA driver loaded");
	}
	if (gp_read_line("/proc/sys/kernel/perf_event_paranoid", buf, sizeof(buf))) {
		int p = atoi(buf);

		printf("%-28s %d%s\n", "perf_event_paranoid:", p,
		       p <= 2 ? " (process-level events allowed)" : " (restricted)");
		if (p > 2)
			printf("%-28s fix: sysctl kernel.perf_event_paranoid=2\n", "");
	} else {
		printf("%-28s %s\n", "perf_event_paranoid:", "unknown (no /proc/sys/kernel)");
	}
	if (session_dir(dir, sizeof(dir)) == 0)
		printf("%-28s %s (private)\n", "session directory:", dir);
	return GP_EXIT_OK;
}

int cmd_status(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"session", required_argument, NULL, 's'},
	    {"environment", no_argument, NULL, 'e'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	char name[SESSION_NAME_MAX + 1], v[32], out[4096], state[32];
	const char *session = NULL;
	struct strbuf ans = STRBUF_INIT;
	struct session_info info;
	int c, fd, rc, env = 0;

	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "+:eh", longopts, NULL)) != -1) {
		if (c == 's') {
			session = optarg;
		} else if (c == 'e') {
			env = 1;
		} else if (c == 'h') {
			status_help(stdout);
			return GP_EXIT_OK;
		} else {
			return gp_option_error("status", c == ':', argv[optind - 1]);
		}
	}
	if (optind < argc) {
		error("unexpected argument '%s'", argv[optind]);
		hint("see 'gprof-cli status --help'");
		return GP_EXIT_USAGE;
	}
	if (env)
		return print_environment();
	if (session && session_name_parse("--session", session, name) < 0)
		return GP_EXIT_USAGE;
	fd = session_find(session ? name : NULL, &info);
	if (fd < 0)
		return GP_EXIT_SESSION;
	rc = session_request(fd, info.name, "cmd=status\n", &ans);
	if (rc == 0) {
		printf("session:      %s (id %ld)\n", info.name, info.id);
		printf("state:        %s\n",
		       session_kv(ans.buf, "state", state, sizeof(state)) ? state : "?");
		printf("application:  %s (pid %s)\n", info.app,
		       session_kv(ans.buf, "app_pid", v, sizeof(v)) ? v : "?");
		printf("trace:        %s\n", info.trace);
		printf("windows:      %s\n",
		       session_kv(ans.buf, "windows", v, sizeof(v)) ? v : "0");
		if (session_kv(ans.buf, "output", out, sizeof(out)) && out[0])
			printf("output:       %s\n", out);
	}
	strbuf_release(&ans);
	return rc;
}
