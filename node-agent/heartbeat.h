/*
 * heartbeat: the heartbeat thread: enrollment, heartbeats, the flush of
 * spooled results (heartbeat.c).
 */
#ifndef VM_AGENT_HEARTBEAT_H
#define VM_AGENT_HEARTBEAT_H

struct agent;
struct client;

/* The heartbeat thread's body; arg is a struct thread_args *. */
void *heartbeat_thread(void *arg);

/*
 * Sends every spooled result (under spool_mu); drops a result the CC
 * refuses for good (404, 403, 409, 400 ...). 0 when the spool is empty
 * afterwards, 1 when something is left for later, -1 on revocation/stop.
 */
int results_flush(struct agent *a, struct client *c);

#endif
