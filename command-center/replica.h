/*
 * replica: command centers sharing one database act as one (replica.c).
 * With a store of its own, a command center is alone: it always leads
 * and is always up to date, and none of this starts a thread.
 */
#ifndef VM_CC_REPLICA_H
#define VM_CC_REPLICA_H

#include <stdint.h>

#include "buf.h"

/*
 * Node rows read this long ago (ms) or more: this replica may miss a
 * revocation, so it refuses agents (503) until it reads again.
 */
#define REPLICA_FRESH_MS 750

/* Starts the replica thread when the store is shared: 0, or -1. */
int  replica_start(void);
void replica_stop(void);
/* 1 while this process runs what one replica must (always, alone). */
int replica_leads(void);
/*
 * 1 while what other replicas changed is known here: the last read of
 * the node rows began less than REPLICA_FRESH_MS ago (always, alone).
 */
int replica_fresh(void);
/* Milliseconds since the last read of node rows began (0 alone). */
int64_t replica_read_age_ms(void);
/*
 * Reads the changed node rows now (an agent's token unknown here may be
 * one another replica just issued): 0, or -1. Callers share reads: a
 * read that began after a caller asked serves it, and one runs at a time.
 */
int replica_catch_up(void);
/* Its gauges for /metrics (nothing alone): 0, or -1 when b failed. */
int replica_metrics(struct buf *b);

#endif
