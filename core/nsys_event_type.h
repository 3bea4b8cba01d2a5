/*
 * nsys_event_type.h - the NVTX_EVENTS.eventType ids: nsys's ENUM_NSYS_EVENT_TYPE values
 * of the NVTX rows, defined once for the report writer (core/report_nvtx.c) and the
 * readers (exporters/stats/).  core/report_enums.c writes the whole enum, names included,
 * into every report.  Macros rather than an enum so that SQL text can spell them:
 * "WHERE eventType = " NVTX_EV_PUSHPOP_S.
 */
#ifndef GPROF_CORE_NSYS_EVENT_TYPE_H
#define GPROF_CORE_NSYS_EVENT_TYPE_H

#define NVTX_EV_CATEGORY       33 /* NvtxCategory: a category's name */
#define NVTX_EV_MARK	       34 /* NvtxMark: an instant */
#define NVTX_EV_PUSHPOP	       59 /* NvtxPushPopRange */
#define NVTX_EV_STARTEND       60 /* NvtxStartEndRange */
#define NVTXT_EV_PUSHPOP       70 /* NvtxtPushPopRange (NVTXT; read, never written) */
#define NVTXT_EV_STARTEND      71 /* NvtxtStartEndRange (NVTXT; read, never written) */
#define NVTX_EV_DOMAIN_CREATE  75 /* NvtxDomainCreate: text = the domain's name */
#define NVTX_EV_DOMAIN_DESTROY 76 /* NvtxDomainDestroy */

/* The decimal text of an id, for SQL string literals. */
#define NSYS_STR(id)		NSYS_STR_(id)
#define NSYS_STR_(id)		#id
#define NVTX_EV_PUSHPOP_S	NSYS_STR(NVTX_EV_PUSHPOP)
#define NVTX_EV_STARTEND_S	NSYS_STR(NVTX_EV_STARTEND)
#define NVTX_EV_DOMAIN_CREATE_S NSYS_STR(NVTX_EV_DOMAIN_CREATE)
#define NVTXT_EV_PUSHPOP_S	NSYS_STR(NVTXT_EV_PUSHPOP)
#define NVTXT_EV_STARTEND_S	NSYS_STR(NVTXT_EV_STARTEND)

#endif
