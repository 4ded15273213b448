/*
 * agent_api: every agent endpoint of CONTRACT.md: enroll, heartbeat, the
 * command long poll and command results, with the gate that checks node
 * tokens before a body is read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "app.h"
#include "webhooks.h"
#include "dispatch.h"
#include "keychain.h"
#include "keys.h"
#include "metrics.h"
#include "replica.h"
#include "routes.h"
#include "log.h"
#include "util.h"

/* Parses the body as a JSON object, or answers 400 and returns NULL. */
json_t *
parse_body(struct req *r)
{
	struct bytes b = req_body(r);
	json_error_t jerr;
	json_t	    *root;

	if (b.len == 0) {
		resp_error(r, 400, "invalid_json", "the body is empty");
		return NULL;
	}
	root = json_loadb(b.p, b.len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		resp_error(r, 400, "invalid_json", "line %d column %d: %s",
		    jerr.line, jerr.column, jerr.text);
		return NULL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		resp_error(r, 400, "invalid_json",
		    "the body must be a JSON object");
		return NULL;
	}
	return root;
}

/* The bearer token of the request, or NULL. */
static const char *
bearer(struct req *r)
{
	const char *h = req_header(r, "Authorization");

	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0 || h[7] == '\0')
		return NULL;
	return h + 7;
}

static void
unauthorized(struct req *r)
{
	char q[1040];

	resp_error(r, 401, "unauthorized",
	    "missing, wrong or revoked node token");
	log_info("auth_failed", "path=%s peer=%s",
	    log_quote(q, sizeof(q), req_path(r)), req_peer(r));
}

/*
 * The agent routes' gate, when the headers are in: a request without the
 * live token of some node is answered 401 before a byte of its body is
 * read. The token's hash stays with the request for the handler.
 */
int
agent_gate(struct req *r)
{
	unsigned char th[TOKEN_HASH_LEN];

	/*
	 * Replicas: one that has not heard the database lately may not know
	 * of a revocation made elsewhere; a token it does not know may be
	 * one another replica issued a moment ago.
	 */
	if (!replica_fresh()) {
		resp_error(r, 503, "store_unavailable",
		    "the database cannot be reached; try again");
		return -1;
	}
	if (!fleet_token_known(app.fleet, bearer(r), th) &&
	    (!store_shared(app.store) || replica_catch_up() == -1 ||
		!fleet_token_known(app.fleet, bearer(r), th))) {
		unauthorized(r);
		return -1;
	}
	req_set_auth(r, th, sizeof(th));
	return 0;
}

/* The same for heartbeats, which count the refused ones. */
int
heartbeat_gate(struct req *r)
{
	if (agent_gate(r) == -1) {
		metrics_inc(M_HEARTBEATS_REFUSED);
		return -1;
	}
	return 0;
}

/*
 * The hash of the request's token, which its gate found live (answers
 * 401 when there is none: a route without the gate).
 */
int
agent_token_known(struct req *r, unsigned char th[TOKEN_HASH_LEN])
{
	const unsigned char *a = req_auth(r);

	if (a == NULL) {
		unauthorized(r);
		return 0;
	}
	memcpy(th, a, TOKEN_HASH_LEN);
	return 1;
}

/* Answers 401 or 403 for a refused token. */
static void
auth_refused(struct req *r, const char *node_id, enum auth_result res)
{
	switch (res) {
	case AUTH_OK:
		break;
	case AUTH_FORBIDDEN:
		resp_error(r, 403, "forbidden",
		    "this token belongs to another node");
		log_warn("auth_forbidden", "node_id=%s peer=%s", node_id,
		    req_peer(r));
		break;
	default:
		resp_error(r, 401, "unauthorized",
		    "missing, wrong or revoked node token");
		log_info("auth_failed", "node_id=%s peer=%s", node_id,
		    req_peer(r));
	}
}

/*
 * Answers 401/403 unless the token (th: its hash, from
 * agent_token_known()) authenticates node_id; 0 when it does.
 */
int
agent_auth(struct req *r, const char *node_id,
    const unsigned char th[TOKEN_HASH_LEN])
{
	enum auth_result res = fleet_auth_hash(app.fleet, node_id, th);

	if (res == AUTH_OK)
		return 0;
	auth_refused(r, node_id, res);
	return -1;
}

