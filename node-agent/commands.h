/*
 * commands: the poll thread: the long poll, the verification of every
 * command, results (commands.c).
 */
#ifndef VM_AGENT_COMMANDS_H
#define VM_AGENT_COMMANDS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "command.h"

struct agent_config;

enum verdict {
	VERDICT_RUN,	/* verified: p is filled */
	VERDICT_REJECT, /* report "rejected": p->command_id is set */
	VERDICT_DROP,	/* no usable command_id: log only */
};

struct decide_ctx {
	const unsigned char	  *pk; /* 32 bytes */
	const char		  *node_id;
	int64_t			   now; /* Unix seconds */
	int64_t			   last_seq;
	const struct agent_config *cfg;
};

/*
 * Decides what to do with one element of "commands" (the contract's
 * checks, in order: signature, payload, node id, expiry, seq, catalog and
 * args, service list). p is always initialized; cmd_payload_free() it.
 */
enum verdict command_decide(const struct decide_ctx *ctx, json_t *elem,
    struct cmd_payload *p, char *why, size_t whylen);
/* The poll thread's body; arg is a struct thread_args *. */
void *poll_thread(void *arg);

#endif
