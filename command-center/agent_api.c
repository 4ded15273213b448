/* The agent endpoints of CONTRACT.md: enroll and heartbeat. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cc.h"
#include "log.h"
#include "util.h"

/* Parses the body as a JSON object, or answers 400 and returns NULL. */
json_t *
parse_body(struct req *r)
{
	struct bytes	 b = req_body(r);
	json_error_t	 jerr;
	json_t		*root;

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
		resp_error(r, 400, "invalid_json", "the body must be a JSON "
		    "object");
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

	resp_error(r, 401, "unauthorized", "missing, wrong or revoked node "
	    "token");
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

	if (!fleet_token_known(app.fleet, bearer(r), th)) {
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
		resp_error(r, 403, "forbidden", "this token belongs to another "
		    "node");
		log_warn("auth_forbidden", "node_id=%s peer=%s", node_id,
		    req_peer(r));
		break;
	default:
		resp_error(r, 401, "unauthorized", "missing, wrong or revoked "
		    "node token");
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
	unsigned char	 h[32];
	int		 ok = 0;

	if (!app.have_secret || secret == NULL)
		return 0;
	crypto_generichash(h, sizeof(h), (const unsigned char *)secret,
	    strlen(secret), NULL, 0);
	for (size_t i = 0; i < app.nsecrets; i++)
		ok |= sodium_memcmp(h, app.secret_hash[i], sizeof(h)) == 0;
	sodium_memzero(h, sizeof(h));
	return ok;
}

void
h_enroll(struct req *r)
{
	struct enroll_req	 er;
	enum enroll_outcome	 outcome;
	struct buf		 b;
	json_t			*root;
	char			 err[256], token[64], host[96], peer[128];
	int			 secret_ok;

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
			snprintf(peer, sizeof(peer), "%s (Cf-Connecting-IP, via "
			    "%s)", cf, req_peer(r));
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
	    outcome == ENROLL_PENDING ? M_ENROLL_PENDING :
	    outcome == ENROLL_CONFLICT ? M_ENROLL_CONFLICT :
	    outcome == ENROLL_REVOKED ? M_ENROLL_REVOKED :
	    outcome == ENROLL_KEY_MISMATCH ? M_ENROLL_KEY_MISMATCH :
	    outcome == ENROLL_DELETED ? M_ENROLL_DELETED :
	    outcome == ENROLL_PENDING_FULL || outcome == ENROLL_THROTTLED ?
	    M_ENROLL_LIMITED : M_ENROLL_FAILED);
	switch (outcome) {
	case ENROLL_APPROVED:
		buf_init(&b, 1024);
		buf_puts(&b, "{\"node_token\":");
		buf_json_str(&b, token);
		buf_puts(&b, ",\"cc_public_key\":");
		buf_json_str(&b, app.pk_b64);
		buf_putc(&b, '}');
		sodium_memzero(token, sizeof(token));
		log_info("enroll", "node_id=%s hostname=%s status=approved "
		    "peer=%s", er.node_id, host, req_peer(r));
		resp_json(r, 200, &b);
		if (b.p != NULL)
			sodium_memzero(b.p, b.len);
		buf_free(&b);
		break;
	case ENROLL_PENDING:
		buf_init(&b, 256);
		buf_puts(&b, "{\"status\":\"pending\",\"message\":\"waiting for "
		    "an operator to approve this node\"}");
		log_info("enroll", "node_id=%s hostname=%s status=pending "
		    "peer=%s", er.node_id, host, req_peer(r));
		resp_json(r, 202, &b);
		break;
	case ENROLL_CONFLICT:
		log_warn("enroll_conflict", "node_id=%s hostname=%s peer=%s",
		    er.node_id, host, req_peer(r));
		resp_error(r, 409, "already_enrolled", "this node already has "
		    "a token; an operator must revoke and approve it again");
		break;
	case ENROLL_REVOKED:
		log_warn("enroll_revoked", "node_id=%s hostname=%s peer=%s",
		    er.node_id, host, req_peer(r));
		resp_error(r, 403, "node_revoked", "this node was revoked; an "
		    "operator must approve it again");
		break;
	case ENROLL_KEY_MISMATCH:
		log_warn("enroll_key_mismatch", "node_id=%s hostname=%s peer=%s "
		    "key=%s", er.node_id, host, req_peer(r), er.enroll_key ?
		    "wrong" : "missing");
		resp_error(r, 403, "enroll_key_mismatch", "this node_id was "
		    "enrolled by an agent with another enroll key; only that "
		    "agent receives its token");
		break;
	case ENROLL_DELETED:
		log_warn("enroll_deleted", "node_id=%s hostname=%s peer=%s",
		    er.node_id, host, req_peer(r));
		resp_error(r, 403, "node_deleted", "an operator deleted or "
		    "rejected this node; a new agent state (a new node_id) is "
		    "needed to enroll again");
		break;
	case ENROLL_PENDING_FULL:
	case ENROLL_THROTTLED:
		log_warn("enroll_limited", "node_id=%s hostname=%s peer=%s "
		    "reason=%s", er.node_id, host, req_peer(r),
		    outcome == ENROLL_PENDING_FULL ? "pending_full" :
		    "rate");
		resp_error(r, 429, "too_many_pending", "%s; enroll with the "
		    "enroll secret, or try again later",
		    outcome == ENROLL_PENDING_FULL ? "too many nodes are "
		    "waiting for approval" : "new nodes without the enroll "
		    "secret arrive too fast");
		break;
	default:
		resp_error(r, 503, "store_unavailable", "the node could not be "
		    "stored; try again");
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
	struct heartbeat	 hb;
	struct hb_strings	 hs;
	struct bytes		 body = req_body(r);
	struct buf		 b;
	enum auth_result	 res;
	unsigned char		 th[TOKEN_HASH_LEN];
	json_t			*root = NULL;
	char			 err[256];
	int			 fast, pending, failed;

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
	if (pending >= 0 && pending < (int)(sizeof(hb_answer) /
	    sizeof(hb_answer[0]))) {
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
