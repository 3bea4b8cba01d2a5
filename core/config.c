/* config.c - YAML configuration files for `gprof-cli profile`; see config.h. */
#include "core/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

void config_init(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	strbuf_init(&cfg->err, 0);
	strbuf_init(&cfg->hint, 0);
}

static void entry_free(struct config_entry *e)
{
	free(e->value);
	free(e->file);
}

static void truncate_entries(struct config *cfg, size_t n)
{
	while (cfg->n > n)
		entry_free(&cfg->entries[--cfg->n]);
}

void config_release(struct config *cfg)
{
	int quiet = cfg->quiet;

	truncate_entries(cfg, 0);
	free(cfg->entries);
	strbuf_release(&cfg->err);
	strbuf_release(&cfg->hint);
	config_init(cfg);
	cfg->quiet = quiet;
}

static struct config_entry *entry_append(struct config *cfg, const struct config_option *opt,
					 const char *value, const char *file, unsigned line,
					 unsigned column)
{
	struct config_entry *e;

	GP_ALLOC_GROW(cfg->entries, cfg->n + 1, cfg->alloc);
	e = &cfg->entries[cfg->n++];
	e->opt = opt;
	e->value = xstrdup(value);
	e->file = file ? xstrdup(file) : NULL;
	e->line = line;
	e->column = column;
	return e;
}

const struct config_option *config_find_option(const struct config_schema *schema, const char *name)
{
	for (size_t i = 0; i < schema->n; i++)
		if (!strcmp(schema->options[i].name, name))
			return &schema->options[i];
	return NULL;
}

const struct config_entry *config_find(const struct config *cfg, const char *name)
{
	for (size_t i = cfg->n; i-- > 0;)
		if (!strcmp(cfg->entries[i].opt->name, name))
			return &cfg->entries[i];
	return NULL;
}

