/*
 * cmd_recipe.c - `gprof-cli recipe NAME [<options>] REPORT...`: one analysis over many
 * reports (one per rank), as `nsys recipe` (nsys-cli.md section 5; man gprof-cli-recipe;
 * the recipes are in exporters/recipe*.c).
 *
 * Order: parse options; --help / --help-recipes need no report; the recipe name, option
 * values and --name (usage errors exit 2); then every report is opened and checked (exit
 * 3 naming the bad one) and --output is created (exit 4 when it exists without
 * --force-overwrite) before anything is printed.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmds.h"
#include "core/util.h"
#include "exporters/recipe.h"

static const char usage_text[] =
    "usage: gprof-cli recipe NAME [<options>] REPORT.db...\n"
    "\n"
    "Run one analysis over many reports (one per rank of a distributed run) and print\n"
    "its tables: summaries (cuda_api_sum, cuda_gpu_kern_sum, nvtx_sum, osrt_sum, mpi_sum,\n"
    "nccl_sum) per rank and over all ranks with their spread; pace (nvtx_pace,\n"
    "cuda_gpu_kern_pace, nvtx_gpu_proj_pace); heatmaps (cuda_gpu_time_util_map,\n"
    "nccl_gpu_time_util_map, gpu_metric_util_map); and straggler: per step the slowest\n"
    "rank, by how much and why.\n"
    "\n"
    "      --name NAME       the NVTX range or kernel to follow (pace: required;\n"
    "                        straggler: the step's range, found when left out)\n"
    "      --collective RANGE\n"
    "                        straggler: an NVTX range that marks a collective (besides\n"
    "                        MPI's and NCCL's), e.g. around a gloo all_reduce\n"
    "      --bins N          heatmaps: time bins over the run (default 30)\n"
    "      --threshold T     straggler: flag a score below T, 0 < T <= 1 (default 0.7)\n"
    "      --jobs N          reports read at once (default: the online CPUs)\n"
    "      --disable-alignment\n"
    "                        start every report at 0 instead of one common timeline\n"
    "  -f, --format FMT      column (default), table, csv, tsv or json\n"
    "      --timeunit UNIT   unit of time columns: ns, us, ms, s (also nsec, usec, msec,\n"
    "                        seconds or a unique prefix); default ns\n"
    "  -o, --output DIR      also write DIR/<table>.csv for every table and\n"
    "                        DIR/<recipe>.svg (pace, heatmap, straggler)\n"
    "      --force-overwrite replace DIR when it exists\n"
    "      --help-recipes [NAME|ALL]\n"
    "                        list the recipes, or describe one or all, and exit\n"
    "  -q, --quiet           print only the tables (no banners)\n"
    "  -h, --help            print this help and exit\n"
    "\n"
    "Exit status: 0 ok, 1 error, 2 usage, 3 bad report, 4 output exists or cannot be\n"
    "written.  See man gprof-cli-recipe.\n";

enum {
	OPT_NAME = 256,
	OPT_COLLECTIVE,
	OPT_BINS,
	OPT_THRESHOLD,
	OPT_JOBS,
	OPT_NO_ALIGN,
	OPT_TIMEUNIT,
	OPT_FORCE,
	OPT_HELP_RECIPES,
};

static const struct option longopts[] = {
    {"name", required_argument, NULL, OPT_NAME},
    {"collective", required_argument, NULL, OPT_COLLECTIVE},
    {"bins", required_argument, NULL, OPT_BINS},
    {"threshold", required_argument, NULL, OPT_THRESHOLD},
    {"jobs", required_argument, NULL, OPT_JOBS},
    {"disable-alignment", no_argument, NULL, OPT_NO_ALIGN},
    {"format", required_argument, NULL, 'f'},
    {"timeunit", required_argument, NULL, OPT_TIMEUNIT},
    {"output", required_argument, NULL, 'o'},
    {"force-overwrite", no_argument, NULL, OPT_FORCE},
    {"help-recipes", optional_argument, NULL, OPT_HELP_RECIPES},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static void unknown_recipe(const char *name)
{
	error("unknown recipe '%s'", name);
	hint("'gprof-cli recipe --help-recipes' lists the recipes");
}

static void print_help(const struct recipe *r)
{
	size_t len = strlen(r->help);

	fputs(r->help, stdout);
	if (len && r->help[len - 1] != '\n')
		putchar('\n');
}

static int help_recipes(const char *which)
{
	if (!which) {
		printf("Available recipes (gprof-cli recipe --help-recipes NAME describes one):\n");
		for (const struct recipe *const *r = recipe_all(); *r; r++)
			printf("  %-24s %s\n", (*r)->name, (*r)->display);
		return GP_EXIT_OK;
	}
	if (!strcmp(which, "ALL")) {
		for (const struct recipe *const *r = recipe_all(); *r; r++) {
			if (r != recipe_all())
				putchar('\n');
			print_help(*r);
		}
		return GP_EXIT_OK;
	}
	const struct recipe *r = recipe_find(which);
	if (!r) {
		unknown_recipe(which);
		return GP_EXIT_USAGE;
	}
	print_help(r);
	return GP_EXIT_OK;
}

/* A whole decimal number in [lo, hi]; else one error line and GP_EXIT_USAGE. */
static int parse_int(const char *opt, const char *arg, long lo, long hi, int *out)
{
	char *end;
	long v = strtol(arg, &end, 10);

	if (!*arg || *end || v < lo || v > hi) {
		error("%s '%s' is not a whole number from %ld to %ld", opt, arg, lo, hi);
		hint("e.g. %s %ld", opt, lo > 1 ? lo : hi < 30 ? hi : 30);
		return GP_EXIT_USAGE;
	}
	*out = (int)v;
	return 0;
}

