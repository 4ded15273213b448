/*
 * The heartbeat thread: enrollment, heartbeats every VAULTMESH_HEARTBEAT_SECS,
 * the revoked state, and the flush of spooled command results.
 *
 * CC trouble (connection refused, timeouts, 5xx) is retried with capped
 * exponential backoff and jitter, and logged once per change of state
 * (cc_unreachable / cc_recovered), not once per attempt.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "agent.h"
#include "client.h"
#include "command.h"
#include "config.h"
#include "defs.h"
#include "heartbeat.h"
#include "log.h"
#include "probes.h"
#include "state.h"
#include "util.h"
#include "watchdog.h"

enum enroll_rc { ENROLL_OK, ENROLL_REVOKED, ENROLL_STOPPED };

/* Reachability of the CC as this thread last saw it. */
struct link {
	int	down;
	int64_t since_ms;
};

static void
link_fail(struct link *l, const char *what, const char *err, long status)
{
	char q[256];

	if (l->down) {
		log_debug("cc_unreachable", "request=%s status=%ld error=%s",
		    what, status, log_quote(q, sizeof(q), err));
		return;
	}
	l->down = 1;
	l->since_ms = mono_ms();
	log_warn("cc_unreachable",
	    "request=%s status=%ld error=%s msg=\"retrying with backoff\"",
	    what, status, log_quote(q, sizeof(q), err));
}

static void
link_ok(struct link *l)
{
	if (!l->down)
		return;
	l->down = 0;
	log_info("cc_recovered", "down_secs=%lld",
	    (long long)((mono_ms() - l->since_ms) / 1000));
}

/* The "error" code of a JSON error answer, for logs. */
static void
error_code(const struct http_resp *rs, char *out, size_t n)
{
	json_t *root = json_loadb(rs->body, rs->len, 0, NULL);
	json_t *e = json_object_get(root, "error");

	log_quote(out, n, json_is_string(e) ? json_string_value(e) : "");
	json_decref(root);
}

static int
valid_token(const char *t)
{
	size_t n = strlen(t);

	return n > 0 && n <= AGENT_TOKEN_MAX && str_printable(t, n) &&
	    strchr(t, ' ') == NULL;
}

/* Takes the 200 answer of enroll: pins the key, persists the token. */
static int
enroll_accept(struct agent *a, const struct http_resp *rs)
{
	json_t	     *root = NULL, *tok, *key, *ver;
	unsigned char pk[32];
	int64_t	      version = 0;
	int	      rc = -1;

	root = json_loadb(rs->body, rs->len, 0, NULL);
	tok = json_object_get(root, "node_token");
	key = json_object_get(root, "cc_public_key");
	/* The key's place in the chain (a CC from before rotation: none). */
	ver = json_object_get(root, "cc_key_version");
	if (json_is_integer(ver) && json_integer_value(ver) > 0)
		version = json_integer_value(ver);
	if (!json_is_string(tok) || !valid_token(json_string_value(tok)) ||
	    !json_is_string(key) ||
	    b64_decode(json_string_value(key), pk, sizeof(pk)) != 32) {
		log_err("enroll_failed",
		    "status=200 msg=\"answer lacks a valid "
		    "node_token or cc_public_key\"");
		goto out;
	}
	pthread_mutex_lock(&a->mu);
	if (!a->have_pinned) {
		if (state_save_pubkey(a->cfg->root, pk, version) == -1)
			log_err("state_write_failed", "file=cc_ed25519.pub");
		memcpy(a->pinned, pk, 32);
		a->pinned_version = version;
		a->have_pinned = 1;
	} else if (sodium_memcmp(a->pinned, pk, 32) != 0)
		/* Pinning means a changed key is not taken silently. */
		log_err("cc_key_changed",
		    "msg=\"the command center offered a "
		    "different public key; keeping the pinned one, so its "
		    "commands will be rejected until a key chain leads to "
		    "it, or until the key is pinned by hand "
		    "(vaultmesh-node-agent --pin <key>)\"");
	pthread_mutex_unlock(&a->mu);
	if (state_save_token(a->cfg->root, json_string_value(tok)) == -1)
		log_err("state_write_failed",
		    "file=node_token msg=\"the token "
		    "is kept in memory only; after a restart the node must be "
		    "re-approved\"");
	agent_set_token(a, json_string_value(tok));
	log_info("enrolled", "node_id=%s", a->node_id);
	rc = 0;
out:
	/* The token lives on in a->token only. */
	if (json_is_string(tok))
		sodium_memzero((char *)(uintptr_t)json_string_value(tok),
		    strlen(json_string_value(tok)));
	json_decref(root);
	return rc;
}