/* Length of the variable name at the start of s ([A-Za-z_][A-Za-z0-9_]*), 0 if none. */
static size_t env_name_len(const char *s)
{
	size_t i = 0;

	if (!(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return 0;
	while (isalnum((unsigned char)s[i]) || s[i] == '_')
		i++;
	return i;
}

static int env_same_name(const char *a, const char *b)
{
	size_t la = strcspn(a, "="), lb = strcspn(b, "=");

	return la == lb && !memcmp(a, b, la);
}

void config_set(struct config *cfg, const struct config_option *opt, const char *value,
		const char *file, unsigned line, unsigned column)
{
	for (size_t i = 0; i < cfg->n; i++) {
		struct config_entry *e = &cfg->entries[i];

		if (e->opt != opt && strcmp(e->opt->name, opt->name))
			continue;
		if (opt->type == CONFIG_ENV && !env_same_name(e->value, value))
			continue;
		entry_free(e);
		e->opt = opt;
		e->value = xstrdup(value);
		e->file = file ? xstrdup(file) : NULL;
		e->line = line;
		e->column = column;
		return;
	}
	entry_append(cfg, opt, value, file, line, column);
}

void config_fill_defaults(struct config *cfg, const struct config_schema *schema)
{
	for (size_t i = 0; i < schema->n; i++) {
		const struct config_option *opt = &schema->options[i];

		if (opt->default_value && !config_find(cfg, opt->name))
			entry_append(cfg, opt, opt->default_value, NULL, 0, 0);
	}
}

const char *config_default_path(void)
{
	const char *p = getenv(CONFIG_ENV_VAR);

	return p && *p ? p : NULL;
}

char **config_argv(const struct config *cfg, int argc, char **argv, int *new_argc)
{
	size_t n = 0;
	char **v = xcalloc(cfg->n + (size_t)argc + 1, sizeof(*v));

	if (argc > 0)
		v[n++] = argv[0];
	for (size_t i = 0; i < cfg->n; i++)
		v[n++] = xasprintf("--%s=%s", cfg->entries[i].opt->name, cfg->entries[i].value);
	for (int i = 1; i < argc; i++)
		v[n++] = argv[i];
	v[n] = NULL;
	*new_argc = (int)n;
	return v;
}

void config_free_argv(char **argv, size_t n_entries)
{
	if (!argv)
		return;
	for (size_t i = 0; i < n_entries; i++)
		free(argv[1 + i]);
	free(argv);
}

int config_parse_bool(const char *s, int *b)
{
	if (!strcasecmp(s, "true")) {
		*b = 1;
		return 1;
	}
	if (!strcasecmp(s, "false")) {
		*b = 0;
		return 1;
	}
	return 0;
}

int config_env_split(const char *list, char ***items, size_t *n, struct strbuf *err)
{
	const char *p = list;
	char **v = NULL;
	size_t cnt = 0, alloc = 0;

	*items = NULL;
	*n = 0;
	for (;;) {
		size_t nl = env_name_len(p);
		const char *end;

		if (!nl || p[nl] != '=') {
			size_t l = strcspn(p, ",");

			if (nl == 0 && p[strcspn(p, ",=")] == '=' && p[0] != '=')
				strbuf_addf(err, "invalid variable name in '%.*s'", (int)l, p);
			else if (p[0] == '=')
				strbuf_addf(err, "missing variable name in '%.*s'", (int)l, p);
			else
				strbuf_addf(err, "'%.*s' is not NAME=VALUE", (int)l, p);
			for (size_t i = 0; i < cnt; i++)
				free(v[i]);
			free(v);
			return -1;
		}
		/* the item ends at the first ',' followed by NAME= */
		end = p + nl + 1;
		for (;;) {
			end = strchr(end, ',');
			if (!end)
				break;
			size_t l = env_name_len(end + 1);
			if (l && end[1 + l] == '=')
				break;
			end++;
		}
		size_t len = end ? (size_t)(end - p) : strlen(p);
		GP_ALLOC_GROW(v, cnt + 1, alloc);
		v[cnt] = xmalloc(len + 1);
		memcpy(v[cnt], p, len);
		v[cnt][len] = '\0';
		cnt++;
		if (!end)
			break;
		p = end + 1;
	}
	*items = v;
	*n = cnt;
	return 0;
}

/* --- stock validators --------------------------------------------------------------------- */

static void list_values(struct strbuf *hint, const char *const *vals)
{
	strbuf_addstr(hint, "valid values: ");
	for (size_t i = 0; vals && vals[i]; i++)
		strbuf_addf(hint, "%s%s", i ? ", " : "", vals[i]);
}

static int in_enum(const char *const *vals, const char *s, size_t len)
{
	for (size_t i = 0; vals && vals[i]; i++)
		if (strlen(vals[i]) == len && !memcmp(vals[i], s, len))
			return 1;
	return 0;
}

int config_validate_enum(const struct config_option *opt, const char *value, struct strbuf *err,
			 struct strbuf *hint)
{
	const char *const *vals = opt->data;

	if (in_enum(vals, value, strlen(value)))
		return 0;
	strbuf_addf(err, "invalid value '%s' for '%s'", value, opt->name);
	list_values(hint, vals);
	return -1;
}

int config_validate_enum_list(const struct config_option *opt, const char *value,
			      struct strbuf *err, struct strbuf *hint)
{
	const char *const *vals = opt->data;
	const char *p = value;

	for (;;) {
		size_t l = strcspn(p, ",");

		if (!l) {
			strbuf_addf(err, "empty item in '%s' value '%s'", opt->name, value);
			strbuf_addstr(hint, "separate values with single commas, no spaces");
			return -1;
		}
		if (!in_enum(vals, p, l)) {
			strbuf_addf(err, "invalid value '%.*s' for '%s'", (int)l, p, opt->name);
			list_values(hint, vals);
			return -1;
		}
		if (!p[l])
			return 0;
		p += l + 1;
	}
}

int config_validate_uint(const struct config_option *opt, const char *value, struct strbuf *err,
			 struct strbuf *hint)
{
	uint64_t v;

	if (!gp_parse_u64(value, &v))
		return 0;
	strbuf_addf(err, "invalid value '%s' for '%s'", value, opt->name);
	strbuf_addstr(hint, "give a whole number >= 0");
	return -1;
}

int config_validate_positive(const struct config_option *opt, const char *value, struct strbuf *err,
			     struct strbuf *hint)
{
	uint64_t v;

	if (!gp_parse_u64(value, &v) && v > 0)
		return 0;
	strbuf_addf(err, "invalid value '%s' for '%s'", value, opt->name);
	strbuf_addstr(hint, "give a whole number > 0");
	return -1;
}

int config_validate_bool(const struct config_option *opt, const char *value, struct strbuf *err,
			 struct strbuf *hint)
{
	int b;

	if (config_parse_bool(value, &b))
		return 0;
	strbuf_addf(err, "'%s' must be true or false, not '%s'", opt->name, value);
	strbuf_addstr(hint, "write true or false (yes/no/on/off are not accepted)");
	return -1;
}

/* --- loading ------------------------------------------------------------------------------ */

struct loader {
	const char *path;
	const struct config_schema *schema;
	struct config *cfg;
	yaml_document_t *doc;
};

static int fail_at(struct loader *ld, size_t line, size_t column, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Set cfg->err to "PATH:LINE:COLUMN: <fmt>" (line/column 1-based). */
static int fail_at(struct loader *ld, size_t line, size_t column, const char *fmt, ...)
{
	va_list ap;

	strbuf_reset(&ld->cfg->err);
	strbuf_addf(&ld->cfg->err, "%s:%zu:%zu: ", ld->path, line, column);
	va_start(ap, fmt);
	strbuf_vaddf(&ld->cfg->err, fmt, ap);
	va_end(ap);
	return -1;
}

#define MARK(m) (m).line + 1, (m).column + 1

static const char *shape_name(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_MAPPING_NODE:
		return "a mapping";
	default:
		return "a value";
	}
}

static const char *scalar(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

/* A plain empty, ~ or null scalar: YAML's null. */
static int is_null(const yaml_node_t *n)
{
	const char *s = scalar(n);

	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
	       !strcmp(s, "NULL");
}

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t *row = xcalloc(lb + 1, sizeof(*row));
	size_t d;

	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	d = row[lb];
	free(row);
	return d;
}

/* The hint for an unknown key. */
static void unknown_key_hint(const struct config_schema *schema, const char *key,
			     struct strbuf *hint)
{
	const struct config_option *best = NULL;
	size_t best_d = (size_t)-1;
	char *norm = xstrdup(key + strspn(key, "-"));

	for (char *p = norm; *p; p++)
		if (*p == '_')
			*p = '-';
	if (key[0] && !key[1]) {
		for (size_t i = 0; i < schema->n; i++)
			if (schema->options[i].short_name == key[0]) {
				strbuf_addf(
				    hint, "'%s' is the short switch -%c; write its long name '%s'",
				    key, key[0], schema->options[i].name);
				free(norm);
				return;
			}
	}
	for (size_t i = 0; i < schema->n; i++) {
		size_t d = edit_distance(norm, schema->options[i].name);

		if (d < best_d) {
			best_d = d;
			best = &schema->options[i];
		}
	}
	if (best && best_d == 0)
		strbuf_addf(hint, "write the long option name without dashes or underscores: '%s'",
			    best->name);
	else if (best && best_d <= (strlen(best->name) + 2) / 3 + 1)
		strbuf_addf(hint, "did you mean '%s'?", best->name);
	else {
		strbuf_addstr(hint, "valid keys are profile's long option names: ");
		for (size_t i = 0; i < schema->n; i++)
			strbuf_addf(hint, "%s%s", i ? ", " : "", schema->options[i].name);
	}
	free(norm);
}

/* Run the option's validator on value; on failure set the error at (line, column). */
static int validate(struct loader *ld, const struct config_option *opt, const char *value,
		    yaml_mark_t m)
{
	struct strbuf err = STRBUF_INIT;

	if (!opt->validate)
		return 0;
	strbuf_reset(&ld->cfg->hint);
	if (!opt->validate(opt, value, &err, &ld->cfg->hint)) {
		strbuf_release(&err);
		return 0;
	}
	fail_at(ld, MARK(m), "%s", err.len ? err.buf : "invalid value");
	strbuf_release(&err);
	return -1;
}

static int add(struct loader *ld, const struct config_option *opt, const char *value, yaml_mark_t m)
{
	if (validate(ld, opt, value, m))
		return -1;
	entry_append(ld->cfg, opt, value, ld->path, m.line + 1, m.column + 1);
	return 0;
}

static int need_scalar(struct loader *ld, const struct config_option *opt, const yaml_node_t *v)
{
	if (v->type != YAML_SCALAR_NODE)
		return fail_at(ld, MARK(v->start_mark), "'%s' takes one value, not %s", opt->name,
			       shape_name(v));
	if (is_null(v))
		return fail_at(ld, MARK(v->start_mark), "'%s' needs a value", opt->name);
	return 0;
}

static int add_env(struct loader *ld, const struct config_option *opt, const char *name,
		   const char *val, yaml_mark_t m)
{
	struct strbuf item = STRBUF_INIT;
	int ret;

	if (!name[0] || env_name_len(name) != strlen(name)) {
		fail_at(ld, MARK(m), "invalid variable name '%s' in '%s'", name, opt->name);
		strbuf_addstr(
		    &ld->cfg->hint,
		    "variable names are letters, digits and '_', not starting with a digit");
		return -1;
	}
	strbuf_addf(&item, "%s=%s", name, val);
	ret = add(ld, opt, item.buf, m);
	strbuf_release(&item);
	return ret;
}

static int load_env(struct loader *ld, const struct config_option *opt, const yaml_node_t *v)
{
	yaml_document_t *doc = ld->doc;

	if (v->type == YAML_MAPPING_NODE) {
		for (yaml_node_pair_t *p = v->data.mapping.pairs.start;
		     p < v->data.mapping.pairs.top; p++) {
			yaml_node_t *k = yaml_document_get_node(doc, p->key);
			yaml_node_t *val = yaml_document_get_node(doc, p->value);

			if (k->type != YAML_SCALAR_NODE)
				return fail_at(
				    ld, MARK(k->start_mark),
				    "variable names in '%s' must be plain values, not %s",
				    opt->name, shape_name(k));
			for (yaml_node_pair_t *q = v->data.mapping.pairs.start; q < p; q++) {
				yaml_node_t *k2 = yaml_document_get_node(doc, q->key);

				if (k2->type == YAML_SCALAR_NODE &&
				    !strcmp(scalar(k2), scalar(k))) {
					fail_at(ld, MARK(k->start_mark),
						"variable '%s' given twice in '%s'", scalar(k),
						opt->name);
					strbuf_addf(&ld->cfg->hint, "the first is at line %zu",
						    k2->start_mark.line + 1);
					return -1;
				}
			}
			if (val->type != YAML_SCALAR_NODE)
				return fail_at(
				    ld, MARK(val->start_mark),
				    "the value of '%s' in '%s' must be a plain value, not %s",
				    scalar(k), opt->name, shape_name(val));
			if (is_null(val)) {
				fail_at(ld, MARK(val->start_mark),
					"variable '%s' in '%s' needs a value", scalar(k),
					opt->name);
				strbuf_addf(&ld->cfg->hint, "write %s: \"\" for an empty value",
					    scalar(k));
				return -1;
			}
			if (add_env(ld, opt, scalar(k), scalar(val), k->start_mark))
				return -1;
		}
		return 0;
	}
	if (v->type == YAML_SEQUENCE_NODE) {
		for (yaml_node_item_t *it = v->data.sequence.items.start;
		     it < v->data.sequence.items.top; it++) {
			yaml_node_t *n = yaml_document_get_node(doc, *it);
			char *eq;
			int ret;

			if (n->type != YAML_SCALAR_NODE || is_null(n))
				return fail_at(
				    ld, MARK(n->start_mark),
				    "items of '%s' must be NAME=VALUE, not %s", opt->name,
				    n->type == YAML_SCALAR_NODE ? "an empty value" : shape_name(n));
			eq = strchr(scalar(n), '=');
			if (!eq) {
				fail_at(ld, MARK(n->start_mark), "'%s' in '%s' is not NAME=VALUE",
					scalar(n), opt->name);
				return -1;
			}
			*eq = '\0';
			ret = add_env(ld, opt, scalar(n), eq + 1, n->start_mark);
			*eq = '=';
			if (ret)
				return -1;
		}
		return 0;
	}
	if (need_scalar(ld, opt, v))
		return -1;
	{
		char **items;
		size_t n;
		struct strbuf err = STRBUF_INIT;

		if (config_env_split(scalar(v), &items, &n, &err)) {
			fail_at(ld, MARK(v->start_mark), "%s in '%s'", err.buf, opt->name);
			strbuf_addstr(&ld->cfg->hint,
				      "write NAME=VALUE[,NAME=VALUE...] or a mapping NAME: VALUE");
			strbuf_release(&err);
			return -1;
		}
		strbuf_release(&err);
		int ret = 0;
		for (size_t i = 0; i < n; i++) {
			if (!ret && add(ld, opt, items[i], v->start_mark))
				ret = -1;
			free(items[i]);
		}
		free(items);
		return ret;
	}
}

static int load_list(struct loader *ld, const struct config_option *opt, const yaml_node_t *v)
{
	struct strbuf joined = STRBUF_INIT;
	int ret = -1;

	if (v->type == YAML_MAPPING_NODE)
		return fail_at(ld, MARK(v->start_mark), "'%s' takes a list, not a mapping",
			       opt->name);
	if (v->type == YAML_SCALAR_NODE) {
		if (need_scalar(ld, opt, v))
			return -1;
		return add(ld, opt, scalar(v), v->start_mark);
	}
	if (v->data.sequence.items.start == v->data.sequence.items.top)
		return fail_at(ld, MARK(v->start_mark), "'%s' needs at least one value", opt->name);
	for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
	     it++) {
		yaml_node_t *n = yaml_document_get_node(ld->doc, *it);

		if (n->type != YAML_SCALAR_NODE) {
			fail_at(ld, MARK(n->start_mark),
				"items of '%s' must be plain values, not %s", opt->name,
				shape_name(n));
			goto out;
		}
		if (is_null(n)) {
			fail_at(ld, MARK(n->start_mark), "empty item in '%s'", opt->name);
			goto out;
		}
		if (validate(ld, opt, scalar(n), n->start_mark))
			goto out;
		if (joined.len)
			strbuf_addch(&joined, ',');
		strbuf_addstr(&joined, scalar(n));
	}
	ret = add(ld, opt, joined.buf, v->start_mark);
out:
	strbuf_release(&joined);
	return ret;
}

static int load_value(struct loader *ld, const struct config_option *opt, const yaml_node_t *v)
{
	int b;

	switch (opt->type) {
	case CONFIG_STRING:
		if (need_scalar(ld, opt, v))
			return -1;
		return add(ld, opt, scalar(v), v->start_mark);
	case CONFIG_BOOL:
		if (need_scalar(ld, opt, v))
			return -1;
		if (!config_parse_bool(scalar(v), &b)) {
			fail_at(ld, MARK(v->start_mark), "'%s' must be true or false, not '%s'",
				opt->name, scalar(v));
			strbuf_addstr(&ld->cfg->hint,
				      "write true or false (yes/no/on/off are not accepted)");
			return -1;
		}
		return add(ld, opt, b ? "true" : "false", v->start_mark);
	case CONFIG_LIST:
		return load_list(ld, opt, v);
	case CONFIG_ENV:
		return load_env(ld, opt, v);
	}
	return fail_at(ld, MARK(v->start_mark), "internal error: bad type of '%s'", opt->name);
}

static int load_mapping(struct loader *ld, const yaml_node_t *root)
{
	yaml_document_t *doc = ld->doc;

	if (root->type == YAML_SCALAR_NODE && is_null(root))
		return 0;
	if (root->type != YAML_MAPPING_NODE) {
		fail_at(ld, MARK(root->start_mark),
			"expected a mapping of option names to values, found %s", shape_name(root));
		strbuf_addstr(&ld->cfg->hint, "write one 'name: value' line per option, e.g. "
					      "'trace: cuda,nvtx'");
		return -1;
	}
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key);
		yaml_node_t *v = yaml_document_get_node(doc, p->value);
		const struct config_option *opt;

		if (k->type != YAML_SCALAR_NODE)
			return fail_at(ld, MARK(k->start_mark), "keys must be option names, not %s",
				       shape_name(k));
		opt = config_find_option(ld->schema, scalar(k));
		if (!opt) {
			fail_at(ld, MARK(k->start_mark), "unknown key '%s'", scalar(k));
			unknown_key_hint(ld->schema, scalar(k), &ld->cfg->hint);
			return -1;
		}
		for (yaml_node_pair_t *q = root->data.mapping.pairs.start; q < p; q++) {
			yaml_node_t *k2 = yaml_document_get_node(doc, q->key);

			if (k2->type == YAML_SCALAR_NODE && !strcmp(scalar(k2), scalar(k))) {
				fail_at(ld, MARK(k->start_mark), "duplicate key '%s'", scalar(k));
				strbuf_addf(&ld->cfg->hint, "the first is at line %zu; keep one",
					    k2->start_mark.line + 1);
				return -1;
			}
		}
		if (load_value(ld, opt, v))
			return -1;
	}
	return 0;
}

