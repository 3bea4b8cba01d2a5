# gprof-cli - build, test and demo.
#
#   make            build build/bin/gprof-cli and the injection libraries
#   make demo       install missing Debian build deps (when root), build, profile the
#                   bundled sample with -t nvtx,osrt and print its stats
#   make check      build and run every CPU test (unit + end-to-end); last line is
#                   "N passed, N failed"
#   make check-gpu  build and run the CUDA tests (needs a GPU, the driver and CUPTI)
#   make bench      CPU benchmarks (bench/RESULTS.md explains the figures)
#   make install PREFIX=/usr/local
#
# Dependencies: SQLite (libsqlite3-dev), libyaml (libyaml-dev, linked statically),
# cmocka (libcmocka-dev, tests only), NVTX3 and CUPTI headers from CUDA_HOME.

CUDA_HOME ?= /usr/local/cuda
PREFIX ?= /usr/local
CC ?= cc
CXX ?= c++
NVCC ?= $(CUDA_HOME)/bin/nvcc

B := build
CUDA_INC := $(CUDA_HOME)/include
CUPTI_INC := $(firstword $(wildcard $(CUDA_HOME)/extras/CUPTI/include) $(CUDA_HOME)/include)

WARN := -Wall -Wextra -Werror -Wno-unused-parameter
CFLAGS ?= -O2 -g
BASE_CFLAGS := -std=gnu11 $(WARN) -D_GNU_SOURCE -fno-strict-aliasing -MMD -MP \
	-I. -I$(CUDA_INC) -I$(CUPTI_INC)
LDLIBS_CLI := -lsqlite3 -Wl,-Bstatic -lyaml -Wl,-Bdynamic -lstdc++ -lpthread -lm -ldl

