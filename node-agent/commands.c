/*
 * The poll thread: one long poll open at a time, every command verified as
 * CONTRACT.md says, accepted ones run, every outcome reported.
 *
 * Commands run here, sequentially, rather than in a third worker thread:
 * the contract wants one command at a time, so a worker would only add a
 * queue between two threads. While a command runs no poll is open; the CC
 * keeps new commands queued until the next poll, and heartbeats go on in
 * their own thread.
 *
 * Exactly once: the accepted seq is persisted (fsync'd) before the command
 * runs, so after a crash the same command is a replay and is rejected; its
 * result is spooled before it is sent and removed only once the CC took it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "agent.h"
#include "buf.h"
#include "client.h"
#include "commands.h"
#include "config.h"
#include "defs.h"
#include "heartbeat.h"
#include "log.h"
#include "runner.h"
#include "state.h"

/*
 * For the report only, never to run: the command_id of a payload whose
 * signature did not verify, if the payload is readable JSON with one.
 */
static void
unverified_command_id(json_t *elem, char out[UUID_STRLEN + 1])
{
	const char *b64 = json_string_value(json_object_get(elem, "payload"));
	unsigned char *bin = NULL;
	json_t	      *root = NULL, *cid;
	long	       n;

	out[0] = '\0';
	if (b64 == NULL || strlen(b64) > (CMD_PAYLOAD_MAX / 3 + 1) * 4 ||
	    (bin = malloc(CMD_PAYLOAD_MAX)) == NULL)
		goto out;
	if ((n = b64_decode(b64, bin, CMD_PAYLOAD_MAX)) < 0)
		goto out;
	root = json_loadb((const char *)bin, (size_t)n, 0, NULL);
	cid = json_object_get(root, "command_id");
	if (json_is_string(cid) && uuid_valid(json_string_value(cid)))
		memcpy(out, json_string_value(cid), UUID_STRLEN + 1);
out:
	json_decref(root);
	free(bin);
}

enum verdict
command_decide(const struct decide_ctx *ctx, json_t *elem,
    struct cmd_payload *p, char *why, size_t whylen)
{
	const char  *unit;
	char	    *payload = NULL;
	size_t	     len = 0;
	enum verdict v = VERDICT_REJECT;

	memset(p, 0, sizeof(*p));
	if (!json_is_object(elem) ||
	    cmd_verify(ctx->pk,
		json_string_value(json_object_get(elem, "payload")),
		json_string_value(json_object_get(elem, "signature")), &payload,
		&len, why, whylen) == -1) {
		if (!json_is_object(elem))
			snprintf(why, whylen, "bad_encoding: not an object");
		unverified_command_id(elem, p->command_id);
		goto out;
	}
	if (cmd_payload_parse(payload, len, p, why, whylen) == -1) {
		/* Signed but unparsable: maybe the id is still readable. */
		unverified_command_id(elem, p->command_id);
		goto out;
	}
	if (strcmp(p->node_id, ctx->node_id) != 0) {
		snprintf(why, whylen, "wrong_node: command is for node %s",
		    p->node_id);
		goto out;
	}
	if (p->expires_at <= ctx->now) {
		snprintf(why, whylen,
		    "expired: expires_at %lld is not after now %lld",
		    (long long)p->expires_at, (long long)ctx->now);
		goto out;
	}
	if (p->seq <= ctx->last_seq) {
		snprintf(why, whylen,
		    "replayed_seq: seq %lld is not greater "
		    "than the last accepted seq %lld",
		    (long long)p->seq, (long long)ctx->last_seq);
		goto out;
	}
	if (cmd_check(p->command, p->args, why, whylen) == -1)
		goto out;
	if (strcmp(p->command, "service-restart") == 0 &&
	    (unit = json_string_value(json_object_get(p->args, "unit"))) !=
		NULL &&
	    !config_has_service(ctx->cfg, unit)) {
		snprintf(why, whylen,
		    "unit_not_allowed: \"%.64s\" is not in VAULTMESH_SERVICES",
		    unit);
		goto out;
	}
	v = VERDICT_RUN;
out:
	if (v != VERDICT_RUN && p->command_id[0] == '\0')
		v = VERDICT_DROP;
	free(payload);
	return v;
}