/* 1 if secret is one of the enroll secrets (each compared in full). */
static int
secret_matches(const char *secret)
{
	unsigned char h[32];
	int	      ok = 0;

	if (!app.have_secret || secret == NULL)
		return 0;
	crypto_generichash(h, sizeof(h), (const unsigned char *)secret,
	    strlen(secret), NULL, 0);
	for (size_t i = 0; i < app.nsecrets; i++)
		ok |= sodium_memcmp(h, app.secret_hash[i], sizeof(h)) == 0;
	sodium_memzero(h, sizeof(h));
	return ok;
}

/* How each refused enrollment is logged and answered. */
static const struct enroll_refusal {
	enum enroll_outcome outcome;
	const char	   *event; /* the log's */
	const char	   *extra; /* appended to the log line */
	unsigned	    status;
	const char	   *code;
	const char	   *message;
} enroll_refusals[] = {
	{ ENROLL_CONFLICT, "enroll_conflict", "", 409, "already_enrolled",
	    "this node already has a token; an operator must revoke and "
	    "approve it again" },
	{ ENROLL_REVOKED, "enroll_revoked", "", 403, "node_revoked",
	    "this node was revoked; an operator must approve it again" },
	{ ENROLL_KEY_MISMATCH, "enroll_key_mismatch", NULL, 403,
	    "enroll_key_mismatch",
	    "this node_id was enrolled by an agent "
	    "with another enroll key; only that agent receives its token" },
	{ ENROLL_DELETED, "enroll_deleted", "", 403, "node_deleted",
	    "an operator deleted or rejected this node; a new agent state (a "
	    "new node_id) is needed to enroll again" },
	{ ENROLL_PENDING_FULL, "enroll_limited", " reason=pending_full", 429,
	    "too_many_pending",
	    "too many nodes are waiting for approval; "
	    "enroll with the enroll secret, or try again later" },
	{ ENROLL_THROTTLED, "enroll_limited", " reason=rate", 429,
	    "too_many_pending",
	    "new nodes without the enroll secret arrive "
	    "too fast; enroll with the enroll secret, or try again later" },
};

/* Answers a refused enrollment: 0, or -1 when outcome is not a refusal. */
static int
enroll_refuse(struct req *r, enum enroll_outcome outcome,
    const struct enroll_req *er, const char *host)
{
	const struct enroll_refusal *e;

	for (size_t i = 0;
	     i < sizeof(enroll_refusals) / sizeof(enroll_refusals[0]); i++) {
		e = &enroll_refusals[i];
		if (e->outcome != outcome)
			continue;
		/* A key mismatch says whether the key was wrong or missing. */
		log_warn(e->event, "node_id=%s hostname=%s peer=%s%s",
		    er->node_id, host, req_peer(r),
		    e->extra != NULL	       ? e->extra :
			er->enroll_key != NULL ? " key=wrong" :
						 " key=missing");
		resp_error(r, e->status, e->code, "%s", e->message);
		return 0;
	}
	return -1;
}

