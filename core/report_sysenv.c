/*
 * report_sysenv.c - TARGET_INFO_SYSTEM_ENV (see report_session.h): the host's properties,
 * with the names and nameEnum ids nsys 2025.3 writes (fixture rows), read where Linux keeps
 * them:
 *
 *   1   CpuCores                online CPUs (sysconf _SC_NPROCESSORS_ONLN)
 *   2   CpuSpeedMhz             cpu0's cpufreq cpuinfo_max_freq, else /proc/cpuinfo "cpu MHz"
 *   3   CpuArchitecture         uname -m
 *   13  CpuDescription          /proc/cpuinfo "model name"
 *   14  CpuInfo                 {"items":[{"cpuid":N,"socket":S,"maxfreqhz":F},...]} per
 *                               online CPU (topology/physical_package_id, cpufreq max or the
 *                               "cpu MHz" above), as nsys's JSON
 *   205 NvDriverVersion         /proc/driver/nvidia/version ("580.159.04"); absent without the
 *                               NVIDIA kernel module
 *   506 IsX86BasedDevice        1 on x86_64 / i686, else 0
 *   600 HardwarePlatform        uname -m
 *   605 OsDescription           /etc/os-release PRETTY_NAME
 *   618 SoftwareReleaseVersion  uname -r
 *   619 Hostname                gethostname(2)
 *   721 SystemUID               the PID namespace, readlink /proc/self/ns/pid ("pid:[N]")
 *   882 KernelVersion           uname -v
 *   919 LinuxParanoidLevel      /proc/sys/kernel/perf_event_paranoid
 *
 * nsys's other rows describe its own capabilities (SupportsVulkan, HasCudaEvents, ...) or
 * need the CUDA driver in this process (CudaDriverVersion, GpuInfo: TARGET_INFO_GPU has the
 * GPUs); they are not written.  A property that cannot be read is left out.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "report.h"
#include "report_session.h"
#include "util.h"

/* The value of the first "key<spaces>: value" line of /proc/cpuinfo, into buf. */
static char *cpuinfo_value(const char *key, char *buf, size_t size)
{
	FILE *f = fopen("/proc/cpuinfo", "re");
	char line[512];
	size_t kl = strlen(key);
	char *ret = NULL;

	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f)) {
		char *p = line + kl;

		if (strncmp(line, key, kl) || (*p != ' ' && *p != '\t' && *p != ':'))
			continue;
		p = strchr(p, ':');
		if (!p)
			continue;
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		p[strcspn(p, "\n")] = '\0';
		snprintf(buf, size, "%s", p);
		ret = buf;
		break;
	}
	fclose(f);
	return ret;
}

/* Max frequency of cpu in Hz (cpufreq), else fallback_hz. */
static unsigned long long cpu_max_hz(long cpu, unsigned long long fallback_hz)
{
	char path[128], buf[64];

	snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%ld/cpufreq/cpuinfo_max_freq",
		 cpu);
	if (gp_read_line(path, buf, sizeof(buf)))
		return strtoull(buf, NULL, 10) * 1000ull; /* kHz */
	return fallback_hz;
}

/* PRETTY_NAME of /etc/os-release (quotes removed), into buf. */
static char *os_description(char *buf, size_t size)
{
	FILE *f = fopen("/etc/os-release", "re");
	char line[512];
	char *ret = NULL;

	if (!f)
		f = fopen("/usr/lib/os-release", "re");
	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f)) {
		char *v;
		size_t n;

		if (strncmp(line, "PRETTY_NAME=", 12))
			continue;
		v = line + 12;
		v[strcspn(v, "\n")] = '\0';
		n = strlen(v);
		if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
			v[n - 1] = '\0';
			v++;
		}
		if (*v) {
			snprintf(buf, size, "%s", v);
			ret = buf;
		}
		break;
	}
	fclose(f);
	return ret;
}

