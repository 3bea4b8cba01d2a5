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
 * L1 and L2 hit rates, instructions executed.  Every name checked against the base
 * metrics the CUPTI 13.0 host API lists for GH100 (H200, range profiler) and measured
 * there (tests/gpu/run-metrics-range-tests.sh).  Replay passes on GH100: 1 each, except
 * sm__throughput (8) and lts__t_sector_hit_rate (2); the whole set, added to the host
 * object in one call, needs 8 (16 when added one by one).  Without those two the set fits
 * one pass (what --gpu-metrics-ranges=nvtx keeps).
 * sm__pipe_tensor_op_hmma_cycles_active counts Hopper's warpgroup (HGMMA) tensor ops too:
 * 97 % on a cuBLAS fp16 GEMM (there is no sm__pipe_tensor_op_gmma_* metric). */
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

/* Default PM-sampling set, in display order, every value a percentage of peak (GPU_METRICS
 * stores integers): GR (any engine) active, SMs active, SM issue (instructions), tensor
 * pipes active, DRAM read and write bandwidth.  The "UNIT.TriageCompute." prefixes name
 * GH100's PM-sampling counter domains (nsys's "gh100-ct" set); the six fit in one pass on
 * GH100.  On the H200 the first five read as nsys 2025.3's GR Active, SMs Active, SM
 * Issue, DRAM Read/Write Bandwidth [Throughput %] on the same kernels (within 1 %).
 * Kept small on purpose: in-process decoding cost about 8 us of CPU per sample for one
 * metric, 48 us for five and 138 us for eleven (H200 host), and at the default 10 kHz a
 * sample must be decoded in under 100 us or the hardware buffer overflows.  On a chip
 * without a prefixed name the collector tries the name without its prefix
 * (gp_metric_unprefixed).  gpu__time_duration.sum is never sampled: it reads as a
 * timestamp, not a duration (cupti-design.md §5). */
static const char *const gp_metrics_default_sample[] = {
    "FE_B.TriageCompute.gr__cycles_active.avg.pct_of_peak_sustained_elapsed",
    "TPC.TriageCompute.sm__cycles_active.avg.pct_of_peak_sustained_elapsed",
    "TPC.TriageCompute.sm__inst_executed_realtime.avg.pct_of_peak_sustained_elapsed",
    "TPC.TriageCompute.sm__pipe_tensor_cycles_active_realtime.avg.pct_of_peak_sustained_elapsed",
    "FBSP.TriageCompute.dramc__read_throughput.avg.pct_of_peak_sustained_elapsed",
    "FBSP.TriageCompute.dramc__write_throughput.avg.pct_of_peak_sustained_elapsed",
    NULL,
};

/*
 * nsys's GPU metric sets (`nsys profile --gpu-metrics-set`), as the sampling default on the
 * chips they are written for.  One row per value nsys stores: `name` is its
 * TARGET_INFO_GPU_METRICS.metricName ("<metric> [<sub-metric>]"), `cupti` the PM-sampling
 * metric CUPTI evaluates for it (nsys's metric id + the sub-metric's suffix), `optional`
 * marks nsys's `schedulingRule: optional` (sampled when the chip has the counters and they
 * still fit in the one pass, silently left out otherwise).  Rows are in nsys's order, so
 * metricId (the index among the rows kept) is nsys's.  Values are stored as CUPTI evaluates
 * them, as nsys stores them: the clocks in Hz under "[MHz]" names (nsys applies its 1e-6
 * multiplier, and the 0.5 of the warp "[Avg]" rows, when it displays them).
 * Source: nsys 2025.3's set definition file for GH100 (target-linux-x64/GpuMetrics/
 * gh100.config, "General Metrics for NVIDIA GH100"), read on the H200 machine; the report of
 * the same nsys there holds these 22 non-optional-or-present rows (NVLink and CTC absent).
 */
