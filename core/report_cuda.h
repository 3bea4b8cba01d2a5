/*
 * report_cuda.h - helpers of the cuda table module (core/report_cuda.c) that tests and
 * the CUDA stats reports may use.  The module itself is `report_module_cuda`.
 */
#ifndef GPROF_REPORT_CUDA_H
#define GPROF_REPORT_CUDA_H

#include <stddef.h>

#include "core/report.h"

/* The recorder's table module for GP_REC_CUDA_* records (wire_cuda.h). */
extern const struct report_module report_module_cuda;

/*
 * The base name of a demangled C++ function name as nsys shows it in shortName: without
 * the parameter list, trailing template arguments, return type and scope
 * ("void ns::k<int>(int *)" -> "k", "tiny(float *, int)" -> "tiny").  s need not be
 * NUL-terminated; on success writes the name's byte range [*start, *end) of s and
 * returns 0; returns -1 when s has no parameter list (not a demangled function name).
 */
int report_cuda_short_name(const char *s, size_t len, size_t *start, size_t *end);

/*
 * A libstdc++-demangled name rewritten in the style nsys prints (NVIDIA's demangler):
 * template-argument literals as casts ("<10, true, 5ul>" -> "<(int)10, (bool)1,
 * (unsigned long)5>"), "(anonymous namespace)" -> "<unnamed>", "T const*" -> "const T *"
 * for a simple T, and a space before each run of '*' or '&' ("tiny(float*, int)" ->
 * "tiny(float *, int)").  Returns a new string (caller frees).
 */
char *report_cuda_nsys_style(const char *demangled);

#endif