/* Line and column (1-based) of byte offset `off` in buf, for libyaml reader errors. */
static void offset_position(const char *buf, size_t len, size_t off, size_t *line, size_t *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off && i < len; i++) {
		if (buf[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

static int parser_error(struct loader *ld, yaml_parser_t *parser, const char *buf, size_t len)
{
	const char *problem = parser->problem ? parser->problem : "cannot parse YAML";

	if (parser->error == YAML_READER_ERROR) {
		size_t line, col;

		offset_position(buf, len, parser->problem_offset, &line, &col);
		return fail_at(ld, line, col, "%s", problem);
	}
	if (parser->error == YAML_MEMORY_ERROR)
		die("out of memory parsing '%s'", ld->path);
	fail_at(ld, MARK(parser->problem_mark), "%s", problem);
	if (strstr(problem, "tab character"))
		strbuf_addstr(&ld->cfg->hint, "indent with spaces: YAML does not allow tabs");
	if (parser->context)
		strbuf_addf(&ld->cfg->err, " (%s at %zu:%zu)", parser->context,
			    MARK(parser->context_mark));
	return -1;
}

static int read_file(const char *path, char **buf, size_t *len, struct strbuf *err)
{
	FILE *f = fopen(path, "rb");
	struct strbuf sb = STRBUF_INIT;
	char chunk[8192];
	size_t n;

	if (!f) {
		strbuf_addf(err, "cannot open config file '%s': %s", path, strerror(errno));
		return -1;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		strbuf_add(&sb, chunk, n);
	if (ferror(f)) {
		strbuf_addf(err, "cannot read config file '%s': %s", path, strerror(errno));
		fclose(f);
		strbuf_release(&sb);
		return -1;
	}
	fclose(f);
	*buf = strbuf_detach(&sb, len);
	return 0;
}

int config_load(const char *path, const struct config_schema *schema, struct config *out)
{
	struct loader ld = {path, schema, out, NULL};
	yaml_parser_t parser;
	yaml_document_t doc, doc2;
	size_t n0 = out->n;
	char *buf = NULL;
	size_t len = 0;
	int ret = -1;

	strbuf_reset(&out->err);
	strbuf_reset(&out->hint);
	if (read_file(path, &buf, &len, &out->err)) {
		strbuf_addstr(&out->hint,
			      "check the path given to --config or in $" CONFIG_ENV_VAR);
		goto report;
	}
	if (!yaml_parser_initialize(&parser))
		die("out of memory initialising the YAML parser");
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&parser, &doc)) {
		parser_error(&ld, &parser, buf, len);
		goto done_parser;
	}
	ld.doc = &doc;
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	if (root) {
		if (!yaml_parser_load(&parser, &doc2)) {
			parser_error(&ld, &parser, buf, len);
			goto done_doc;
		}
		yaml_node_t *root2 = yaml_document_get_root_node(&doc2);
		if (root2) {
			fail_at(&ld, MARK(root2->start_mark), "more than one YAML document");
			strbuf_addstr(&out->hint,
				      "put every option in one mapping; remove the '---'");
			yaml_document_delete(&doc2);
			goto done_doc;
		}
		yaml_document_delete(&doc2);
		if (load_mapping(&ld, root))
			goto done_doc;
	}
	ret = 0;
done_doc:
	yaml_document_delete(&doc);
done_parser:
	yaml_parser_delete(&parser);
report:
	free(buf);
	if (ret) {
		truncate_entries(out, n0);
		if (!out->quiet) {
			error("%s", out->err.buf);
			if (out->hint.len)
				hint("%s", out->hint.buf);
		}
	}
	return ret;
}

/* --- printing ----------------------------------------------------------------------------- */

static int emit(yaml_emitter_t *em, yaml_event_t *ev)
{
	return yaml_emitter_emit(em, ev) ? 0 : -1;
}

/* Would a plain `s` load back as null (or be unrepresentable plain)? Then quote it. */
static int needs_quotes(const char *s)
{
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
	       !strcmp(s, "NULL");
}

static int emit_scalar(yaml_emitter_t *em, const char *s)
{
	yaml_event_t ev;
	yaml_scalar_style_t style =
	    needs_quotes(s) ? YAML_SINGLE_QUOTED_SCALAR_STYLE : YAML_ANY_SCALAR_STYLE;

	if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)strlen(s), 1, 1,
					  style))
		return -1;
	return emit(em, &ev);
}