struct gp_nsys_metric {
	const char *name;  /* nsys's metricName */
	const char *cupti; /* the PM-sampling metric evaluated for it */
	int optional;	   /* nsys schedulingRule: optional */
};

#define GP_NSYS_WARPS(label, id)                                                                   \
	{label " [Throughput %]", id ".avg.pct_of_peak_sustained_elapsed", 0},                     \
	    {label " [Avg]", id ".avg", 0},                                                        \
	{                                                                                          \
		label " [Avg Warps per Cycle]", id ".avg.per_cycle_elapsed", 0                     \
	}
#define GP_NSYS_PCT(label, id, opt)                                                                \
	{                                                                                          \
		label " [Throughput %]", id ".avg.pct_of_peak_sustained_elapsed", opt              \
	}

static const struct gp_nsys_metric gp_nsys_set_gh100[] = {
    {"GPC Clock Frequency [MHz]", "gpc__cycles_elapsed.avg.per_second", 0},
    {"SYS Clock Frequency [MHz]", "sys__cycles_elapsed.avg.per_second", 0},
    {"GR Active [Throughput %]", "gr__cycles_active.sum.pct_of_peak_sustained_elapsed", 0},
    GP_NSYS_PCT("SMs Active", "sm__cycles_active", 0),
    GP_NSYS_PCT("SM Issue", "sm__inst_executed_realtime", 0),
    GP_NSYS_PCT("Tensor Active", "sm__pipe_tensor_cycles_active_realtime", 0),
    GP_NSYS_WARPS("Vertex/Tess/Geometry Warps in Flight", "tpc__warps_active_shader_vtg_realtime"),
    GP_NSYS_WARPS("Pixel Warps in Flight", "tpc__warps_active_shader_ps_realtime"),
    GP_NSYS_WARPS("Compute Warps in Flight",
		  "TPC.TriageCompute.tpc__warps_active_shader_cs_realtime"),
    GP_NSYS_WARPS("Unallocated Warps in Active SMs", "tpc__warps_inactive_sm_active_realtime"),
    GP_NSYS_PCT("DRAM Read Bandwidth", "dram__read_throughput", 0),
    GP_NSYS_PCT("DRAM Write Bandwidth", "dram__write_throughput", 0),
    GP_NSYS_PCT("NVLink RX Requests Protocol Data",
		"NVLRX.TriageCompute.nvlrx__bytes_packet_request_data_protocol", 1),
    GP_NSYS_PCT("NVLink RX Requests User Data",
		"NVLRX.TriageCompute.nvlrx__bytes_packet_request_data_user", 1),
    GP_NSYS_PCT("NVLink RX Responses Protocol Data",
		"NVLRX.TriageCompute.nvlrx__bytes_packet_response_data_protocol", 1),
    GP_NSYS_PCT("NVLink RX Responses User Data",
		"NVLRX.TriageCompute.nvlrx__bytes_packet_response_data_user", 1),
    GP_NSYS_PCT("NVLink TX Requests Protocol Data",
		"NVLTX.TriageCompute.nvltx__bytes_packet_request_data_protocol", 1),
    GP_NSYS_PCT("NVLink TX Requests User Data",
		"NVLTX.TriageCompute.nvltx__bytes_packet_request_data_user", 1),
    GP_NSYS_PCT("NVLink TX Responses Protocol Data",
		"NVLTX.TriageCompute.nvltx__bytes_packet_response_data_protocol", 1),
    GP_NSYS_PCT("NVLink TX Responses User Data",
		"NVLTX.TriageCompute.nvltx__bytes_packet_response_data_user", 1),
    GP_NSYS_PCT("CTC RX Throughput", "CTC.TriageCompute.ctc__rx_bytes", 1),
    GP_NSYS_PCT("CTC TX Throughput", "CTC.TriageCompute.ctc__tx_bytes", 1),
    GP_NSYS_PCT("PCIe RX Throughput", "PCI.TriageCompute.pcie__read_bytes", 1),
    GP_NSYS_PCT("PCIe TX Throughput", "PCI.TriageCompute.pcie__write_bytes", 1),
};
#undef GP_NSYS_WARPS
#undef GP_NSYS_PCT