/* Wipes jansson's copy of the string member key of o, if any. */
static void
wipe_member(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (json_is_string(v))
		sodium_memzero((char *)(uintptr_t)json_string_value(v),
		    json_string_length(v));
}

/* The enroll request body (holds secrets: free with free_secret), or NULL. */
static char *
enroll_body(const struct agent *a)
{
	char	host[256];
	json_t *o;
	char   *s = NULL;

	probe_hostname(host, sizeof(host));
	o = json_pack("{s:s,s:s,s:s,s:s,s:s}", "node_id", a->node_id,
	    "hostname", host, "os_profile", a->cfg->os_profile, "agent_version",
	    VM_VERSION, "enroll_key", a->enroll_key);
	if (o != NULL && a->cfg->enroll_secret != NULL &&
	    json_object_set_new(o, "enroll_secret",
		json_string(a->cfg->enroll_secret)) == -1) {
		wipe_member(o, "enroll_key");
		json_decref(o);
		o = NULL;
	}
	if (o != NULL) {
		s = json_dumps(o, JSON_COMPACT);
		wipe_member(o, "enroll_secret");
		wipe_member(o, "enroll_key");
	}
	json_decref(o);
	return s;
}

static void
free_secret(char *s)
{
	if (s == NULL)
		return;
	sodium_memzero(s, strlen(s));
	free(s);
}

/*
 * Enrolls until approved (ENROLL_OK), refused as revoked, or stopped.
 * 202 pending retries every min(heartbeat, backoff cap); 409 asks the
 * operator to re-approve and retries at the backoff cap.
 */
static enum enroll_rc
enroll(struct agent *a, struct client *c, struct link *l)
{
	struct backoff	 b;
	struct http_resp rs = { 0 };
	char		*url = NULL, *body = NULL, err[256], code[64];
	int64_t		 wait_ms;
	int		 pending_logged = 0, conflict_logged = 0;
	enum enroll_rc	 rc = ENROLL_STOPPED;
	enum client_rc	 cr;

	backoff_init(&b, a->cfg->backoff_max_secs);
	if ((url = agent_url(a, "/api/agent/enroll")) == NULL)
		goto out;
	for (;;) {
		struct http_req rq = { .method = "POST",
			.url = url,
			.timeout_ms = 15000 };

		(void)agent_take_hup(a);
		free_secret(body);
		if ((body = enroll_body(a)) == NULL) {
			log_err("enroll_failed", "msg=\"out of memory\"");
			wait_ms = backoff_next(&b);
			goto next;
		}
		rq.body = body;
		rq.body_len = strlen(body);
		cr = client_request(c, &rq, &rs, err, sizeof(err));
		if (cr == CLIENT_STOPPED)
			goto out;
		if (cr == CLIENT_FAIL || rs.status >= 500) {
			link_fail(l, "enroll",
			    cr == CLIENT_FAIL ? err : "server error",
			    cr == CLIENT_FAIL ? 0 : rs.status);
			wait_ms = backoff_next(&b);
			goto next;
		}
		link_ok(l);
		backoff_reset(&b);
		error_code(&rs, code, sizeof(code));
		switch (rs.status) {
		case 200:
			if (enroll_accept(a, &rs) == 0) {
				rc = ENROLL_OK;
				goto out;
			}
			wait_ms = a->cfg->backoff_max_secs * 1000;
			break;
		case 202:
			if (!pending_logged)
				log_info("enroll_pending",
				    "node_id=%s msg=\"waiting "
				    "for an operator to approve this node on the "
				    "dashboard\"",
				    a->node_id);
			pending_logged = 1;
			wait_ms =
			    a->cfg->heartbeat_secs < a->cfg->backoff_max_secs ?
			    a->cfg->heartbeat_secs :
			    a->cfg->backoff_max_secs;
			wait_ms *= 1000;
			break;
		case 409:
			if (!conflict_logged)
				log_err("enroll_conflict",
				    "node_id=%s msg=\"the "
				    "command center already enrolled this node_id "
				    "and will not issue a new token; re-approve the "
				    "node on the dashboard to let it enroll again\"",
				    a->node_id);
			conflict_logged = 1;
			wait_ms = a->cfg->backoff_max_secs * 1000;
			break;
		case 403:
			if (strcmp(code, "enroll_key_mismatch") == 0)
				log_err("enroll_refused",
				    "node_id=%s error=%s "
				    "msg=\"the command center holds this node_id "
				    "for an agent with another enroll key; if this "
				    "agent's enroll_key file was replaced, remove "
				    "node_id and enroll_key to enroll as a new "
				    "node\"",
				    a->node_id, code);
			else
				log_err("enroll_refused",
				    "node_id=%s error=%s "
				    "msg=\"the command center revoked this node\"",
				    a->node_id, code);
			rc = ENROLL_REVOKED;
			goto out;
		default:
			log_err("enroll_failed", "status=%ld error=%s",
			    rs.status, code);
			wait_ms = a->cfg->backoff_max_secs * 1000;
			break;
		}
	next:
		http_resp_free(&rs);
		if (agent_sleep(a, wait_ms, 1) == -1)
			goto out;
	}
out:
	http_resp_free(&rs);
	free_secret(body);
	free(url);
	return rc;
}