/* Spools the result, then tries to deliver everything in the spool. */
static void
report(struct agent *a, struct client *c, const char *command_id,
    const struct run_result *r)
{
	char  *json;
	size_t len;

	if ((json = result_json(a->node_id, command_id, r, &len)) == NULL) {
		log_err("result_failed", "command_id=%s msg=\"out of memory\"",
		    command_id);
		return;
	}
	pthread_mutex_lock(&a->spool_mu);
	if (spool_write(a->cfg->root, command_id, json, len) == -1)
		log_err("spool_failed",
		    "command_id=%s msg=\"cannot write the "
		    "result to the spool\"",
		    command_id);
	pthread_mutex_unlock(&a->spool_mu);
	free(json);
	(void)results_flush(a, c);
}

static void
reject(struct agent *a, struct client *c, const char *command_id,
    const char *why)
{
	struct run_result r = { .status = "rejected", .exit_code = -1 };
	char		  q[CMD_WHY_MAX + 8];

	r.started = r.finished = time(NULL);
	log_warn("command_rejected", "command_id=%s reason=%s", command_id,
	    log_quote(q, sizeof(q), why));
	if ((r.output = strdup(why)) == NULL)
		return;
	report(a, c, command_id, &r);
	run_result_free(&r);
}

static void
handle(struct agent *a, struct client *c, json_t *elem)
{
	struct cmd_payload p;
	struct decide_ctx  ctx;
	struct run_result  r;
	unsigned char	   pk[32];
	char		   why[CMD_WHY_MAX], q[CMD_WHY_MAX + 8];
	enum verdict	   v;

	memset(&p, 0, sizeof(p));
	if (agent_verify_key(a, pk) == -1) {
		/* No key pinned yet: nothing can verify, so nothing runs. */
		snprintf(why, sizeof(why),
		    "bad_signature: no command center key is pinned");
		unverified_command_id(elem, p.command_id);
		v = p.command_id[0] != '\0' ? VERDICT_REJECT : VERDICT_DROP;
	} else {
		ctx.pk = pk;
		ctx.node_id = a->node_id;
		ctx.now = (int64_t)time(NULL);
		ctx.last_seq = a->last_seq;
		ctx.cfg = a->cfg;
		v = command_decide(&ctx, elem, &p, why, sizeof(why));
	}
	if (v == VERDICT_DROP) {
		log_warn("command_dropped",
		    "reason=%s msg=\"no command_id to report\"",
		    log_quote(q, sizeof(q), why));
		goto out;
	}
	/*
	 * A command this agent already ran, delivered again: the CC could not
	 * tell that its answer had arrived (it stopped while sending it) and
	 * queued it anew. Its result still waits in the spool: send that, and
	 * neither run it again nor reject it (which would replace the result).
	 */
	if (v == VERDICT_REJECT && strncmp(why, "replayed_seq:", 13) == 0 &&
	    spool_has(a->cfg->root, p.command_id)) {
		log_info("command_redelivered",
		    "command_id=%s seq=%lld "
		    "msg=\"already run; sending its spooled result\"",
		    p.command_id, (long long)p.seq);
		(void)results_flush(a, c);
		goto out;
	}
	if (v == VERDICT_REJECT) {
		reject(a, c, p.command_id, why);
		goto out;
	}
	/* Durably accepted before it runs: a crash now cannot run it twice. */
	if (state_save_seq(a->cfg->root, p.seq) == -1) {
		log_err("state_write_failed", "file=last_seq command_id=%s",
		    p.command_id);
		reject(a, c, p.command_id,
		    "internal: cannot persist the "
		    "accepted seq, so the command was not run");
		goto out;
	}
	a->last_seq = p.seq;
	log_info("command_accepted", "command_id=%s seq=%lld command=%s",
	    p.command_id, (long long)p.seq, p.command);
	runner_run(a, &p, &r);
	log_info("command_done",
	    "command_id=%s status=%s exit_code=%d secs=%lld", p.command_id,
	    r.status, r.exit_code, (long long)(r.finished - r.started));
	report(a, c, p.command_id, &r);
	run_result_free(&r);
out:
	sodium_memzero(pk, sizeof(pk));
	cmd_payload_free(&p);
}