void
h_enroll(struct req *r)
{
	struct enroll_req   er;
	enum enroll_outcome outcome;
	struct buf	    b;
	json_t		   *root;
	char		    err[256], token[64], host[96], peer[128];
	int		    secret_ok;

	if ((root = parse_body(r)) == NULL)
		return;
	if (validate_enroll(root, &er, err, sizeof(err)) == -1) {
		resp_error(r, 400, "invalid_field", "%s", err);
		goto out;
	}
	secret_ok = secret_matches(er.enroll_secret);
	/*
	 * The socket's peer; what Cloudflare says it forwarded for is kept
	 * beside it as a claim (nothing on the agent routes verifies it).
	 */
	{
		const char *cf = req_header(r, "Cf-Connecting-IP");

		if (cf != NULL && *cf != '\0' && strlen(cf) <= 45 &&
		    strspn(cf, "0123456789abcdefABCDEF.:") == strlen(cf))
			snprintf(peer, sizeof(peer),
			    "%s (Cf-Connecting-IP, via %s)", cf, req_peer(r));
		else
			snprintf(peer, sizeof(peer), "%s", req_peer(r));
		er.peer = peer;
	}
	log_quote(host, sizeof(host), er.hostname);
	if (er.enroll_secret != NULL && !secret_ok)
		metrics_inc(M_ENROLL_BAD_SECRET);
	if (er.enroll_secret != NULL && !secret_ok)
		log_warn("enroll_bad_secret", "node_id=%s hostname=%s peer=%s",
		    er.node_id, host, req_peer(r));
	outcome = fleet_enroll(app.fleet, &er, secret_ok, token);
	metrics_inc(outcome == ENROLL_APPROVED ? M_ENROLL_APPROVED :
		outcome == ENROLL_PENDING      ? M_ENROLL_PENDING :
		outcome == ENROLL_CONFLICT     ? M_ENROLL_CONFLICT :
		outcome == ENROLL_REVOKED      ? M_ENROLL_REVOKED :
		outcome == ENROLL_KEY_MISMATCH ? M_ENROLL_KEY_MISMATCH :
		outcome == ENROLL_DELETED      ? M_ENROLL_DELETED :
		outcome == ENROLL_PENDING_FULL || outcome == ENROLL_THROTTLED ?
					    M_ENROLL_LIMITED :
					    M_ENROLL_FAILED);
	if (outcome == ENROLL_PENDING) {
		json_t *f = json_pack("{s:s, s:s, s:s, s:s}", "node_id",
		    er.node_id, "hostname", er.hostname, "os_profile",
		    er.os_profile, "peer", er.peer ? er.peer : req_peer(r));

		if (f != NULL)
			webhooks_emit(WH_PENDING, f);
		json_decref(f);
	}
	switch (outcome) {
	case ENROLL_APPROVED: {
		char	pk_b64[48];
		int64_t version;

		/* The current key: a new node starts where the chain is. */
		keys_current(pk_b64, NULL, &version);
		buf_init(&b, 1024);
		buf_putc(&b, '{');
		buf_json_field(&b, "node_token", token);
		buf_json_field(&b, "cc_public_key", pk_b64);
		buf_printf(&b, ",\"cc_key_version\":%lld", (long long)version);
		buf_putc(&b, '}');
		sodium_memzero(token, sizeof(token));
		log_info("enroll",
		    "node_id=%s hostname=%s status=approved peer=%s",
		    er.node_id, host, req_peer(r));
		resp_json(r, 200, &b);
		if (b.p != NULL)
			sodium_memzero(b.p, b.len);
		buf_free(&b);
		break;
	}
	case ENROLL_PENDING:
		buf_init(&b, 256);
		buf_puts(&b,
		    "{\"status\":\"pending\",\"message\":\"waiting for "
		    "an operator to approve this node\"}");
		log_info("enroll",
		    "node_id=%s hostname=%s status=pending peer=%s", er.node_id,
		    host, req_peer(r));
		resp_json(r, 202, &b);
		break;
	default:
		if (enroll_refuse(r, outcome, &er, host) == 0)
			break;
		resp_error(r, 503, "store_unavailable",
		    "the node could not be stored; try again");
	}
out:
	json_decref(root);
}

/* The usual answers, built once (resp_json_const). */
static const char *const hb_answer[] = {
	"{\"ok\":true,\"pending_commands\":0}",
	"{\"ok\":true,\"pending_commands\":1}",
	"{\"ok\":true,\"pending_commands\":2}",
	"{\"ok\":true,\"pending_commands\":3}",
};

/*
 * The hot path: what agents send goes through the fast validator (no
 * tree); anything else through jansson, which words the 400.
 */
