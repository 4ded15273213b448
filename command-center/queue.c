/*
 * queue: a command for a node, signed, stored and its node woken. The
 * domain's one way to queue a command, whoever asks (an operator's route,
 * the scheduler): it knows no HTTP.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "dispatch.h"
#include "keys.h"
#include "queue.h"
#include "command.h"
#include "log.h"
#include "util.h"

struct sign_ctx {
	json_t *args;
};

/* Builds the payload of c (seq now known) and signs it. */
static int
sign_command(struct cmd_new *c, void *arg)
{
	struct sign_ctx *sc = arg;
	json_t		*p;
	char		*json = NULL;
	int		 rc = -1;

	p = json_pack("{s:s, s:s, s:I, s:s, s:O, s:I, s:I}", "command_id",
	    c->command_id, "node_id", c->node_id, "seq", (json_int_t)c->seq,
	    "command", c->command, "args", sc->args, "issued_at",
	    (json_int_t)c->queued_at, "expires_at", (json_int_t)c->expires_at);
	if (p == NULL || (json = json_dumps(p, JSON_COMPACT)) == NULL)
		goto out;
	if (strlen(json) > CMD_PAYLOAD_MAX)
		goto out;
	rc = keys_sign(json, strlen(json), &c->payload, &c->signature);
out:
	free(json);
	json_decref(p);
	return rc;
}

int
command_queue(struct cmd_new *c, json_t *args)
{
	struct sign_ctx sc = { args };
	char	       *args_json, who[300];
	int		rc;

	if ((args_json = json_dumps(args, JSON_COMPACT)) == NULL)
		return -1;
	uuid_generate(c->command_id);
	c->args = args_json;
	c->queued_at = time(NULL);
	c->expires_at = c->queued_at + app.cfg.command_ttl_seconds;
	rc = store_command_queue(app.store, c, sign_command, &sc);
	free(c->payload);
	free(c->signature);
	c->payload = c->signature = NULL;
	c->args = NULL;
	free(args_json);
	if (rc != 0)
		return rc;
	/* The store counted it (store_on_queued) before the wake. */
	dispatch_wake(c->node_id);
	log_info("command_queued",
	    "node_id=%s command_id=%s command=%s seq=%lld by=%s", c->node_id,
	    c->command_id, c->command, (long long)c->seq,
	    log_quote(who, sizeof(who), c->queued_by));
	return 0;
}

int
command_queue_approved(const char *id, struct cmd_new *c, json_t *args,
    const char *who, const char *reason)
{
	struct sign_ctx sc = { args };
	char	       *args_json, q[300], qa[300];
	int		rc;

	if ((args_json = json_dumps(args, JSON_COMPACT)) == NULL)
		return -1;
	snprintf(c->command_id, sizeof(c->command_id), "%s", id);
	c->args = args_json;
	c->queued_at = time(NULL);
	c->expires_at = c->queued_at + app.cfg.command_ttl_seconds;
	rc = store_approval_decide(app.store, id, "approved", who, c->queued_at,
	    reason, c, sign_command, &sc);
	free(c->payload);
	free(c->signature);
	c->payload = c->signature = NULL;
	c->args = NULL;
	free(args_json);
	if (rc != 1)
		return rc;
	dispatch_wake(c->node_id);
	log_info("command_queued",
	    "node_id=%s command_id=%s command=%s seq=%lld by=%s approved_by=%s",
	    c->node_id, c->command_id, c->command, (long long)c->seq,
	    log_quote(q, sizeof(q), c->queued_by),
	    log_quote(qa, sizeof(qa), who));
	return 1;
}

int
command_queue_wave(const char *job_id, int wave, const char *command,
    json_t *args, const char *by, const char (*ids)[37], size_t n)
{
	struct sign_ctx	 sc = { args };
	struct cmd_new	*c;
	struct waiter  **claimed;
	struct cmd_wire *w;
	char		*args_json;
	int64_t		 now = time(NULL);
	size_t		 handed = 0;
	int		 rc;

	if ((args_json = json_dumps(args, JSON_COMPACT)) == NULL ||
	    (c = calloc(n ? n : 1, sizeof(*c))) == NULL) {
		free(args_json);
		return -1;
	}
	if ((claimed = calloc(n ? n : 1, sizeof(*claimed))) == NULL) {
		free(c);
		free(args_json);
		return -1;
	}
	/*
	 * The nodes whose poll waits now get their command in the
	 * transaction that queues it, stored as delivered and handed to the
	 * poll: a wave to thousands of waiting agents is one commit, not one
	 * per agent. An answer that does not leave puts it back (poll_done),
	 * a crash leaves it to the lease, as for any delivery.
	 */
	dispatch_claim(ids, n, claimed);
	for (size_t i = 0; i < n; i++) {
		uuid_generate(c[i].command_id);
		c[i].node_id = ids[i];
		c[i].command = command;
		c[i].args = args_json;
		c[i].queued_by = by;
		c[i].job_id = job_id;
		c[i].queued_at = now;
		c[i].expires_at = now + app.cfg.command_ttl_seconds;
		c[i].delivered = claimed[i] != NULL;
	}
	rc = store_job_start_wave(app.store, job_id, wave, c, n, sign_command,
	    &sc);
	for (size_t i = 0; i < n; i++) {
		if (claimed[i] != NULL) {
			w = NULL;
			if (rc > 0 && c[i].seq > 0 && c[i].delivered &&
			    (w = calloc(1, sizeof(*w))) != NULL) {
				memcpy(w->command_id, c[i].command_id, 37);
				w->payload = c[i].payload;
				w->signature = c[i].signature;
				c[i].payload = c[i].signature = NULL;
				handed++;
			}
			/*
			 * Not stored, stored as queued (an older command of
			 * the node is still out: the store keeps the order),
			 * or no memory: it answers as woken.
			 */
			dispatch_hand(claimed[i], w, w != NULL ? 1 : 0);
		}
		if (rc > 0 && c[i].seq > 0 && !c[i].delivered)
			/* The store counted it (store_on_queued) first. */
			dispatch_wake(c[i].node_id);
		free(c[i].payload);
		free(c[i].signature);
	}
	if (rc >= 0)
		log_info("job_wave_queued",
		    "job_id=%s wave=%d command=%s queued=%d handed=%zu "
		    "nodes=%zu",
		    job_id, wave + 1, command, rc, handed, n);
	free(claimed);
	free(c);
	free(args_json);
	return rc;
}