/* One result: 0 sent or dropped for good, 1 retry later, -1 stop. */
static int
send_result(struct agent *a, struct client *c, const char *url, const char *tok,
    const char *id, const char *body, size_t len)
{
	struct http_req	 rq = { .method = "POST",
		 .url = url,
		 .bearer = tok,
		 .body = body,
		 .body_len = len,
		 .timeout_ms = 30000 };
	struct http_resp rs = { 0 };
	char		 err[256], code[64];
	enum client_rc	 cr;
	int		 rc = 1;

	cr = client_request(c, &rq, &rs, err, sizeof(err));
	if (cr == CLIENT_STOPPED) {
		rc = -1;
		goto out;
	}
	if (cr == CLIENT_FAIL || rs.status >= 500 || rs.status == 408 ||
	    rs.status == 429) {
		log_debug("result_deferred", "command_id=%s status=%ld", id,
		    cr == CLIENT_FAIL ? 0L : rs.status);
		goto out;
	}
	if (rs.status == 401) {
		agent_set_revoked(a, "result_401");
		rc = -1;
		goto out;
	}
	error_code(&rs, code, sizeof(code));
	if (rs.status == 200)
		log_info("result_sent", "command_id=%s", id);
	else
		/* 400/403/404/409...: resending cannot help. */
		log_err("result_dropped", "command_id=%s status=%ld error=%s",
		    id, rs.status, code);
	rc = 0;
out:
	http_resp_free(&rs);
	return rc;
}

int
results_flush(struct agent *a, struct client *c)
{
	char   tok[AGENT_TOKEN_MAX + 1];
	char **ids = NULL, *url = NULL, *body;
	size_t n = 0, len;
	int    rc = 1, r;

	pthread_mutex_lock(&a->spool_mu);
	if (spool_list(a->cfg->root, &ids, &n) == -1) {
		log_err("spool_failed", "msg=\"cannot list the spool\"");
		goto out;
	}
	if (n == 0) {
		rc = 0;
		goto out;
	}
	if (!agent_token(a, tok, sizeof(tok)) ||
	    (url = agent_url(a, "/api/agent/command-result")) == NULL)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if ((body = spool_read(a->cfg->root, ids[i], &len)) == NULL) {
			log_err("spool_failed",
			    "command_id=%s msg=\"unreadable spool entry\"",
			    ids[i]);
			continue;
		}
		r = send_result(a, c, url, tok, ids[i], body, len);
		free(body);
		if (r == -1) {
			rc = -1;
			goto out;
		}
		if (r == 1)
			goto out;
		if (spool_delete(a->cfg->root, ids[i]) == -1)
			log_err("spool_failed",
			    "command_id=%s msg=\"cannot delete a sent result\"",
			    ids[i]);
	}
	rc = 0;
out:
	pthread_mutex_unlock(&a->spool_mu);
	sodium_memzero(tok, sizeof(tok));
	spool_list_free(ids, n);
	free(url);
	return rc;
}

