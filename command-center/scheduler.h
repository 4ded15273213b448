/*
 * scheduler: keeps scans fresh (scheduler.c).
 */
#ifndef VM_CC_SCHEDULER_H
#define VM_CC_SCHEDULER_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

enum sched_decision {
	SCHED_DUE,	    /* queue a scan */
	SCHED_NOT_DUE,	    /* scanned recently */
	SCHED_FORBIDDEN,    /* the profile's policy forbids scans */
	SCHED_PENDING,	    /* a scan is already queued or delivered */
	SCHED_NOT_APPROVED, /* pending or revoked node */
};

/* The decision for one node, from facts only (testable with any clock). */
enum sched_decision scheduler_decide(enum node_status st, int64_t last_scan_at,
    int policy_allows_scan, int scan_open, int64_t now, int64_t interval_secs);
const char	   *sched_decision_name(enum sched_decision d);
/* Scans queued per tick at most (at least SCHED_MIN_BUDGET). */
#define SCHED_MIN_BUDGET 100
size_t scheduler_budget(size_t nodes, int64_t tick_secs, int64_t interval_secs);
/* One tick over the fleet: queues the scans that are due. */
void scheduler_tick(int64_t now);

#endif