void
h_heartbeat(struct req *r)
{
	struct heartbeat  hb;
	struct hb_strings hs;
	struct bytes	  body = req_body(r);
	struct buf	  b;
	enum auth_result  res;
	unsigned char	  th[TOKEN_HASH_LEN];
	json_t		 *root = NULL;
	char		  err[256];
	int		  fast, pending, failed;

	memset(&hb, 0, sizeof(hb));
	if (!agent_token_known(r, th)) {
		metrics_inc(M_HEARTBEATS_REFUSED);
		return;
	}
	if ((fast = validate_heartbeat_fast(body.p, body.len, &hb, &hs)) ==
	    -1) {
		resp_error(r, 503, "out_of_memory", "try again");
		goto out;
	}
	if (fast == 0) {
		if ((root = parse_body(r)) == NULL) {
			metrics_inc(M_HEARTBEATS_REFUSED);
			return;
		}
		if (validate_heartbeat_raw(root, body.p, body.len, &hb, err,
			sizeof(err)) == -1) {
			metrics_inc(M_HEARTBEATS_REFUSED);
			resp_error(r, 400, "invalid_field", "%s", err);
			goto out;
		}
	}
	res = fleet_heartbeat_auth(app.fleet, &hb, th, &pending, &failed);
	if (res != AUTH_OK) {
		metrics_inc(M_HEARTBEATS_REFUSED);
		auth_refused(r, hb.node_id, res);
		goto out;
	}
	if (failed) {
		resp_error(r, 503, "out_of_memory", "try again");
		goto out;
	}
	metrics_inc(M_HEARTBEATS);
	/* The key it pinned, when it changed (once a node per rotation). */
	if (hb.pinned_key_id != NULL)
		(void)fleet_set_pinned(app.fleet, hb.node_id, hb.pinned_key_id);
	/* Not yet on the current key: the links to it go with the answer. */
	if (keys_chain_wanted(hb.pinned_key_id)) {
		buf_init(&b, KEYCHAIN_MAX * 1024);
		buf_printf(&b, "{\"ok\":true,\"pending_commands\":%d", pending);
		if (keys_chain_field(&b, hb.pinned_key_id) == 1) {
			buf_putc(&b, '}');
			resp_json(r, 200, &b);
			goto out;
		}
		buf_free(&b);
	}
	if (pending >= 0 &&
	    pending < (int)(sizeof(hb_answer) / sizeof(hb_answer[0]))) {
		resp_json_const(r, hb_answer[pending]);
		goto out;
	}
	buf_init(&b, 128);
	buf_printf(&b, "{\"ok\":true,\"pending_commands\":%d}", pending);
	resp_json(r, 200, &b);
out:
	free(hb.json);
	json_decref(root);
}

#define DELIVER_MAX 32
#define WAIT_MAX_SECS 60
#define OUTPUT_STORE_MAX (256 * 1024)
#define FINDINGS_MAX 1000

/* ---- long poll ------------------------------------------------------- */

/* A parked poll is its request, to dispatch. */
static void
poll_suspend(void *ctx)
{
	req_suspend(ctx);
}

static void
poll_resume(void *ctx)
{
	req_resume(ctx);
}

static int
poll_gone(void *ctx)
{
	return req_peer_gone(ctx);
}

static const struct waiter_ops poll_ops = {
	poll_suspend,
	poll_resume,
	poll_gone,
};

struct poll {
	struct waiter	*w;
	char		 node_id[37];
	struct cmd_wire *sent; /* delivered in the answer */
	size_t		 nsent;
};

static int
has_work(const char *node_id)
{
	return fleet_pending(app.fleet, node_id) > 0;
}

static void
poll_done(struct req *r, void *arg, int ok)
{
	struct poll	*p = arg;
	struct cmd_wire *gift;
	size_t		 n;
	int		 back;

	(void)r;
	/*
	 * Handed a job's command but ended before the handler ran (the agent
	 * had hung up): it never left, it waits for the next poll.
	 */
	if ((gift = dispatch_handed(p->w, &n)) != NULL) {
		back = store_commands_undeliver(app.store, p->node_id, gift, n);
		log_warn("delivery_failed", "node_id=%s count=%zu back=%d",
		    p->node_id, n, back);
		if (back > 0)
			dispatch_wake(p->node_id);
		cmd_wire_free(gift, n);
	}
	dispatch_waiter_free(p->w);
	if (!ok && p->nsent > 0) {
		/*
		 * The answer never left: the commands wait for the next poll
		 * (those a lease has not queued again meanwhile).
		 */
		back = store_commands_undeliver(app.store, p->node_id, p->sent,
		    p->nsent);
		log_warn("delivery_failed", "node_id=%s count=%zu back=%d",
		    p->node_id, p->nsent, back);
	}
	cmd_wire_free(p->sent, p->nsent);
	free(p);
}

/* Takes the node's queued commands into p->sent: 0, or -1 (answered). */
static int
poll_take(struct req *r, struct poll *p)
{
	/* An earlier take found nothing: its empty array goes. */
	cmd_wire_free(p->sent, p->nsent);
	p->sent = NULL;
	p->nsent = 0;
	if (store_commands_deliver(app.store, p->node_id, time(NULL),
		DELIVER_MAX, &p->sent, &p->nsent) == -1) {
		resp_error(r, 503, "store_unavailable",
		    "commands could not be read; poll again");
		return -1;
	}
	return 0;
}