/* One heartbeat: 0 sent, 1 CC trouble (backoff), 2 refused, -1 stop. */
static int
heartbeat(struct agent *a, struct client *c, struct probes *p, struct link *l,
    const char *url)
{
	char		 tok[AGENT_TOKEN_MAX + 1], err[256], code[64];
	struct http_resp rs = { 0 };
	json_t		*hb = NULL, *root = NULL;
	char		*body = NULL;
	enum client_rc	 cr;
	int		 rc = 1;

	if (!agent_token(a, tok, sizeof(tok))) {
		rc = 2;
		goto out;
	}
	if ((hb = probes_heartbeat(p, c, a->cfg, a->node_id)) == NULL)
		goto built;
	/* The key it verifies commands with: the CC sees who has moved. */
	{
		char id[33];

		if (agent_key_id(a, id) &&
		    json_object_set_new(hb, "pinned_key_id", json_string(id)) ==
			-1) {
			json_decref(hb);
			hb = NULL;
		}
	}
built:
	if (hb == NULL ||
	    (body = json_dumps(hb, JSON_COMPACT | JSON_REAL_PRECISION(6))) ==
		NULL) {
		log_err("heartbeat_failed",
		    "msg=\"cannot build the heartbeat\"");
		goto out;
	}
	if (atomic_load(&a->stop)) {
		rc = -1;
		goto out;
	}
	{
		struct http_req rq = { .method = "POST",
			.url = url,
			.bearer = tok,
			.body = body,
			.body_len = strlen(body),
			.timeout_ms = 15000 };

		cr = client_request(c, &rq, &rs, err, sizeof(err));
	}
	if (cr == CLIENT_STOPPED) {
		rc = -1;
		goto out;
	}
	if (cr == CLIENT_FAIL || rs.status >= 500) {
		link_fail(l, "heartbeat",
		    cr == CLIENT_FAIL ? err : "server error",
		    cr == CLIENT_FAIL ? 0 : rs.status);
		goto out;
	}
	link_ok(l);
	if (rs.status == 401 || rs.status == 403) {
		agent_set_revoked(a,
		    rs.status == 401 ? "heartbeat_401" : "heartbeat_403");
		rc = 2;
		goto out;
	}
	if (rs.status != 200) {
		error_code(&rs, code, sizeof(code));
		log_err("heartbeat_refused", "status=%ld error=%s", rs.status,
		    code);
		rc = 2;
		goto out;
	}
	root = json_loadb(rs.body, rs.len, 0, NULL);
	log_debug("heartbeat", "pending_commands=%lld",
	    (long long)json_integer_value(
		json_object_get(root, "pending_commands")));
	/* Not on the current key: the links to it came along. */
	(void)agent_follow_chain(a, json_object_get(root, "key_chain"));
	rc = 0;
out:
	sodium_memzero(tok, sizeof(tok));
	http_resp_free(&rs);
	json_decref(hb);
	json_decref(root);
	free(body);
	return rc;
}

void *
heartbeat_thread(void *arg)
{
	struct thread_args *ta = arg;
	struct agent	   *a = ta->agent;
	struct client	   *c = ta->client;
	struct probes	   *p = NULL;
	struct link	    l = { 0 };
	struct backoff	    b;
	char		    tok[AGENT_TOKEN_MAX + 1];
	char		   *url = NULL;
	int64_t		    wait_ms;
	int		    r;

	watchdog_watch(&a->wd, AGENT_WD_HEARTBEAT);
	backoff_init(&b, a->cfg->backoff_max_secs);
	if ((p = probes_new()) == NULL ||
	    (url = agent_url(a, "/api/agent/heartbeat")) == NULL) {
		log_err("heartbeat_failed", "msg=\"out of memory\"");
		goto out;
	}
	/* Results a previous run could not deliver. */
	(void)results_flush(a, c);
	while (!atomic_load(&a->stop)) {
		if (agent_is_revoked(a)) {
			if (!agent_take_hup(a)) {
				if (agent_sleep(a, 3600 * 1000, 1) == -1)
					break;
				continue;
			}
			log_info("reenroll", "node_id=%s reason=sighup",
			    a->node_id);
			if (enroll(a, c, &l) == ENROLL_STOPPED)
				break;
			continue;
		}
		if (!agent_token(a, tok, sizeof(tok))) {
			r = enroll(a, c, &l);
			if (r == ENROLL_STOPPED)
				break;
			if (r == ENROLL_REVOKED)
				agent_set_revoked(a, "enroll_403");
			continue;
		}
		sodium_memzero(tok, sizeof(tok));
		(void)agent_take_hup(a);
		r = heartbeat(a, c, p, &l, url);
		if (r == -1)
			break;
		if (r == 0) {
			backoff_reset(&b);
			if (results_flush(a, c) == -1 && atomic_load(&a->stop))
				break;
			wait_ms = a->cfg->heartbeat_secs * 1000;
		} else if (r == 1)
			wait_ms = backoff_next(&b);
		else if (agent_is_revoked(a))
			continue;
		else
			wait_ms = a->cfg->heartbeat_secs * 1000;
		if (agent_sleep(a, wait_ms, 1) == -1)
			break;
	}
out:
	probes_free(p);
	free(url);
	return NULL;
}