/* Handles one poll answer: the number of commands, or -1 if malformed. */
static int
handle_batch(struct agent *a, struct client *c, const struct http_resp *rs)
{
	json_t *root, *cmds, *elem;
	size_t	i;
	int	rc = -1;

	root = json_loadb(rs->body, rs->len, 0, NULL);
	if (!json_is_array(cmds = json_object_get(root, "commands")))
		goto out;
	/*
	 * Commands signed with a key this agent has not reached come with
	 * the links to it: walked first, and only links it verifies count.
	 */
	(void)agent_follow_chain(a, json_object_get(root, "key_chain"));
	json_array_foreach(cmds, i, elem)
	{
		if (atomic_load(&a->stop))
			break;
		handle(a, c, elem);
	}
	rc = json_array_size(cmds) > 1000 ? 1000 : (int)json_array_size(cmds);
out:
	json_decref(root);
	return rc;
}

void *
poll_thread(void *arg)
{
	struct thread_args *ta = arg;
	struct agent	   *a = ta->agent;
	struct client	   *c = ta->client;
	struct backoff	    b;
	struct buf	    url;
	struct http_resp    rs = { 0 };
	char		    tok[AGENT_TOKEN_MAX + 1], err[256];
	int64_t		    t0;
	enum client_rc	    cr;
	int		    n;

	watchdog_watch(&a->wd, AGENT_WD_POLL);
	backoff_init(&b, a->cfg->backoff_max_secs);
	buf_init(&url, 4096);
	buf_printf(&url, "%s/api/agent/commands?node_id=%s&wait=%d",
	    a->cfg->cc_url, a->node_id, AGENT_POLL_WAIT);
	if (buf_failed(&url)) {
		log_err("poll_failed", "msg=\"out of memory\"");
		goto out;
	}
	while (agent_wait_usable(a) == 0) {
		struct http_req rq = { .method = "GET",
			.url = url.p,
			.timeout_ms = (AGENT_POLL_WAIT + 15) * 1000 };

		if (!agent_token(a, tok, sizeof(tok)))
			continue;
		rq.bearer = tok;
		t0 = mono_ms();
		cr = client_request(c, &rq, &rs, err, sizeof(err));
		sodium_memzero(tok, sizeof(tok));
		if (cr == CLIENT_STOPPED)
			break;
		if (cr == CLIENT_FAIL || rs.status >= 500) {
			/* The heartbeat thread logs reachability changes. */
			log_debug("poll_failed", "status=%ld error=\"%s\"",
			    cr == CLIENT_FAIL ? 0L : rs.status,
			    cr == CLIENT_FAIL ? err : "server error");
			http_resp_free(&rs);
			if (agent_sleep(a, backoff_next(&b), 0) == -1)
				break;
			continue;
		}
		if (rs.status == 401 || rs.status == 403) {
			agent_set_revoked(a,
			    rs.status == 401 ? "poll_401" : "poll_403");
			http_resp_free(&rs);
			continue;
		}
		if (rs.status != 200 || (n = handle_batch(a, c, &rs)) == -1) {
			log_err("poll_refused",
			    "status=%ld msg=\"unexpected "
			    "answer to the command poll\"",
			    rs.status);
			http_resp_free(&rs);
			if (agent_sleep(a, backoff_next(&b), 0) == -1)
				break;
			continue;
		}
		http_resp_free(&rs);
		backoff_reset(&b);
		/* A CC that ignores wait must not turn this into a busy loop. */
		if (n == 0 && mono_ms() - t0 < 1000 &&
		    agent_sleep(a, 1000 - (mono_ms() - t0), 0) == -1)
			break;
	}
out:
	http_resp_free(&rs);
	buf_free(&url);
	return NULL;
}
