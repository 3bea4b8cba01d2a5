/*
 * wire_cuda.h - cuda collector records (types 0x300-0x3ff) of the wire format in wire.h.
 * Owned by the cuda collector (collectors/cuda.c) and its recorder module
 * (core/report_cuda.c).
 *
 * The collector converts CUPTI activity records (cupti_activity.h, CUDA 13.0:
 * CUpti_ActivityAPI, Kernel10, Memcpy6, MemcpyPtoP4, Memset4, Synchronization2, Memory4,
 * GraphTrace2, CudaEvent2, Device5, Context3, Stream) into these compact records in CUPTI's own
 * numbering (enum values are CUPTI's, not nsys's); the recorder maps them to the nsys
 * export schema ids (report_cuda.c says which differ).  Field names are CUPTI's.
 *
 * Times are CLOCK_MONOTONIC ns (CUPTI's timestamp callback returns gp_now_ns()).
 * Records describing API calls or GPU work carry in gp_rec_hdr.tid the OS thread id of
 * the thread that made the call (CUPTI threadId with CUPTI_ACTIVITY_THREAD_ID_TYPE_SYSTEM),
 * not the CUPTI worker thread that sent them; device/context/stream records carry 0.
 * The process is the connection's (report_conn_pid()).
 */
#ifndef GPROF_WIRE_CUDA_H
#define GPROF_WIRE_CUDA_H

#include <stdint.h>

enum gp_rec_cuda_type {
	GP_REC_CUDA_API = 0x301,	 /* struct gp_rec_cuda_api */
	GP_REC_CUDA_KERNEL = 0x302,	 /* struct gp_rec_cuda_kernel */
	GP_REC_CUDA_MEMCPY = 0x303,	 /* struct gp_rec_cuda_memcpy */
	GP_REC_CUDA_MEMSET = 0x304,	 /* struct gp_rec_cuda_memset */
	GP_REC_CUDA_SYNC = 0x305,	 /* struct gp_rec_cuda_sync */
	GP_REC_CUDA_MEMORY = 0x306,	 /* struct gp_rec_cuda_memory */
	GP_REC_CUDA_GRAPH_TRACE = 0x307, /* struct gp_rec_cuda_graph_trace */
	GP_REC_CUDA_DEVICE = 0x308,	 /* struct gp_rec_cuda_device */
	GP_REC_CUDA_CONTEXT = 0x309,	 /* struct gp_rec_cuda_context */
	GP_REC_CUDA_STREAM = 0x30a,	 /* struct gp_rec_cuda_stream */
	GP_REC_CUDA_GRAPH_EVENT = 0x30b, /* struct gp_rec_cuda_graph_event */
	GP_REC_CUDA_EVENT = 0x30c,	 /* struct gp_rec_cuda_event */
	GP_REC_CUDA_CALLCHAIN = 0x30d,	 /* struct gp_rec_cuda_callchain */
};

/* eventClass of CUDA API records (nsys ENUM_NSYS_EVENT_CLASS). */
enum gp_cuda_api_class {
	GP_CUDA_API_RUNTIME = 0, /* TRACE_PROCESS_EVENT_CUDA_RUNTIME */
	GP_CUDA_API_DRIVER = 1,	 /* TRACE_PROCESS_EVENT_CUDA_DRIVER */
};

/* GP_REC_CUDA_API (40 bytes): one runtime or driver API call (CUpti_ActivityAPI).
 * -> CUPTI_ACTIVITY_KIND_RUNTIME. */
struct gp_rec_cuda_api {
	struct gp_rec_hdr h; /* h.tid = calling thread */
	uint64_t start_ns;
	uint64_t end_ns;
	uint32_t correlation_id;
	uint32_t name_sid;    /* cuptiGetCallbackName(), e.g. "cudaLaunchKernel_v7000" */
	int32_t return_value; /* cudaError_t / CUresult */
	uint16_t event_class; /* enum gp_cuda_api_class */
	uint16_t cbid;	      /* CUPTI callback id in its domain */
};

/* GP_REC_CUDA_KERNEL (120 bytes): one kernel execution (CUpti_ActivityKernel10, from
 * CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL).  -> CUPTI_ACTIVITY_KIND_KERNEL. */
