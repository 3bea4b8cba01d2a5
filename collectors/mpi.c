/*
 * mpi.c - the MPI collector (`nsys profile -t mpi`): LD_PRELOAD wrappers around the C entry
 * points of the MPI standard, through its profiling interface (PMPI), one GP_REC_MPI_EVENT
 * (wire_mpi.h) per call the application makes, which the recorder writes into the tables
 * nsys 2025.x exports for MPI (core/report_mpi.c): MPI_P2P_EVENTS, MPI_COLLECTIVES_EVENTS,
 * MPI_START_WAIT_EVENTS, MPI_OTHER_EVENTS, and MPI_RANKS.
 *
 * Linked with collectors/producer.c into libgprof-mpi.so; `gprof-cli profile -t mpi` puts the
 * library in LD_PRELOAD (nothing is loaded, and nothing costs, without -t mpi).  The exported
 * MPI_Xxx functions below interpose the application's calls (the executable's, and those of
 * every library it loads later, dlopen included: a symbol of a preloaded library comes
 * first in every lookup scope) and forward to PMPI_Xxx.
 *
 * Finding PMPI_Xxx: the library is not linked with libmpi and includes no mpi.h, so it works
 * with whichever MPI the process loads, whenever it loads it.  Each PMPI function is resolved
 * on its first call: dlsym(RTLD_NEXT), then dlsym(RTLD_DEFAULT), then every loaded object in
 * turn (dlopen RTLD_NOLOAD + dlsym), which finds a libmpi that was dlopen'd RTLD_LOCAL
 * (Python extension modules are loaded that way: mpi4py's MPI module links libmpi, and its
 * MPI_Xxx references bind to these wrappers, which then find PMPI_Xxx in that libmpi).  A
 * function whose PMPI entry cannot be found falls back to the next MPI_Xxx definition; when
 * there is none either, the call fails with MPI_ERR_OTHER and one line on stderr.
 *
 * --mpi-impl (nsys's switch): MPI's C ABI is not one ABI.  Open MPI's handles (MPI_Comm,
 * MPI_Datatype, MPI_Request, ...) are pointers and its MPI_Status is 24 bytes with
 * MPI_SOURCE first; MPICH and its ABI family (Intel MPI, MVAPICH, Cray MPICH) use int
 * handles and a 20-byte status with MPI_SOURCE at byte 8, and the constants differ
 * (MPI_ANY_SOURCE, MPI_PROC_NULL, MPI_ROOT, MPI_IN_PLACE, MPI_STATUS_IGNORE, the predefined
 * handles).  The wrappers take every handle as a pointer-sized integer (an int handle
 * arrives in the low half of the same register or 8-byte stack slot on x86-64 and aarch64,
 * and is masked to 32 bits for MPICH) and read arrays and statuses with the ABI's layout
 * (struct mpi_abi).  The ABI is chosen at the first traced call: "mpi-impl" in
 * $GPROF_CLI_OPTIONS (openmpi|mpich, from --mpi-impl), checked against the library actually
 * loaded (Open MPI exports ompi_mpi_comm_world); without the option it is detected that way,
 * as nsys autodetects, and Open MPI is the default.  A --mpi-impl that contradicts the loaded
 * library is overridden with one warning, since the wrong ABI would crash the application.
 *
 * Rows (the nsys tables' columns; sizes in bytes, ranks of the call's communicator):
 *   - P2P (MPI_Send, Bsend, Ssend, Rsend, Isend, Ibsend, Issend, Irsend, Recv, Irecv,
 *     Send_init, Bsend_init, Ssend_init, Rsend_init, Recv_init, Sendrecv, Sendrecv_replace,
 *     Mrecv, Imrecv): commHandle, tag, remoteRank, size = count x type size, requestHandle
 *     (nonblocking and persistent calls).  A blocking receive from MPI_ANY_SOURCE /
 *     MPI_ANY_TAG records the source and tag it matched (from its status).  MPI_Sendrecv and
 *     MPI_Sendrecv_replace give one row when the send and receive halves have the same peer,
 *     tag and size, else two rows (send, then receive) with the same times, as nsys writes
 *     them (nsys's mpi_event_trace: "MPI_Sendrecv events with different rank, tag, or size
 *     values are broken up into two separate report rows").
 *   - Collectives (MPI_Barrier, Bcast, Reduce, Allreduce, Reduce_scatter,
 *     Reduce_scatter_block, Scan, Exscan, Gather, Gatherv, Scatter, Scatterv, Allgather,
 *     Allgatherv, Alltoall, Alltoallv, Alltoallw and their nonblocking MPI_I forms):
 *     commHandle, rootRank (rooted ones), requestHandle (nonblocking ones), size = the bytes
 *     this rank sends (its send buffer: count x type size, x peers for Alltoall/Scatter at the
 *     root), recvSize = the bytes it receives (its receive buffer: x peers for Allgather,
 *     Alltoall, Gather at the root); NULL where the rank sends or receives nothing (Barrier;
 *     Bcast: the root sends, the others receive; Reduce: only the root receives).  With
 *     MPI_IN_PLACE the rank's own block counts as sent.
 *   - Start/wait (MPI_Start, Startall, Wait, Waitall, Waitany, Waitsome, Test, Testall,
 *     Testany, Testsome): one row per request handle the call was given that is not
 *     MPI_REQUEST_NULL, all with the call's times, as nsys writes them (several rows per
 *     MPI_Waitall, which tools reading nsys reports deduplicate by start/end/thread); a call
 *     given only null requests is one MPI_OTHER_EVENTS row.
 *   - Other (MPI_Init, Init_thread, Finalize, Comm_dup, Comm_dup_with_info, Comm_split,
 *     Comm_split_type, Comm_create, Comm_create_group, Comm_free, Cart_create,
 *     Intercomm_create, Intercomm_merge, Probe, Iprobe, Mprobe, Improbe, Cancel,
 *     Request_free, and one-sided MPI_Win_create, Win_allocate, Win_free, Win_fence,
 *     Win_lock, Win_unlock, Win_lock_all, Win_unlock_all, Win_flush, Win_flush_all,
 *     Win_post, Win_start, Win_complete, Win_wait, Put, Get, Accumulate): times only.
 * Not traced: pure queries that do not communicate (MPI_Comm_rank, Comm_size, Wtime,
 * Get_count, Type_*, Initialized, ...), MPI-IO (MPI_File_*), MPI-4 large-count (_c) and
 * persistent-collective functions, neighbourhood collectives, and the Fortran bindings: Open
 * MPI's Fortran entry points (mpi_send_ & co. in libmpi_mpifh) call PMPI_Xxx directly, so a
 * Fortran program's calls are not seen.  MPI_COMMUNICATORS is not written.
 *
 * Only the application's calls are recorded: a call made while another traced call runs on
 * the same thread (an MPI library implementing one MPI function with another, ROMIO) is
 * forwarded untimed.  Sizes are computed (PMPI_Type_size, PMPI_Comm_size, PMPI_Comm_rank,
 * all local) after the call returned MPI_SUCCESS; a failed call is recorded without sizes.
 * The process's MPI_COMM_WORLD rank is sent (GP_REC_MPI_RANK) when MPI_Init or
 * MPI_Init_thread returns.
 */
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collectors/producer.h"

#define MPI_EXPORT __attribute__((visibility("default")))

/* Any MPI handle (MPI_Comm, MPI_Datatype, MPI_Request, MPI_Op, MPI_Group, MPI_Info,
 * MPI_Win, MPI_Message) as passed: a pointer (Open MPI) or an int (MPICH ABI). */
typedef uintptr_t gp_mh;
typedef long gp_aint; /* MPI_Aint: ptrdiff_t in both ABIs */

/* ---- the two ABIs ----------------------------------------------------------------------- */

struct mpi_abi {
	const char *name; /* --mpi-impl value */
	uint32_t impl;	  /* enum gp_mpi_impl */
	int int_handles;  /* 1: handles are 32-bit ints */
	size_t status_size;
	size_t status_source, status_tag; /* byte offsets of MPI_SOURCE, MPI_TAG */
	uintptr_t status_ignore;	  /* MPI_STATUS_IGNORE == MPI_STATUSES_IGNORE */
	uintptr_t in_place;		  /* MPI_IN_PLACE */
	int any_source, any_tag, proc_null, root;
	int err_other; /* MPI_ERR_OTHER */
	/* predefined handles: fixed ints (MPICH), or the addresses of the library's objects
	 * named here (Open MPI), resolved when the ABI is chosen */
	uint64_t comm_world, request_null;
	const char *comm_world_sym, *request_null_sym;
};