/* The NVIDIA kernel module's version ("580.159.04"), into buf. */
static char *nv_driver_version(char *buf, size_t size)
{
	char line[512], *tok, *save = NULL;

	if (!gp_read_line("/proc/driver/nvidia/version", line, sizeof(line)))
		return NULL;
	for (tok = strtok_r(line, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
		size_t i, dots = 0;

		for (i = 0; tok[i] && (isdigit((unsigned char)tok[i]) || tok[i] == '.'); i++)
			dots += tok[i] == '.';
		if (!tok[i] && dots && isdigit((unsigned char)tok[0])) {
			snprintf(buf, size, "%s", tok);
			return buf;
		}
	}
	return NULL;
}

void report_sysenv_rows(void (*fn)(void *ctx, const char *name, int name_enum, const char *value),
			void *ctx)
{
	struct utsname u;
	int have_uname = uname(&u) == 0;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN), conf = sysconf(_SC_NPROCESSORS_CONF);
	unsigned long long mhz_hz = 0;
	char buf[512], buf2[64];

	if (ncpu > 0) {
		snprintf(buf, sizeof(buf), "%ld", ncpu);
		fn(ctx, "CpuCores", 1, buf);
	}
	if (cpuinfo_value("cpu MHz", buf2, sizeof(buf2)))
		mhz_hz = (unsigned long long)(strtod(buf2, NULL) * 1e6 + 0.5);
	{
		unsigned long long hz = cpu_max_hz(0, mhz_hz);

		if (hz) {
			snprintf(buf, sizeof(buf), "%llu", (hz + 500000) / 1000000);
			fn(ctx, "CpuSpeedMhz", 2, buf);
		}
	}
	if (have_uname)
		fn(ctx, "CpuArchitecture", 3, u.machine);
	if (cpuinfo_value("model name", buf, sizeof(buf)))
		fn(ctx, "CpuDescription", 13, buf);
	if (conf > 0) {
		struct strbuf js = STRBUF_INIT;
		long cpu;
		int n = 0;

		strbuf_addstr(&js, "{\"items\":[");
		for (cpu = 0; cpu < conf; cpu++) {
			char path[128], v[64];
			long socket = 0;

			snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%ld/online", cpu);
			if (gp_read_line(path, v, sizeof(v)) && v[0] == '0')
				continue; /* offline */
			snprintf(path, sizeof(path),
				 "/sys/devices/system/cpu/cpu%ld/topology/physical_package_id",
				 cpu);
			if (gp_read_line(path, v, sizeof(v)))
				socket = strtol(v, NULL, 10);
			strbuf_addf(&js, "%s{\"cpuid\":%ld,\"socket\":%ld,\"maxfreqhz\":%llu}",
				    n++ ? "," : "", cpu, socket, cpu_max_hz(cpu, mhz_hz));
		}
		strbuf_addstr(&js, "]}");
		fn(ctx, "CpuInfo", 14, js.buf);
		strbuf_release(&js);
	}
	if (nv_driver_version(buf, sizeof(buf)))
		fn(ctx, "NvDriverVersion", 205, buf);
	if (have_uname) {
		int x86 = !strcmp(u.machine, "x86_64") ||
			  (u.machine[0] == 'i' && !strcmp(u.machine + 2, "86"));

		fn(ctx, "IsX86BasedDevice", 506, x86 ? "1" : "0");
		fn(ctx, "HardwarePlatform", 600, u.machine);
	}
	if (os_description(buf, sizeof(buf)))
		fn(ctx, "OsDescription", 605, buf);
	if (have_uname)
		fn(ctx, "SoftwareReleaseVersion", 618, u.release);
	if (gethostname(buf, sizeof(buf)) == 0) {
		buf[sizeof(buf) - 1] = '\0';
		fn(ctx, "Hostname", 619, buf);
	}
	{
		ssize_t n = readlink("/proc/self/ns/pid", buf, sizeof(buf) - 1);

		if (n > 0) {
			buf[n] = '\0';
			fn(ctx, "SystemUID", 721, buf);
		}
	}
	if (have_uname)
		fn(ctx, "KernelVersion", 882, u.version);
	if (gp_read_line("/proc/sys/kernel/perf_event_paranoid", buf, sizeof(buf)))
		fn(ctx, "LinuxParanoidLevel", 919, buf);
}

struct insert_ctx {
	struct report *r;
	sqlite3_stmt *st;
};

static void insert_row(void *ctx, const char *name, int name_enum, const char *value)
{
	struct insert_ctx *x = ctx;

	sqlite3_bind_int64(x->st, 1, (int64_t)(GP_VM_ID << 48));
	sqlite3_bind_text(x->st, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_int(x->st, 3, name_enum);
	sqlite3_bind_text(x->st, 4, value, -1, SQLITE_TRANSIENT);
	report_step(x->r, x->st);
}

void report_sysenv_write(struct report *r)
{
	struct insert_ctx x = {r, NULL};

	report_exec(r, "CREATE TABLE TARGET_INFO_SYSTEM_ENV (globalVid INTEGER, "
		       "devStateName TEXT NOT NULL, name TEXT NOT NULL, nameEnum INTEGER NOT NULL, "
		       "value TEXT NOT NULL)");
	x.st = report_prepare(r, "INSERT INTO TARGET_INFO_SYSTEM_ENV (globalVid, devStateName, "
				 "name, nameEnum, value) VALUES (?, 'Local (CLI)', ?, ?, ?)");
	report_sysenv_rows(insert_row, &x);
	sqlite3_finalize(x.st);
}
