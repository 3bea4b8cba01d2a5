/*
 * wire_decode.c - frame validation and record decoding (wire_decode.h).
 */
#include "wire_decode.h"

size_t gp_rec_min_size(uint16_t type)
{
	switch (type) {
	case GP_REC_HELLO:
		return sizeof(struct gp_rec_hello);
	case GP_REC_STRING:
		return sizeof(struct gp_rec_string);
	case GP_REC_THREAD_NAME:
		return sizeof(struct gp_rec_thread_name);
	case GP_REC_LOSS:
		return sizeof(struct gp_rec_loss);
	case GP_REC_PROCESS_EXIT:
		return sizeof(struct gp_rec_process_exit);
	case GP_REC_CAPTURE:
		return sizeof(struct gp_rec_capture);
	case GP_REC_FLUSH_ACK:
		return sizeof(struct gp_rec_flush_ack);
	case GP_REC_OVERHEAD:
		return sizeof(struct gp_rec_overhead);
	case GP_REC_NVTX_EVENT:
	case GP_REC_NVTX_START:
		return sizeof(struct gp_rec_nvtx);
	case GP_REC_NVTX_END:
		return sizeof(struct gp_rec_nvtx_end);
	case GP_REC_NVTX_PUSHPOP:
		return sizeof(struct gp_rec_nvtx_pushpop);
	case GP_REC_NVTX_DOMAIN:
		return sizeof(struct gp_rec_nvtx_domain);
	case GP_REC_NVTX_CATEGORY:
		return sizeof(struct gp_rec_nvtx_category);
	case GP_REC_NVTX_SCHEMA:
		return sizeof(struct gp_rec_nvtx_schema);
	case GP_REC_NVTX_ENUM:
		return sizeof(struct gp_rec_nvtx_enum);
	case GP_REC_NVTX_UNSENT:
		return sizeof(struct gp_rec_nvtx_unsent);
	case GP_REC_OSRT:
		return sizeof(struct gp_rec_osrt);
	case GP_REC_OSRT_CALLCHAIN:
		return sizeof(struct gp_rec_osrt_callchain);
	case GP_REC_CPU_SAMPLE:
		return sizeof(struct gp_rec_cpu_sample);
	case GP_REC_SCHED:
		return sizeof(struct gp_rec_sched);
	case GP_REC_SAMPLING_LOSS:
		return sizeof(struct gp_rec_sampling_loss);
	case GP_REC_SAMPLING_CONFIG:
		return sizeof(struct gp_rec_sampling_config);
	default:
		return 0;
	}
}

void gp_seq_close(const struct gp_seq *seq, struct gp_decode_counts *cnt)
{
	if (seq->end > seq->frames)
		cnt->lost_frames += seq->end - seq->frames;
}

int gp_decode_frame(const void *buf, size_t nbytes, struct gp_seq *seq,
		    struct gp_decode_counts *cnt, gp_rec_fn fn, void *ctx)
{
	const struct gp_frame_hdr *fh = buf;
	const unsigned char *p, *end;
	int rc;

	if (nbytes < sizeof(*fh) || nbytes > GP_FRAME_MAX || fh->magic != GP_WIRE_MAGIC ||
	    fh->version != GP_WIRE_VERSION || fh->type != GP_FRAME_RECORDS ||
	    fh->length != nbytes - sizeof(*fh) || fh->seq >= seq->end + GP_SEQ_JUMP_MAX) {
		cnt->bad_frames++;
		return -1;
	}
	if (fh->seq >= seq->end)
		seq->end = fh->seq + 1;
	seq->frames++;
	cnt->frames++;
	p = (const unsigned char *)buf + sizeof(*fh);
	end = p + fh->length;
	while (p < end) {
		const struct gp_rec_hdr *rh = (const void *)p;
		size_t left = (size_t)(end - p), min;

		if (left < sizeof(*rh) || rh->size < sizeof(*rh) || (rh->size & 7) ||
		    rh->size > left)
			goto bad;
		min = gp_rec_min_size(rh->type);
		if (min && rh->size < min)
			goto bad;
		rc = fn(ctx, rh);
		if (rc < 0)
			goto bad;
		p += rh->size;
		if (rc > 0)
			continue; /* refused: counted by the callback, the frame goes on */
		cnt->records++;
		if ((rh->type >> 8) < GP_DECODE_BLOCKS) {
			cnt->block_records[rh->type >> 8]++;
			cnt->block_events[rh->type >> 8] += !gp_rec_is_state(rh->type);
		}
	}
	return 0;
bad:
	cnt->bad_frames++;
	return -1;
}