static struct mpi_abi abi_openmpi = {
    .name = "openmpi",
    .impl = GP_MPI_IMPL_OPENMPI,
    .int_handles = 0,
    .status_size = 24,
    .status_source = 0,
    .status_tag = 4,
    .status_ignore = 0,
    .in_place = 1,
    .any_source = -1,
    .any_tag = -1,
    .proc_null = -2,
    .root = -4,
    .err_other = 16,
    .comm_world_sym = "ompi_mpi_comm_world",
    .request_null_sym = "ompi_request_null",
};

static struct mpi_abi abi_mpich = {
    .name = "mpich",
    .impl = GP_MPI_IMPL_MPICH,
    .int_handles = 1,
    .status_size = 20,
    .status_source = 8,
    .status_tag = 12,
    .status_ignore = 1,
    .in_place = (uintptr_t)-1,
    .any_source = -2,
    .any_tag = -1,
    .proc_null = -1,
    .root = -3,
    .err_other = 15,
    .comm_world = 0x44000000u,
    .request_null = 0x2c000000u,
};

/* The ABI in use (NULL until the first traced call chose it). */
static const struct mpi_abi *abi;

/* ---- the functions ---------------------------------------------------------------------- */

/* Every wrapped function, and the PMPI helpers the recording path calls. */
#define MPI_FUNCS(X)                                                                               \
	X(MPI_Send)                                                                                \
	X(MPI_Bsend)                                                                               \
	X(MPI_Ssend)                                                                               \
	X(MPI_Rsend)                                                                               \
	X(MPI_Recv)                                                                                \
	X(MPI_Isend)                                                                               \
	X(MPI_Ibsend)                                                                              \
	X(MPI_Issend)                                                                              \
	X(MPI_Irsend)                                                                              \
	X(MPI_Irecv)                                                                               \
	X(MPI_Send_init)                                                                           \
	X(MPI_Bsend_init)                                                                          \
	X(MPI_Ssend_init)                                                                          \
	X(MPI_Rsend_init)                                                                          \
	X(MPI_Recv_init)                                                                           \
	X(MPI_Sendrecv)                                                                            \
	X(MPI_Sendrecv_replace)                                                                    \
	X(MPI_Mrecv)                                                                               \
	X(MPI_Imrecv)                                                                              \
	X(MPI_Start)                                                                               \
	X(MPI_Startall)                                                                            \
	X(MPI_Wait)                                                                                \
	X(MPI_Waitall)                                                                             \
	X(MPI_Waitany)                                                                             \
	X(MPI_Waitsome)                                                                            \
	X(MPI_Test)                                                                                \
	X(MPI_Testall)                                                                             \
	X(MPI_Testany)                                                                             \
	X(MPI_Testsome)                                                                            \
	X(MPI_Barrier)                                                                             \
	X(MPI_Ibarrier)                                                                            \
	X(MPI_Bcast)                                                                               \
	X(MPI_Ibcast)                                                                              \
	X(MPI_Reduce)                                                                              \
	X(MPI_Ireduce)                                                                             \
	X(MPI_Allreduce)                                                                           \
	X(MPI_Iallreduce)                                                                          \
	X(MPI_Reduce_scatter)                                                                      \
	X(MPI_Ireduce_scatter)                                                                     \
	X(MPI_Reduce_scatter_block)                                                                \
	X(MPI_Ireduce_scatter_block)                                                               \
	X(MPI_Scan)                                                                                \
	X(MPI_Iscan)                                                                               \
	X(MPI_Exscan)                                                                              \
	X(MPI_Iexscan)                                                                             \
	X(MPI_Gather)                                                                              \
	X(MPI_Igather)                                                                             \
	X(MPI_Gatherv)                                                                             \
	X(MPI_Igatherv)                                                                            \
	X(MPI_Scatter)                                                                             \
	X(MPI_Iscatter)                                                                            \
	X(MPI_Scatterv)                                                                            \
	X(MPI_Iscatterv)                                                                           \
	X(MPI_Allgather)                                                                           \
	X(MPI_Iallgather)                                                                          \
	X(MPI_Allgatherv)                                                                          \
	X(MPI_Iallgatherv)                                                                         \
	X(MPI_Alltoall)                                                                            \
	X(MPI_Ialltoall)                                                                           \
	X(MPI_Alltoallv)                                                                           \
	X(MPI_Ialltoallv)                                                                          \
	X(MPI_Alltoallw)                                                                           \
	X(MPI_Ialltoallw)                                                                          \
	X(MPI_Init)                                                                                \
	X(MPI_Init_thread)                                                                         \
	X(MPI_Finalize)                                                                            \
	X(MPI_Comm_dup)                                                                            \
	X(MPI_Comm_dup_with_info)                                                                  \
	X(MPI_Comm_split)                                                                          \
	X(MPI_Comm_split_type)                                                                     \
	X(MPI_Comm_create)                                                                         \
	X(MPI_Comm_create_group)                                                                   \
	X(MPI_Comm_free)                                                                           \
	X(MPI_Cart_create)                                                                         \
	X(MPI_Intercomm_create)                                                                    \
	X(MPI_Intercomm_merge)                                                                     \
	X(MPI_Probe)                                                                               \
	X(MPI_Iprobe)                                                                              \
	X(MPI_Mprobe)                                                                              \
	X(MPI_Improbe)                                                                             \
	X(MPI_Cancel)                                                                              \
	X(MPI_Request_free)                                                                        \
	X(MPI_Win_create)                                                                          \
	X(MPI_Win_allocate)                                                                        \
	X(MPI_Win_free)                                                                            \
	X(MPI_Win_fence)                                                                           \
	X(MPI_Win_lock)                                                                            \
	X(MPI_Win_unlock)                                                                          \
	X(MPI_Win_lock_all)                                                                        \
	X(MPI_Win_unlock_all)                                                                      \
	X(MPI_Win_flush)                                                                           \
	X(MPI_Win_flush_all)                                                                       \
	X(MPI_Win_post)                                                                            \
	X(MPI_Win_start)                                                                           \
	X(MPI_Win_complete)                                                                        \
	X(MPI_Win_wait)                                                                            \
	X(MPI_Put)                                                                                 \
	X(MPI_Get)                                                                                 \
	X(MPI_Accumulate)                                                                          \
	/* helpers (not wrapped) */                                                                \
	X(MPI_Type_size)                                                                           \
	X(MPI_Comm_rank)                                                                           \
	X(MPI_Comm_size)                                                                           \
	X(MPI_Comm_remote_size)                                                                    \
	X(MPI_Comm_test_inter)

enum mpi_id {
#define X(fn) F_##fn,
	MPI_FUNCS(X)
#undef X
	    F_COUNT
};

struct mpi_fn {
	void *real;	  /* PMPI_Xxx (or the next MPI_Xxx); NULL until resolved */
	uint32_t sid;	  /* string id of the name on this process's connection, 0 = not yet */
	const char *name; /* "MPI_Send"; the PMPI name is "P" + name */
};

static struct mpi_fn mpi_fns[F_COUNT] = {
#define X(fn) [F_##fn] = {NULL, 0, #fn},
    MPI_FUNCS(X)
#undef X
};

/* Set once the constructor connected to the recorder with "mpi" in the trace list. */
static int mpi_on;
/* Traced MPI calls in progress on this thread: only the outermost one is recorded. */
static __thread uint32_t mpi_depth;

/* ---- symbol resolution ------------------------------------------------------------------ */

/* Is p inside this library (our own MPI_Xxx wrappers)? */
static int mpi_is_own(void *p)
{
	Dl_info a, b;

	return dladdr(p, &a) && dladdr((void *)mpi_is_own, &b) && a.dli_fbase == b.dli_fbase;
}

#define MPI_MAX_OBJECTS 1024
struct mpi_objects {
	int n;
	char *name[MPI_MAX_OBJECTS];
};

static int mpi_list_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	struct mpi_objects *o = data;

	(void)size;
	if (info->dlpi_name && info->dlpi_name[0] && o->n < MPI_MAX_OBJECTS)
		o->name[o->n++] = strdup(info->dlpi_name);
	return 0;
}

/* Look `sym` up in every loaded object (those dlopen'd RTLD_LOCAL included), skipping this
 * library.  The names are listed first: dlopen is not called under dl_iterate_phdr's lock. */
static void *mpi_scan(const char *sym)
{
	struct mpi_objects *o = calloc(1, sizeof(*o));
	void *found = NULL;

	if (!o)
		return NULL;
	dl_iterate_phdr(mpi_list_cb, o);
	for (int i = 0; i < o->n; i++) {
		void *h = o->name[i] ? dlopen(o->name[i], RTLD_LAZY | RTLD_NOLOAD) : NULL;
		if (h) {
			void *p = dlsym(h, sym);
			dlclose(h);
			if (p && !found && !mpi_is_own(p))
				found = p;
		}
		free(o->name[i]);
	}
	free(o);
	return found;
}