# --- sources -------------------------------------------------------------------
CORE_SRC := $(sort $(wildcard core/*.c))
EXPORT_SRC := $(sort $(wildcard exporters/*.c exporters/stats/*.c))
CLI_SRC := $(sort $(filter-out cli/gprof-cli.c,$(wildcard cli/*.c)))
LIB_SRC := $(CORE_SRC) $(EXPORT_SRC) $(CLI_SRC)
LIB_OBJ := $(LIB_SRC:%.c=$(B)/obj/%.o)

PRODUCER_SRC := collectors/producer.c
OSRT_SRC := $(wildcard collectors/osrt.c)
MPI_SRC := $(wildcard collectors/mpi.c)
INJECT_SRC := $(wildcard collectors/nvtx.c collectors/cuda.c collectors/cuda_*.c collectors/gpu_metrics.c collectors/gpu_range.c)

GPROF := $(B)/bin/gprof-cli
LIBDIR := $(B)/lib/gprof-cli
OSRT_SO := $(LIBDIR)/libgprof-osrt.so
MPI_SO := $(LIBDIR)/libgprof-mpi.so
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

.PHONY: all demo check check-gpu gpu-programs bench install clean format lint-man
all: $(GPROF) $(if $(OSRT_SRC),$(OSRT_SO)) $(if $(INJECT_SRC),$(INJECT_SO)) $(if $(MPI_SRC),$(MPI_SO))

# --- gprof-cli -----------------------------------------------------------------
$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) -c -o $@ $<

$(B)/libgprof.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(GPROF): $(B)/obj/cli/gprof-cli.o $(B)/libgprof.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_CLI)

# --- injection libraries (libc only; CUPTI is dlopen'd) --------------------------
SO_CFLAGS := $(BASE_CFLAGS) $(CFLAGS) -fPIC -fvisibility=hidden -pthread
$(B)/pic/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(SO_CFLAGS) -c -o $@ $<

$(OSRT_SO): $(PRODUCER_SRC:%.c=$(B)/pic/%.o) $(OSRT_SRC:%.c=$(B)/pic/%.o)
	@mkdir -p $(dir $@)
	$(CC) -shared -Wl,-z,defs -Wl,--no-undefined -o $@ $^ -ldl -pthread

# MPI (-t mpi): PMPI wrappers; libmpi is found at run time, neither linked nor included
$(MPI_SO): $(PRODUCER_SRC:%.c=$(B)/pic/%.o) $(MPI_SRC:%.c=$(B)/pic/%.o)
	@mkdir -p $(dir $@)
	$(CC) -shared -Wl,-z,defs -Wl,--no-undefined -o $@ $^ -ldl -pthread

# cupti_profiler_host.h includes <string>: an empty one (cupti-design.md 4.1)
$(B)/pic/collectors/gpu_metrics.o $(B)/pic/collectors/gpu_range.o: SO_CFLAGS += -Icollectors/compat

$(INJECT_SO): $(PRODUCER_SRC:%.c=$(B)/pic/%.o) $(INJECT_SRC:%.c=$(B)/pic/%.o)
	@mkdir -p $(dir $@)
	$(CC) -shared -Wl,-z,defs -o $@ $^ -ldl -pthread

# --- tests ---------------------------------------------------------------------
$(B)/tests/%: tests/%.c $(B)/obj/tests/testutil.o $(B)/libgprof.a
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) -o $@ $< $(B)/obj/tests/testutil.o $(B)/libgprof.a -lcmocka $(LDLIBS_CLI)

$(B)/tests/programs/%: tests/programs/%.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) -pthread -o $@ $< -ldl

check: all $(TEST_BIN) $(PROG_BIN)
	@GPROF_CLI=$(abspath $(GPROF)) BUILD=$(abspath $(B)) sh tests/run-tests.sh $(TEST_BIN)

# --- MPI test program (issue 4; only when Open MPI's mpicc is installed) ----------
# tests/e2e/test_mpi.c skips cleanly when $(B)/tests/programs/mpi_app is absent.
MPICC ?= mpicc
MPI_PROG := $(if $(shell command -v $(MPICC) 2>/dev/null),$(B)/tests/programs/mpi_app \
	$(B)/tests/programs/mpi_dlopen $(B)/tests/programs/mpi_dlmod.so)
$(B)/tests/programs/mpi_app: tests/programs/mpi/mpi_app.c
	@mkdir -p $(dir $@)
	$(MPICC) -O2 -g -Wall -Wextra -Werror -I$(CUDA_INC) -o $@ $< -ldl
# -t mpi with MPI loaded by dlopen(RTLD_LOCAL): a program without libmpi and its MPI module
$(B)/tests/programs/mpi_dlopen: tests/programs/mpi/mpi_dlopen.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -g -Wall -Wextra -Werror -o $@ $< -ldl
$(B)/tests/programs/mpi_dlmod.so: tests/programs/mpi/mpi_dlmod.c
	@mkdir -p $(dir $@)
	$(MPICC) -O2 -g -Wall -Wextra -Werror -shared -fPIC -o $@ $<
# -t mpi on MPICH's ABI: mpi_app built with MPICH's compiler wrapper, when it is installed
MPICC_MPICH ?= mpicc.mpich
MPI_PROG += $(if $(shell command -v $(MPICC_MPICH) 2>/dev/null),$(B)/tests/programs/mpi_app_mpich)
$(B)/tests/programs/mpi_app_mpich: tests/programs/mpi/mpi_app.c
	@mkdir -p $(dir $@)
	$(MPICC_MPICH) -O2 -g -Wall -Wextra -Werror -I$(CUDA_INC) -o $@ $< -ldl

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

# --- benchmarks ----------------------------------------------------------------
$(B)/bench/%: bench/%.c $(B)/obj/bench/benchutil.o $(B)/libgprof.a
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) -O2 -g -pthread -o $@ $< $(B)/obj/bench/benchutil.o $(B)/libgprof.a $(LDLIBS_CLI)

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

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(B)

-include $(shell find $(B) -name '*.d' 2>/dev/null)
