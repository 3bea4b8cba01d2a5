/*
 * timeline.h - `gprof-cli export --type perfetto|chrome-json`: one or more reports as a
 * timeline trace (man gprof-cli-export, TIMELINE EXPORT).
 *
 * One event walk (timeline.c) reads the report tables with streaming SQLite queries, each
 * ordered by start time (read in storage order when the table is in time order, as nsys's
 * exports hold it: checked by a first scan, or as it is read when the trace goes to a
 * file, which is then emptied and written again, with the scans, should a table turn out
 * not to be; else sorted in C, timeline_rows.h), applies the filters and hands tracks and
 * events to a writer (a "sink"): Perfetto's protobuf trace format (timeline_pftrace.c) or
 * the Trace Event Format JSON of chrome://tracing (timeline_json.c).  Nothing is held per
 * event: memory is the tracks, the interned names, the NVTX windows of --nvtx, the sort of
 * a table out of order (chunks of 16 MiB, spilled to a temporary file), one byte per CUDA
 * API call with GPU work counts (the flows), and the API calls whose GPU work has not
 * started yet.
 *
 * Tracks (nsys's rows): a process per report process with events, named from PROCESSES
 * (with the MPI rank or the report's file name when several reports go into one trace); a
 * thread per globalTid (ThreadNames) with child rows "NVTX", "NVTX start/end", "CUDA API",
 * "OS runtime libraries" and "MPI"; one "CUDA HW (device N) / Stream M" track per process,
 * device and stream for kernels, memcpy, memset and CUDA graph launches; counters "CUDA
 * memory usage (device N)" (CUDA_GPU_MEMORY_USAGE_EVENTS) and "GPU N: <metric>"
 * (GPU_METRICS).
 *
 * Times: integer ns on a common base.  Each report's timestamps are moved by the
 * difference of its TARGET_INFO_SESSION_START_TIME.utcEpochNs from the earliest one among
 * the reports (0 for one report); --start/--end count from time 0 of the earliest report,
 * its session start (as nsys's timestamps and gprof-cli's do).
 */
#ifndef GPROF_TIMELINE_H
#define GPROF_TIMELINE_H

#include <regex.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>

enum timeline_type {
	TIMELINE_PERFETTO = 0, /* Perfetto protobuf (.pftrace) */
	TIMELINE_CHROME_JSON,  /* Trace Event Format JSON */
};

/* What `export` asks for.  Times in ns relative to the (earliest) session start. */
struct timeline_opts {
	enum timeline_type type;
	const char *output; /* file, or "-" for standard output; never NULL */
	int force;	    /* replace an existing output */
	int quiet;	    /* no summary line on stderr */
	int64_t start;	    /* --start: keep events ending at or after it; 0 = from the start */
	int64_t end;	    /* --end: keep events starting at or before it; INT64_MAX = open */
	/* --nvtx: keep only events overlapping an instance of this NVTX range (push/pop or
	 * start/end): message nvtx (NULL = no filter) in domain nvtx_domain ("" = the default
	 * domain), or in any domain when nvtx_any_domain; the CLI parses the value as `profile
	 * -p` (core/capture.h) */
	const char *nvtx;
	const char *nvtx_domain;
	int nvtx_any_domain;
	const regex_t *name_re; /* --name: keep slices and instants whose name matches (counters
				   are kept); NULL = all */
	const int32_t *pids;	/* --pid: keep only these process ids (npids of them) */
	size_t npids;
};

/* Parse a --start/--end value: a non-negative number with an optional unit ns (default),
 * us, ms or s ("1.5s", "200ms", "3000").  0 and *ns set, or -1 for anything else. */
int timeline_parse_time(const char *s, int64_t *ns);

/* Default output for report path db_path: the path without its extension plus ".pftrace"
 * (perfetto) or ".json" (chrome-json); heap string, the caller frees. */
char *timeline_default_output(const char *db_path, enum timeline_type t);

/*
 * Export the n reports dbs (opened with report_open_read(); paths[i] names dbs[i] for
 * labels and messages) into one trace as o says.  The output is written under a temporary
 * name (emptied and written again when a table read as it is stored turns out not to be in
 * time order) and renamed into place when complete.  Returns GP_EXIT_OK, GP_EXIT_OUTPUT (output
 * exists without force, or cannot be written), GP_EXIT_BAD_INPUT (a report is damaged),
 * GP_EXIT_ERROR (other SQLite error); the error is printed, and on failure nothing is left at the
 * output path.
 */
int timeline_export(sqlite3 *const *dbs, const char *const *paths, size_t n,
		    const struct timeline_opts *o);

/* ---- the interface between the walk and the writers ----------------------------------- */

