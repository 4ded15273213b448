/*
 * metrics: counters and histograms in the Prometheus text format
 * (metrics.c).
 */
#ifndef VM_CC_METRICS_H
#define VM_CC_METRICS_H

#include <stdint.h>

#include "buf.h"

enum metric_counter {
	M_HEARTBEATS,
	M_HEARTBEATS_REFUSED,
	M_ENROLL_APPROVED,
	M_ENROLL_PENDING,
	M_ENROLL_CONFLICT,
	M_ENROLL_REVOKED,
	M_ENROLL_KEY_MISMATCH,
	M_ENROLL_FAILED,
	M_ENROLL_BAD_SECRET,
	M_ENROLL_DELETED,
	M_ENROLL_LIMITED,
	M_COUNTERS
};

void metrics_inc(enum metric_counter c);
void metrics_dispatch_delay(int64_t us);
void metrics_notify_lag(int64_t us);
void metrics_store_write(int64_t us);
/* Renders every metric into b: 0, or -1 when b failed. */
int metrics_render(struct buf *b, int64_t now);

#endif
