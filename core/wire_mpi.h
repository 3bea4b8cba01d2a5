/*
 * wire_mpi.h - the records of the MPI collector (collectors/mpi.c, `-t mpi`): record
 * types 0x500-0x5ff of the wire format (wire.h).  Included by wire.h.
 *
 * One GP_REC_MPI_EVENT per row of the four tables nsys 2025.x exports for MPI (Nsight
 * Systems SQLite schema reference, "MPI_P2P_EVENTS", "MPI_COLLECTIVES_EVENTS",
 * "MPI_START_WAIT_EVENTS", "MPI_OTHER_EVENTS"); `table` says which.  Handles (communicator,
 * request) travel as the integers the application passed: a pointer under Open MPI, an int
 * under MPICH and its ABI family (--mpi-impl).  Ranks are the ranks of the call's
 * communicator, sizes are bytes.  GP_REC_MPI_RANK gives the process's rank in
 * MPI_COMM_WORLD (-> MPI_RANKS); it is a state record (wire.h gp_rec_is_state), copied into
 * every per-range report of a repeat capture.
 */
#ifndef GPROF_WIRE_MPI_H
#define GPROF_WIRE_MPI_H

#include <stdint.h>

enum gp_rec_mpi_type {
	GP_REC_MPI_EVENT = 0x501, /* struct gp_rec_mpi_event: one row of an MPI_*_EVENTS table */
	GP_REC_MPI_RANK = 0x502,  /* struct gp_rec_mpi_rank: MPI_COMM_WORLD rank (state) */
};

/* The nsys table of a GP_REC_MPI_EVENT (struct gp_rec_mpi_event.table). */
enum gp_mpi_table {
	GP_MPI_P2P = 1,	       /* MPI_P2P_EVENTS: send/receive (commHandle, tag, remoteRank,
				* size, requestHandle) */
	GP_MPI_COLLECTIVE = 2, /* MPI_COLLECTIVES_EVENTS (commHandle, rootRank, size, recvSize,
				* requestHandle) */
	GP_MPI_START_WAIT = 3, /* MPI_START_WAIT_EVENTS: MPI_Start*, MPI_Wait*, MPI_Test*
				* (requestHandle) */
	GP_MPI_OTHER = 4,      /* MPI_OTHER_EVENTS: no parameters */
};

/* Which optional columns of struct gp_rec_mpi_event are set (others -> NULL). */
#define GP_MPI_HAS_COMM	     0x01u /* comm -> commHandle */
#define GP_MPI_HAS_REQUEST   0x02u /* request -> requestHandle */
#define GP_MPI_HAS_TAG	     0x04u /* tag -> tag (P2P) */
#define GP_MPI_HAS_RANK	     0x08u /* rank -> remoteRank (P2P) or rootRank (collective) */
#define GP_MPI_HAS_SIZE	     0x10u /* size -> size */
#define GP_MPI_HAS_RECV_SIZE 0x20u /* recv_size -> recvSize (collective) */

/* GP_REC_MPI_EVENT (72 bytes): one MPI call of the application on thread h.tid, or one of
 * the rows nsys splits a call into (one per request of MPI_Waitall & co., the send and the
 * receive half of an MPI_Sendrecv whose halves differ; collectors/mpi.c says which). */
struct gp_rec_mpi_event {
	struct gp_rec_hdr h;
	uint64_t start_ns;  /* call entry, CLOCK_MONOTONIC ns */
	uint64_t end_ns;    /* call return, CLOCK_MONOTONIC ns */
	uint64_t comm;	    /* MPI_Comm handle as passed (GP_MPI_HAS_COMM) */
	uint64_t request;   /* MPI_Request handle (GP_MPI_HAS_REQUEST) */
	uint64_t size;	    /* bytes: the message (P2P) or this rank's send buffer (collective) */
	uint64_t recv_size; /* bytes: this rank's receive buffer (collective) */
	uint32_t name_sid;  /* string id: the MPI function, e.g. "MPI_Allreduce" */
	int32_t tag;	    /* message tag (P2P) */
	int32_t rank;	    /* peer (P2P) or root (collective), a rank of `comm` */
	uint8_t table;	    /* enum gp_mpi_table */
	uint8_t pad;
	uint16_t flags; /* GP_MPI_HAS_* */
};

/* The MPI library's ABI family (--mpi-impl; struct gp_rec_mpi_rank.impl). */
enum gp_mpi_impl {
	GP_MPI_IMPL_OPENMPI = 1, /* Open MPI: handles are pointers */
	GP_MPI_IMPL_MPICH = 2,	 /* MPICH, Intel MPI, MVAPICH, Cray MPICH: handles are ints */
};

/* GP_REC_MPI_RANK (32 bytes): sent once MPI_Init/MPI_Init_thread returned in the process. */
struct gp_rec_mpi_rank {
	struct gp_rec_hdr h;
	uint64_t ts_ns; /* when the rank became known, CLOCK_MONOTONIC ns */
	int32_t rank;	/* rank in MPI_COMM_WORLD -> MPI_RANKS.rank */
	int32_t size;	/* size of MPI_COMM_WORLD */
	uint32_t impl;	/* enum gp_mpi_impl in use */
	uint32_t pad;
};

#endif