int cmd_recipe(int argc, char **argv)
{
	struct recipe_opts o = {.bins = 30, .threshold = 0.7};
	const struct recipe *r;
	const char *help_arg = NULL;
	int help_asked = 0, c, status;
	char *end;

	o.fmt.format = STATS_FMT_COLUMN;
	o.fmt.timeunit = STATS_TU_NS;
	o.fmt.banners = 1;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":f:o:qh", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_NAME:
			if (!*optarg) {
				error("--name is empty");
				hint("give the NVTX range or kernel name: --name step");
				return GP_EXIT_USAGE;
			}
			o.name = optarg;
			break;
		case OPT_COLLECTIVE:
			if (!*optarg) {
				error("--collective is empty");
				hint("name the NVTX range around the collective: --collective "
				     "allreduce");
				return GP_EXIT_USAGE;
			}
			o.collective = optarg;
			break;
		case OPT_BINS:
			if ((status = parse_int("--bins", optarg, 1, 100000, &o.bins)))
				return status;
			break;
		case OPT_JOBS:
			if ((status = parse_int("--jobs", optarg, 1, 256, &o.jobs)))
				return status;
			break;
		case OPT_THRESHOLD:
			o.threshold = strtod(optarg, &end);
			if (!*optarg || *end || !(o.threshold > 0 && o.threshold <= 1)) {
				error("--threshold '%s' is not a number above 0 and at most 1",
				      optarg);
				hint("a score is median/own time: 0.7 flags a rank 1.43x slower");
				return GP_EXIT_USAGE;
			}
			break;
		case OPT_NO_ALIGN:
			o.no_align = 1;
			break;
		case 'f':
			if ((status = gp_option_format(optarg, &o.fmt.format)))
				return status;
			break;
		case OPT_TIMEUNIT:
			if ((status = gp_option_timeunit(optarg, &o.fmt.timeunit)))
				return status;
			break;
		case 'o':
			o.outdir = optarg;
			break;
		case OPT_FORCE:
			o.force = 1;
			break;
		case OPT_HELP_RECIPES:
			help_asked = 1;
			help_arg = optarg;
			if (!optarg && optind < argc && argv[optind][0] != '-' &&
			    (!strcmp(argv[optind], "ALL") || recipe_find(argv[optind])))
				help_arg = argv[optind++];
			break;
		case 'q':
			o.fmt.banners = 0;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return GP_EXIT_OK;
		default:
			return gp_option_error("recipe", c == ':', argv[optind - 1]);
		}
	}
	if (help_asked)
		return help_recipes(help_arg);
	if (optind == argc) {
		error("no recipe given");
		hint("usage: gprof-cli recipe NAME [<options>] REPORT.db...; --help-recipes lists "
		     "them");
		return GP_EXIT_USAGE;
	}
	r = recipe_find(argv[optind]);
	if (!r) {
		unknown_recipe(argv[optind]);
		return GP_EXIT_USAGE;
	}
	optind++;
	if (optind == argc) {
		error("no report file given");
		hint("usage: gprof-cli recipe %s [<options>] REPORT.db...", r->name);
		return GP_EXIT_USAGE;
	}
	return recipe_run(r, &o, (const char *const *)argv + optind, (size_t)(argc - optind),
			  stdout);
}