/* The definition of `sym` the process would use if this library were not there.  The
 * global lookup first: a data object (ompi_mpi_comm_world) that the executable references
 * has been copied into the executable (a copy relocation), and that copy, not libmpi's
 * original, is the one MPI uses. */
static void *mpi_sym(const char *sym)
{
	void *p = dlsym(RTLD_DEFAULT, sym);

	if (!p || mpi_is_own(p))
		p = dlsym(RTLD_NEXT, sym);
	if (!p || mpi_is_own(p))
		p = mpi_scan(sym);
	return p;
}

static __attribute__((noinline, cold)) void *mpi_resolve(int id)
{
	struct mpi_fn *f = &mpi_fns[id];
	char pname[64];
	void *p;

	snprintf(pname, sizeof(pname), "P%s", f->name);
	p = mpi_sym(pname);
	if (!p)
		p = mpi_sym(f->name);
	if (p)
		__atomic_store_n(&f->real, p, __ATOMIC_RELEASE);
	return p;
}

static inline void *mpi_real(int id)
{
	void *p = __atomic_load_n(&mpi_fns[id].real, __ATOMIC_ACQUIRE);

	return likely(p != NULL) ? p : mpi_resolve(id);
}

/* Say once on stderr that an MPI function has no definition in the process. */
static __attribute__((noinline, cold)) int mpi_missing(int id)
{
	static int said;
	char line[160];
	int n;

	if (!__atomic_exchange_n(&said, 1, __ATOMIC_RELAXED)) {
		n = snprintf(line, sizeof(line),
			     "gprof-cli: mpi: %s: no PMPI_%s or other definition in the process "
			     "(is an MPI library loaded?)\n",
			     mpi_fns[id].name, mpi_fns[id].name + 4);
		if (n > 0 && write(2, line, (size_t)n) < 0)
			n = 0;
	}
	return abi ? abi->err_other : abi_openmpi.err_other;
}

