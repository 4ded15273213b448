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

#endif