struct gp_rec_cuda_kernel {
	struct gp_rec_hdr h; /* h.tid = 0 (GPU work; the launch is joined by correlationId) */
	uint64_t start_ns;
	uint64_t end_ns;
	int64_t grid_id;
	uint64_t graph_node_id;	     /* 0 = not a graph node */
	uint64_t local_memory_total; /* bytes (localMemoryTotal_v2) */
	uint32_t device_id, context_id, stream_id, correlation_id;
	uint32_t name_sid; /* mangled name as CUPTI gave it (unmangled for C/extern "C") */
	uint32_t graph_id; /* 0 = not launched from a graph */
	int32_t grid_x, grid_y, grid_z;
	int32_t block_x, block_y, block_z;
	int32_t static_shared_memory;	  /* bytes */
	int32_t dynamic_shared_memory;	  /* bytes */
	uint32_t local_memory_per_thread; /* bytes */
	uint32_t shared_memory_executed;  /* bytes */
	uint16_t registers_per_thread;
	uint8_t launch_type; /* CUpti_ActivityLaunchType (REGULAR = 0) */
	uint8_t
	    cache_config; /* CUpti_ActivityKernel10.cacheConfig.both (requested | executed<<4) */
	uint8_t shmem_limit_config; /* CUpti_FuncShmemLimitConfig (DEFAULT 0, OPTIN 1) */
	uint8_t is_device_launched;
	uint16_t pad;
};

/* Flags of struct gp_rec_cuda_memcpy. */
#define GP_CUDA_MEMCPY_ASYNC 0x1u /* CUPTI_ACTIVITY_FLAG_MEMCPY_ASYNC */
#define GP_CUDA_MEMCPY_PTOP  0x2u /* from CUPTI_ACTIVITY_KIND_MEMCPY2: src/dst ids are valid */

/* GP_REC_CUDA_MEMCPY (88 bytes): one copy (CUpti_ActivityMemcpy6 or MemcpyPtoP4).
 * -> CUPTI_ACTIVITY_KIND_MEMCPY. */
struct gp_rec_cuda_memcpy {
	struct gp_rec_hdr h;
	uint64_t start_ns;
	uint64_t end_ns;
	uint64_t bytes;
	uint64_t graph_node_id;
	uint64_t copy_count; /* operations in this record (cudaMemcpyBatchAsync), >= 1 */
	uint32_t device_id, context_id, stream_id, correlation_id;
	uint32_t src_device_id, src_context_id, dst_device_id, dst_context_id; /* PTOP only */
	uint32_t graph_id;
	uint8_t copy_kind; /* CUpti_ActivityMemcpyKind (same ids as nsys ENUM_CUDA_MEMCPY_OPER) */
	uint8_t src_kind;  /* CUpti_ActivityMemoryKind */
	uint8_t dst_kind;  /* CUpti_ActivityMemoryKind */
	uint8_t flags;	   /* GP_CUDA_MEMCPY_* */
};

/* GP_REC_CUDA_MEMSET (64 bytes): one memset (CUpti_ActivityMemset4).
 * -> CUPTI_ACTIVITY_KIND_MEMSET. */
struct gp_rec_cuda_memset {
	struct gp_rec_hdr h;
	uint64_t start_ns;
	uint64_t end_ns;
	uint64_t bytes;
	uint64_t graph_node_id;
	uint32_t device_id, context_id, stream_id, correlation_id;
	uint32_t value;
	uint16_t memory_kind; /* CUpti_ActivityMemoryKind */
	uint16_t flags;	      /* CUPTI_ACTIVITY_FLAG_MEMSET_ASYNC */
};

/* GP_REC_CUDA_SYNC (56 bytes): one synchronisation (CUpti_ActivitySynchronization2).
 * -> CUPTI_ACTIVITY_KIND_SYNCHRONIZATION. */
struct gp_rec_cuda_sync {
	struct gp_rec_hdr h; /* h.tid = 0 */
	uint64_t start_ns;
	uint64_t end_ns;
	uint64_t cuda_event_sync_id;
	uint32_t device_id; /* looked up from the context by the collector */
	uint32_t context_id, stream_id, correlation_id;
	uint32_t cuda_event_id;
	uint32_t type; /* CUpti_ActivitySynchronizationType (STREAM_SYNCHRONIZE = 3) */
};