static void
poll_answer(struct req *r, struct poll *p)
{
	struct buf b;
	size_t	   n;
	void	  *gift;

	/* A job's wave delivered the command as it queued it (queue.c). */
	if (p->nsent == 0 && (gift = dispatch_handed(p->w, &n)) != NULL) {
		cmd_wire_free(p->sent, p->nsent);
		p->sent = gift;
		p->nsent = n;
	}
	/*
	 * The agent hung up while it waited: what it would be given goes
	 * back (poll_done) and nothing more is taken for it.
	 */
	if (dispatch_woken_us(p->w) > 0 && req_peer_gone(r)) {
		if (p->nsent > 0) {
			int back = store_commands_undeliver(app.store,
			    p->node_id, p->sent, p->nsent);

			log_warn("delivery_failed",
			    "node_id=%s count=%zu back=%d reason=hung_up",
			    p->node_id, p->nsent, back);
			cmd_wire_free(p->sent, p->nsent);
			p->sent = NULL;
			p->nsent = 0;
		}
		resp_json_const(r, "{\"commands\":[]}");
		return;
	}

	/*
	 * Nothing queued (the usual end of a wait): no need to ask the
	 * store. Replicas ask it: a command queued elsewhere is counted here
	 * only when its notice arrives.
	 */
	if (p->nsent == 0 && !store_shared(app.store) &&
	    !has_work(p->node_id)) {
		buf_init(&b, 32);
		buf_puts(&b, "{\"commands\":[]}");
		resp_json(r, 200, &b);
		return;
	}
	if (p->nsent == 0 && poll_take(r, p) == -1)
		return;
	if (p->nsent > 0 && dispatch_woken_us(p->w) > 0)
		metrics_dispatch_delay(mono_us() - dispatch_woken_us(p->w));
	/* Signed with the current key, which the chain below leads to. */
	if (keys_for_delivery(p->sent, p->nsent) == -1)
		log_err("keys_error",
		    "node_id=%s msg=\"commands go as they "
		    "were signed\"",
		    p->node_id);
	buf_init(&b, 1u << 20);
	buf_puts(&b, "{\"commands\":[");
	for (size_t i = 0; i < p->nsent; i++) {
		buf_printf(&b, "%s{\"payload\":", i ? "," : "");
		buf_json_str(&b, p->sent[i].payload);
		buf_json_field(&b, "signature", p->sent[i].signature);
		buf_putc(&b, '}');
		log_info("command_delivered", "node_id=%s command_id=%s",
		    p->node_id, p->sent[i].command_id);
	}
	buf_putc(&b, ']');
	if (p->nsent > 0) {
		char pinned[33];

		keys_chain_field(&b,
		    fleet_pinned(app.fleet, p->node_id, pinned) ? pinned :
								  NULL);
	}
	buf_putc(&b, '}');
	resp_json(r, 200, &b);
}

void
h_agent_commands(struct req *r)
{
	struct poll  *p = req_done_arg(r);
	const char   *id, *wait;
	char	     *end;
	unsigned char th[TOKEN_HASH_LEN];
	long	      secs = 0;

	if (p != NULL) { /* resumed: a command came or the wait ran out */
		if (!fleet_approved(app.fleet, p->node_id)) {
			resp_error(r, 401, "unauthorized",
			    "the node was revoked");
			return;
		}
		/* A newer poll of the node took over: this one ends empty. */
		if (dispatch_superseded(p->w)) {
			resp_json_const(r, "{\"commands\":[]}");
			return;
		}
		poll_answer(r, p);
		return;
	}
	id = req_query(r, "node_id");
	if (id == NULL || !uuid_valid(id)) {
		resp_error(r, 400, "invalid_field",
		    "node_id: must be a lowercase UUID");
		return;
	}
	if (!agent_token_known(r, th))
		return;
	if ((wait = req_query(r, "wait")) != NULL) {
		secs = strtol(wait, &end, 10);
		if (*wait == '\0' || *end != '\0' || secs < 0 ||
		    secs > WAIT_MAX_SECS) {
			resp_error(r, 400, "invalid_field",
			    "wait: must be seconds from 0 to %d",
			    WAIT_MAX_SECS);
			return;
		}
	}
	if (agent_auth(r, id, th) == -1)
		return;
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		resp_error(r, 503, "unavailable", "out of memory");
		return;
	}
	memcpy(p->node_id, id, 37);
	req_on_done(r, poll_done, p);
	if (secs > 0 &&
	    (p->w = dispatch_waiter_new(&poll_ops, r, id,
		 mono_ms() + secs * 1000)) != NULL) {
		/*
		 * Replicas: the count here follows other replicas' queues by
		 * their notices, so a command queued elsewhere may not be
		 * counted yet: its notice wakes the node then, and a wake
		 * that comes after the mark keeps the poll from parking. A
		 * count that says work asks the store, which decides; when it
		 * has nothing the poll parks all the same (a count off by one
		 * costs a query, never a loop of empty answers).
		 */
		if (store_shared(app.store)) {
			dispatch_mark(p->w);
			if (has_work(id) && poll_take(r, p) == -1)
				return;
		}
		if (p->nsent == 0 &&
		    dispatch_park(p->w,
			store_shared(app.store) ? NULL : has_work))
			return; /* parked: the handler runs again on wake */
	}
	poll_answer(r, p);
}

