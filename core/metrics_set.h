/*
 * metrics_set.h - the metric list of `profile --gpu-metrics-set=NAME|file:metrics.yaml`
 * (issue 5), resolved by gprof-cli before launch and passed to the injected collector as
 * "gpu-metrics-metrics=a,b,c" in $GPROF_CLI_OPTIONS.
 *
 * Built-in names: "default" (range mode: core/metrics_names.h gp_metrics_default_range;
 * sampling: an empty list, so that the collector takes nsys's set for the chip,
 * gp_nsys_metric_set, or gp_metrics_default_sample on a chip without one), "gh100" (nsys's
 * alias of that set; sampling) and "minimal" (one single-pass metric).
 * A YAML file (libyaml) is a mapping with a `metrics:` sequence of metric names and
 * optional `name:` (text) and `mode:` (range|sample: the mode the set was written for;
 * another --gpu-metrics-mode is an error); see examples/metrics.yaml.
 */
#ifndef GPROF_METRICS_SET_H
#define GPROF_METRICS_SET_H

#include "core/util.h"

/*
 * Resolve `spec` (NULL = "default") for `mode` (GP_METRICS_MODE_SAMPLE or _RANGE,
 * wire_metrics.h) into a comma-separated list appended to out.  Every name must look
 * like a Perfworks metric (gp_metric_name_valid); at most GP_METRICS_MAX names, no
 * duplicates.  Returns the number of metrics (0: the chip's set, above), or -1 after printing one
 * error line
 * ("FILE:LINE:COL: ..." for YAML problems, 1-based) and, for unknown names, a hint
 * listing close matches from the known names.
 */
int metrics_set_resolve(const char *spec, int mode, struct strbuf *out);

#endif