/* GP_REC_CUDA_MEMORY (96 bytes): one allocation or release (CUpti_ActivityMemory4, from
 * CUPTI_ACTIVITY_KIND_MEMORY2; only with cuda-memory-usage=1).
 * -> CUDA_GPU_MEMORY_USAGE_EVENTS. */
struct gp_rec_cuda_memory {
	struct gp_rec_hdr h; /* h.tid = 0 */
	uint64_t ts_ns;
	uint64_t address;
	uint64_t bytes;
	uint64_t pc;
	uint64_t pool_address;		 /* memoryPoolConfig.address */
	uint64_t pool_release_threshold; /* memoryPoolConfig.releaseThreshold */
	uint64_t pool_size;		 /* pool.size (LOCAL) or pool.processId (IMPORTED) */
	uint64_t pool_utilized_size;
	uint32_t device_id, context_id, stream_id, correlation_id;
	uint32_t name_sid;	/* memory name (0 = none) */
	uint8_t operation_type; /* CUpti_ActivityMemoryOperationType (ALLOCATION 1, RELEASE 2) */
	uint8_t memory_kind;	/* CUpti_ActivityMemoryKind */
	uint8_t pool_type;	/* CUpti_ActivityMemoryPoolType (INVALID 0 = no pool) */
	uint8_t is_async;
};

/* GP_REC_CUDA_GRAPH_TRACE (48 bytes): one whole graph launch (CUpti_ActivityGraphTrace2,
 * cuda-graph-trace=graph).  -> CUPTI_ACTIVITY_KIND_GRAPH_TRACE. */
struct gp_rec_cuda_graph_trace {
	struct gp_rec_hdr h;
	uint64_t start_ns;
	uint64_t end_ns;
	uint32_t device_id, context_id, stream_id, correlation_id;
	uint32_t graph_id;
	uint32_t end_device_id;
};

/* eventClass of graph creation events (nsys ENUM_NSYS_EVENT_CLASS). */
enum gp_cuda_graph_event_class {
	GP_CUDA_GRAPH_NODE_CREATION = 77, /* TRACE_PROCESS_EVENT_CUDA_GRAPH_NODE_CREATION */
	GP_CUDA_GRAPHEXEC_CREATION = 94,  /* TRACE_PROCESS_EVENT_CUDA_GRAPHEXEC_CREATION */
	GP_CUDA_GRAPH_CREATION = 95,	  /* TRACE_PROCESS_EVENT_CUDA_GRAPH_CREATION */
	GP_CUDA_GRAPH_CLONE = 96,	  /* TRACE_PROCESS_EVENT_CUDA_GRAPH_CLONE */
};

/* GP_REC_CUDA_GRAPH_EVENT (48 bytes): a graph, graph exec or graph node was created or
 * cloned (CUPTI resource callbacks GRAPH_CREATED, GRAPH_CLONED, GRAPHEXEC_CREATED with
 * cuda-graph-trace=graph; GRAPHNODE_CREATED, GRAPHNODE_CLONED with =node; ids from
 * cuptiGetGraphId / cuptiGetGraphNodeId / cuptiGetGraphExecId), as nsys 2025.3 records
 * them (seen on the H200: one row per callback, start = end = the callback's time, a
 * clone gives a creation row and a clone row, instantiation gives creation rows of the
 * graphs the driver builds internally, and the exec row names the instantiated graph).
 * -> CUDA_GRAPH_NODE_EVENTS (class 77) or CUDA_GRAPH_EVENTS (94, 95, 96). */
struct gp_rec_cuda_graph_event {
	struct gp_rec_hdr h;		 /* h.tid = thread of the API call that made it */
	uint64_t ts_ns;			 /* the callback's time */
	uint64_t graph_node_id;		 /* class 77 */
	uint64_t original_graph_node_id; /* class 77 of a cloned node; 0 = none */
	uint32_t graph_id;		 /* 94, 95, 96 (94: the instantiated graph) */
	uint32_t original_graph_id;	 /* 96: the graph cloned; 0 = none */
	uint32_t graph_exec_id;		 /* 94; 0 = none */
	uint16_t event_class;		 /* enum gp_cuda_graph_event_class */
	uint16_t pad;
};

/* GP_REC_CUDA_EVENT (48 bytes): one cudaEventRecord / cuEventRecord (CUpti_ActivityCudaEvent2,
 * CUPTI_ACTIVITY_KIND_CUDA_EVENT).  CUPTI gives no host time: the record joins its API call
 * by correlationId, and synchronisations on the event (GP_REC_CUDA_SYNC) by
 * cuda_event_sync_id.  -> CUPTI_ACTIVITY_KIND_CUDA_EVENT. */
