/*
 * queue: a command for a node, signed, stored and its node woken (queue.c).
 */
#ifndef VM_CC_QUEUE_H
#define VM_CC_QUEUE_H

#include <jansson.h>

#include "store.h"

/*
 * Signs, stores and dispatches one command (checked by the caller): 0
 * with c->command_id and c->seq set, -1 store error, -2 unknown node.
 */
int command_queue(struct cmd_new *c, json_t *args);

/*
 * An approved request (approvals.c): c with id as its command id signed,
 * stored and dispatched in the transaction that marks the request approved
 * by who (reason may be NULL). 1 done, 0 the request no longer awaits
 * approval, -2 unknown node, -1 store error.
 */
int command_queue_approved(const char *id, struct cmd_new *c, json_t *args,
    const char *who, const char *reason);

/*
 * Starts wave `wave` of job job_id: one command for each of ids (checked
 * by the caller), signed, stored in one transaction and dispatched. How
 * many were queued, -3 when the job is not running or the wave has
 * started already, or -1.
 */
int command_queue_wave(const char *job_id, int wave, const char *command,
    json_t *args, const char *by, const char (*ids)[37], size_t n);

#endif
