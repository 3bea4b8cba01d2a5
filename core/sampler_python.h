/*
 * sampler_python.h - the CPython frame reader of `profile --python-sampling`
 * (core/sampler.c).  The reader itself is core/wire_python.h: the cuda collector reads its
 * own thread's Python frames with it too (--python-backtrace=cuda), and the injected
 * library may use only the wire layer (scripts/check-layers.sh).
 */
#ifndef GPROF_SAMPLER_PYTHON_H
#define GPROF_SAMPLER_PYTHON_H

#include "wire_python.h"

#endif
