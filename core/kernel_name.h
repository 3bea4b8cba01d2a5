/*
 * kernel_name.h - CUDA kernel names spelled as nsys spells them.
 *
 * CUPTI reports kernel names mangled (Itanium C++ ABI).  nsys writes them to
 * StringIds demangled by NVIDIA's demangler, whose spelling differs from libstdc++'s
 * __cxa_demangle (which does the actual demangling here).  Seen in nsys 2025.3 exports
 * on the H200 (tests/fixtures/nsys-kernel-names.tsv holds 83 names of PyTorch, cuDNN,
 * cuBLAS and our test kernels with what nsys wrote for them):
 *
 *   libstdc++                                   nsys
 *   void k<float>(float*, float const*)         void k<float>(T1 *, const T1 *)
 *   Array<char*, 2ul> > (int, 10, true)         Array<char *, (unsigned long)2>> ((int)10, (bool)1)
 *   (anonymous namespace)::f                    <unnamed>::f
 *   f(...)::{lambda(float)#1}                   f(...)::[lambda(float) (instance 1)]
 *   ns::g<int>(int)::{lambda()#1}  (nested)     void ns::g<int>(T1)::[lambda() (instance 1)]
 *   operator()() const                          operator ()() const
 *
 * i.e. a parameter whose type is a template parameter is printed as T1, T2, ... (the
 * N-th template parameter of its function), template-argument literals as casts, cv
 * qualifiers before the type, and a nested function template with its return type.
 */
#ifndef GPROF_KERNEL_NAME_H
#define GPROF_KERNEL_NAME_H

#include <stddef.h>

/*
 * Demangle a kernel name the way nsys shows it (see above).  mangled: NUL-terminated
 * "_Z..." name.  Returns a new string (caller frees), or NULL when mangled is not a
 * mangled C++ name libstdc++ can demangle (extern "C" names, cuBLAS's plain names:
 * nsys stores those unchanged).  Template-parameter names need a pre-pass over the
 * mangled name; when that pass meets a construct it does not know (expressions,
 * decltype), the name is demangled without it (types substituted, as libstdc++ does).
 */
char *kernel_name_demangle(const char *mangled);

/*
 * A libstdc++-demangled name rewritten in nsys's spelling: literals, "<unnamed>",
 * lambdas, "operator ()", cv before the type, a space before '*' / '&', ">>" (and the
 * return types the pre-pass of kernel_name_demangle marked).  Returns a new string
 * (caller frees).  Exposed for the tests.
 */
char *kernel_name_style(const char *demangled);

/*
 * The base name of a demangled C++ function name as nsys shows it in shortName: without
 * the parameter list, trailing template arguments, return type and scope
 * ("void ns::k<int>(int *)" -> "k", "tiny(float *, int)" -> "tiny").  s need not be
 * NUL-terminated; on success writes the name's byte range [*start, *end) of s and
 * returns 0; returns -1 when s has no parameter list (not a demangled function name).
 */
int kernel_name_short(const char *s, size_t len, size_t *start, size_t *end);

#endif
