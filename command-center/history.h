/*
 * history: the fleet's and the nodes' samples over time (history.c).
 */
#ifndef VM_CC_HISTORY_H
#define VM_CC_HISTORY_H

#include <stddef.h>
#include <stdint.h>

/* The sampling interval for a fleet of nodes (HB_SAMPLE_SECS or more). */
int64_t hb_sample_secs(size_t nodes);
/*
 * Called by every scheduler tick. Records the fleet's nodes per
 * attention level, and (at most every HB_SAMPLE_SECS) each node's load and
 * memory from its latest heartbeat, in batches.
 */
void history_sample(int64_t now);

#endif