/* Declare real_ as PMPI version of fn (the wrapper being defined), or fail the call. */
#define MPI_REAL(fn)                                                                               \
	__typeof__(&fn) real_ = (__typeof__(&fn))mpi_real(F_##fn);                                 \
	if (unlikely(!real_))                                                                      \
	return mpi_missing(F_##fn)

/* ---- choosing the ABI ------------------------------------------------------------------- */

static void mpi_warn(const char *text)
{
	char line[256];
	int n = snprintf(line, sizeof(line), "gprof-cli: warning: mpi: %s\n", text);

	if (n > 0 &&
	    write(2, line, (size_t)(n < (int)sizeof(line) ? n : (int)sizeof(line) - 1)) < 0)
		n = 0;
}

static __attribute__((noinline, cold)) void mpi_pick_abi(void)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	struct mpi_abi *a;
	char want[32], msg[200];
	void *world;

	pthread_mutex_lock(&lock);
	if (abi) {
		pthread_mutex_unlock(&lock);
		return;
	}
	world = mpi_sym(abi_openmpi.comm_world_sym);
	a = world || !mpi_sym("PMPI_Init") ? &abi_openmpi : &abi_mpich;
	if (gp_option("mpi-impl", want, sizeof(want)) && strcmp(want, "auto")) {
		struct mpi_abi *asked = !strcmp(want, "mpich") ? &abi_mpich : &abi_openmpi;
		if (asked != a && (world || mpi_sym("PMPI_Init"))) {
			snprintf(msg, sizeof(msg),
				 "--mpi-impl=%s, but the MPI library loaded is %s's kind; tracing "
				 "with --mpi-impl=%s",
				 asked->name, a == &abi_openmpi ? "Open MPI" : "MPICH", a->name);
			mpi_warn(msg);
		} else {
			a = asked;
		}
	}
	if (a == &abi_openmpi) {
		a->comm_world = (uint64_t)(uintptr_t)world;
		a->request_null = (uint64_t)(uintptr_t)mpi_sym(a->request_null_sym);
	}
	__atomic_store_n(&abi, a, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&lock);
}

/* ---- ABI-neutral access ----------------------------------------------------------------- */

/* A handle as the integer the application meant (int handles: the low 32 bits). */
static inline uint64_t mh(gp_mh h)
{
	return abi->int_handles ? (uint32_t)h : (uint64_t)h;
}

/* Element i of an array of handles (MPI_Request[], MPI_Datatype[]). */
static inline uint64_t mh_at(const void *arr, int i)
{
	return abi->int_handles ? ((const uint32_t *)arr)[i]
				: (uint64_t)((const uintptr_t *)arr)[i];
}

static inline int is_in_place(const void *buf)
{
	return (uintptr_t)buf == abi->in_place;
}

/* An MPI_Status the call can fill: the application's, or `own` when it passed
 * MPI_STATUS_IGNORE (own must hold 64 bytes). */
static inline void *status_buf(void *status, void *own)
{
	return (uintptr_t)status == abi->status_ignore ? own : status;
}

static inline int status_int(const void *st, size_t off)
{
	int v;

	memcpy(&v, (const char *)st + off, sizeof(v));
	return v;
}

/* ---- sizes ------------------------------------------------------------------------------ */

typedef int fn_type_size(gp_mh, int *);
typedef int fn_comm_int(gp_mh, int *);

/* count elements of type, in bytes (0 when the type's size cannot be had). */
static uint64_t type_bytes(gp_mh type, int64_t count)
{
	fn_type_size *ts = (fn_type_size *)mpi_real(F_MPI_Type_size);
	int sz = 0;

	if (count <= 0 || !ts || ts(type, &sz) != 0 || sz <= 0)
		return 0;
	return (uint64_t)count * (uint64_t)sz;
}

static int comm_query(int id, gp_mh comm)
{
	fn_comm_int *f = (fn_comm_int *)mpi_real(id);
	int v = -1;

	if (!f || f(comm, &v) != 0)
		return -1;
	return v;
}

/* This rank in comm (-1 for an intercommunicator or on error). */
static int comm_rank(gp_mh comm)
{
	return comm_query(F_MPI_Comm_test_inter, comm) == 0 ? comm_query(F_MPI_Comm_rank, comm)
							    : -1;
}

/* The ranks a collective on comm exchanges with: the group size, or the remote group's for
 * an intercommunicator. */
static int comm_peers(gp_mh comm)
{
	int v = comm_query(F_MPI_Comm_test_inter, comm) == 1
		    ? comm_query(F_MPI_Comm_remote_size, comm)
		    : comm_query(F_MPI_Comm_size, comm);

	return v > 0 ? v : 0;
}

static int64_t sum_counts(const int *counts, int n)
{
	int64_t s = 0;

	for (int i = 0; counts && i < n; i++)
		s += counts[i] > 0 ? counts[i] : 0;
	return s;
}

/* ---- recording -------------------------------------------------------------------------- */

/* The columns of one row (wire_mpi.h). */
struct mpi_row {
	uint8_t table;
	uint16_t flags;
	uint64_t comm, request, size, recv_size;
	int32_t tag, rank;
};

/* 1 when this call is to be recorded (then mpi_leave() must follow): tracing, collecting,
 * and not inside another traced call on this thread. */
static inline int mpi_enter(void)
{
	if (likely(!mpi_on) || mpi_depth || !gp_collecting())
		return 0;
	if (unlikely(!__atomic_load_n(&abi, __ATOMIC_ACQUIRE)))
		mpi_pick_abi();
	mpi_depth++;
	return 1;
}

static inline void mpi_leave(void)
{
	mpi_depth--;
}

static uint32_t mpi_name_sid(int id)
{
	uint32_t sid = __atomic_load_n(&mpi_fns[id].sid, __ATOMIC_RELAXED);

	if (!sid) {
		sid = gp_intern(mpi_fns[id].name);
		__atomic_store_n(&mpi_fns[id].sid, sid, __ATOMIC_RELAXED);
	}
	return sid;
}

static void mpi_emit(int id, uint64_t t0, uint64_t t1, const struct mpi_row *row)
{
	uint32_t sid = mpi_name_sid(id);
	struct gp_rec_mpi_event *e = gp_rec_begin(GP_REC_MPI_EVENT, sizeof(*e));

	if (!e)
		return;
	e->start_ns = t0;
	e->end_ns = t1;
	e->comm = row->comm;
	e->request = row->request;
	e->size = row->size;
	e->recv_size = row->recv_size;
	e->name_sid = sid;
	e->tag = row->tag;
	e->rank = row->rank;
	e->table = row->table;
	e->pad = 0;
	e->flags = row->flags;
	gp_rec_commit(e);
}

/* An MPI_OTHER_EVENTS row for the call id that ran [t0, now). */
static void mpi_other(int id, uint64_t t0)
{
	struct mpi_row row = {.table = GP_MPI_OTHER};

	mpi_emit(id, t0, gp_now_ns(), &row);
}

/* A P2P row. */
static void mpi_p2p(int id, uint64_t t0, uint64_t t1, gp_mh comm, int peer, int tag, uint64_t bytes,
		    int have_size, const void *request)
{
	struct mpi_row row = {
	    .table = GP_MPI_P2P,
	    .flags = GP_MPI_HAS_COMM | GP_MPI_HAS_RANK | GP_MPI_HAS_TAG,
	    .comm = mh(comm),
	    .rank = peer,
	    .tag = tag,
	};

	if (have_size) {
		row.flags |= GP_MPI_HAS_SIZE;
		row.size = bytes;
	}
	if (request) {
		row.flags |= GP_MPI_HAS_REQUEST;
		row.request = mh_at(request, 0);
	}
	mpi_emit(id, t0, t1, &row);
}

/* A collective row: root < -9999 = not a rooted collective; send/recv < 0 = NULL. */
#define NO_ROOT (-100000)
static void mpi_coll(int id, uint64_t t0, uint64_t t1, gp_mh comm, int root, int64_t send,
		     int64_t recv, const void *request)
{
	struct mpi_row row = {
	    .table = GP_MPI_COLLECTIVE, .flags = GP_MPI_HAS_COMM, .comm = mh(comm)};

	if (root != NO_ROOT) {
		row.flags |= GP_MPI_HAS_RANK;
		row.rank = root;
	}
	if (send >= 0) {
		row.flags |= GP_MPI_HAS_SIZE;
		row.size = (uint64_t)send;
	}
	if (recv >= 0) {
		row.flags |= GP_MPI_HAS_RECV_SIZE;
		row.recv_size = (uint64_t)recv;
	}
	if (request) {
		row.flags |= GP_MPI_HAS_REQUEST;
		row.request = mh_at(request, 0);
	}
	mpi_emit(id, t0, t1, &row);
}

/* The requests of a start/wait/test call, copied before the call completes them. */
struct mpi_reqs {
	int n;
	uint64_t *h;
	uint64_t small[32];
};

static void reqs_take(struct mpi_reqs *r, int count, const void *arr)
{
	r->n = 0;
	r->h = r->small;
	if (count <= 0 || !arr)
		return;
	if (count > (int)(sizeof(r->small) / sizeof(r->small[0]))) {
		r->h = malloc((size_t)count * sizeof(uint64_t));
		if (!r->h) {
			r->h = r->small;
			count = (int)(sizeof(r->small) / sizeof(r->small[0]));
		}
	}
	for (int i = 0; i < count; i++) {
		uint64_t h = mh_at(arr, i);
		if (h != abi->request_null)
			r->h[r->n++] = h;
	}
}

/* One MPI_START_WAIT_EVENTS row per request taken, or one MPI_OTHER_EVENTS row when the call
 * had none but null requests. */
static void mpi_start_wait(int id, uint64_t t0, struct mpi_reqs *r)
{
	uint64_t t1 = gp_now_ns();
	struct mpi_row row = {.table = GP_MPI_START_WAIT, .flags = GP_MPI_HAS_REQUEST};

	if (!r->n) {
		row.table = GP_MPI_OTHER;
		row.flags = 0;
		mpi_emit(id, t0, t1, &row);
	}
	for (int i = 0; i < r->n; i++) {
		row.request = r->h[i];
		mpi_emit(id, t0, t1, &row);
	}
	if (r->h != r->small)
		free(r->h);
}

/* ---- initialisation --------------------------------------------------------------------- */

static void mpi_atfork_child(void)
{
	for (int i = 0; i < F_COUNT; i++)
		__atomic_store_n(&mpi_fns[i].sid, 0, __ATOMIC_RELAXED);
}

static __attribute__((constructor)) void mpi_init(void)
{
	if (!gp_traced("mpi", 0))
		return;
	if (gp_producer_init(GP_COLLECTOR_MPI) != 0)
		return;
	pthread_atfork(NULL, NULL, mpi_atfork_child);
	__atomic_store_n(&mpi_on, 1, __ATOMIC_RELEASE);
}

/* MPI is up: send this process's MPI_COMM_WORLD rank (GP_REC_MPI_RANK, a state record), and
 * flush it at once so that it precedes the other threads' events. */
static void mpi_send_rank(void)
{
	int rank = comm_query(F_MPI_Comm_rank, (gp_mh)abi->comm_world);
	int size = comm_query(F_MPI_Comm_size, (gp_mh)abi->comm_world);
	struct gp_rec_mpi_rank *r;

	if (rank < 0)
		return;
	r = gp_rec_begin(GP_REC_MPI_RANK, sizeof(*r));
	if (!r)
		return;
	r->ts_ns = gp_now_ns();
	r->rank = rank;
	r->size = size;
	r->impl = abi->impl;
	r->pad = 0;
	gp_rec_commit(r);
	gp_flush_thread();
}

MPI_EXPORT int MPI_Init(int *argc, char ***argv)
{
	MPI_REAL(MPI_Init);
	if (!mpi_enter())
		return real_(argc, argv);
	uint64_t t0 = gp_now_ns();
	int rc = real_(argc, argv);
	if (rc == 0)
		mpi_send_rank();
	mpi_other(F_MPI_Init, t0);
	mpi_leave();
	return rc;
}

MPI_EXPORT int MPI_Init_thread(int *argc, char ***argv, int required, int *provided)
{
	MPI_REAL(MPI_Init_thread);
	if (!mpi_enter())
		return real_(argc, argv, required, provided);
	uint64_t t0 = gp_now_ns();
	int rc = real_(argc, argv, required, provided);
	if (rc == 0)
		mpi_send_rank();
	mpi_other(F_MPI_Init_thread, t0);
	mpi_leave();
	return rc;
}

/* ---- point to point --------------------------------------------------------------------- */

/* A blocking send: MPI_Send, MPI_Bsend, MPI_Ssend, MPI_Rsend. */
#define SEND_WRAP(fn)                                                                              \
	MPI_EXPORT int fn(const void *buf, int count, gp_mh type, int dest, int tag, gp_mh comm)   \
	{                                                                                          \
		MPI_REAL(fn);                                                                      \
		if (!mpi_enter())                                                                  \
			return real_(buf, count, type, dest, tag, comm);                           \
		uint64_t t0 = gp_now_ns();                                                         \
		int rc = real_(buf, count, type, dest, tag, comm);                                 \
		uint64_t t1 = gp_now_ns();                                                         \
		mpi_p2p(F_##fn, t0, t1, comm, dest, tag, rc ? 0 : type_bytes(type, count), !rc,    \
			NULL);                                                                     \
		mpi_leave();                                                                       \
		return rc;                                                                         \
	}

SEND_WRAP(MPI_Send)
SEND_WRAP(MPI_Bsend)
SEND_WRAP(MPI_Ssend)
SEND_WRAP(MPI_Rsend)

/* A call that starts a send or a receive and returns a request: MPI_Isend & co., the
 * persistent MPI_Send_init & co. and MPI_Irecv / MPI_Recv_init. */
#define ISEND_WRAP(fn, cbuf)                                                                       \
	MPI_EXPORT int fn(cbuf void *buf, int count, gp_mh type, int peer, int tag, gp_mh comm,    \
			  void *request)                                                           \
	{                                                                                          \
		MPI_REAL(fn);                                                                      \
		if (!mpi_enter())                                                                  \
			return real_(buf, count, type, peer, tag, comm, request);                  \
		uint64_t t0 = gp_now_ns();                                                         \
		int rc = real_(buf, count, type, peer, tag, comm, request);                        \
		uint64_t t1 = gp_now_ns();                                                         \
		mpi_p2p(F_##fn, t0, t1, comm, peer, tag, rc ? 0 : type_bytes(type, count), !rc,    \
			rc ? NULL : request);                                                      \
		mpi_leave();                                                                       \
		return rc;                                                                         \
	}

ISEND_WRAP(MPI_Isend, const)
ISEND_WRAP(MPI_Ibsend, const)
ISEND_WRAP(MPI_Issend, const)
ISEND_WRAP(MPI_Irsend, const)
ISEND_WRAP(MPI_Send_init, const)
ISEND_WRAP(MPI_Bsend_init, const)
ISEND_WRAP(MPI_Ssend_init, const)
ISEND_WRAP(MPI_Rsend_init, const)
ISEND_WRAP(MPI_Irecv, )
ISEND_WRAP(MPI_Recv_init, )

/* The peer and tag a receive matched: the arguments, or the status's for wildcards. */
static void matched(int *peer, int *tag, const void *st)
{
	if (*peer == abi->any_source)
		*peer = status_int(st, abi->status_source);
	if (*tag == abi->any_tag)
		*tag = status_int(st, abi->status_tag);
}

MPI_EXPORT int MPI_Recv(void *buf, int count, gp_mh type, int source, int tag, gp_mh comm,
			void *status)
{
	uint64_t own[8];

	MPI_REAL(MPI_Recv);
	if (!mpi_enter())
		return real_(buf, count, type, source, tag, comm, status);
	void *st = status_buf(status, own);
	uint64_t t0 = gp_now_ns();
	int rc = real_(buf, count, type, source, tag, comm, st);
	uint64_t t1 = gp_now_ns();
	if (!rc)
		matched(&source, &tag, st);
	mpi_p2p(F_MPI_Recv, t0, t1, comm, source, tag, rc ? 0 : type_bytes(type, count), !rc, NULL);
	mpi_leave();
	return rc;
}

/* The rows of a send-receive: one when both halves agree, else the send and the receive. */
static void sendrecv_rows(int id, uint64_t t0, uint64_t t1, gp_mh comm, int dest, int stag,
			  uint64_t ssize, int source, int rtag, uint64_t rsize, int ok)
{
	mpi_p2p(id, t0, t1, comm, dest, stag, ssize, ok, NULL);
	if (dest != source || stag != rtag || ssize != rsize)
		mpi_p2p(id, t0, t1, comm, source, rtag, rsize, ok, NULL);
}

MPI_EXPORT int MPI_Sendrecv(const void *sbuf, int scount, gp_mh stype, int dest, int stag,
			    void *rbuf, int rcount, gp_mh rtype, int source, int rtag, gp_mh comm,
			    void *status)
{
	uint64_t own[8];

	MPI_REAL(MPI_Sendrecv);
	if (!mpi_enter())
		return real_(sbuf, scount, stype, dest, stag, rbuf, rcount, rtype, source, rtag,
			     comm, status);
	void *st = status_buf(status, own);
	uint64_t t0 = gp_now_ns();
	int rc =
	    real_(sbuf, scount, stype, dest, stag, rbuf, rcount, rtype, source, rtag, comm, st);
	uint64_t t1 = gp_now_ns();
	if (!rc)
		matched(&source, &rtag, st);
	sendrecv_rows(F_MPI_Sendrecv, t0, t1, comm, dest, stag, rc ? 0 : type_bytes(stype, scount),
		      source, rtag, rc ? 0 : type_bytes(rtype, rcount), !rc);
	mpi_leave();
	return rc;
}

MPI_EXPORT int MPI_Sendrecv_replace(void *buf, int count, gp_mh type, int dest, int stag,
				    int source, int rtag, gp_mh comm, void *status)
{
	uint64_t own[8];

	MPI_REAL(MPI_Sendrecv_replace);
	if (!mpi_enter())
		return real_(buf, count, type, dest, stag, source, rtag, comm, status);
	void *st = status_buf(status, own);
	uint64_t t0 = gp_now_ns();
	int rc = real_(buf, count, type, dest, stag, source, rtag, comm, st);
	uint64_t t1 = gp_now_ns();
	uint64_t bytes = rc ? 0 : type_bytes(type, count);
	if (!rc)
		matched(&source, &rtag, st);
	sendrecv_rows(F_MPI_Sendrecv_replace, t0, t1, comm, dest, stag, bytes, source, rtag, bytes,
		      !rc);
	mpi_leave();
	return rc;
}

/* MPI_Mrecv: the message handle names no communicator; peer and tag from the status. */
MPI_EXPORT int MPI_Mrecv(void *buf, int count, gp_mh type, void *message, void *status)
{
	uint64_t own[8];

	MPI_REAL(MPI_Mrecv);
	if (!mpi_enter())
		return real_(buf, count, type, message, status);
	void *st = status_buf(status, own);
	uint64_t t0 = gp_now_ns();
	int rc = real_(buf, count, type, message, st);
	uint64_t t1 = gp_now_ns();
	struct mpi_row row = {.table = GP_MPI_P2P};
	if (!rc) {
		row.flags = GP_MPI_HAS_RANK | GP_MPI_HAS_TAG | GP_MPI_HAS_SIZE;
		row.rank = status_int(st, abi->status_source);
		row.tag = status_int(st, abi->status_tag);
		row.size = type_bytes(type, count);
	}
	mpi_emit(F_MPI_Mrecv, t0, t1, &row);
	mpi_leave();
	return rc;
}

MPI_EXPORT int MPI_Imrecv(void *buf, int count, gp_mh type, void *message, void *request)
{
	MPI_REAL(MPI_Imrecv);
	if (!mpi_enter())
		return real_(buf, count, type, message, request);
	uint64_t t0 = gp_now_ns();
	int rc = real_(buf, count, type, message, request);
	uint64_t t1 = gp_now_ns();
	struct mpi_row row = {.table = GP_MPI_P2P};
	if (!rc) {
		row.flags = GP_MPI_HAS_SIZE | GP_MPI_HAS_REQUEST;
		row.size = type_bytes(type, count);
		row.request = mh_at(request, 0);
	}
	mpi_emit(F_MPI_Imrecv, t0, t1, &row);
	mpi_leave();
	return rc;
}

/* ---- start, wait, test ------------------------------------------------------------------ */

/* A call on one request (MPI_Start, MPI_Wait, MPI_Test) with `rest` after it. */
#define REQ1_WRAP(fn, params, args)                                                                \
	MPI_EXPORT int fn params                                                                   \
	{                                                                                          \
		struct mpi_reqs r_;                                                                \
		MPI_REAL(fn);                                                                      \
		if (!mpi_enter())                                                                  \
			return real_ args;                                                         \
		reqs_take(&r_, 1, request);                                                        \
		uint64_t t0 = gp_now_ns();                                                         \
		int rc = real_ args;                                                               \
		mpi_start_wait(F_##fn, t0, &r_);                                                   \
		mpi_leave();                                                                       \
		return rc;                                                                         \
	}

/* A call on an array of requests (MPI_Startall, MPI_Waitall, ...). */
#define REQN_WRAP(fn, params, args)                                                                \
	MPI_EXPORT int fn params                                                                   \
	{                                                                                          \
		struct mpi_reqs r_;                                                                \
		MPI_REAL(fn);                                                                      \
		if (!mpi_enter())                                                                  \
			return real_ args;                                                         \
		reqs_take(&r_, count, requests);                                                   \
		uint64_t t0 = gp_now_ns();                                                         \
		int rc = real_ args;                                                               \
		mpi_start_wait(F_##fn, t0, &r_);                                                   \
		mpi_leave();                                                                       \
		return rc;                                                                         \
	}

REQ1_WRAP(MPI_Start, (void *request), (request))
REQ1_WRAP(MPI_Wait, (void *request, void *status), (request, status))
REQ1_WRAP(MPI_Test, (void *request, int *flag, void *status), (request, flag, status))
REQN_WRAP(MPI_Startall, (int count, void *requests), (count, requests))
REQN_WRAP(MPI_Waitall, (int count, void *requests, void *statuses), (count, requests, statuses))
REQN_WRAP(MPI_Waitany, (int count, void *requests, int *index, void *status),
	  (count, requests, index, status))
REQN_WRAP(MPI_Waitsome, (int count, void *requests, int *outcount, int *indices, void *statuses),
	  (count, requests, outcount, indices, statuses))
REQN_WRAP(MPI_Testall, (int count, void *requests, int *flag, void *statuses),
	  (count, requests, flag, statuses))
REQN_WRAP(MPI_Testany, (int count, void *requests, int *index, int *flag, void *status),
	  (count, requests, index, flag, status))
REQN_WRAP(MPI_Testsome, (int count, void *requests, int *outcount, int *indices, void *statuses),
	  (count, requests, outcount, indices, statuses))

/* ---- collectives ------------------------------------------------------------------------ */

/*
 * Every collective wrapper: time the call; on success compute `send` and `recv` (bytes, -1 =
 * NULL) with the statements `sizes`, then record.  `root` is the root argument or NO_ROOT,
 * `req` the request pointer or NULL.
 */
#define COLL_BODY(fn, args, root, req, sizes)                                                      \
	MPI_REAL(fn);                                                                              \
	if (!mpi_enter())                                                                          \
		return real_ args;                                                                 \
	uint64_t t0 = gp_now_ns();                                                                 \
	int rc = real_ args;                                                                       \
	uint64_t t1 = gp_now_ns();                                                                 \
	int64_t send = -1, recv = -1;                                                              \
	if (!rc) {                                                                                 \
		sizes;                                                                             \
	}                                                                                          \
	mpi_coll(F_##fn, t0, t1, comm, root, send, recv, rc ? NULL : (req));                       \
	mpi_leave();                                                                               \
	return rc

MPI_EXPORT int MPI_Barrier(gp_mh comm)
{
	COLL_BODY(MPI_Barrier, (comm), NO_ROOT, NULL, (void)0);
}

MPI_EXPORT int MPI_Ibarrier(gp_mh comm, void *request)
{
	COLL_BODY(MPI_Ibarrier, (comm, request), NO_ROOT, request, (void)0);
}

/* Bcast: the root sends the buffer, the others receive it.  Intercommunicators: MPI_ROOT
 * sends, MPI_PROC_NULL takes no part, the remote group receives. */
static void bcast_sizes(gp_mh comm, int root, uint64_t n, int64_t *send, int64_t *recv)
{
	int me = comm_rank(comm);

	if (me >= 0 ? me == root : root == abi->root)
		*send = (int64_t)n;
	else if (me >= 0 || root != abi->proc_null)
		*recv = (int64_t)n;
}

MPI_EXPORT int MPI_Bcast(void *buf, int count, gp_mh type, int root, gp_mh comm)
{
	COLL_BODY(MPI_Bcast, (buf, count, type, root, comm), root, NULL,
		  bcast_sizes(comm, root, type_bytes(type, count), &send, &recv));
}

MPI_EXPORT int MPI_Ibcast(void *buf, int count, gp_mh type, int root, gp_mh comm, void *request)
{
	COLL_BODY(MPI_Ibcast, (buf, count, type, root, comm, request), root, request,
		  bcast_sizes(comm, root, type_bytes(type, count), &send, &recv));
}

/* Reduce: every rank sends its contribution, the root receives the result. */
static void reduce_sizes(gp_mh comm, int root, uint64_t n, int64_t *send, int64_t *recv)
{
	int me = comm_rank(comm);

	if (me >= 0) {
		*send = (int64_t)n;
		if (me == root)
			*recv = (int64_t)n;
	} else if (root == abi->root) {
		*recv = (int64_t)n;
	} else if (root != abi->proc_null) {
		*send = (int64_t)n;
	}
}

MPI_EXPORT int MPI_Reduce(const void *sbuf, void *rbuf, int count, gp_mh type, gp_mh op, int root,
			  gp_mh comm)
{
	COLL_BODY(MPI_Reduce, (sbuf, rbuf, count, type, op, root, comm), root, NULL,
		  reduce_sizes(comm, root, type_bytes(type, count), &send, &recv));
}

MPI_EXPORT int MPI_Ireduce(const void *sbuf, void *rbuf, int count, gp_mh type, gp_mh op, int root,
			   gp_mh comm, void *request)
{
	COLL_BODY(MPI_Ireduce, (sbuf, rbuf, count, type, op, root, comm, request), root, request,
		  reduce_sizes(comm, root, type_bytes(type, count), &send, &recv));
}

/* Allreduce, Scan, Exscan: count elements each way. */
#define ALLRED_WRAP(fn, ifn)                                                                       \
	MPI_EXPORT int fn(const void *sbuf, void *rbuf, int count, gp_mh type, gp_mh op,           \
			  gp_mh comm)                                                              \
	{                                                                                          \
		COLL_BODY(fn, (sbuf, rbuf, count, type, op, comm), NO_ROOT, NULL,                  \
			  send = recv = (int64_t)type_bytes(type, count));                         \
	}                                                                                          \
	MPI_EXPORT int ifn(const void *sbuf, void *rbuf, int count, gp_mh type, gp_mh op,          \
			   gp_mh comm, void *request)                                              \
	{                                                                                          \
		COLL_BODY(ifn, (sbuf, rbuf, count, type, op, comm, request), NO_ROOT, request,     \
			  send = recv = (int64_t)type_bytes(type, count));                         \
	}

ALLRED_WRAP(MPI_Allreduce, MPI_Iallreduce)
ALLRED_WRAP(MPI_Scan, MPI_Iscan)
ALLRED_WRAP(MPI_Exscan, MPI_Iexscan)

/* Reduce_scatter: the whole vector in, this rank's block out. */
static void rs_sizes(gp_mh comm, const int *rcounts, gp_mh type, int64_t *send, int64_t *recv)
{
	int n = comm_query(F_MPI_Comm_size, comm), me = comm_rank(comm);

	*send = (int64_t)type_bytes(type, sum_counts(rcounts, n));
	if (me >= 0 && rcounts)
		*recv = (int64_t)type_bytes(type, rcounts[me]);
}

MPI_EXPORT int MPI_Reduce_scatter(const void *sbuf, void *rbuf, const int *rcounts, gp_mh type,
				  gp_mh op, gp_mh comm)
{
	COLL_BODY(MPI_Reduce_scatter, (sbuf, rbuf, rcounts, type, op, comm), NO_ROOT, NULL,
		  rs_sizes(comm, rcounts, type, &send, &recv));
}

MPI_EXPORT int MPI_Ireduce_scatter(const void *sbuf, void *rbuf, const int *rcounts, gp_mh type,
				   gp_mh op, gp_mh comm, void *request)
{
	COLL_BODY(MPI_Ireduce_scatter, (sbuf, rbuf, rcounts, type, op, comm, request), NO_ROOT,
		  request, rs_sizes(comm, rcounts, type, &send, &recv));
}

#define RSB_SIZES                                                                                  \
	do {                                                                                       \
		recv = (int64_t)type_bytes(type, rcount);                                          \
		send = recv * comm_query(F_MPI_Comm_size, comm);                                   \
	} while (0)

MPI_EXPORT int MPI_Reduce_scatter_block(const void *sbuf, void *rbuf, int rcount, gp_mh type,
					gp_mh op, gp_mh comm)
{
	COLL_BODY(MPI_Reduce_scatter_block, (sbuf, rbuf, rcount, type, op, comm), NO_ROOT, NULL,
		  RSB_SIZES);
}

MPI_EXPORT int MPI_Ireduce_scatter_block(const void *sbuf, void *rbuf, int rcount, gp_mh type,
					 gp_mh op, gp_mh comm, void *request)
{
	COLL_BODY(MPI_Ireduce_scatter_block, (sbuf, rbuf, rcount, type, op, comm, request), NO_ROOT,
		  request, RSB_SIZES);
}

/* Gather: every rank sends its block (the root's own with MPI_IN_PLACE), the root receives
 * one block from each peer. */
static void gather_sizes(const void *sbuf, int scount, gp_mh stype, int rcount, gp_mh rtype,
			 int root, gp_mh comm, int64_t *send, int64_t *recv)
{
	int me = comm_rank(comm);

	if (me < 0) { /* intercommunicator */
		if (root == abi->root)
			*recv = (int64_t)type_bytes(rtype, (int64_t)rcount * comm_peers(comm));
		else if (root != abi->proc_null)
			*send = (int64_t)type_bytes(stype, scount);
		return;
	}
	*send =
	    (int64_t)(is_in_place(sbuf) ? type_bytes(rtype, rcount) : type_bytes(stype, scount));
	if (me == root)
		*recv = (int64_t)type_bytes(rtype, (int64_t)rcount * comm_peers(comm));
}

MPI_EXPORT int MPI_Gather(const void *sbuf, int scount, gp_mh stype, void *rbuf, int rcount,
			  gp_mh rtype, int root, gp_mh comm)
{
	COLL_BODY(MPI_Gather, (sbuf, scount, stype, rbuf, rcount, rtype, root, comm), root, NULL,
		  gather_sizes(sbuf, scount, stype, rcount, rtype, root, comm, &send, &recv));
}

MPI_EXPORT int MPI_Igather(const void *sbuf, int scount, gp_mh stype, void *rbuf, int rcount,
			   gp_mh rtype, int root, gp_mh comm, void *request)
{
	COLL_BODY(MPI_Igather, (sbuf, scount, stype, rbuf, rcount, rtype, root, comm, request),
		  root, request,
		  gather_sizes(sbuf, scount, stype, rcount, rtype, root, comm, &send, &recv));
}

static void gatherv_sizes(const void *sbuf, int scount, gp_mh stype, const int *rcounts,
			  gp_mh rtype, int root, gp_mh comm, int64_t *send, int64_t *recv)
{
	int me = comm_rank(comm);

	if (me < 0) {
		if (root == abi->root)
			*recv = (int64_t)type_bytes(rtype, sum_counts(rcounts, comm_peers(comm)));
		else if (root != abi->proc_null)
			*send = (int64_t)type_bytes(stype, scount);
		return;
	}
	*send = (int64_t)(is_in_place(sbuf) && rcounts ? type_bytes(rtype, rcounts[me])
						       : type_bytes(stype, scount));
	if (me == root)
		*recv = (int64_t)type_bytes(rtype, sum_counts(rcounts, comm_peers(comm)));
}

MPI_EXPORT int MPI_Gatherv(const void *sbuf, int scount, gp_mh stype, void *rbuf,
			   const int *rcounts, const int *displs, gp_mh rtype, int root, gp_mh comm)
{
	COLL_BODY(MPI_Gatherv, (sbuf, scount, stype, rbuf, rcounts, displs, rtype, root, comm),
		  root, NULL,
		  gatherv_sizes(sbuf, scount, stype, rcounts, rtype, root, comm, &send, &recv));
}

MPI_EXPORT int MPI_Igatherv(const void *sbuf, int scount, gp_mh stype, void *rbuf,
			    const int *rcounts, const int *displs, gp_mh rtype, int root,
			    gp_mh comm, void *request)
{
	COLL_BODY(MPI_Igatherv,
		  (sbuf, scount, stype, rbuf, rcounts, displs, rtype, root, comm, request), root,
		  request,
		  gatherv_sizes(sbuf, scount, stype, rcounts, rtype, root, comm, &send, &recv));
}

/* Scatter: the root sends one block to each peer, every rank receives its block (the root
 * keeps its own with MPI_IN_PLACE). */
static void scatter_sizes(int scount, gp_mh stype, const void *rbuf, int rcount, gp_mh rtype,
			  int root, gp_mh comm, int64_t *send, int64_t *recv)
{
	int me = comm_rank(comm);

	if (me < 0) {
		if (root == abi->root)
			*send = (int64_t)type_bytes(stype, (int64_t)scount * comm_peers(comm));
		else if (root != abi->proc_null)
			*recv = (int64_t)type_bytes(rtype, rcount);
		return;
	}
	if (me == root)
		*send = (int64_t)type_bytes(stype, (int64_t)scount * comm_peers(comm));
	*recv =
	    (int64_t)(is_in_place(rbuf) ? type_bytes(stype, scount) : type_bytes(rtype, rcount));
}

MPI_EXPORT int MPI_Scatter(const void *sbuf, int scount, gp_mh stype, void *rbuf, int rcount,
			   gp_mh rtype, int root, gp_mh comm)
{
	COLL_BODY(MPI_Scatter, (sbuf, scount, stype, rbuf, rcount, rtype, root, comm), root, NULL,
		  scatter_sizes(scount, stype, rbuf, rcount, rtype, root, comm, &send, &recv));
}

MPI_EXPORT int MPI_Iscatter(const void *sbuf, int scount, gp_mh stype, void *rbuf, int rcount,
			    gp_mh rtype, int root, gp_mh comm, void *request)
{
	COLL_BODY(MPI_Iscatter, (sbuf, scount, stype, rbuf, rcount, rtype, root, comm, request),
		  root, request,
		  scatter_sizes(scount, stype, rbuf, rcount, rtype, root, comm, &send, &recv));
}

static void scatterv_sizes(const int *scounts, gp_mh stype, const void *rbuf, int rcount,
			   gp_mh rtype, int root, gp_mh comm, int64_t *send, int64_t *recv)
{
	int me = comm_rank(comm);

	if (me < 0) {
		if (root == abi->root)
			*send = (int64_t)type_bytes(stype, sum_counts(scounts, comm_peers(comm)));
		else if (root != abi->proc_null)
			*recv = (int64_t)type_bytes(rtype, rcount);
		return;
	}
	if (me == root)
		*send = (int64_t)type_bytes(stype, sum_counts(scounts, comm_peers(comm)));
	*recv = (int64_t)(is_in_place(rbuf) && scounts ? type_bytes(stype, scounts[me])
						       : type_bytes(rtype, rcount));
}

MPI_EXPORT int MPI_Scatterv(const void *sbuf, const int *scounts, const int *displs, gp_mh stype,
			    void *rbuf, int rcount, gp_mh rtype, int root, gp_mh comm)
{
	COLL_BODY(MPI_Scatterv, (sbuf, scounts, displs, stype, rbuf, rcount, rtype, root, comm),
		  root, NULL,
		  scatterv_sizes(scounts, stype, rbuf, rcount, rtype, root, comm, &send, &recv));
}

MPI_EXPORT int MPI_Iscatterv(const void *sbuf, const int *scounts, const int *displs, gp_mh stype,
			     void *rbuf, int rcount, gp_mh rtype, int root, gp_mh comm,
			     void *request)
{
	COLL_BODY(MPI_Iscatterv,
		  (sbuf, scounts, displs, stype, rbuf, rcount, rtype, root, comm, request), root,
		  request,
		  scatterv_sizes(scounts, stype, rbuf, rcount, rtype, root, comm, &send, &recv));
}

/* Allgather: this rank's block out, one block from each peer in. */
#define ALLGATHER_SIZES                                                                            \
	do {                                                                                       \
		send = (int64_t)(is_in_place(sbuf) ? type_bytes(rtype, rcount)                     \
						   : type_bytes(stype, scount));                   \
		recv = (int64_t)type_bytes(rtype, (int64_t)rcount * comm_peers(comm));             \
	} while (0)

MPI_EXPORT int MPI_Allgather(const void *sbuf, int scount, gp_mh stype, void *rbuf, int rcount,
			     gp_mh rtype, gp_mh comm)
{
	COLL_BODY(MPI_Allgather, (sbuf, scount, stype, rbuf, rcount, rtype, comm), NO_ROOT, NULL,
		  ALLGATHER_SIZES);
}

MPI_EXPORT int MPI_Iallgather(const void *sbuf, int scount, gp_mh stype, void *rbuf, int rcount,
			      gp_mh rtype, gp_mh comm, void *request)
{
	COLL_BODY(MPI_Iallgather, (sbuf, scount, stype, rbuf, rcount, rtype, comm, request),
		  NO_ROOT, request, ALLGATHER_SIZES);
}

#define ALLGATHERV_SIZES                                                                           \
	do {                                                                                       \
		int me_ = comm_rank(comm);                                                         \
		send = (int64_t)(is_in_place(sbuf) && me_ >= 0 && rcounts                          \
				     ? type_bytes(rtype, rcounts[me_])                             \
				     : type_bytes(stype, scount));                                 \
		recv = (int64_t)type_bytes(rtype, sum_counts(rcounts, comm_peers(comm)));          \
	} while (0)

MPI_EXPORT int MPI_Allgatherv(const void *sbuf, int scount, gp_mh stype, void *rbuf,
			      const int *rcounts, const int *displs, gp_mh rtype, gp_mh comm)
{
	COLL_BODY(MPI_Allgatherv, (sbuf, scount, stype, rbuf, rcounts, displs, rtype, comm),
		  NO_ROOT, NULL, ALLGATHERV_SIZES);
}

MPI_EXPORT int MPI_Iallgatherv(const void *sbuf, int scount, gp_mh stype, void *rbuf,
			       const int *rcounts, const int *displs, gp_mh rtype, gp_mh comm,
			       void *request)
{
	COLL_BODY(MPI_Iallgatherv,
		  (sbuf, scount, stype, rbuf, rcounts, displs, rtype, comm, request), NO_ROOT,
		  request, ALLGATHERV_SIZES);
}

/* Alltoall: one block to and from each peer. */
#define ALLTOALL_SIZES                                                                             \
	do {                                                                                       \
		int64_t p_ = comm_peers(comm);                                                     \
		recv = (int64_t)type_bytes(rtype, (int64_t)rcount * p_);                           \
		send =                                                                             \
		    is_in_place(sbuf) ? recv : (int64_t)type_bytes(stype, (int64_t)scount * p_);   \
	} while (0)

MPI_EXPORT int MPI_Alltoall(const void *sbuf, int scount, gp_mh stype, void *rbuf, int rcount,
			    gp_mh rtype, gp_mh comm)
{
	COLL_BODY(MPI_Alltoall, (sbuf, scount, stype, rbuf, rcount, rtype, comm), NO_ROOT, NULL,
		  ALLTOALL_SIZES);
}

MPI_EXPORT int MPI_Ialltoall(const void *sbuf, int scount, gp_mh stype, void *rbuf, int rcount,
			     gp_mh rtype, gp_mh comm, void *request)
{
	COLL_BODY(MPI_Ialltoall, (sbuf, scount, stype, rbuf, rcount, rtype, comm, request), NO_ROOT,
		  request, ALLTOALL_SIZES);
}

#define ALLTOALLV_SIZES                                                                            \
	do {                                                                                       \
		int p_ = comm_peers(comm);                                                         \
		recv = (int64_t)type_bytes(rtype, sum_counts(rcounts, p_));                        \
		send = is_in_place(sbuf) ? recv                                                    \
					 : (int64_t)type_bytes(stype, sum_counts(scounts, p_));    \
	} while (0)

MPI_EXPORT int MPI_Alltoallv(const void *sbuf, const int *scounts, const int *sdispls, gp_mh stype,
			     void *rbuf, const int *rcounts, const int *rdispls, gp_mh rtype,
			     gp_mh comm)
{
	COLL_BODY(MPI_Alltoallv,
		  (sbuf, scounts, sdispls, stype, rbuf, rcounts, rdispls, rtype, comm), NO_ROOT,
		  NULL, ALLTOALLV_SIZES);
}

MPI_EXPORT int MPI_Ialltoallv(const void *sbuf, const int *scounts, const int *sdispls, gp_mh stype,
			      void *rbuf, const int *rcounts, const int *rdispls, gp_mh rtype,
			      gp_mh comm, void *request)
{
	COLL_BODY(MPI_Ialltoallv,
		  (sbuf, scounts, sdispls, stype, rbuf, rcounts, rdispls, rtype, comm, request),
		  NO_ROOT, request, ALLTOALLV_SIZES);
}

/* Alltoallw: one datatype per peer (arrays of handles in the ABI's width). */
static int64_t typed_sum(const int *counts, const void *types, int n)
{
	int64_t s = 0;

	for (int i = 0; counts && types && i < n; i++)
		s += (int64_t)type_bytes((gp_mh)mh_at(types, i), counts[i]);
	return s;
}

#define ALLTOALLW_SIZES                                                                            \
	do {                                                                                       \
		int p_ = comm_peers(comm);                                                         \
		recv = typed_sum(rcounts, rtypes, p_);                                             \
		send = is_in_place(sbuf) ? recv : typed_sum(scounts, stypes, p_);                  \
	} while (0)

MPI_EXPORT int MPI_Alltoallw(const void *sbuf, const int *scounts, const int *sdispls,
			     const void *stypes, void *rbuf, const int *rcounts, const int *rdispls,
			     const void *rtypes, gp_mh comm)
{
	COLL_BODY(MPI_Alltoallw,
		  (sbuf, scounts, sdispls, stypes, rbuf, rcounts, rdispls, rtypes, comm), NO_ROOT,
		  NULL, ALLTOALLW_SIZES);
}

MPI_EXPORT int MPI_Ialltoallw(const void *sbuf, const int *scounts, const int *sdispls,
			      const void *stypes, void *rbuf, const int *rcounts,
			      const int *rdispls, const void *rtypes, gp_mh comm, void *request)
{
	COLL_BODY(MPI_Ialltoallw,
		  (sbuf, scounts, sdispls, stypes, rbuf, rcounts, rdispls, rtypes, comm, request),
		  NO_ROOT, request, ALLTOALLW_SIZES);
}

/* ---- other calls (MPI_OTHER_EVENTS: times only) ----------------------------------------- */

#define OTHER_WRAP(fn, params, args)                                                               \
	MPI_EXPORT int fn params                                                                   \
	{                                                                                          \
		MPI_REAL(fn);                                                                      \
		if (!mpi_enter())                                                                  \
			return real_ args;                                                         \
		uint64_t t0 = gp_now_ns();                                                         \
		int rc = real_ args;                                                               \
		mpi_other(F_##fn, t0);                                                             \
		mpi_leave();                                                                       \
		return rc;                                                                         \
	}

OTHER_WRAP(MPI_Finalize, (void), ())
OTHER_WRAP(MPI_Comm_dup, (gp_mh comm, void *newcomm), (comm, newcomm))
OTHER_WRAP(MPI_Comm_dup_with_info, (gp_mh comm, gp_mh info, void *newcomm), (comm, info, newcomm))
OTHER_WRAP(MPI_Comm_split, (gp_mh comm, int color, int key, void *newcomm),
	   (comm, color, key, newcomm))
OTHER_WRAP(MPI_Comm_split_type, (gp_mh comm, int type, int key, gp_mh info, void *newcomm),
	   (comm, type, key, info, newcomm))
OTHER_WRAP(MPI_Comm_create, (gp_mh comm, gp_mh group, void *newcomm), (comm, group, newcomm))
OTHER_WRAP(MPI_Comm_create_group, (gp_mh comm, gp_mh group, int tag, void *newcomm),
	   (comm, group, tag, newcomm))
OTHER_WRAP(MPI_Comm_free, (void *comm), (comm))
OTHER_WRAP(MPI_Cart_create,
	   (gp_mh comm, int ndims, const int *dims, const int *periods, int reorder, void *newcomm),
	   (comm, ndims, dims, periods, reorder, newcomm))
OTHER_WRAP(MPI_Intercomm_create,
	   (gp_mh local, int lleader, gp_mh peer, int rleader, int tag, void *newcomm),
	   (local, lleader, peer, rleader, tag, newcomm))
OTHER_WRAP(MPI_Intercomm_merge, (gp_mh inter, int high, void *newcomm), (inter, high, newcomm))
OTHER_WRAP(MPI_Probe, (int source, int tag, gp_mh comm, void *status), (source, tag, comm, status))
OTHER_WRAP(MPI_Iprobe, (int source, int tag, gp_mh comm, int *flag, void *status),
	   (source, tag, comm, flag, status))
OTHER_WRAP(MPI_Mprobe, (int source, int tag, gp_mh comm, void *message, void *status),
	   (source, tag, comm, message, status))
OTHER_WRAP(MPI_Improbe, (int source, int tag, gp_mh comm, int *flag, void *message, void *status),
	   (source, tag, comm, flag, message, status))
OTHER_WRAP(MPI_Cancel, (void *request), (request))
OTHER_WRAP(MPI_Request_free, (void *request), (request))
OTHER_WRAP(MPI_Win_create,
	   (void *base, gp_aint size, int disp_unit, gp_mh info, gp_mh comm, void *win),
	   (base, size, disp_unit, info, comm, win))
OTHER_WRAP(MPI_Win_allocate,
	   (gp_aint size, int disp_unit, gp_mh info, gp_mh comm, void *baseptr, void *win),
	   (size, disp_unit, info, comm, baseptr, win))
OTHER_WRAP(MPI_Win_free, (void *win), (win))
OTHER_WRAP(MPI_Win_fence, (int assert_, gp_mh win), (assert_, win))
OTHER_WRAP(MPI_Win_lock, (int type, int rank, int assert_, gp_mh win), (type, rank, assert_, win))
OTHER_WRAP(MPI_Win_unlock, (int rank, gp_mh win), (rank, win))
OTHER_WRAP(MPI_Win_lock_all, (int assert_, gp_mh win), (assert_, win))
OTHER_WRAP(MPI_Win_unlock_all, (gp_mh win), (win))
OTHER_WRAP(MPI_Win_flush, (int rank, gp_mh win), (rank, win))
OTHER_WRAP(MPI_Win_flush_all, (gp_mh win), (win))
OTHER_WRAP(MPI_Win_post, (gp_mh group, int assert_, gp_mh win), (group, assert_, win))
OTHER_WRAP(MPI_Win_start, (gp_mh group, int assert_, gp_mh win), (group, assert_, win))
OTHER_WRAP(MPI_Win_complete, (gp_mh win), (win))
OTHER_WRAP(MPI_Win_wait, (gp_mh win), (win))
OTHER_WRAP(MPI_Put,
	   (const void *oaddr, int ocount, gp_mh otype, int trank, gp_aint tdisp, int tcount,
	    gp_mh ttype, gp_mh win),
	   (oaddr, ocount, otype, trank, tdisp, tcount, ttype, win))
OTHER_WRAP(MPI_Get,
	   (void *oaddr, int ocount, gp_mh otype, int trank, gp_aint tdisp, int tcount, gp_mh ttype,
	    gp_mh win),
	   (oaddr, ocount, otype, trank, tdisp, tcount, ttype, win))
OTHER_WRAP(MPI_Accumulate,
	   (const void *oaddr, int ocount, gp_mh otype, int trank, gp_aint tdisp, int tcount,
	    gp_mh ttype, gp_mh op, gp_mh win),
	   (oaddr, ocount, otype, trank, tdisp, tcount, ttype, op, win))