static int emit_scalar_n(yaml_emitter_t *em, const char *s, size_t n)
{
	char *t = xmalloc(n + 1);
	int ret;

	memcpy(t, s, n);
	t[n] = '\0';
	ret = emit_scalar(em, t);
	free(t);
	return ret;
}

/* Is entries[i] overridden by a later entry (same option; for env, same variable)? */
static int superseded(const struct config_entry *e, size_t n, size_t i)
{
	for (size_t j = i + 1; j < n; j++) {
		if (strcmp(e[j].opt->name, e[i].opt->name))
			continue;
		if (e[i].opt->type != CONFIG_ENV || env_same_name(e[i].value, e[j].value))
			return 1;
	}
	return 0;
}

static int emit_entries(yaml_emitter_t *em, const struct config_entry *e, size_t n)
{
	yaml_event_t ev;

	for (size_t i = 0; i < n; i++) {
		const struct config_option *opt = e[i].opt;

		if (opt->type == CONFIG_ENV) {
			int first = 1;

			for (size_t j = 0; j < i; j++)
				if (!strcmp(e[j].opt->name, opt->name))
					first = 0;
			if (!first)
				continue;
			if (emit_scalar(em, opt->name))
				return -1;
			yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
							    YAML_BLOCK_MAPPING_STYLE);
			if (emit(em, &ev))
				return -1;
			for (size_t j = i; j < n; j++) {
				const char *v = e[j].value, *eq;

				if (strcmp(e[j].opt->name, opt->name) || superseded(e, n, j))
					continue;
				eq = strchr(v, '=');
				if (!eq)
					eq = v + strlen(v);
				if (emit_scalar_n(em, v, (size_t)(eq - v)) ||
				    emit_scalar(em, *eq ? eq + 1 : ""))
					return -1;
			}
			yaml_mapping_end_event_initialize(&ev);
			if (emit(em, &ev))
				return -1;
			continue;
		}
		if (superseded(e, n, i))
			continue;
		if (emit_scalar(em, opt->name))
			return -1;
		if (opt->type == CONFIG_LIST) {
			const char *p = e[i].value;

			yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
							     YAML_FLOW_SEQUENCE_STYLE);
			if (emit(em, &ev))
				return -1;
			for (;;) {
				size_t l = strcspn(p, ",");

				if (emit_scalar_n(em, p, l))
					return -1;
				if (!p[l])
					break;
				p += l + 1;
			}
			yaml_sequence_end_event_initialize(&ev);
			if (emit(em, &ev))
				return -1;
		} else if (emit_scalar(em, e[i].value)) {
			return -1;
		}
	}
	return 0;
}