/* nsys's metric set for chip (CUPTI's chip name, "GH100"): its rows and, in *alias, nsys's
 * set alias ("gh100"); NULL when gprof-cli has none for the chip (the sampling default is
 * then gp_metrics_default_sample, with CUPTI's names). */
static inline const struct gp_nsys_metric *gp_nsys_metric_set(const char *chip, size_t *n,
							      const char **alias)
{
	if (chip && !strcmp(chip, "GH100")) {
		*n = sizeof(gp_nsys_set_gh100) / sizeof(gp_nsys_set_gh100[0]);
		if (alias)
			*alias = "gh100";
		return gp_nsys_set_gh100;
	}
	*n = 0;
	return NULL;
}

/* Smallest set for each mode ("--gpu-metrics-set=minimal"): one single-pass metric. */
static const char *const gp_metrics_minimal_range[] = {"gpu__time_duration.sum", NULL};
static const char *const gp_metrics_minimal_sample[] = {
    "gr__cycles_active.avg.pct_of_peak_sustained_elapsed", NULL};

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
    "sm__pipe_tensor_cycles_active.avg.pct_of_peak_sustained_active",
    "sm__pipe_tensor_op_hmma_cycles_active.avg.pct_of_peak_sustained_elapsed",
    "sm__inst_executed_pipe_tensor.sum",
    "sm__inst_executed_pipe_tensor_op_gmma.sum",
    "sm__pipe_fma_cycles_active.avg.pct_of_peak_sustained_active",
    "sm__throughput.avg.pct_of_peak_sustained_active",
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

/* The metric name without its PM-sampling counter-domain prefix ("UNIT.TriageCompute." or
 * "TriageCompute."): a pointer into name, or NULL when it has no such prefix. */
static inline const char *gp_metric_unprefixed(const char *name)
{
	const char *t = strstr(name, "TriageCompute.");
	const char *u = strstr(name, "__");

	if (!t || !u || t > u)
		return NULL;
	return t + strlen("TriageCompute.");
}

/* Length of the base metric of a full name ("PFX.unit__counter" of
 * "PFX.unit__counter.avg.pct_of_peak_sustained_elapsed"): up to the first '.' after the
 * "__", or the whole name.  CUPTI's base-metric lists hold these. */
static inline size_t gp_metric_base_len(const char *name)
{
	const char *u = strstr(name, "__");
	const char *dot = u ? strchr(u, '.') : NULL;

	return dot ? (size_t)(dot - name) : strlen(name);
}

/* --gpu-metrics-devices as the collector sees it: "all", "cuda-visible" (both: every
 * device the process's CUDA sees; returns -1 and leaves ids alone), "none" (returns 0), or
 * a comma list of device ordinals 0..255 (returns how many, at most max, duplicates
 * dropped, into ids).  Returns -2 for anything else. */
static inline int gp_metrics_parse_devices(const char *spec, int *ids, int max)
{
	int n = 0;

	if (!spec || !*spec || !strcmp(spec, "all") || !strcmp(spec, "cuda-visible"))
		return -1;
	if (!strcmp(spec, "none"))
		return 0;
	for (const char *p = spec;;) {
		int v = 0, len = 0, dup = 0;
		while (*p >= '0' && *p <= '9' && len < 4) {
			v = v * 10 + (*p++ - '0');
			len++;
		}
		if (!len || v > 255 || (*p && *p != ','))
			return -2;
		for (int i = 0; i < n; i++)
			dup |= ids[i] == v;
		if (!dup && n < max)
			ids[n++] = v;
		if (!*p)
			return n;
		p++;
	}
}

#endif