/* ---- results --------------------------------------------------------- */

static int
is_printable_max(json_t *v, size_t min, size_t max)
{
	const char *s = json_string_value(v);

	return s != NULL && strlen(s) >= min && strlen(s) <= max &&
	    str_printable(s, max);
}

static int
parse_findings(json_t *arr, struct finding **out, size_t *n, char *err,
    size_t errlen)
{
	static const char *const sev[] = { "critical", "high", "medium", "low",
		"info" };
	struct finding		*f;
	json_t			*e;
	size_t			 i;

	*out = NULL;
	*n = 0;
	if (arr == NULL || json_is_null(arr))
		return 0;
	if (!json_is_array(arr) || json_array_size(arr) > FINDINGS_MAX) {
		snprintf(err, errlen,
		    "findings: must be an array of at most %d findings",
		    FINDINGS_MAX);
		return -1;
	}
	if (json_array_size(arr) == 0)
		return 0;
	if ((f = calloc(json_array_size(arr), sizeof(*f))) == NULL) {
		snprintf(err, errlen, "findings: out of memory");
		return -1;
	}
	json_array_foreach(arr, i, e)
	{
		json_t *s = json_object_get(e, "severity");
		json_t *rem = json_object_get(e, "remediation");
		int	ok = 0;

		for (size_t k = 0; k < 5 && json_is_string(s); k++)
			if (strcmp(json_string_value(s), sev[k]) == 0)
				ok = 1;
		if (!json_is_object(e) || !ok ||
		    !is_printable_max(json_object_get(e, "id"), 1, 128) ||
		    !is_printable_max(json_object_get(e, "title"), 1, 256) ||
		    !is_printable_max(json_object_get(e, "detail"), 0, 4096) ||
		    (rem != NULL && !json_is_null(rem) &&
			!is_printable_max(rem, 0, 2048))) {
			snprintf(err, errlen,
			    "findings[%zu]: needs id, "
			    "severity (critical, high, medium, low, info), "
			    "title and detail strings",
			    i);
			free(f);
			return -1;
		}
		f[i].id = json_string_value(json_object_get(e, "id"));
		f[i].severity = json_string_value(s);
		f[i].title = json_string_value(json_object_get(e, "title"));
		f[i].detail = json_string_value(json_object_get(e, "detail"));
		f[i].remediation = json_string_value(rem);
	}
	*out = f;
	*n = json_array_size(arr);
	return 0;
}

static int
valid_time_field(json_t *root, const char *field, const char **out)
{
	json_t *v = json_object_get(root, field);
	time_t	t;

	*out = json_string_value(v);
	return *out != NULL && time_parse_rfc3339(*out, &t) == 0;
}

/*
 * What groups a job's identical answers: 64 bits of BLAKE2b of the output
 * (0: none). A node cannot steer its answer into another's group: that
 * takes a second preimage.
 */
static int64_t
output_hash(const char *output)
{
	unsigned char h[8];
	int64_t	      v;

	if (output == NULL)
		return 0;
	crypto_generichash(h, sizeof(h), (const unsigned char *)output,
	    strlen(output), NULL, 0);
	memcpy(&v, h, sizeof(v));
	return v != 0 ? v : 1;
}

int
result_parse(json_t *root, struct cmd_result *res, struct finding **f,
    struct buf *out, char *err, size_t errlen)
{
	static const char *const statuses[] = { "ok", "error", "rejected",
		"timeout" };
	json_t			*ex;
	int			 ok = 0;