enum tl_track_kind {
	TL_TRACK_PROCESS, /* pid set; name = process name */
	TL_TRACK_THREAD,  /* pid, tid set; name = thread name; parent = its process */
	TL_TRACK_ROW,	  /* a named row of slices under parent (thread or process) */
	TL_TRACK_COUNTER, /* a counter under parent (process) or at top level (parent NULL) */
};

/* A track, owned by the walk (valid until the export ends).  Sinks get each once, through
 * tl_sink.track, after its parent and before its first event. */
struct tl_track {
	uint64_t uuid; /* unique in the trace, never 0 */
	enum tl_track_kind kind;
	struct tl_track *parent; /* NULL for processes and top-level counters */
	int32_t pid;		 /* process id as written (remapped with several reports) */
	int64_t tid;		 /* thread id as written (threads; for rows: their thread's) */
	char *name;		 /* heap string owned by the walk */
	const char *unit;	 /* counters: "bytes" or NULL (a plain count) */
	int sort_index;		 /* order among siblings (smaller first) */
	int emitted;		 /* the walk's: handed to the sink already */
	int64_t acc;		 /* the walk's: a counter's running value */
	int64_t acc_before;	 /* the walk's: its value at the last sample before --start */
	int skipped;		 /* the walk's: that sample was dropped, not yet carried in */
	int64_t sink_id;	 /* the sink's number for the track (json: a row's pseudo tid) */
	void *priv;		 /* the sink's per-track state (the sink frees it in destroy()) */
};

enum tl_event_type {
	TL_SLICE,   /* [ts, ts + dur) nested with the others on its track */
	TL_RANGE,   /* [ts, ts + dur) that may overlap others on its track (NVTX start/end) */
	TL_INSTANT, /* at ts (NVTX marks) */
	TL_COUNTER, /* value at ts on a counter track */
	TL_SAMPLE,  /* a CPU sample at ts on a thread track: its stack in frames */
};

/* One frame of a CPU sample's stack (SAMPLING_CALLCHAINS: symbol and module). */
struct tl_frame {
	const char *name;   /* function, "0x..." when unresolved; never NULL */
	const char *module; /* file of the code, "" when unknown; never NULL */
};

enum tl_arg_type { TL_ARG_INT, TL_ARG_DOUBLE, TL_ARG_STR };

/* One named argument of an event (shown in the viewers' details panel). */
struct tl_arg {
	const char *name; /* static string */
	enum tl_arg_type type;
	int64_t i;
	double d;
	const char *s; /* valid for the call */
};

#define TL_MAX_ARGS 12

/* The API end of a flow arrow whose both ends are in the trace (for writers that need both
 * ends in one place: chrome-json). */
struct tl_flow_src {
	struct tl_track *track; /* the API call's row */
	int64_t ts, dur;	/* the API call */
	uint64_t id;		/* unique per arrow */
};

/* One event; every pointer is valid for the call only. */
struct tl_event {
	enum tl_event_type type;
	struct tl_track *track;
	int64_t ts, dur;  /* ns on the common base; dur 0 for instants and counters */
	const char *name; /* slices, ranges, instants */
	const char *cat;  /* category (NVTX domain, "cuda_api", "cuda_gpu", "osrt", "mpi"): a
			     static string or one that lives until the export ends (writers
			     may know it by its address) */
	double value;	  /* counters */
	/* Perfetto flows (TrackEvent.flow_ids / terminating_flow_ids): flow_out on an API call
	 * that has GPU work, flow_in on that work; 0 = none */
	uint64_t flow_out, flow_in;
	const struct tl_flow_src *flow_src; /* GPU work whose API call is kept, or NULL */
	/* samples: the stack, leaf first (frames[0] the sampled function), and the CPU */
	const struct tl_frame *frames;
	int nframes;
	int32_t cpu;
	int nargs;
	struct tl_arg args[TL_MAX_ARGS];
};

/* A writer.  Each callback returns 0, or -1 after a write error (errno set). */
struct tl_sink {
	int (*track)(struct tl_sink *s, struct tl_track *t);
	int (*event)(struct tl_sink *s, const struct tl_event *e);
	/* End of one ordered source: the next events on a track may start earlier */
	int (*pass_end)(struct tl_sink *s);
	/* All done: close what is open and write the trailer */
	int (*end)(struct tl_sink *s);
	/* Free the sink, its per-track state and itself (not the FILE); tl_sink_free() */
	void (*destroy)(struct tl_sink *s);
	FILE *out;
	uint64_t events; /* events written (slices count once) */
	void *priv;
};

/* The Perfetto writer on out (a TracePacket stream: Perfetto's Trace message). */
struct tl_sink *tl_pftrace_sink(FILE *out);
/* The Trace Event Format writer on out ({"traceEvents":[...]}). */
struct tl_sink *tl_json_sink(FILE *out);
/* Free a sink after end() (or instead of it, after a failure); NULL is ignored. */
void tl_sink_free(struct tl_sink *s);

#endif
