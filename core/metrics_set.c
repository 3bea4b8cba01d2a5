/*
 * metrics_set.c - --gpu-metrics-set resolution: built-in sets and YAML metric-set files
 * (libyaml event parser; errors carry FILE:LINE:COL).  See metrics_set.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>

#include "core/metrics_names.h"
#include "core/metrics_set.h"
#include "core/wire.h"

/* Check and append one name; 0 or -1 (error printed; where = "FILE:L:C: " or ""). */
static int add_name(struct strbuf *out, int *n, const char *name, const char *where)
{
	const char *near[4];
	size_t k;

	if (!gp_metric_name_valid(name)) {
		error("%sunknown GPU metric '%s'", where, name);
		k = gp_metric_suggest(name, gp_metrics_known, (size_t)-1, near, 4);
		if (k) {
			struct strbuf h = STRBUF_INIT;
			for (size_t i = 0; i < k; i++)
				strbuf_addf(&h, "%s%s", i ? ", " : "", near[i]);
			hint("did you mean: %s", h.buf);
			strbuf_release(&h);
		} else {
			hint("metric names look like unit__counter.rollup.submetric, e.g. "
			     "dram__throughput.avg.pct_of_peak_sustained_elapsed");
		}
		return -1;
	}
	if (*n >= GP_METRICS_MAX) {
		error("%stoo many GPU metrics (at most %d)", where, GP_METRICS_MAX);
		return -1;
	}
	/* duplicates: exact item match in the comma list */
	size_t len = strlen(name);
	for (const char *p = out->buf; p && *p;) {
		const char *e = strchr(p, ',');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (l == len && !strncmp(p, name, len)) {
			error("%sGPU metric '%s' listed twice", where, name);
			return -1;
		}
		p = e ? e + 1 : NULL;
	}
	strbuf_addf(out, "%s%s", *n ? "," : "", name);
	(*n)++;
	return 0;
}

static int yaml_fail(const char *file, const yaml_mark_t *m, const char *what)
{
	error("%s:%zu:%zu: %s", file, m->line + 1, m->column + 1, what);
	return -1;
}

static int load_yaml(const char *file, int mode, struct strbuf *out)
{
	FILE *f = fopen(file, "r");
	yaml_parser_t p;
	yaml_event_t ev;
	int n = 0, depth = 0, rc = -1, in_metrics = 0, expect_value = 0, saw_metrics = 0;
	char key[64] = "", where[512];

	if (!f) {
		error("cannot open metric set '%s': %s", file, strerror(errno));
		hint("give --gpu-metrics-set=file:PATH with an existing YAML file "
		     "(see examples/metrics.yaml)");
		return -1;
	}
	yaml_parser_initialize(&p);
	yaml_parser_set_input_file(&p, f);
	for (;;) {
		if (!yaml_parser_parse(&p, &ev)) {
			error("%s:%zu:%zu: %s", file, p.problem_mark.line + 1,
			      p.problem_mark.column + 1, p.problem ? p.problem : "YAML error");
			goto out;
		}
		yaml_event_type_t t = ev.type;
		const yaml_mark_t *m = &ev.start_mark;
		if (t == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		if (t == YAML_MAPPING_START_EVENT || t == YAML_SEQUENCE_START_EVENT) {
			if (depth == 0 && t != YAML_MAPPING_START_EVENT) {
				yaml_fail(file, m,
					  "a metric set is a mapping with a 'metrics:' list");
				goto bad;
			}
			if (depth == 1 && !(in_metrics && t == YAML_SEQUENCE_START_EVENT)) {
				yaml_fail(file, m, "'metrics' must be a list of metric names");
				goto bad;
			}
			if (depth >= 2) {
				yaml_fail(file, m, "a metric is one name (a plain string)");
				goto bad;
			}
			depth++;
			expect_value = 0;
		} else if (t == YAML_MAPPING_END_EVENT || t == YAML_SEQUENCE_END_EVENT) {
			depth--;
			if (depth == 1)
				in_metrics = 0;
		} else if (t == YAML_SCALAR_EVENT) {
			const char *v = (const char *)ev.data.scalar.value;
			if (depth == 2) {
				snprintf(where, sizeof(where), "%s:%zu:%zu: ", file, m->line + 1,
					 m->column + 1);
				if (add_name(out, &n, v, where) < 0)
					goto bad;
			} else if (depth == 1 && !expect_value) {
				snprintf(key, sizeof(key), "%s", v);
				if (strcmp(key, "metrics") && strcmp(key, "name") &&
				    strcmp(key, "mode")) {
					char msg[160];
					snprintf(msg, sizeof(msg),
						 "unknown key '%.60s' (valid: metrics, name, mode)",
						 key);
					yaml_fail(file, m, msg);
					goto bad;
				}
				in_metrics = !strcmp(key, "metrics");
				saw_metrics |= in_metrics;
				expect_value = !in_metrics;
				if (in_metrics)
					expect_value = 0;
			} else if (depth == 1) {
				expect_value = 0;
				if (!strcmp(key, "mode")) {
					int want = !strcmp(v, "range")	  ? GP_METRICS_MODE_RANGE
						   : !strcmp(v, "sample") ? GP_METRICS_MODE_SAMPLE
									  : 0;
					if (!want) {
						yaml_fail(file, m, "mode must be range or sample");
						goto bad;
					}
					if (want != mode) {
						yaml_fail(file, m,
							  "this metric set is for another "
							  "--gpu-metrics-mode");
						hint("use --gpu-metrics-mode=%s with it", v);
						goto bad;
					}
				}
			} else {
				yaml_fail(file, m,
					  "a metric set is a mapping with a 'metrics:' list");
				goto bad;
			}
		}
		yaml_event_delete(&ev);
		continue;
	bad:
		yaml_event_delete(&ev);
		goto out;
	}
	if (!saw_metrics || n == 0) {
		error("%s: no metrics listed", file);
		hint("add a 'metrics:' list of metric names (see examples/metrics.yaml)");
		goto out;
	}
	rc = n;
out:
	yaml_parser_delete(&p);
	fclose(f);
	return rc;
}

int metrics_set_resolve(const char *spec, int mode, struct strbuf *out)
{
	const char *const *list = NULL;
	int n = 0;

	if (mode == GP_METRICS_MODE_SAMPLE &&
	    (!spec || !strcmp(spec, "default") || !strcmp(spec, "gh100")))
		return 0; /* the collector picks by chip: nsys's set (gp_nsys_metric_set) */
	if (!spec || !strcmp(spec, "default"))
		list = gp_metrics_default_range;
	else if (!strcmp(spec, "minimal"))
		list = mode == GP_METRICS_MODE_RANGE ? gp_metrics_minimal_range
						     : gp_metrics_minimal_sample;
	else if (!strncmp(spec, "file:", 5))
		return load_yaml(spec + 5, mode, out);
	if (!list) {
		error("unknown GPU metric set '%s' (valid: default, minimal, gh100 (sampling), "
		      "file:<metrics.yaml>)",
		      spec);
		hint("list metrics in a YAML file and give --gpu-metrics-set=file:metrics.yaml");
		return -1;
	}
	for (size_t i = 0; list[i]; i++)
		if (add_name(out, &n, list[i], "") < 0)
			return -1;
	return n;
}