int config_print(FILE *f, const struct config_entry *entries, size_t n)
{
	yaml_emitter_t em;
	yaml_event_t ev;
	int ret = -1;

	if (!yaml_emitter_initialize(&em))
		die("out of memory initialising the YAML emitter");
	yaml_emitter_set_output_file(&em, f);
	yaml_emitter_set_unicode(&em, 1);
	yaml_emitter_set_width(&em, -1);
	yaml_emitter_set_indent(&em, 2);

	yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
	if (emit(&em, &ev))
		goto out;
	yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
	if (emit(&em, &ev))
		goto out;
	yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
	if (emit(&em, &ev))
		goto out;
	if (emit_entries(&em, entries, n))
		goto out;
	yaml_mapping_end_event_initialize(&ev);
	if (emit(&em, &ev))
		goto out;
	yaml_document_end_event_initialize(&ev, 1);
	if (emit(&em, &ev))
		goto out;
	yaml_stream_end_event_initialize(&ev);
	if (emit(&em, &ev))
		goto out;
	if (!yaml_emitter_flush(&em))
		goto out;
	ret = 0;
out:
	if (ret)
		error("cannot write the configuration as YAML: %s",
		      em.problem ? em.problem : "a value is not valid UTF-8");
	yaml_emitter_delete(&em);
	return ret;
}
