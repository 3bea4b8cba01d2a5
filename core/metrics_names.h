/*
 * metrics_names.h - metric names the gpu-metrics collector knows without CUPTI: the
 * built-in sets and a list of common Perfworks metric names (Hopper/GH100, CUPTI 13
 * range profiler and PM sampling; ../shared/reference/cupti-design.md §4.3, §5), and
 * close-match suggestions by edit distance.  Header-only (static inline) so that both
 * gprof-cli (option checks) and the injection library (checks against the names the
 * CUPTI host API enumerates) use the same code.
 */
#ifndef GPROF_METRICS_NAMES_H
#define GPROF_METRICS_NAMES_H

#include <stddef.h>
#include <string.h>

/* Default range-profiler set (per kernel / per NVTX range), in display order:
 * duration, SM throughput %, DRAM throughput %, achieved occupancy, tensor pipe %,
 * L1 and L2 hit rates, instructions executed.  The first four and the last were probed
 * on the H200 (cupti-design.md §4.3); sm__throughput needs 8 replay passes. */
static const char *const gp_metrics_default_range[] = {
    "gpu__time_duration.sum",
    "sm__throughput.avg.pct_of_peak_sustained_elapsed",
    "dram__throughput.avg.pct_of_peak_sustained_elapsed",
    "sm__warps_active.avg.pct_of_peak_sustained_active",
    "sm__pipe_tensor_op_hmma_cycles_active.avg.pct_of_peak_sustained_active",
    "l1tex__t_sector_hit_rate.pct",
    "lts__t_sector_hit_rate.pct",
    "sm__inst_executed.sum",
    NULL,
};

/* Default PM-sampling set: single-pass on GH100 (the 9-metric probe set of
 * cupti-design.md §5 without gpu__time_duration.sum, which is garbage when sampled). */
static const char *const gp_metrics_default_sample[] = {
    "gr__cycles_active.avg",
    "gr__cycles_elapsed.max",
    "sm__cycles_active.avg",
    "dramc__read_throughput.avg.pct_of_peak_sustained_elapsed",
    "dramc__write_throughput.avg.pct_of_peak_sustained_elapsed",
    "sm__inst_executed_realtime.avg.per_cycle_active",
    "pcie__read_bytes.sum.per_second",
    "pcie__write_bytes.sum.per_second",
    NULL,
};

/* Smallest set for each mode ("--gpu-metrics-set=minimal"): one single-pass metric. */
static const char *const gp_metrics_minimal_range[] = {"gpu__time_duration.sum", NULL};
static const char *const gp_metrics_minimal_sample[] = {
    "dramc__read_throughput.avg.pct_of_peak_sustained_elapsed", NULL};

/* Names known without CUPTI (used for suggestions when CUPTI cannot enumerate). */
static const char *const gp_metrics_known[] = {
    "gpu__time_duration.sum",
    "sm__throughput.avg.pct_of_peak_sustained_elapsed",
    "dram__throughput.avg.pct_of_peak_sustained_elapsed",
    "sm__warps_active.avg.pct_of_peak_sustained_active",
    "sm__pipe_tensor_op_hmma_cycles_active.avg.pct_of_peak_sustained_active",
    "l1tex__t_sector_hit_rate.pct",
    "lts__t_sector_hit_rate.pct",
    "sm__inst_executed.sum",
    "l1tex__t_bytes.sum",
    "dram__bytes_read.sum",
    "dram__bytes_write.sum",
    "sm__cycles_active.avg",
    "sm__cycles_elapsed.avg",
    "gpc__cycles_elapsed.max",
    "gr__cycles_active.avg",
    "gr__cycles_elapsed.max",
    "dramc__read_throughput.avg.pct_of_peak_sustained_elapsed",
    "dramc__write_throughput.avg.pct_of_peak_sustained_elapsed",
    "sm__inst_executed_realtime.avg.per_cycle_active",
    "pcie__read_bytes.sum.per_second",
    "pcie__write_bytes.sum.per_second",
    "sm__pipe_tensor_op_hmma_cycles_active_realtime.avg.pct_of_peak_sustained_elapsed",
    "lts__t_bytes.sum",
    "sm__sass_thread_inst_executed_op_fadd_pred_on.sum",
    "sm__sass_thread_inst_executed_op_ffma_pred_on.sum",
    "sm__sass_thread_inst_executed_op_fmul_pred_on.sum",
    NULL,
};

/* Levenshtein distance between a and b, capped at 255 (longer names: 255). */
static inline unsigned gp_metric_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned row[256];

	if (la > 255 || lb > 255)
		return 255;
	for (size_t j = 0; j <= lb; j++)
		row[j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		unsigned diag = row[0], tmp;
		row[0] = (unsigned)i;
		for (size_t j = 1; j <= lb; j++) {
			unsigned best = diag + (a[i - 1] != b[j - 1]);
			tmp = row[j];
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = tmp;
			row[j] = best;
		}
	}
	return row[lb] > 255 ? 255 : row[lb];
}

/*
 * Close matches for an unknown metric `name` among the n names cand[] (n = (size_t)-1:
 * cand is NULL-terminated): up to `max` pointers (borrowed from cand) into out[],
 * nearest first (ties in cand order).  A candidate matches when its distance is at most
 * a third of the longer name, or when one name contains the other's "unit__counter"
 * part.  Returns how many were written.
 */
static inline size_t gp_metric_suggest(const char *name, const char *const *cand, size_t n,
				       const char **out, size_t max)
{
	unsigned dist[16];
	size_t k = 0;

	if (max > 16)
		max = 16;
	for (size_t i = 0; (n == (size_t)-1 ? cand[i] != NULL : i < n); i++) {
		const char *c = cand[i];
		size_t lc = strlen(c), ln = strlen(name), base = strcspn(name, ".");
		unsigned d = gp_metric_distance(name, c);
		unsigned lim = (unsigned)((lc > ln ? lc : ln) / 3);

		if (d > lim &&
		    !(base >= 6 && !strncmp(c, name, base) && (c[base] == '.' || c[base] == 0)))
			continue;
		if (d > lim)
			d = lim + 1; /* same counter: after the close spellings */
		size_t pos = k;
		while (pos > 0 && dist[pos - 1] > d)
			pos--;
		if (pos >= max)
			continue;
		if (k < max)
			k++;
		for (size_t j = k - 1; j > pos; j--) {
			out[j] = out[j - 1];
			dist[j] = dist[j - 1];
		}
		out[pos] = c;
		dist[pos] = d;
	}
	return k;
}

/* Non-zero when s looks like a Perfworks metric name: "unit__counter" then optional
 * ".rollup[.submetric]" parts of [A-Za-z0-9_], with an optional "Prefix.Prefix." in
 * front (PM-sampling triage names, e.g. "TPC.TriageCompute.sm__..."). */
static inline int gp_metric_name_valid(const char *s)
{
	const char *u = strstr(s, "__");
	size_t len = strlen(s);

	if (!u || u == s || len > 255)
		return 0;
	for (const char *p = s; *p; p++) {
		char c = *p;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.'))
			return 0;
		if (c == '.' && (p == s || p[-1] == '.' || p[1] == 0))
			return 0;
	}
	return u[2] != 0 && u[2] != '.';
}

#endif