struct gp_rec_cuda_event {
	struct gp_rec_hdr h;	     /* h.tid = 0 (the API record carries the thread) */
	uint64_t device_ts_ns;	     /* the event's completion on the GPU, CLOCK_MONOTONIC ns
				      * (CUPTI collects it only after
				      * cuptiActivityEnableCudaEventDeviceTimestamps(1)); 0 = none */
	uint64_t cuda_event_sync_id; /* CUpti_ActivityCudaEvent2.cudaEventSyncId */
	uint32_t device_id, context_id, stream_id, correlation_id;
	uint32_t event_id; /* CUPTI's id of the cudaEvent_t */
	uint32_t pad;
};

/* GP_REC_CUDA_CALLCHAIN (24 bytes + 24 per native frame + 16 per Python frame): the backtrace of
 * one CUDA API call
 * (--cudabacktrace, nsys's CUDA_CALLCHAINS), taken in the application's thread in CUPTI's
 * API-exit callback of a call that lasted at least its class's threshold.  Sent before the
 * call's GP_REC_CUDA_API (which CUPTI hands over later, from its buffers); the recorder
 * joins the two by correlation_id (CUPTI's, one counter per process) and writes the
 * chain's id into CUPTI_ACTIVITY_KIND_RUNTIME.callchainId.  Frames innermost first as in
 * GP_REC_OSRT_CALLCHAIN (struct gp_osrt_frame, wire.h), without the frames of gprof-cli's
 * library and of libcupti; the frames above the API function (libcuda's and the runtime's
 * internals) are left for the recorder to drop, which finds the API function among the
 * frames by its name (api_sid) once it has the symbols (core/report_cuda.c).  With
 * --python-backtrace=cuda the thread's Python frames follow (read in the same callback,
 * core/wire_python.h); the recorder puts them before the native _PyEval_EvalFrameDefault
 * frame that runs them.  -> CUDA_CALLCHAINS. */
struct gp_rec_cuda_callchain {
	struct gp_rec_hdr h;	 /* h.tid = calling thread */
	uint32_t correlation_id; /* the GP_REC_CUDA_API's */
	uint32_t api_sid;	 /* CUpti_CallbackData.functionName, e.g. "cudaLaunchKernel" */
	uint32_t nframes;	 /* <= GP_CUDA_FRAMES_MAX */
	uint16_t npy;	   /* Python frames after the native ones (<= GP_CUDA_PY_FRAMES_MAX) */
	uint16_t py_state; /* enum gp_cuda_py_state */
	struct gp_osrt_frame frames[];
	/* then struct gp_cuda_py_frame py[npy] */
};

/* --python-backtrace=cuda: how the calling thread's Python frames were read (the recorder
 * counts each non-OK state into META_DATA_EXPORT and says it once). */
enum gp_cuda_py_state {
	GP_CUDA_PY_OFF = 0,	/* not asked, or the process runs no CPython */
	GP_CUDA_PY_OK = 1,	/* read: npy frames (0: a thread without Python frames) */
	GP_CUDA_PY_VERSION = 2, /* a CPython whose frames gprof-cli cannot read (not 3.11/3.12) */
	GP_CUDA_PY_UNREAD = 3,	/* the frames could not be read (memory gone, not allowed) */
};

/* One Python frame of a CUDA API call's backtrace (16 bytes), innermost first, as
 * core/wire_python.h reads it: the recorder writes it as a CUDA_CALLCHAINS row like the
 * sampler's Python frames (symbol "qualname (file.py:line)", module the file). */
struct gp_cuda_py_frame {
	uint32_t name_sid; /* co_qualname, e.g. "Model.forward" */
	uint32_t file_sid; /* co_filename */
	int32_t line;	   /* the line being run (0: unknown) */
	uint32_t flags;	   /* GP_CUDA_PY_ENTRY */
};
#define GP_CUDA_PY_ENTRY      0x1u /* the first frame of its _PyEval_EvalFrameDefault call */
#define GP_CUDA_PY_FRAMES_MAX 64   /* Python frames a backtrace carries at most (deeper: cut) */
/* frames taken (nsys's --osrt-backtrace-depth is 24; the CUDA internals above the API
 * function are among them here, so a few more) */
