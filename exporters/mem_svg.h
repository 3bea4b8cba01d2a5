/*
 * mem_svg.h - the memory-over-time picture (issue 20; `gprof-cli export --type mem-svg`):
 * one SVG with a line per process for host memory in use (GPROF_HOST_MEMORY_EVENTS and
 * _SAMPLES: --host-memory-usage=true), per process and device for GPU memory, and per
 * process for pinned host memory (CUDA_GPU_MEMORY_USAGE_EVENTS: --cuda-memory-usage=true),
 * over the top-level NVTX push/pop ranges shaded in the background (their names on top).
 * Drawn with the SVG writer exporters/svg.h; a line keeps, per pixel column, the lowest
 * and highest value it passed through, so no peak is lost however many events there are.
 */
#ifndef GPROF_MEM_SVG_H
#define GPROF_MEM_SVG_H

#include <sqlite3.h>

/* Write db's picture to path (refused when it exists and force is 0).  quiet: no summary
 * line on stderr.  Returns GP_EXIT_OK; GP_EXIT_BAD_INPUT when db holds no memory data (one
 * error line naming the switches that record it); GP_EXIT_OUTPUT when path exists without
 * force or cannot be written; GP_EXIT_ERROR on an SQLite error.  Nothing is left behind
 * on failure. */
int mem_svg_export(sqlite3 *db, const char *path, int force, int quiet);

#endif
