# gprof-cli - build, test and demo.
#
#   make            build build/bin/gprof-cli and the injection libraries
#   make demo       install missing Debian build deps (when root), build, profile the
#                   bundled sample with -t nvtx,osrt and print its stats
#   make check      build and run every CPU test (unit + end-to-end); last line is
#                   "N passed, N failed, N skipped"
#   make check-gpu  build and run the CUDA tests (needs a GPU, the driver and CUPTI)
#   make check-fuzz build the libFuzzer targets (clang) and run each for FUZZ_SECONDS (45)
#   make bench      CPU benchmarks (bench/RESULTS.md explains the figures)
#   make lint       the static checks CI runs: one-way layers, functions nothing calls
#   make install PREFIX=/usr/local
#   make DEVELOPER=1 ...  warnings are errors (-Werror); CI builds so
#   make SANITIZE=address,undefined check
#                   the same in build-san/ with the sanitizers (see "sanitizers" below)
#
# Dependencies: SQLite (libsqlite3-dev, linked statically: the shared library's internal
# calls go through its PLT, 20 % of a timeline export's CPU), libyaml (libyaml-dev, also static),
# elfutils' libdw (libdw-dev: CPU sampling's unwinder),
# cmocka (libcmocka-dev, tests only), NVTX3 and CUPTI headers from CUDA_HOME.

CUDA_HOME ?= /usr/local/cuda
PREFIX ?= /usr/local
CC ?= cc
CXX ?= c++
NVCC ?= $(CUDA_HOME)/bin/nvcc

# a sanitizer build has a folder of its own, so that it never mixes with build/
B := $(if $(SANITIZE),build-san,build)
CUDA_INC := $(CUDA_HOME)/include
CUPTI_INC := $(firstword $(wildcard $(CUDA_HOME)/extras/CUPTI/include) $(CUDA_HOME)/include)

# -Werror only for developers and CI (DEVELOPER=1, git's habit): another compiler or
# another version may warn where ours does not, and that must not stop a user's build
WERROR := $(if $(DEVELOPER),-Werror)
# -Wmissing-prototypes: a function neither static nor declared in a header is dead or in
# the wrong place (the collectors' interposers are the exception: see SO_CFLAGS)
WARN := -Wall -Wextra -Wno-unused-parameter -Wmissing-prototypes $(WERROR)
CFLAGS ?= -O2 -g

# --- sanitizers ------------------------------------------------------------------
# make SANITIZE=address,undefined check builds everything into build-san/ with
# -fsanitize=$(SANITIZE); any report fails its test (-fno-sanitize-recover; make check sets
# halt_on_error).  gprof-cli, libgprof.a and the cmocka tests get all of SANITIZE.  What is
# LD_PRELOAD'ed or run under gprof-cli -- the injection libraries, the test programs, the
# fake cuBLAS/cuDNN -- gets SANITIZE without address: gcc links the ASan runtime as a shared
# library (libasan.so) that must come first in a process's library list, and a preloaded
# library always comes before it (ASan dies with "ASan runtime does not come first"); a
# preloaded ASan library in a program without ASan (sh, mpirun, the MPI programs) would
# need libasan.so in LD_PRELOAD before it, which gprof-cli does not do.  UBSan's runtime
# may load in any order.
comma := ,
empty :=
space := $(empty) $(empty)
san_preload := $(strip $(filter-out address,$(subst $(comma),$(space),$(SANITIZE))))
SAN_FLAGS := $(if $(SANITIZE),-fsanitize=$(SANITIZE) -fno-sanitize-recover=all \
	-fno-omit-frame-pointer)
SAN_FLAGS_PRELOAD := $(if $(san_preload),-fsanitize=$(subst $(space),$(comma),$(san_preload)) \
	-fno-sanitize-recover=all -fno-omit-frame-pointer)

BASE_CFLAGS := -std=gnu11 $(WARN) -D_GNU_SOURCE -fno-strict-aliasing -MMD -MP \
	-I. -I$(CUDA_INC) -I$(CUPTI_INC)
LDLIBS_CLI := -Wl,-Bstatic -lsqlite3 -lyaml -Wl,-Bdynamic -ldw -lelf -lstdc++ -lpthread -lm -ldl

