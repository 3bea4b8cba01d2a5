#!/usr/bin/env python3
"""gen-cudalibs.py - generate the cuBLAS/cuDNN wrappers of collectors/cudalibs.c.

Reads the real prototypes from the CUDA headers (cublas_api.h, cublasLt.h and cudnn.h
with the cudnn_graph/ops/cnn/adv headers it includes) through the C preprocessor and
writes two files that are committed, so building gprof-cli needs neither Python nor the
cuBLAS/cuDNN headers:

  collectors/cudalibs_gen.h  one GL_WRAP/GL_WRAP_VOID line per public function (the
                             macros are in collectors/cudalibs.c, which includes the file
                             once) and the tables of libraries and function names
  collectors/cudalibs.map    the linker version script: every wrapper gets the symbol
                             version of the library it stands for (cublasSgemm_v2 ->
                             cublasSgemm_v2@@libcublas.so.13), so only callers bound to
                             that ABI are interposed

Types are lowered to what the calling convention passes (x86-64 SysV, AArch64 AAPCS64):
every pointer, array and function pointer -> void *, every enum -> int, integer and
floating types as they are.  A struct or union passed by value, or a variadic function,
stops the generator with an error (none exists in cuBLAS 13.1 / cuDNN 9.19): such a
function needs its real type, which this lowering cannot give.

Only functions that are both declared in the headers and exported (nm -D) by the library
in --lib-dir are wrapped; without --lib-dir every declared function is (a wrapper for a
name the library does not export returns the library's "not initialized" status).

Usage: scripts/gen-cudalibs.py [--cuda-include DIR] [--lib-dir DIR] [--out-dir collectors]
Regenerate after a CUDA/cuDNN major version change (`make gen-cudalibs`).
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

# The families: enum name, header(s) (the tokens of these files are the API), name
# pattern, soname/version prefix and major version macro, NVTX domain, -t value, status
# type and its "not initialized" constant (what a wrapper returns when the real function
# cannot be found).
LIBS = [
    dict(id="CUBLAS", headers=["cublas_api.h", "cublas.h", "cublasXt.h"], name=r"cublas(?!Lt)\w+",
         soname="libcublas.so.{}", major="CUBLAS_VER_MAJOR", domain="GL_DOM_CUBLAS",
         status="cublasStatus_t", fail="CUBLAS_STATUS_NOT_INITIALIZED"),
    dict(id="CUBLASLT", headers=["cublasLt.h"], name=r"cublasLt\w+",
         soname="libcublasLt.so.{}", major="CUBLAS_VER_MAJOR", domain="GL_DOM_CUBLAS",
         status="cublasStatus_t", fail="CUBLAS_STATUS_NOT_INITIALIZED"),
    dict(id="CUDNN", headers=["cudnn_graph.h", "cudnn_ops.h", "cudnn_cnn.h", "cudnn_adv.h"],
         name=r"cudnn\w+", soname="libcudnn.so.{}", major="CUDNN_MAJOR",
         domain="GL_DOM_CUDNN", status="cudnnStatus_t",
         fail="CUDNN_STATUS_NOT_INITIALIZED"),
]

BASIC = {"void", "char", "short", "int", "long", "float", "double", "signed", "unsigned",
         "_Bool"}
QUALIFIERS = {"const", "volatile", "register", "restrict", "extern", "static", "inline"}
# Structs passed by value, with a definition of the same layout and alignment (so the
# same calling-convention class: float2 in one SSE register, double2 in two): the legacy
# API's cuComplex / cuDoubleComplex (vector_types.h: __align__(8) float2, __align__(16)
# double2).
BY_VALUE = {
    "struct float2": ("struct gl_float2",
                      "struct gl_float2 {\n\tfloat x, y;\n} __attribute__((aligned(8)));"),
    "struct double2": ("struct gl_double2",
                       "struct gl_double2 {\n\tdouble x, y;\n} __attribute__((aligned(16)));"),
}
STD_NAMES = {"size_t", "int8_t", "int16_t", "int32_t", "int64_t", "uint8_t", "uint16_t",
             "uint32_t", "uint64_t", "intptr_t", "uintptr_t", "ptrdiff_t"}


class GenError(Exception):
    pass


def strip_balanced(text, keyword):
    """Remove `keyword (...)` (balanced parentheses) everywhere in text."""
    out, i = [], 0
    pat = re.compile(r"\b" + re.escape(keyword) + r"\b")
    while True:
        m = pat.search(text, i)
        if not m:
            out.append(text[i:])
            return "".join(out)
        out.append(text[i:m.start()])
        k = m.end()
        while k < len(text) and text[k].isspace():
            k += 1
        if k < len(text) and text[k] == "(":
            depth = 0
            while k < len(text):
                if text[k] == "(":
                    depth += 1
                elif text[k] == ")":
                    depth -= 1
                    if depth == 0:
                        k += 1
                        break
                k += 1
        i = k


TOKEN = re.compile(r'\s*(?:(\.\.\.)|([A-Za-z_]\w*)|(0[xX][0-9a-fA-F]+\w*|\d[\w.]*)|'
                   r'("(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\')|(\S))')


def tokenize(text):
    """(token, file) pairs of preprocessed text; `file` from the line markers."""
    toks, cur = [], ""
    for line in text.split("\n"):
        if line.startswith("#"):
            m = re.match(r'#\s*\d+\s+"([^"]*)"', line)
            if m:
                cur = m.group(1)
            continue
        pos = 0
        while pos < len(line):
            m = TOKEN.match(line, pos)
            if not m or m.end() == pos:
                break
            pos = m.end()
            tok = next(g for g in m.groups() if g is not None)
            toks.append((tok, cur))
    return toks


def statements(toks):
    """Top-level declarations: lists of (token, file), split at depth-0 ';' and after
    function bodies."""
    stmt, depth = [], 0
    for i, (t, f) in enumerate(toks):
        if t in "([{":
            depth += 1
        elif t in ")]}":
            if depth == 0:
                continue  # the '}' of an extern "C" { dropped by the caller
            depth -= 1
        if depth == 0 and t == ";":
            if stmt:
                yield stmt
            stmt = []
            continue
        stmt.append((t, f))
        if depth == 0 and t == "}":
            # a function definition: ") {...}" at depth 0, no ';' after it
            j = len(stmt) - 2
            d = 0
            while j >= 0:
                if stmt[j][0] == "}":
                    d += 1
                elif stmt[j][0] == "{":
                    if d == 0:
                        break
                    d -= 1
                j -= 1
            if j > 0 and stmt[j - 1][0] == ")":
                yield stmt
                stmt = []


def split_commas(toks):
    """Split a token list at depth-0 commas."""
    parts, cur, depth = [], [], 0
    for t in toks:
        if t in "([{":
            depth += 1
        elif t in ")]}":
            depth -= 1
        if t == "," and depth == 0:
            parts.append(cur)
            cur = []
        else:
            cur.append(t)
    parts.append(cur)
    return parts


def drop_extern_c(toks):
    """toks without the `extern "C" {` of C++ headers (statements() skips the unmatched
    closing brace)."""
    out, k = [], 0
    while k < len(toks):
        if (toks[k][0] == "extern" and k + 2 < len(toks) and toks[k + 1][0] == '"C"' and
                toks[k + 2][0] == "{"):
            k += 3
            continue
        out.append(toks[k])
        k += 1
    return out


class Types:
    """What each typedef name is: ('ptr',), ('enum',), ('struct', name), ('basic', text)."""

    def __init__(self):
        self.kind = {}

    def base_kind(self, base):
        base = [t for t in base if t not in QUALIFIERS]
        if not base:
            return None
        if base[0] == "enum":
            return ("enum",)
        if base[0] in ("struct", "union"):
            return ("struct", " ".join(base))
        if all(t in BASIC for t in base):
            return ("basic", " ".join(base))
        if len(base) == 1 and base[0] in self.kind:
            k = self.kind[base[0]]
            if k[0] == "basic" and base[0] in STD_NAMES:
                return ("basic", base[0])
            return k
        return None

    def add_typedef(self, toks):
        toks = toks[1:]  # 'typedef'
        if toks and toks[0] in ("struct", "union", "enum"):
            kw = toks[0]
            i = 1
            if i < len(toks) and toks[i] != "{":
                i += 1  # tag
            if i < len(toks) and toks[i] == "{":
                depth = 0
                while i < len(toks):
                    if toks[i] == "{":
                        depth += 1
                    elif toks[i] == "}":
                        depth -= 1
                        if depth == 0:
                            i += 1
                            break
                    i += 1
            base, decls = toks[:i], toks[i:]
            base_k = ("enum",) if kw == "enum" else ("struct", " ".join(toks[:2]))
        else:
            # the base type is every token before the first declarator: find the last
            # identifier of the first declarator
            decl_start = None
            for j, t in enumerate(toks):
                if t in ("*", "("):
                    decl_start = j
                    break
                if t == ",":
                    decl_start = j - 1
                    break
            if decl_start is None:
                decl_start = len(toks) - 1
                # "typedef T name[4]": the name is before the '['
                if "[" in toks:
                    decl_start = toks.index("[") - 1
            base, decls = toks[:decl_start], toks[decl_start:]
            base_k = self.base_kind(base)
        for d in split_commas(decls):
            names = [t for t in d if re.match(r"[A-Za-z_]\w*$", t) and t not in QUALIFIERS]
            if not names:
                continue
            name = names[0] if "(" in d else names[-1]
            if "*" in d or "(" in d or "[" in d:
                self.kind[name] = ("ptr",)
            elif base_k is not None:
                self.kind[name] = base_k

    def lower(self, toks, what):
        """The C type passed for a parameter or return type `toks` (no name)."""
        if "*" in toks or "[" in toks or "(" in toks:
            return "void *"
        k = self.base_kind(toks)
        if k is None:
            raise GenError("%s: unknown type '%s'" % (what, " ".join(toks)))
        if k[0] == "ptr":
            return "void *"
        if k[0] == "enum":
            return "int"
        if k[0] == "struct":
            if k[1] in BY_VALUE:
                return BY_VALUE[k[1]][0]
            raise GenError("%s: %s passed by value (needs its real type)" % (what, k[1]))
        return k[1]


def parse_function(stmt, types, fname):
    """(return type, name, [param types]) of a declaration stmt (tokens)."""
    toks = [t for t in stmt if t not in QUALIFIERS]
    i = toks.index(fname)
    ret = types.lower(toks[:i], fname + " return")
    if toks[i + 1] != "(" or toks[-1] != ")":
        raise GenError("%s: not a plain function declaration" % fname)
    params = []
    inner = toks[i + 2:-1]
    if inner == ["void"] or not inner:
        return ret, params
    for p in split_commas(inner):
        if p == ["..."]:
            raise GenError("%s: variadic" % fname)
        ptr = "*" in p or "[" in p or "(" in p
        if ptr:
            params.append("void *")
            continue
        base = [t for t in p if t not in QUALIFIERS]
        # a trailing identifier is the parameter's name unless it is the whole type
        if (len(base) > 1 and re.match(r"[A-Za-z_]\w*$", base[-1]) and
                base[-1] not in BASIC):
            base = base[:-1]
        params.append(types.lower(base, "%s parameter '%s'" % (fname, " ".join(p))))
    return ret, params


def exported(lib_dir, soname):
    """Names the library exports with the default version soname, or None."""
    if not lib_dir:
        return None
    path = os.path.join(lib_dir, soname)
    if not os.path.exists(path):
        raise GenError("%s not found (give --lib-dir, or none to skip the check)" % path)
    out = subprocess.run(["nm", "-D", "--defined-only", path], check=True,
                         capture_output=True, text=True).stdout
    names = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[1] in "TW":
            names.add(parts[2].split("@")[0])
    return names


def macro_value(text, name):
    m = re.search(r"#\s*define\s+" + name + r"\s+(\d+)", text)
    if not m:
        raise GenError("%s not found in the headers" % name)
    return int(m.group(1))


def enum_value(text, name):
    m = re.search(r"\b" + name + r"\s*=\s*(\d+)", text)
    if not m:
        raise GenError("%s not found in the headers" % name)
    return int(m.group(1))


def preprocess(inc, cc, lang, includes):
    """The preprocessed text of `includes` (C or C++) and its macro definitions."""
    with tempfile.NamedTemporaryFile("w", suffix=".c" if lang == "c" else ".cc",
                                     delete=False) as f:
        for h in includes:
            f.write("#include <%s>\n" % h)
        src = f.name
    std = "-std=gnu11" if lang == "c" else "-std=gnu++17"
    try:
        pre = subprocess.run([cc, "-E", "-x", lang, std, "-I", inc, src], check=True,
                             capture_output=True, text=True).stdout
        defs = subprocess.run([cc, "-E", "-dM", "-x", lang, std, "-I", inc, src],
                              check=True, capture_output=True, text=True).stdout
    finally:
        os.unlink(src)
    for kw in ("__attribute__", "__asm__", "__asm", "__declspec", "__typeof__"):
        pre = strip_balanced(pre, kw)
    pre = re.sub(r"\b(__extension__|__restrict|__restrict__|__inline__|__inline|"
                 r"__const)\b", " ", pre)
    return pre, defs


# Preprocessing units: language, headers included, and the files whose tokens are kept
# (None: all).  The first unit gives the types of every unit kept to its own files: the
# C++ pass over cublas_api.h finds the functions it declares for C++ only (those with
# __half pointers: cublasHgemm & co.), the cublas.h (legacy API) and cublasXt.h units the
# declarations that cannot be included next to cublas_api.h.
UNITS = [
    ("c", ["cublas_api.h", "cublasLt.h", "cudnn.h"], None),
    ("c", ["cublas.h"], None),
    ("c", ["cublasXt.h"], None),
    ("c++", ["cublas_api.h"], {"cublas_api.h"}),
]


def generate(inc, lib_dir, cc, cxx):
    decls = {}  # name -> (tokens, header file, Types)
    first = None
    pre_all = defs_all = ""
    for lang, includes, keep in UNITS:
        pre, defs = preprocess(inc, cc if lang == "c" else cxx, lang, includes)
        pre_all += pre
        defs_all += defs
        toks = tokenize(pre)
        if keep is not None:
            toks = [(t, f) for t, f in toks if os.path.basename(f) in keep]
            # extern "C" { ... } of a C++ pass: the braces would hide the declarations
            toks = drop_extern_c(toks)
        types = Types() if keep is None else first
        for stmt in statements(toks):
            tk = [t for t, _ in stmt]
            if tk[0] == "typedef":
                if keep is None:
                    types.add_typedef(tk)
                continue
            if "(" not in tk or "{" in tk:
                continue
            i = tk.index("(")
            if i == 0:
                continue
            decls.setdefault(tk[i - 1], (tk, stmt[0][1], types))
        if first is None:
            first = types
    libs, fns = [], []
    for lib in LIBS:
        major = macro_value(defs_all, lib["major"])
        soname = lib["soname"].format(major)
        names = exported(lib_dir, soname)
        fail = enum_value(pre_all, lib["fail"])
        count = 0
        for name, (toks, fpath, types) in decls.items():
            if os.path.basename(fpath) not in lib["headers"]:
                continue
            if not re.fullmatch(lib["name"], name):
                continue
            if names is not None and name not in names:
                continue
            ret, params = parse_function(toks, types, name)
            ret_toks = [x for x in toks[:toks.index(name)] if x not in QUALIFIERS]
            fail_value = str(fail) if ret_toks == [lib["status"]] else "0"
            fns.append((len(libs), name, ret, params, fail_value))
            count += 1
        if count == 0:
            raise GenError("no function found for %s" % soname)
        libs.append((lib["id"], soname, lib["domain"], count))
    return libs, fns


def write_outputs(libs, fns, out_dir, argv):
    hdr = []
    hdr.append("/*")
    hdr.append(" * cudalibs_gen.h - GENERATED by scripts/gen-cudalibs.py from the CUDA headers; do")
    hdr.append(" * not edit (regenerate: make gen-cudalibs).  Included twice by collectors/cudalibs.c:")
    hdr.append(" * for the tables, then with GL_WRAP and GL_WRAP_VOID defined for the wrappers.")
    hdr.append(" *")
    hdr.append(" * One wrapper per public function: GL_WRAP(return type, index, library, name,")
    hdr.append(" * (parameters), (arguments), value returned when the real function is missing).")
    hdr.append(" * Types are lowered to what the calling convention passes (pointers -> void *,")
    hdr.append(" * enums -> int).  Libraries (wrapped functions):")
    for lib_id, soname, domain, count in libs:
        hdr.append(" *   %-18s %4d" % (soname, count))
    hdr.append(" */")
    hdr.append("")
    hdr.append("#ifndef GL_WRAP /* first inclusion: the tables */")
    hdr.append("")
    hdr.append("/* The libraries, in struct gl_lib order (collectors/cudalibs.c). */")
    hdr.append("enum gl_lib_id {")
    for lib_id, _, _, _ in libs:
        hdr.append("\tGL_LIB_%s," % lib_id)
    hdr.append("\tGL_N_LIBS")
    hdr.append("};")
    hdr.append("")
    hdr.append("static const struct gl_lib gl_libs[GL_N_LIBS] = {")
    for lib_id, soname, domain, _ in libs:
        hdr.append('    {"%s", %s},' % (soname, domain))
    hdr.append("};")
    hdr.append("")
    used = [v for v in BY_VALUE.values() if any(v[0] in r or v[0] in " ".join(p)
                                                 for _, _, r, p, _ in fns)]
    if used:
        hdr.append("/* Passed by value by the legacy API (cuComplex, cuDoubleComplex): the same")
        hdr.append(" * layout and alignment as vector_types.h's float2 and double2. */")
        for _, definition in used:
            hdr.append(definition)
        hdr.append("")
    hdr.append("#define GL_N_FNS %d" % len(fns))
    hdr.append("")
    hdr.append("/* Function names (the exported symbol, as nsys names the NVTX range) and their")
    hdr.append(" * library. */")
    hdr.append("static const struct gl_fn gl_fns[GL_N_FNS] = {")
    for li, name, _, _, _ in fns:
        hdr.append('    {"%s", GL_LIB_%s},' % (name, libs[li][0]))
    hdr.append("};")
    hdr.append("")
    hdr.append("#else /* second inclusion: the wrappers */")
    for idx, (li, name, ret, params, fail) in enumerate(fns):
        plist = ", ".join("%s a%d" % (p, k) if not p.endswith("*") else "%sa%d" % (p, k)
                          for k, p in enumerate(params)) or "void"
        alist = ", ".join("a%d" % k for k in range(len(params)))
        if ret == "void":
            hdr.append("GL_WRAP_VOID(%d, GL_LIB_%s, %s, (%s), (%s))" %
                       (idx, libs[li][0], name, plist, alist))
        else:
            hdr.append("GL_WRAP(%s, %d, GL_LIB_%s, %s, (%s), (%s), %s)" %
                       (ret, idx, libs[li][0], name, plist, alist, fail))
    hdr.append("#endif")
    with open(os.path.join(out_dir, "cudalibs_gen.h"), "w") as f:
        f.write("\n".join(hdr) + "\n")

    m = ["/* cudalibs.map - GENERATED by scripts/gen-cudalibs.py; do not edit.  The linker",
         " * version script of libgprof-cudalibs.so: each wrapper carries the symbol version of",
         " * the library whose ABI it was generated from (collectors/cudalibs.c); the producer",
         " * runtime's process-wide clock (collectors/producer.c \"the clock\") is exported. */",
         "GPROF_CLI {", "global:", "\tgprof_cli_clock_v2;", "};"]
    for li, (lib_id, soname, _, _) in enumerate(libs):
        m.append("%s {" % soname)
        m.append("global:")
        for fli, name, _, _, _ in fns:
            if fli == li:
                m.append("\t%s;" % name)
        if li == len(libs) - 1:
            m.append("local:")
            m.append("\t*;")
        m.append("};")
    with open(os.path.join(out_dir, "cudalibs.map"), "w") as f:
        f.write("\n".join(m) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    cuda = os.environ.get("CUDA_HOME", "/usr/local/cuda")
    ap.add_argument("--cuda-include", default=os.path.join(cuda, "include"))
    ap.add_argument("--lib-dir", default=os.path.join(cuda, "lib64"),
                    help="folder of the real libraries (export check); '' to skip")
    ap.add_argument("--out-dir", default="collectors")
    ap.add_argument("--cc", default=os.environ.get("CC", "cc"))
    ap.add_argument("--cxx", default=os.environ.get("CXX", "c++"))
    a = ap.parse_args()
    try:
        libs, fns = generate(a.cuda_include, a.lib_dir, a.cc, a.cxx)
    except (GenError, subprocess.CalledProcessError) as e:
        print("gen-cudalibs: %s" % e, file=sys.stderr)
        return 1
    write_outputs(libs, fns, a.out_dir, sys.argv)
    print("gen-cudalibs: %d functions (%s)" %
          (len(fns), ", ".join("%s %d" % (s, c) for _, s, _, c in libs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
