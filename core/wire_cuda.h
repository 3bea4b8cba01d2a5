/*
 * wire_cuda.h - cuda collector records (types 0x300-0x3ff) of the wire format in wire.h.
 * Owned by the cuda collector (collectors/cuda.c) and its recorder module
 * (core/report_cuda.c).
 */
#ifndef GPROF_WIRE_CUDA_H
#define GPROF_WIRE_CUDA_H

#include <stdint.h>

#endif