	memset(res, 0, sizeof(*res));
	*f = NULL;
	res->node_id = json_string_value(json_object_get(root, "node_id"));
	res->command_id =
	    json_string_value(json_object_get(root, "command_id"));
	res->status = json_string_value(json_object_get(root, "status"));
	res->output = json_string_value(json_object_get(root, "output"));
	ex = json_object_get(root, "exit_code");
	for (size_t i = 0; i < 4 && res->status != NULL; i++)
		if (strcmp(res->status, statuses[i]) == 0)
			ok = 1;
	if (res->node_id == NULL || !uuid_valid(res->node_id)) {
		snprintf(err, errlen, "node_id: must be a lowercase UUID");
		return -1;
	}
	if (res->command_id == NULL || !uuid_valid(res->command_id)) {
		snprintf(err, errlen, "command_id: must be a lowercase UUID");
		return -1;
	}
	if (!ok) {
		snprintf(err, errlen,
		    "status: must be ok, error, rejected or timeout");
		return -1;
	}
	if (ex != NULL && !json_is_null(ex) && !json_is_integer(ex)) {
		snprintf(err, errlen, "exit_code: must be an integer or null");
		return -1;
	}
	if (json_object_get(root, "output") != NULL && res->output == NULL) {
		snprintf(err, errlen, "output: must be a string");
		return -1;
	}
	if (!valid_time_field(root, "started_at", &res->started_at) ||
	    !valid_time_field(root, "finished_at", &res->finished_at)) {
		snprintf(err, errlen,
		    "started_at and finished_at: must be RFC 3339 times");
		return -1;
	}
	if (parse_findings(json_object_get(root, "findings"), f,
		&res->nfindings, err, errlen) == -1)
		return -1;
	res->findings = *f;
	res->has_exit = json_is_integer(ex);
	res->exit_code = json_is_integer(ex) ? json_integer_value(ex) : 0;
	if (res->output != NULL && strlen(res->output) > OUTPUT_STORE_MAX) {
		size_t n = OUTPUT_STORE_MAX;

		/* Cut on a character boundary: never half a UTF-8 sequence. */
		while (n > 0 && ((unsigned char)res->output[n] & 0xc0) == 0x80)
			n--;
		buf_add(out, res->output, n);
		buf_puts(out, "\n[output truncated by the command center]");
		if (buf_failed(out)) {
			snprintf(err, errlen, "output: out of memory");
			free(*f);
			*f = NULL;
			return -1;
		}
		res->output = out->p;
	}
	res->output_hash = output_hash(res->output);
	return 0;
}

void
h_command_result(struct req *r)
{
	struct cmd_result res;
	struct finding	 *f = NULL;
	json_t		 *root;
	struct buf	  b, out;
	unsigned char	  th[TOKEN_HASH_LEN];
	char		  err[160];

	buf_init(&out, OUTPUT_STORE_MAX + 64);
	if (!agent_token_known(r, th))
		return;
	if ((root = parse_body(r)) == NULL)
		return;
	if (result_parse(root, &res, &f, &out, err, sizeof(err)) == -1) {
		resp_error(r, 400, "invalid_field", "%s", err);
		goto out;
	}
	if (agent_auth(r, res.node_id, th) == -1)
		goto out;
	res.now = time(NULL);
	switch (store_command_result(app.store, &res)) {
	case RESULT_STORED:
		if (res.is_scan)
			fleet_scan(app.fleet, res.node_id, res.now, res.counts);
		log_info("command_result",
		    "node_id=%s command_id=%s status=%s "
		    "exit_code=%lld findings=%zu",
		    res.node_id, res.command_id, res.status, res.exit_code,
		    res.nfindings);
		/* FALLTHROUGH */
	case RESULT_REPEAT:
		buf_init(&b, 32);
		buf_puts(&b, "{\"ok\":true}");
		resp_json(r, 200, &b);
		break;
	case RESULT_UNKNOWN:
		resp_error(r, 404, "unknown_command", "no such command");
		break;
	case RESULT_FORBIDDEN:
		resp_error(r, 403, "forbidden",
		    "this command belongs to another node");
		break;
	default:
		resp_error(r, 503, "store_unavailable",
		    "the result could not be stored; send it again");
	}
out:
	buf_free(&out);
	free(f);
	json_decref(root);
}