# --- sources -------------------------------------------------------------------
CORE_SRC := $(sort $(wildcard core/*.c))
EXPORT_SRC := $(sort $(wildcard exporters/*.c exporters/stats/*.c))
CLI_SRC := $(sort $(filter-out cli/gprof-cli.c,$(wildcard cli/*.c)))
LIB_SRC := $(CORE_SRC) $(EXPORT_SRC) $(CLI_SRC)
LIB_OBJ := $(LIB_SRC:%.c=$(B)/obj/%.o)

PRODUCER_SRC := collectors/producer.c
OSRT_SRC := $(wildcard collectors/osrt.c)
MPI_SRC := $(wildcard collectors/mpi.c)
CUDALIBS_SRC := $(wildcard collectors/cudalibs.c)
HOSTMEM_SRC := $(wildcard collectors/hostmem.c)
INJECT_SRC := $(wildcard collectors/nvtx.c collectors/cuda.c collectors/cuda_*.c collectors/cupti.c collectors/gpu_metrics.c collectors/gpu_metrics_process.c collectors/gpu_range.c)

GPROF := $(B)/bin/gprof-cli
LIBDIR := $(B)/lib/gprof-cli
OSRT_SO := $(LIBDIR)/libgprof-osrt.so
MPI_SO := $(LIBDIR)/libgprof-mpi.so
CUDALIBS_SO := $(LIBDIR)/libgprof-cudalibs.so
HOSTMEM_SO := $(LIBDIR)/libgprof-hostmem.so
INJECT_SO := $(LIBDIR)/libgprof-inject.so

UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
E2E_SRC := $(sort $(wildcard tests/e2e/test_*.c))
TEST_BIN := $(UNIT_SRC:tests/%.c=$(B)/tests/%) $(E2E_SRC:tests/%.c=$(B)/tests/%)
PROG_SRC := $(sort $(wildcard tests/programs/*.c))
PROG_BIN := $(PROG_SRC:tests/programs/%.c=$(B)/tests/programs/%)
BENCH_SRC := $(sort $(filter-out bench/benchutil.c,$(wildcard bench/*.c)))
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(B)/bench/%)
GPU_SRC := $(sort $(wildcard tests/gpu/*.cu))
# gpu_basic once more with the shared cudart (libcudart.so) instead of nvcc's static one
GPU_BIN := $(GPU_SRC:tests/gpu/%.cu=$(B)/tests/gpu/%) $(B)/tests/gpu/gpu_basic_shared

.PHONY: all demo check check-gpu gpu-programs bench install clean format lint-man gen-cudalibs \
	check-fuzz fuzz-programs fuzz-corpus lint lint-unused lint-layers
all: $(GPROF) $(if $(OSRT_SRC),$(OSRT_SO)) $(if $(INJECT_SRC),$(INJECT_SO)) $(if $(MPI_SRC),$(MPI_SO)) \
	$(if $(CUDALIBS_SRC),$(CUDALIBS_SO)) $(if $(HOSTMEM_SRC),$(HOSTMEM_SO))

# --- gprof-cli -----------------------------------------------------------------
$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) $(SAN_FLAGS) -c -o $@ $<

$(B)/libgprof.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(GPROF): $(B)/obj/cli/gprof-cli.o $(B)/libgprof.a
	@mkdir -p $(dir $@)
	$(CC) $(SAN_FLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS_CLI)

# --- injection libraries (libc only; CUPTI is dlopen'd) --------------------------
SO_CFLAGS := $(BASE_CFLAGS) $(CFLAGS) $(SAN_FLAGS_PRELOAD) -fPIC -fvisibility=hidden -pthread
SO_LD := $(CC) -shared $(SAN_FLAGS_PRELOAD) $(LDFLAGS)
$(B)/pic/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(SO_CFLAGS) -c -o $@ $<

$(OSRT_SO): $(PRODUCER_SRC:%.c=$(B)/pic/%.o) $(OSRT_SRC:%.c=$(B)/pic/%.o)
	@mkdir -p $(dir $@)
	$(SO_LD) -Wl,-z,defs -Wl,--no-undefined -o $@ $^ -ldl -pthread

# host memory (--host-memory-usage=true): malloc/free/mmap hooks (collectors/hostmem.c)
$(HOSTMEM_SO): $(PRODUCER_SRC:%.c=$(B)/pic/%.o) $(HOSTMEM_SRC:%.c=$(B)/pic/%.o)
	@mkdir -p $(dir $@)
	$(SO_LD) -Wl,-z,defs -Wl,--no-undefined -o $@ $^ -ldl -pthread

# MPI (-t mpi): PMPI wrappers; libmpi is found at run time, neither linked nor included
$(MPI_SO): $(PRODUCER_SRC:%.c=$(B)/pic/%.o) $(MPI_SRC:%.c=$(B)/pic/%.o)
	@mkdir -p $(dir $@)
	$(SO_LD) -Wl,-z,defs -Wl,--no-undefined -o $@ $^ -ldl -pthread

# cuBLAS/cuDNN (-t cublas,cudnn): wrappers generated by scripts/gen-cudalibs.py (make
# gen-cudalibs; output committed), each with its library's symbol version (cudalibs.map)
$(CUDALIBS_SO): $(PRODUCER_SRC:%.c=$(B)/pic/%.o) $(CUDALIBS_SRC:%.c=$(B)/pic/%.o) \
		collectors/cudalibs.map
	@mkdir -p $(dir $@)
	$(SO_LD) -Wl,-z,defs -Wl,--no-undefined -Wl,--version-script=collectors/cudalibs.map \
		-o $@ $(filter %.o,$^) -ldl -pthread

gen-cudalibs:
	python3 scripts/gen-cudalibs.py

# functions whose prototypes are the traced library's, which these files do not include:
# the MPI and cuBLAS/cuDNN interposers, NVTX's InitializeInjectionNvtx2
$(B)/pic/collectors/mpi.o $(B)/pic/collectors/cudalibs.o $(B)/pic/collectors/nvtx.o: \
	SO_CFLAGS += -Wno-missing-prototypes

# cupti_profiler_host.h includes <string>: an empty one (cupti-design.md 4.1)
$(B)/pic/collectors/gpu_metrics.o $(B)/pic/collectors/gpu_range.o: SO_CFLAGS += -Icollectors/compat
# The NVTX push/pop fast paths (issue 17): GCC's SLP vectorizer pairs their record's
# adjacent stores through SSE registers, 7 more instructions per push/pop pair.
$(B)/pic/collectors/nvtx.o: SO_CFLAGS += -fno-tree-slp-vectorize

# core/wire_python.c: the CPython frame reader (--python-backtrace=cuda, wire layer)
$(INJECT_SO): $(PRODUCER_SRC:%.c=$(B)/pic/%.o) $(INJECT_SRC:%.c=$(B)/pic/%.o) \
		$(B)/pic/core/wire_python.o
	@mkdir -p $(dir $@)
	$(SO_LD) -Wl,-z,defs -o $@ $^ -ldl -pthread

# --- tests ---------------------------------------------------------------------
$(B)/tests/%: tests/%.c $(B)/obj/tests/testutil.o $(B)/libgprof.a
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) $(SAN_FLAGS) -o $@ $< $(B)/obj/tests/testutil.o $(B)/libgprof.a -lcmocka $(LDLIBS_CLI)

$(B)/tests/programs/%: tests/programs/%.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) $(SAN_FLAGS_PRELOAD) -pthread -o $@ $< -ldl
# the CPU sampling tests unwind it with -b fp too (tests/e2e/test_sampling.c)
$(B)/tests/programs/cpu_hot: CFLAGS += -fno-omit-frame-pointer

# testutil.o is an intermediate of the pattern rule: keep it, so that make does not print
# its removal after the runner's closing "N passed, N failed, N skipped" line
.SECONDARY: $(B)/obj/tests/testutil.o

# Under SANITIZE the first report ends its process with an error, leaks included.  ASan
# keeps 4 MB of freed memory poisoned (the default 256 MB would take gprof-cli's peak
# RSS past test_reliability's bound for the recorder: 54 MB instead of 29 MB, not 440 MB).
SAN_ENV := $(if $(SANITIZE),ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:quarantine_size_mb=4 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1)
# the nsys fixtures (tests/testutil.h tu_fixture_dir): ../shared/fixtures beside the
# repository root, wherever make runs from
GPROF_FIXTURES ?= $(abspath $(dir $(firstword $(MAKEFILE_LIST)))../shared/fixtures)
check: all $(TEST_BIN) $(PROG_BIN)
	@sh scripts/check-layers.sh
	@$(SAN_ENV) GPROF_CLI=$(abspath $(GPROF)) BUILD=$(abspath $(B)) \
		GPROF_FIXTURES=$(GPROF_FIXTURES) sh tests/run-tests.sh $(TEST_BIN)

# --- cuBLAS/cuDNN test libraries (tests/e2e/test_cudalibs.c) -----------------------
# Fakes with the real sonames, prototypes and symbol versions, and the "extension" that
# depends on them, which cudalibs_app loads with dlopen(RTLD_LOCAL) as Python loads PyTorch
FAKE_DIR := $(B)/tests/programs/cudalibs
FAKE_LIBS := $(FAKE_DIR)/libcublasLt.so.13 $(FAKE_DIR)/libcublas.so.13 $(FAKE_DIR)/libcudnn.so.9 \
	$(FAKE_DIR)/libcudalibs_ext.so
FAKE_CFLAGS := $(BASE_CFLAGS) $(CFLAGS) $(SAN_FLAGS_PRELOAD) -fPIC -fvisibility=hidden -shared
$(FAKE_DIR)/libcublasLt.so.13: tests/programs/cudalibs/fake_cublaslt.c tests/programs/cudalibs/libcublasLt.map
	@mkdir -p $(dir $@)
	$(CC) $(FAKE_CFLAGS) -Wl,-soname,libcublasLt.so.13 \
		-Wl,--version-script=tests/programs/cudalibs/libcublasLt.map -o $@ $<
$(FAKE_DIR)/libcublas.so.13: tests/programs/cudalibs/fake_cublas.c tests/programs/cudalibs/libcublas.map \
		$(FAKE_DIR)/libcublasLt.so.13
	$(CC) $(FAKE_CFLAGS) -Wl,-soname,libcublas.so.13 \
		-Wl,--version-script=tests/programs/cudalibs/libcublas.map -o $@ $< \
		-L$(FAKE_DIR) -l:libcublasLt.so.13 -Wl,-rpath,'$$ORIGIN'
$(FAKE_DIR)/libcudnn.so.9: tests/programs/cudalibs/fake_cudnn.c tests/programs/cudalibs/libcudnn.map
	@mkdir -p $(dir $@)
	$(CC) $(FAKE_CFLAGS) -Wl,-soname,libcudnn.so.9 \
		-Wl,--version-script=tests/programs/cudalibs/libcudnn.map -o $@ $<
$(FAKE_DIR)/libcudalibs_ext.so: tests/programs/cudalibs/fake_ext.c $(FAKE_DIR)/libcublas.so.13 \
		$(FAKE_DIR)/libcudnn.so.9
	$(CC) $(FAKE_CFLAGS) -o $@ $< -L$(FAKE_DIR) -l:libcublas.so.13 -l:libcublasLt.so.13 \
		-l:libcudnn.so.9 -Wl,-rpath,'$$ORIGIN'

# --- CUPTI and driver stand-ins (tests/e2e/test_metrics_process.c) ---------------------
# gprof-cli's GPU metrics sampler process on a machine without a GPU; built where the CUPTI
# PM-sampling header is (the test skips otherwise)
FAKEGPU_DIR := $(B)/tests/programs/fakegpu
FAKEGPU_LIBS := $(if $(wildcard $(CUPTI_INC)/cupti_pmsampling.h),\
	$(FAKEGPU_DIR)/libcupti.so.13 $(FAKEGPU_DIR)/libcuda.so.1 \
	$(FAKEGPU_DIR)/libcudart.so.13 $(FAKEGPU_DIR)/cudabt_app $(FAKEGPU_DIR)/libpybt_ext.so)
$(FAKEGPU_DIR)/libcupti.so.13: tests/programs/fakegpu/fake_cupti.c
	@mkdir -p $(dir $@)
	$(CC) $(FAKE_CFLAGS) -I$(CUPTI_INC) -I$(CUDA_INC) -Icollectors/compat \
		-Wl,-soname,libcupti.so.13 -o $@ $<
$(FAKEGPU_DIR)/libcuda.so.1: tests/programs/fakegpu/fake_cupti.c
	@mkdir -p $(dir $@)
	$(CC) $(FAKE_CFLAGS) -DFAKE_CUDA -Wl,-soname,libcuda.so.1 -o $@ $<
# the fake runtime and its application (tests/e2e/test_cudabt.c: --cudabacktrace)
$(FAKEGPU_DIR)/libcudart.so.13: tests/programs/fakegpu/fake_cudart.c $(FAKEGPU_DIR)/libcupti.so.13
	$(CC) $(FAKE_CFLAGS) -I$(CUPTI_INC) -I$(CUDA_INC) -Icollectors/compat \
		-Wl,-soname,libcudart.so.13 -o $@ $< -L$(FAKEGPU_DIR) -l:libcupti.so.13 \
		-Wl,-rpath,'$$ORIGIN' -ldl -pthread
$(FAKEGPU_DIR)/cudabt_app: tests/programs/fakegpu/cudabt_app.c $(FAKEGPU_DIR)/libcudart.so.13
	$(CC) $(BASE_CFLAGS) $(CFLAGS) -fno-omit-frame-pointer -o $@ $< -L$(FAKEGPU_DIR) \
		-l:libcudart.so.13 -Wl,-rpath,'$$ORIGIN'
# the ctypes extension of pybt_app.py (tests/e2e/test_pybt.c: --python-backtrace=cuda)
$(FAKEGPU_DIR)/libpybt_ext.so: tests/programs/fakegpu/pybt_ext.c $(FAKEGPU_DIR)/libcudart.so.13
	$(CC) $(FAKE_CFLAGS) -fno-omit-frame-pointer -o $@ $< -L$(FAKEGPU_DIR) \
		-l:libcudart.so.13 -Wl,-rpath,'$$ORIGIN'
check: $(FAKEGPU_LIBS)

# and a program linked with the real libraries, where they are installed
REAL_CUDALIBS := $(if $(and $(wildcard $(CUDA_HOME)/lib64/libcublas.so.13),\
	$(wildcard $(CUDA_HOME)/lib64/libcudnn.so.9),$(wildcard $(CUDA_INC)/cudnn.h)),\
	$(FAKE_DIR)/real_app)
$(FAKE_DIR)/real_app: tests/programs/cudalibs/real_app.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) -o $@ $< -L$(CUDA_HOME)/lib64 -lcublas -lcublasLt -lcudnn \
		-Wl,-rpath,$(CUDA_HOME)/lib64

check: $(FAKE_LIBS) $(REAL_CUDALIBS)

# --- MPI test program (issue 4; only when Open MPI's mpicc is installed) ----------
# tests/e2e/test_mpi.c skips cleanly when $(B)/tests/programs/mpi_app is absent.
MPICC ?= mpicc
MPI_PROG := $(if $(shell command -v $(MPICC) 2>/dev/null),$(B)/tests/programs/mpi_app \
	$(B)/tests/programs/mpi_dlopen $(B)/tests/programs/mpi_dlmod.so $(B)/tests/programs/mpi_steps)
$(B)/tests/programs/mpi_app: tests/programs/mpi/mpi_app.c
	@mkdir -p $(dir $@)
	$(MPICC) -O2 -g -Wall -Wextra $(WERROR) -I$(CUDA_INC) -o $@ $< -ldl
# the straggler recipe's training loop (tests/e2e/test_recipe.c)
$(B)/tests/programs/mpi_steps: tests/programs/mpi/mpi_steps.c
	@mkdir -p $(dir $@)
	$(MPICC) -O2 -g -Wall -Wextra $(WERROR) -I$(CUDA_INC) -o $@ $< -ldl
# -t mpi with MPI loaded by dlopen(RTLD_LOCAL): a program without libmpi and its MPI module
$(B)/tests/programs/mpi_dlopen: tests/programs/mpi/mpi_dlopen.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -g -Wall -Wextra $(WERROR) -o $@ $< -ldl
$(B)/tests/programs/mpi_dlmod.so: tests/programs/mpi/mpi_dlmod.c
	@mkdir -p $(dir $@)
	$(MPICC) -O2 -g -Wall -Wextra $(WERROR) -shared -fPIC -o $@ $<
# -t mpi on MPICH's ABI: mpi_app built with MPICH's compiler wrapper, when it is installed
MPICC_MPICH ?= mpicc.mpich
MPI_PROG += $(if $(shell command -v $(MPICC_MPICH) 2>/dev/null),$(B)/tests/programs/mpi_app_mpich)
$(B)/tests/programs/mpi_app_mpich: tests/programs/mpi/mpi_app.c
	@mkdir -p $(dir $@)
	$(MPICC_MPICH) -O2 -g -Wall -Wextra $(WERROR) -I$(CUDA_INC) -o $@ $< -ldl

check: $(MPI_PROG)

# --- GPU tests (run on the GPU machine) -------------------------------------------
$(B)/tests/gpu/%: tests/gpu/%.cu
	@mkdir -p $(dir $@)
	$(NVCC) -O2 -arch=sm_90 $(NVCC_CUDART) -I$(CUDA_INC) -o $@ $< -lcuda -lpthread

# gpu_driver uses the driver API only (its kernel is PTX text): no cudart, no device code
$(B)/tests/gpu/gpu_driver: NVCC_CUDART := -cudart none -x c++
$(B)/tests/gpu/gpu_basic_shared: tests/gpu/gpu_basic.cu
	@mkdir -p $(dir $@)
	$(NVCC) -O2 -arch=sm_90 -cudart shared -Xlinker -rpath -Xlinker $(CUDA_HOME)/lib64 \
		-I$(CUDA_INC) -o $@ $< -lcuda -lpthread

gpu-programs: $(GPU_BIN)

check-gpu: all gpu-programs
	@GPROF_CLI=$(abspath $(GPROF)) BUILD=$(abspath $(B)) sh tests/gpu/run-all.sh

# --- fuzzing (make check-fuzz: tests/fuzz/run-fuzz.sh; clang's libFuzzer) ---------------
# The library again with clang, ASan, UBSan and libFuzzer's coverage; fuzz_frame
# (gp_decode_frame) and fuzz_report (frames into a report) each run FUZZ_SECONDS from the
# seeds in tests/fuzz/corpus/ (`make fuzz-corpus` rewrites them from the wire structs).
FUZZ_CC ?= clang
FUZZ_CFLAGS := -std=gnu11 -D_GNU_SOURCE -fno-strict-aliasing -I. -I$(CUDA_INC) -I$(CUPTI_INC) \
	-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_OBJ := $(LIB_SRC:%.c=$(B)/fuzz/obj/%.o)
FUZZ_BIN := $(B)/fuzz/fuzz_frame $(B)/fuzz/fuzz_report

$(B)/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

$(B)/fuzz/libgprof.a: $(FUZZ_OBJ)
	rm -f $@ && ar rcs $@ $^

$(B)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(B)/fuzz/libgprof.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(B)/fuzz/libgprof.a $(LDLIBS_CLI)

$(B)/fuzz/mkcorpus: tests/fuzz/mkcorpus.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) -o $@ $<

fuzz-programs: $(FUZZ_BIN)

check-fuzz:
	@BUILD=$(B) MAKE="$(MAKE)" sh tests/fuzz/run-fuzz.sh

fuzz-corpus: $(B)/fuzz/mkcorpus
	mkdir -p tests/fuzz/corpus/frame tests/fuzz/corpus/report
	$(B)/fuzz/mkcorpus tests/fuzz/corpus

# --- benchmarks ----------------------------------------------------------------
$(B)/bench/%: bench/%.c $(B)/obj/bench/benchutil.o $(B)/libgprof.a
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) -O2 -g $(SAN_FLAGS) -pthread -o $@ $< $(B)/obj/bench/benchutil.o $(B)/libgprof.a $(LDLIBS_CLI)

bench: all $(BENCH_BIN) $(PROG_BIN)
	@GPROF_CLI=$(abspath $(GPROF)) BUILD=$(abspath $(B)) sh bench/run-bench.sh

# --- demo ----------------------------------------------------------------------
demo:
	@sh scripts/install-deps.sh
	@$(MAKE) --no-print-directory all $(B)/tests/programs/demo_app
	$(GPROF) profile -t nvtx,osrt -f -o $(B)/demo $(B)/tests/programs/demo_app
	$(GPROF) stats $(B)/demo.db

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/gprof-cli $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(GPROF) $(DESTDIR)$(PREFIX)/bin/
	install -m 755 $(wildcard $(LIBDIR)/*.so) $(DESTDIR)$(PREFIX)/lib/gprof-cli/
	install -m 644 man/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/

lint-man:
	@for m in man/*.1; do mandoc -Tlint -Wwarning $$m || exit 1; done; echo "man pages clean"

# functions nothing calls (cppcheck's unusedFunction, ~20 s; CI runs it)
lint-unused:
	@sh scripts/check-unused.sh

# one-way layers (README "Architecture"); also the first step of make check
lint-layers:
	@sh scripts/check-layers.sh

# the static checks, one step of CI (.ci/run; DEVELOPER=1 builds add -Werror to the
# compiler's -Wmissing-prototypes: no public function without its header)
lint: lint-layers lint-unused

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(B)

-include $(shell find $(B) -name '*.d' 2>/dev/null)