#define GP_CUDA_FRAMES_MAX 40

/* GP_REC_CUDA_DEVICE (160 bytes): one GPU (CUpti_ActivityDevice5, via EnableAndDump).
 * -> TARGET_INFO_GPU and TARGET_INFO_CUDA_DEVICE. */
struct gp_rec_cuda_device {
	struct gp_rec_hdr h;		  /* h.tid = 0 */
	uint64_t global_memory_bandwidth; /* KB/s, as CUPTI reports it */
	uint64_t global_memory_size;	  /* bytes */
	uint32_t id;			  /* CUDA device ordinal */
	uint32_t name_sid;		  /* e.g. "NVIDIA H200" */
	uint32_t chip_sid;		  /* cuptiDeviceGetChipName(), e.g. "GH100"; 0 = unknown */
	uint32_t constant_memory_size;	  /* bytes */
	uint32_t l2_cache_size;		  /* bytes */
	uint32_t threads_per_warp;
	uint32_t core_clock_rate; /* kHz */
	uint32_t num_memcpy_engines;
	uint32_t num_multiprocessors;
	uint32_t max_ipc;
	uint32_t max_warps_per_mp;
	uint32_t max_blocks_per_mp;
	uint32_t max_shared_memory_per_mp; /* bytes */
	uint32_t max_registers_per_mp;
	uint32_t max_registers_per_block;
	uint32_t max_shared_memory_per_block; /* bytes */
	uint32_t max_threads_per_block;
	uint32_t max_block_dim[3];
	uint32_t max_grid_dim[3];
	uint32_t cc_major, cc_minor;
	uint32_t pci_domain, pci_bus, pci_device;   /* from cuDeviceGetAttribute; ~0u = unknown */
	uint32_t max_shared_memory_per_block_optin; /* bytes; 0 = unknown */
	uint8_t uuid[16];
};

/* GP_REC_CUDA_CONTEXT (24 bytes): one context (CUpti_ActivityContext3).
 * -> TARGET_INFO_CUDA_CONTEXT_INFO. */
struct gp_rec_cuda_context {
	struct gp_rec_hdr h;
	uint32_t context_id, device_id;
	uint32_t parent_context_id;
	uint16_t null_stream_id;
	uint8_t is_green_context;
	uint8_t pad;
};

/* GP_REC_CUDA_STREAM (24 bytes): one stream (CUpti_ActivityStream).
 * -> TARGET_INFO_CUDA_STREAM. */
struct gp_rec_cuda_stream {
	struct gp_rec_hdr h;
	uint32_t stream_id, context_id;
	uint32_t priority; /* as CUPTI reports it (nsys writes it unsigned) */
	uint32_t flag;	   /* CUpti_ActivityStreamFlag (same ids as ENUM_CUPTI_STREAM_TYPE) */
};

/*
 * Capture-window tag (additive, optional): under -c cudaProfilerApi / -c nvtx the
 * collector sends event records (API, kernel, memcpy, memset, sync, memory, graph trace,
 * cuda event)
 * past the capture gate (gp_rec_begin_ungated, producer.h) because CUPTI delivers them
 * after the range closed, and appends this tag right after the record's struct
 * (rec->size = sizeof(struct) + 8).  `window` is the 0-based capture window the record
 * belongs to (the window holding the API call's [start, end], or the window of the
 * launch with the same correlationId).  The recorder's route hook (report_cuda.c) puts
 * the record into that window's report under --capture-range-end=repeat.  Records
 * without the tag (capture mode none) are placed by the recorder's default rule.
 */
#define GP_CUDA_WINDOW_MAGIC 0x4e495743u /* "CWIN" */
/* `window` = GP_CUDA_WINDOW_FROM | k: a state record that nsys writes into the report of
 * window k and of every later window (the creation events of a CUDA graph: every range
 * that may replay it); k is the window open when it was made, else the next one to open.
 * The recorder's route hook answers REPORT_ROUTE_FROM(k) (report.h). */
#define GP_CUDA_WINDOW_FROM 0x80000000u
struct gp_cuda_window_tag {
	uint32_t window; /* 0-based capture window (gp_control.win index) */
	uint32_t magic;	 /* GP_CUDA_WINDOW_MAGIC */
};

#endif
