/*
 * Unit tests of command-center/fleet.c over a temporary store: enrollment
 * outcomes, token authentication (401/403 of CONTRACT.md), revocation and
 * re-approval, heartbeats written behind and surviving a restart, and the
 * rule that only a hash of each token is stored.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>
#include <sqlite3.h>

#include "cc_testlib.h"
#include "../../command-center/test_hooks.h"
#include "log.h"
#include "util.h"

#define TOKEN_LEN 43 /* 32 random bytes, base64url without padding */

static enum enroll_outcome
enroll(struct cct_fx *f, struct cct_node *n, int secret_ok)
{
	return fleet_enroll(f->fl, &n->er, secret_ok, n->token);
}

static void
enroll_approved(struct cct_fx *f, struct cct_node *n, const char *host)
{
	cct_node_init(n, host);
	assert_int_equal(enroll(f, n, 1), ENROLL_APPROVED);
	assert_int_equal(strlen(n->token), TOKEN_LEN);
}

static enum node_status
status_of(struct cct_fx *f, const char *id)
{
	struct node_view v;
	char		*hb = NULL;

	assert_int_equal(fleet_get(f->fl, id, time(NULL), &v, &hb), 0);
	free(hb);
	return v.status;
}

static int
is_base64url(const char *s)
{
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
			(*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
			return 0;
	return 1;
}

/* ---- enrollment --------------------------------------------------------------- */

static void
enroll_with_secret_is_approved_with_43_char_token(void **state)
{
	struct cct_fx  *f = *state;
	struct cct_node n;

	cct_node_init(&n, "web-1");
	assert_int_equal(enroll(f, &n, 1), ENROLL_APPROVED);
	assert_int_equal(strlen(n.token), TOKEN_LEN);
	assert_true(is_base64url(n.token));
	assert_int_equal(status_of(f, n.id), NODE_APPROVED);
	assert_int_equal(fleet_auth(f->fl, n.id, n.token), AUTH_OK);
}

static void
enroll_tokens_are_distinct(void **state)
{
	struct cct_fx  *f = *state;
	struct cct_node a, b;

	enroll_approved(f, &a, "a");
	enroll_approved(f, &b, "b");
	assert_string_not_equal(a.token, b.token);
}

static void
enroll_without_secret_is_pending_without_token(void **state)
{
	struct cct_fx  *f = *state;
	struct cct_node n;

	cct_node_init(&n, "web-1");
	memset(n.token, 'x', sizeof(n.token));
	assert_int_equal(enroll(f, &n, 0), ENROLL_PENDING);
	assert_int_equal(n.token[0], '\0');
	assert_int_equal(status_of(f, n.id), NODE_PENDING);
	assert_int_equal(fleet_auth(f->fl, n.id, ""), AUTH_UNAUTHORIZED);
	assert_int_equal(fleet_auth(f->fl, n.id, NULL), AUTH_UNAUTHORIZED);
}

static void
enroll_again_when_approved_with_token_is_conflict(void **state)
{
	struct cct_fx  *f = *state;
	struct cct_node n, again;
	char		first[64];

	enroll_approved(f, &n, "web-1");
	memcpy(first, n.token, sizeof(first));
	again = n;
	again.er.node_id = again.id;
	again.er.hostname = again.host;
	assert_int_equal(enroll(f, &again, 1), ENROLL_CONFLICT);
	assert_int_equal(again.token[0], '\0');
	assert_int_equal(enroll(f, &again, 0), ENROLL_CONFLICT);
	assert_int_equal(again.token[0], '\0');
	/* The first token keeps working: no silent re-issue. */
	assert_int_equal(fleet_auth(f->fl, n.id, first), AUTH_OK);
}

struct enroller {
	struct cct_fx	   *f;
	struct cct_node	    n;
	enum enroll_outcome out;
};

static void *
enroller_main(void *arg)
{
	struct enroller *e = arg;

	e->out = enroll(e->f, &e->n, 1);
	return NULL;
}

/* What the fleet did while a node's commit was held (see held_commit). */
struct held {
	size_t		 seen, still; /* rows settling */
	int		 started2, hb;
	enum auth_result auth;
};

/*
 * Runs first(a1) in a thread while another connection holds SQLite's
 * write lock, so its commit waits; once its row is settling, starts
 * second(a2) in another thread, and checks the token and a heartbeat of
 * node o meanwhile. Then releases the lock and joins both. What it saw is
 * asserted after the joins (a failure must not leave threads waiting).
 */
static void
held_commit(struct cct_fx *f, void *(*first)(void *), void *a1,
    void *(*second)(void *), void *a2, const struct cct_node *o, struct held *w)
{
	pthread_t	t1, t2;
	sqlite3	       *h = NULL;
	struct timespec ts = { 0, 1000000 };
	int		waited = 0;

	memset(w, 0, sizeof(*w));
	h = cct_db_open(f); /* waits while the fleet flushes */
	assert_int_equal(sqlite3_exec(h, "BEGIN IMMEDIATE", NULL, NULL, NULL),
	    SQLITE_OK);
	assert_int_equal(pthread_create(&t1, NULL, first, a1), 0);
	/* Until the first waits in its commit (at most 3 s). */
	while (fleet_settling(f->fl) == 0 && waited++ < 3000)
		nanosleep(&ts, NULL);
	w->seen = fleet_settling(f->fl);
	w->started2 =
	    w->seen == 1 && pthread_create(&t2, NULL, second, a2) == 0;
	/* The fleet answers meanwhile; the commit is still waiting. */
	w->auth = fleet_auth(f->fl, o->id, o->token);
	w->hb = cct_send_heartbeat(f->fl, o->id, o->host, "up", "active");
	w->still = fleet_settling(f->fl);
	assert_int_equal(sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(h);
	pthread_join(t1, NULL);
	if (w->started2)
		pthread_join(t2, NULL);
	assert_int_equal(w->seen, 1);
	assert_true(w->started2);
	assert_int_equal(w->auth, AUTH_OK);
	assert_int_equal(w->hb, 0);
	assert_int_equal(w->still, 1);
	assert_int_equal(fleet_settling(f->fl), 0);
}

/*
 * A new node's row is committed with the fleet's lock released: while
 * another connection holds SQLite's write lock (the enrollment's commit
 * waits for it), heartbeats and token checks of other nodes go on, and a
 * second enrollment of the same id waits for the first and is a conflict.
 */
static void
enroll_commits_without_holding_the_fleet(void **state)
{
	struct cct_fx  *f = *state;
	struct cct_node a;
	struct enroller e1, e2;
	struct held	w;

	CCT_SQLITE_ONLY();

	enroll_approved(f, &a, "web-1");
	memset(&e1, 0, sizeof(e1));
	e1.f = f;
	cct_node_init(&e1.n, "new-1");
	e2 = e1;
	e2.n.er.node_id = e2.n.id;
	e2.n.er.hostname = e2.n.host;
	held_commit(f, enroller_main, &e1, enroller_main, &e2, &a, &w);
	assert_int_equal(e1.out, ENROLL_APPROVED);
	assert_int_equal(e2.out, ENROLL_CONFLICT);
	assert_int_equal(e2.n.token[0], '\0');
	assert_int_equal(fleet_auth(f->fl, e1.n.id, e1.n.token), AUTH_OK);
	cct_reopen(f);
	assert_int_equal(status_of(f, e1.n.id), NODE_APPROVED);
	assert_int_equal(fleet_auth(f->fl, e1.n.id, e1.n.token), AUTH_OK);
}

struct status_setter {
	struct cct_fx	*f;
	const char	*id;
	enum node_status st;
	int		 rc;
};

static void *
setter_main(void *arg)
{
	struct status_setter *s = arg;

	s->rc = fleet_set_status(s->f->fl, s->id, s->st);
	return NULL;
}

/*
 * A revocation's row is committed with the fleet's lock released, as an
 * enrollment's: while its commit waits, other nodes' heartbeats and token
 * checks go on, and an enrollment of the same node waits for it and is
 * refused as revoked. The token stops working before the revoke returns.
 */
static void
revoke_commits_without_holding_the_fleet(void **state)
{
	struct cct_fx	    *f = *state;
	struct cct_node	     a, b;
	struct status_setter rv;
	struct enroller	     e;
	struct held	     w;

	CCT_SQLITE_ONLY();

	enroll_approved(f, &a, "web-1");
	enroll_approved(f, &b, "web-2");
	memset(&rv, 0, sizeof(rv));
	rv.f = f;
	rv.id = a.id;
	rv.st = NODE_REVOKED;
	memset(&e, 0, sizeof(e));
	e.f = f;
	e.n = a;
	e.n.er.node_id = e.n.id;
	e.n.er.hostname = e.n.host;
	held_commit(f, setter_main, &rv, enroller_main, &e, &b, &w);
	assert_int_equal(rv.rc, 0);
	assert_int_equal(e.out, ENROLL_REVOKED);
	assert_int_equal(e.n.token[0], '\0');
	assert_int_equal(fleet_auth(f->fl, a.id, a.token), AUTH_UNAUTHORIZED);
	assert_int_equal(fleet_auth(f->fl, b.id, b.token), AUTH_OK);
	cct_reopen(f);
	assert_int_equal(status_of(f, a.id), NODE_REVOKED);
	assert_int_equal(fleet_auth(f->fl, a.id, a.token), AUTH_UNAUTHORIZED);
}

static void
enroll_again_when_pending_stays_pending(void **state)
{
	struct cct_fx  *f = *state;
	struct cct_node n;

	cct_node_init(&n, "web-1");
	assert_int_equal(enroll(f, &n, 0), ENROLL_PENDING);
	assert_int_equal(enroll(f, &n, 0), ENROLL_PENDING);
	assert_int_equal(n.token[0], '\0');
	assert_int_equal(status_of(f, n.id), NODE_PENDING);
}

static void
enroll_pending_then_with_secret_is_approved(void **state)
{
	struct cct_fx  *f = *state;
	struct cct_node n;

	cct_node_init(&n, "web-1");
	assert_int_equal(enroll(f, &n, 0), ENROLL_PENDING);
	assert_int_equal(enroll(f, &n, 1), ENROLL_APPROVED);
	assert_int_equal(strlen(n.token), TOKEN_LEN);
	assert_int_equal(fleet_auth(f->fl, n.id, n.token), AUTH_OK);
}

static void
operator_approval_of_pending_node_gives_token_on_next_enroll(void **state)
{
	struct cct_fx  *f = *state;
	struct cct_node n;

	cct_node_init(&n, "web-1");
	assert_int_equal(enroll(f, &n, 0), ENROLL_PENDING);
	assert_int_equal(fleet_set_status(f->fl, n.id, NODE_APPROVED), 0);
	assert_int_equal(status_of(f, n.id), NODE_APPROVED);
	/* Approved by the operator: no secret needed any more. */
	assert_int_equal(enroll(f, &n, 0), ENROLL_APPROVED);
	assert_int_equal(strlen(n.token), TOKEN_LEN);
	assert_int_equal(fleet_auth(f->fl, n.id, n.token), AUTH_OK);
	assert_int_equal(enroll(f, &n, 0), ENROLL_CONFLICT);
}

/* n enrolled pending with key; *imp: the same node_id with key imp_key. */
static void
pending_with_impostor(struct cct_fx *f, struct cct_node *n, char *key,
    struct cct_node *imp, char *imp_key)
{
	cct_node_init(n, "web-1");
	n->er.enroll_key = key;
	assert_int_equal(enroll(f, n, 0), ENROLL_PENDING);
	*imp = *n;
	imp->er.node_id = imp->id;
	imp->er.hostname = imp->host;
	imp->er.enroll_key = imp_key;
}

static void
pending_node_token_goes_only_to_its_enroll_key(void **state)
{
	struct cct_fx  *f = *state;
	struct cct_node n, impostor;
	char		key[] = "a23456789012345678901234567890123456789012K";
	char		other[] = "b23456789012345678901234567890123456789012K";

	/* Someone who learned the id, while pending: pending too, no harm. */
	pending_with_impostor(f, &n, key, &impostor, other);
	assert_int_equal(enroll(f, &impostor, 0), ENROLL_PENDING);
	/* The key is stored: it holds across a restart. */
	cct_reopen(f);
	assert_int_equal(fleet_set_status(f->fl, n.id, NODE_APPROVED), 0);
	impostor.er.enroll_key = NULL;
	assert_int_equal(enroll(f, &impostor, 0), ENROLL_KEY_MISMATCH);
	assert_int_equal(enroll(f, &impostor, 1), ENROLL_KEY_MISMATCH);
	impostor.er.enroll_key = other;
	assert_int_equal(enroll(f, &impostor, 1), ENROLL_KEY_MISMATCH);
	assert_string_equal(impostor.token, "");
	/* The agent that came first gets the token, once. */
	assert_int_equal(enroll(f, &n, 0), ENROLL_APPROVED);
	assert_int_equal(fleet_auth(f->fl, n.id, n.token), AUTH_OK);
	assert_int_equal(enroll(f, &impostor, 0), ENROLL_CONFLICT);
	/* Revoked and approved again: still bound to the same key. */
	assert_int_equal(fleet_set_status(f->fl, n.id, NODE_REVOKED), 0);
	assert_int_equal(fleet_set_status(f->fl, n.id, NODE_APPROVED), 0);
	assert_int_equal(enroll(f, &impostor, 0), ENROLL_KEY_MISMATCH);
	assert_int_equal(enroll(f, &n, 0), ENROLL_APPROVED);
}

static void
pending_with_secret_needs_the_same_enroll_key(void **state)
{
	struct cct_fx  *f = *state;
	struct cct_node n, impostor;
	char		key[] = "c23456789012345678901234567890123456789012K";

	pending_with_impostor(f, &n, key, &impostor, NULL);
	/* The secret alone does not take over another agent's pending id. */
	assert_int_equal(enroll(f, &impostor, 1), ENROLL_KEY_MISMATCH);
	assert_int_equal(enroll(f, &n, 1), ENROLL_APPROVED);
}

static void
node_first_enrolled_without_key_is_not_bound(void **state)
{
	struct cct_fx  *f = *state;
	struct cct_node n;
	char		key[] = "d23456789012345678901234567890123456789012K";

	/* An agent older than enroll keys: the first enroll after approval wins. */
	cct_node_init(&n, "web-1");
	assert_int_equal(enroll(f, &n, 0), ENROLL_PENDING);
	assert_int_equal(fleet_set_status(f->fl, n.id, NODE_APPROVED), 0);
	n.er.enroll_key = key;
	assert_int_equal(enroll(f, &n, 0), ENROLL_APPROVED);
}

/* ---- authentication --------------------------------------------------------------- */

static void
auth_right_token_is_ok(void **state)
{
	struct cct_fx  *f = *state;
	struct cct_node n;
	char		copy[64];

	enroll_approved(f, &n, "web-1");
	memcpy(copy, n.token, sizeof(copy)); /* not the same pointer */
	assert_int_equal(fleet_auth(f->fl, n.id, copy), AUTH_OK);
	assert_int_equal(fleet_auth(f->fl, n.id, copy), AUTH_OK);
}

static void
auth_wrong_null_or_empty_token_is_unauthorized(void **state)
{
	struct cct_fx  *f = *state;
	struct cct_node n;
	char		bad[64];

	enroll_approved(f, &n, "web-1");
	memcpy(bad, n.token, sizeof(bad));
	bad[10] = bad[10] == 'A' ? 'B' : 'A';
	assert_int_equal(fleet_auth(f->fl, n.id, bad), AUTH_UNAUTHORIZED);
	memcpy(bad, n.token, sizeof(bad));
	bad[TOKEN_LEN - 1] = '\0'; /* one char short */
	assert_int_equal(fleet_auth(f->fl, n.id, bad), AUTH_UNAUTHORIZED);
	assert_int_equal(fleet_auth(f->fl, n.id, NULL), AUTH_UNAUTHORIZED);
	assert_int_equal(fleet_auth(f->fl, n.id, ""), AUTH_UNAUTHORIZED);
	assert_int_equal(fleet_auth(f->fl, n.id,
			     "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
	    AUTH_UNAUTHORIZED);
	assert_int_equal(fleet_auth(f->fl, n.id, "Bearer x"),
	    AUTH_UNAUTHORIZED);
}

static void
auth_overlong_token_is_unauthorized(void **state)
{
	struct cct_fx  *f = *state;
	struct cct_node n;
	char	       *big;

	enroll_approved(f, &n, "web-1");
	big = malloc(100001);
	assert_non_null(big);
	memset(big, 'A', 100000);
	big[100000] = '\0';
	assert_int_equal(fleet_auth(f->fl, n.id, big), AUTH_UNAUTHORIZED);
	/* The right token with junk after it is not the right token. */
	snprintf(big, 100001, "%s%0200d", n.token, 0);
	assert_int_equal(fleet_auth(f->fl, n.id, big), AUTH_UNAUTHORIZED);
	snprintf(big, 100001, "%sx", n.token);
	assert_int_equal(fleet_auth(f->fl, n.id, big), AUTH_UNAUTHORIZED);
	free(big);
}

/*
 * The handler's heartbeat: the token's hash checked and the heartbeat
 * recorded under one take of the lock; a refused token records nothing.
 */
static void
heartbeat_auth_records_only_for_the_nodes_own_token(void **state)
{
	struct cct_fx	*f = *state;
	struct cct_node	 a, b;
	struct heartbeat hb;
	struct node_view v;
	unsigned char	 tha[TOKEN_HASH_LEN], thb[TOKEN_HASH_LEN];
	json_t		*root;
	char		 err[256], *doc = NULL;
	int		 pending, failed;

	enroll_approved(f, &a, "a");
	enroll_approved(f, &b, "b");
	assert_int_equal(fleet_token_known(f->fl, a.token, tha), 1);
	assert_int_equal(fleet_token_known(f->fl, b.token, thb), 1);
	assert_int_equal(fleet_auth_hash(f->fl, a.id, tha), AUTH_OK);
	assert_int_equal(fleet_auth_hash(f->fl, a.id, thb), AUTH_FORBIDDEN);
	/* Two commands queued in the store, which tells the fleet. */
	for (int i = 0; i < 2; i++)
		assert_int_equal(
		    cct_queue(f->st, NULL, a.id, time(NULL), time(NULL) + 600),
		    0);
	assert_int_equal(fleet_pending(f->fl, a.id), 2);
	assert_int_equal(fleet_pending(f->fl, b.id), 0);

	/* b's token for a's heartbeat: forbidden, nothing recorded. */
	root = cct_heartbeat_body(a.id, "renamed-by-b", "up", "active");
	assert_int_equal(validate_heartbeat(root, &hb, err, sizeof(err)), 0);
	assert_int_equal(
	    fleet_heartbeat_auth(f->fl, &hb, thb, &pending, &failed),
	    AUTH_FORBIDDEN);
	assert_non_null(hb.json); /* not taken */
	free(hb.json);
	assert_int_equal(fleet_get(f->fl, a.id, time(NULL), &v, &doc), 0);
	assert_string_equal(v.hostname, "a");
	free(doc);
	json_decref(root);

	/* a's own token: recorded, with a's queued commands. */
	root = cct_heartbeat_body(a.id, "a-renamed", "up", "active");
	assert_int_equal(validate_heartbeat(root, &hb, err, sizeof(err)), 0);
	assert_int_equal(
	    fleet_heartbeat_auth(f->fl, &hb, tha, &pending, &failed), AUTH_OK);
	assert_null(hb.json); /* the fleet took it */
	assert_int_equal(pending, 2);
	assert_int_equal(failed, 0);
	assert_int_equal(fleet_get(f->fl, a.id, time(NULL), &v, &doc), 0);
	assert_string_equal(v.hostname, "a-renamed");
	free(doc);
	json_decref(root);

	/* Revoked: the token's hash no longer authenticates anything. */
	assert_int_equal(fleet_set_status(f->fl, a.id, NODE_REVOKED), 0);
	root = cct_heartbeat_body(a.id, "after-revoke", "up", "active");
	assert_int_equal(validate_heartbeat(root, &hb, err, sizeof(err)), 0);
	assert_int_equal(
	    fleet_heartbeat_auth(f->fl, &hb, tha, &pending, &failed),
	    AUTH_UNAUTHORIZED);
	free(hb.json);
	json_decref(root);
	assert_int_equal(fleet_token_known(f->fl, a.token, tha), 0);
}

static void
auth_token_of_node_a_for_node_b_is_forbidden(void **state)
{
	struct cct_fx  *f = *state;
	struct cct_node a, b;

	enroll_approved(f, &a, "a");
	enroll_approved(f, &b, "b");
	assert_int_equal(fleet_auth(f->fl, b.id, a.token), AUTH_FORBIDDEN);
	assert_int_equal(fleet_auth(f->fl, a.id, b.token), AUTH_FORBIDDEN);
	assert_int_equal(fleet_auth(f->fl, a.id, a.token), AUTH_OK);
	assert_int_equal(fleet_auth(f->fl, b.id, b.token), AUTH_OK);
}

static void
auth_token_for_unknown_or_pending_node_is_not_ok(void **state)
{
	struct cct_fx  *f = *state;
	struct cct_node a, p;
	char		unknown[UUID_STRLEN + 1];

	enroll_approved(f, &a, "a");
	cct_node_init(&p, "pending");
	assert_int_equal(enroll(f, &p, 0), ENROLL_PENDING);
	uuid_generate(unknown);
	assert_int_not_equal(fleet_auth(f->fl, unknown, a.token), AUTH_OK);
	assert_int_not_equal(fleet_auth(f->fl, p.id, a.token), AUTH_OK);
	assert_int_equal(fleet_auth(f->fl, unknown, "nope"), AUTH_UNAUTHORIZED);
}

/* ---- revocation and re-approval ------------------------------------------------------ */

static void
revoke_makes_token_unauthorized_at_once(void **state)
{
	struct cct_fx  *f = *state;
	struct cct_node a, b;

	enroll_approved(f, &a, "a");
	enroll_approved(f, &b, "b");
	assert_int_equal(fleet_set_status(f->fl, a.id, NODE_REVOKED), 0);
	assert_int_equal(status_of(f, a.id), NODE_REVOKED);
	assert_int_equal(fleet_auth(f->fl, a.id, a.token), AUTH_UNAUTHORIZED);
	/* Nor is it "valid for another node" any more. */
	assert_int_equal(fleet_auth(f->fl, b.id, a.token), AUTH_UNAUTHORIZED);
	assert_int_equal(fleet_auth(f->fl, b.id, b.token), AUTH_OK);
}

static void
enroll_after_revoke_is_revoked(void **state)
{
	struct cct_fx  *f = *state;
	struct cct_node a;

	enroll_approved(f, &a, "a");
	assert_int_equal(fleet_set_status(f->fl, a.id, NODE_REVOKED), 0);
	assert_int_equal(enroll(f, &a, 1), ENROLL_REVOKED);
	assert_int_equal(a.token[0], '\0');
	assert_int_equal(enroll(f, &a, 0), ENROLL_REVOKED);
	assert_int_equal(status_of(f, a.id), NODE_REVOKED);
}

/*
 * A deleted node keeps its row and its id but leaves every count and
 * page; the dashboard's order stays sorted with it at the end.
 */
static void
deleted_node_leaves_the_views_and_keeps_its_id(void **state)
{
	struct cct_fx	    *f = *state;
	struct cct_node	     a, b, c;
	struct fleet_counts  cnt;
	struct fleet_summary sum;
	struct node_view    *v, view;
	size_t		     n;
	char		    *hb = NULL;

	enroll_approved(f, &a, "alpha");
	enroll_approved(f, &b, "bravo");
	cct_node_init(&c, "charlie");
	assert_int_equal(enroll(f, &c, 0), ENROLL_PENDING);
	assert_int_equal(fleet_pending_nodes(f->fl, NULL), 1);
	/* Reject is for pending nodes only. */
	assert_int_equal(fleet_delete(f->fl, a.id, 1), -3);
	assert_int_equal(fleet_delete(f->fl, c.id, 1), 0);
	assert_int_equal(fleet_pending_nodes(f->fl, NULL), 0);
	assert_int_equal(fleet_delete(f->fl, a.id, 0), 0);
	assert_int_equal(fleet_delete(f->fl, a.id, 0), -2);
	assert_int_equal(fleet_auth(f->fl, a.id, a.token), AUTH_UNAUTHORIZED);
	assert_int_equal(fleet_get(f->fl, a.id, time(NULL), &view, &hb), -1);
	assert_int_equal(fleet_set_status(f->fl, a.id, NODE_APPROVED), -2);
	v = fleet_page(f->fl, time(NULL), -1, NULL, NULL, NULL, 0, 10, &n,
	    &cnt);
	assert_non_null(v);
	assert_int_equal(n, 1);
	assert_int_equal(cnt.total, 1);
	assert_int_equal(cnt.by_level[0] + cnt.by_level[1] + cnt.by_level[2],
	    1);
	assert_string_equal(v[0].node_id, b.id);
	free(v);
	fleet_summarize(f->fl, time(NULL), &sum);
	assert_int_equal(sum.by_status[NODE_APPROVED], 1);
	assert_int_equal(sum.by_status[NODE_PENDING], 0);
	/* After a restart: still gone, its id still taken. */
	cct_reopen(f);
	v = fleet_page(f->fl, time(NULL), -1, NULL, NULL, NULL, 0, 10, &n,
	    &cnt);
	assert_int_equal(n, 1);
	assert_int_equal(cnt.total, 1);
	free(v);
	assert_int_equal(enroll(f, &a, 1), ENROLL_DELETED);
	assert_int_equal(enroll(f, &c, 0), ENROLL_DELETED);
	assert_int_equal(a.token[0], '\0');
	assert_int_equal(fleet_auth(f->fl, b.id, b.token), AUTH_OK);
}

/* Without the secret: at most max pending nodes, at a bounded rate. */
static void
pending_nodes_are_capped_and_rate_limited(void **state)
{
	struct cct_fx  *f = *state;
	struct cct_node n[6];
	size_t		max;

	fleet_set_limits(f->fl, 3, 600);
	for (int i = 0; i < 3; i++) {
		cct_node_init(&n[i], "p");
		assert_int_equal(enroll(f, &n[i], 0), ENROLL_PENDING);
	}
	cct_node_init(&n[3], "p");
	assert_int_equal(enroll(f, &n[3], 0), ENROLL_PENDING_FULL);
	/* Known pending nodes asking again are not new ones. */
	assert_int_equal(enroll(f, &n[0], 0), ENROLL_PENDING);
	/* The secret is not bounded. */
	assert_int_equal(enroll(f, &n[3], 1), ENROLL_APPROVED);
	assert_int_equal(fleet_pending_nodes(f->fl, &max), 3);
	assert_int_equal(max, 3);
	/* The rate: a burst of 2, then nothing within the same second. */
	fleet_set_limits(f->fl, 100, 2);
	cct_node_init(&n[4], "q");
	assert_int_equal(enroll(f, &n[4], 0), ENROLL_PENDING);
	cct_node_init(&n[5], "q");
	assert_int_equal(enroll(f, &n[5], 0), ENROLL_PENDING);
	cct_node_init(&n[5], "q");
	assert_int_equal(enroll(f, &n[5], 0), ENROLL_THROTTLED);
	assert_int_equal(fleet_pending_nodes(f->fl, NULL), 5);
}

static void
reapproval_gives_new_token_and_old_stays_unauthorized(void **state)
{
	struct cct_fx  *f = *state;
	struct cct_node a;
	char		old[64];

	enroll_approved(f, &a, "a");
	memcpy(old, a.token, sizeof(old));
	assert_int_equal(fleet_set_status(f->fl, a.id, NODE_REVOKED), 0);
	assert_int_equal(fleet_set_status(f->fl, a.id, NODE_APPROVED), 0);
	assert_int_equal(fleet_auth(f->fl, a.id, old), AUTH_UNAUTHORIZED);
	assert_int_equal(enroll(f, &a, 0), ENROLL_APPROVED);
	assert_int_equal(strlen(a.token), TOKEN_LEN);
	assert_string_not_equal(a.token, old);
	assert_int_equal(fleet_auth(f->fl, a.id, a.token), AUTH_OK);
	assert_int_equal(fleet_auth(f->fl, a.id, old), AUTH_UNAUTHORIZED);
	/* And after a restart too. */
	cct_reopen(f);
	assert_int_equal(fleet_auth(f->fl, a.id, a.token), AUTH_OK);
	assert_int_equal(fleet_auth(f->fl, a.id, old), AUTH_UNAUTHORIZED);
}

static void
revoke_and_reapprove_many_times(void **state)
{
	struct cct_fx  *f = *state;
	struct cct_node a, other;
	char		prev[64];

	enroll_approved(f, &other, "other");
	enroll_approved(f, &a, "a");
	for (int i = 0; i < 50; i++) {
		memcpy(prev, a.token, sizeof(prev));
		assert_int_equal(fleet_set_status(f->fl, a.id, NODE_REVOKED),
		    0);
		assert_int_equal(fleet_set_status(f->fl, a.id, NODE_APPROVED),
		    0);
		assert_int_equal(enroll(f, &a, 0), ENROLL_APPROVED);
		assert_string_not_equal(a.token, prev);
		assert_int_equal(fleet_auth(f->fl, a.id, prev),
		    AUTH_UNAUTHORIZED);
		assert_int_equal(fleet_auth(f->fl, a.id, a.token), AUTH_OK);
	}
	assert_int_equal(fleet_auth(f->fl, other.id, other.token), AUTH_OK);
	assert_int_equal(fleet_auth(f->fl, other.id, a.token), AUTH_FORBIDDEN);
}

static void
set_status_unknown_node_is_minus_two(void **state)
{
	struct cct_fx *f = *state;
	char	       id[UUID_STRLEN + 1];

	uuid_generate(id);
	assert_int_equal(fleet_set_status(f->fl, id, NODE_APPROVED), -2);
	assert_int_equal(fleet_set_status(f->fl, id, NODE_REVOKED), -2);
}

static void
set_status_to_same_status_keeps_token(void **state)
{
	struct cct_fx  *f = *state;
	struct cct_node a;

	enroll_approved(f, &a, "a");
	assert_int_equal(fleet_set_status(f->fl, a.id, NODE_APPROVED), 0);
	assert_int_equal(fleet_auth(f->fl, a.id, a.token), AUTH_OK);
}

static void
revocation_survives_restart(void **state)
{
	struct cct_fx  *f = *state;
	struct cct_node a;

	enroll_approved(f, &a, "a");
	assert_int_equal(fleet_set_status(f->fl, a.id, NODE_REVOKED), 0);
	cct_reopen(f);
	assert_int_equal(status_of(f, a.id), NODE_REVOKED);
	assert_int_equal(fleet_auth(f->fl, a.id, a.token), AUTH_UNAUTHORIZED);
	assert_int_equal(enroll(f, &a, 1), ENROLL_REVOKED);
}

/* ---- heartbeats -------------------------------------------------------------------- */

static void
heartbeat_for_unknown_node_is_rejected(void **state)
{
	struct cct_fx	*f = *state;
	char		 id[UUID_STRLEN + 1];
	struct node_view v;
	char		*hb = NULL;

	uuid_generate(id);
	assert_int_equal(cct_send_heartbeat(f->fl, id, "ghost", "up", "active"),
	    -1);
	/* Heartbeats never create nodes. */
	assert_int_equal(fleet_get(f->fl, id, time(NULL), &v, &hb), -1);
	assert_null(hb);
}

static void
heartbeat_updates_view_and_attention(void **state)
{
	struct cct_fx	*f = *state;
	struct cct_node	 a;
	struct node_view v;
	char		*hb = NULL;
	int64_t		 t0 = time(NULL), now;

	enroll_approved(f, &a, "web-1");
	assert_int_equal(fleet_get(f->fl, a.id, t0, &v, &hb), 0);
	assert_null(hb);
	assert_int_equal(v.last_heartbeat_at, 0);
	assert_int_equal(v.reasons, R_HEARTBEAT_STALE | R_NEVER_SCANNED);
	assert_int_equal(v.level, LEVEL_RED);
	assert_int_equal(
	    cct_send_heartbeat(f->fl, a.id, "web-1-renamed", "up", "active"),
	    0);
	now = time(NULL);
	assert_int_equal(fleet_get(f->fl, a.id, now, &v, &hb), 0);
	assert_non_null(hb);
	assert_true(v.last_heartbeat_at >= t0 && v.last_heartbeat_at <= now);
	assert_string_equal(v.hostname, "web-1-renamed");
	assert_string_equal(v.agent_version, "0.1.1");
	assert_int_equal(v.reasons, R_NEVER_SCANNED);
	assert_int_equal(v.level, LEVEL_YELLOW);
	free(hb);
	assert_int_equal(
	    cct_send_heartbeat(f->fl, a.id, "web-1", "down", "failed"), 0);
	assert_int_equal(fleet_get(f->fl, a.id, now, &v, &hb), 0);
	assert_int_equal(v.reasons,
	    R_CLOUDFLARE_DOWN | R_SERVICES_DOWN | R_NEVER_SCANNED);
	assert_int_equal(v.level, LEVEL_RED);
	free(hb);
	/* The caller's clock decides staleness. */
	assert_int_equal(
	    fleet_get(f->fl, a.id, v.last_heartbeat_at + 599, &v, &hb), 0);
	assert_false(v.reasons & R_HEARTBEAT_STALE);
	free(hb);
	assert_int_equal(
	    fleet_get(f->fl, a.id, v.last_heartbeat_at + 600, &v, &hb), 0);
	assert_true(v.reasons & R_HEARTBEAT_STALE);
	free(hb);
}

static void
heartbeats_flush_and_survive_restart(void **state)
{
	struct cct_fx	*f = *state;
	struct cct_node	 a, b;
	struct node_view v;
	char		*hb = NULL;
	json_t		*j;

	enroll_approved(f, &a, "web-1");
	cct_node_init(&b, "pending-1");
	assert_int_equal(enroll(f, &b, 0), ENROLL_PENDING);
	assert_int_equal(
	    cct_send_heartbeat(f->fl, a.id, "web-1b", "down", "inactive"), 0);
	fleet_flush(f->fl);
	cct_reopen(f);
	assert_int_equal(fleet_get(f->fl, a.id, time(NULL), &v, &hb), 0);
	assert_int_equal(v.status, NODE_APPROVED);
	assert_string_equal(v.hostname, "web-1b");
	assert_string_equal(v.agent_version, "0.1.1");
	assert_true(v.last_heartbeat_at > 0);
	assert_non_null(hb);
	j = json_loads(hb, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "hostname")),
	    "web-1b");
	assert_string_equal(json_string_value(json_object_get(j, "cloudflare")),
	    "down");
	json_decref(j);
	free(hb);
	/* Attention facts are derived again from the stored heartbeat. */
	assert_true(v.reasons & R_CLOUDFLARE_DOWN);
	assert_true(v.reasons & R_SERVICES_DOWN);
	assert_int_equal(fleet_auth(f->fl, a.id, a.token), AUTH_OK);
	assert_int_equal(status_of(f, b.id), NODE_PENDING);
}

static void
heartbeat_survives_close_without_explicit_flush(void **state)
{
	struct cct_fx  *f = *state;
	struct cct_node a;
	char	       *hb = NULL;

	enroll_approved(f, &a, "web-1");
	assert_int_equal(
	    cct_send_heartbeat(f->fl, a.id, "last-words", "up", "active"), 0);
	cct_reopen(f); /* fleet_close flushes */
	assert_int_equal(
	    fleet_get(f->fl, a.id, time(NULL), &(struct node_view) { 0 }, &hb),
	    0);
	assert_non_null(hb);
	assert_non_null(strstr(hb, "last-words"));
	free(hb);
}

static void
only_the_latest_heartbeat_is_kept(void **state)
{
	struct cct_fx  *f = *state;
	struct cct_node a;
	char		host[32];
	char	       *hb = NULL;

	enroll_approved(f, &a, "web-1");
	for (int i = 0; i < 100; i++) {
		snprintf(host, sizeof(host), "host-%d", i);
		assert_int_equal(
		    cct_send_heartbeat(f->fl, a.id, host, "up", "active"), 0);
		if (i % 10 == 0)
			fleet_flush(f->fl);
	}
	cct_reopen(f);
	assert_int_equal(
	    fleet_get(f->fl, a.id, time(NULL), &(struct node_view) { 0 }, &hb),
	    0);
	assert_non_null(strstr(hb, "\"host-99\""));
	free(hb);
}

/* ---- the token itself is never stored ------------------------------------------------- */

static void
token_is_stored_only_as_32_byte_hash(void **state)
{
	struct cct_fx  *f = *state;
	struct cct_node a;
	sqlite3	       *h = NULL;
	sqlite3_stmt   *st = NULL;
	const void     *blob;
	char		path[400];
	char	       *data;
	size_t		len;
	const char     *files[] = { "", "-wal" };

	CCT_SQLITE_ONLY();

	enroll_approved(f, &a, "web-1");
	h = cct_db_open(f);
	assert_int_equal(sqlite3_prepare_v2(h,
			     "SELECT typeof(token_hash), "
			     "token_hash FROM nodes WHERE node_id = ?1",
			     -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_text(st, 1, a.id, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "blob");
	assert_int_equal(sqlite3_column_bytes(st, 1), TOKEN_HASH_LEN);
	blob = sqlite3_column_blob(st, 1);
	assert_memory_not_equal(blob, a.token, TOKEN_HASH_LEN);
	assert_null(memmem(blob, TOKEN_HASH_LEN, a.token, 8));
	sqlite3_finalize(st);
	sqlite3_close(h);
	/* Nowhere in the database files either, not even in part. */
	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s%s", f->db.path, files[i]);
		if ((data = file_read(path, 64 << 20, &len)) == NULL)
			continue;
		assert_null(memmem(data, len, a.token, TOKEN_LEN));
		assert_null(memmem(data, len, a.token, 16));
		free(data);
	}
	cct_close(f);
	data = file_read(f->db.path, 64 << 20, &len);
	assert_non_null(data);
	assert_null(memmem(data, len, a.token, 16));
	free(data);
	cct_open(f, &cct_thr);
	assert_int_equal(fleet_auth(f->fl, a.id, a.token), AUTH_OK);
}

/* ---- scale ---------------------------------------------------------------------------- */

#define MANY 5000

static void
many_nodes_all_authenticate(void **state)
{
	struct cct_fx	 *f = *state;
	struct cct_node	 *n = calloc(MANY, sizeof(*n));
	struct node_view *v;
	size_t		  count = 0;

	assert_non_null(n);
	for (size_t i = 0; i < MANY; i++) {
		char host[32];

		snprintf(host, sizeof(host), "node-%zu", i);
		enroll_approved(f, &n[i], host);
	}
	for (size_t i = 0; i < MANY; i++) {
		assert_int_equal(fleet_auth(f->fl, n[i].id, n[i].token),
		    AUTH_OK);
		assert_int_equal(
		    fleet_auth(f->fl, n[(i + 1) % MANY].id, n[i].token),
		    AUTH_FORBIDDEN);
	}
	v = fleet_list(f->fl, time(NULL), &count, NULL);
	assert_non_null(v);
	assert_int_equal(count, MANY);
	free(v);
	/* Revoke every third node: the rest still work, those do not. */
	for (size_t i = 0; i < MANY; i += 3)
		assert_int_equal(fleet_set_status(f->fl, n[i].id, NODE_REVOKED),
		    0);
	for (size_t i = 0; i < MANY; i++)
		assert_int_equal(fleet_auth(f->fl, n[i].id, n[i].token),
		    i % 3 == 0 ? AUTH_UNAUTHORIZED : AUTH_OK);
	/* Heartbeats from all, then a restart rebuilds the indexes. */
	for (size_t i = 0; i < MANY; i++)
		assert_int_equal(cct_send_heartbeat(f->fl, n[i].id, n[i].host,
				     "up", "active"),
		    0);
	cct_reopen(f);
	v = fleet_list(f->fl, time(NULL), &count, NULL);
	assert_non_null(v);
	assert_int_equal(count, MANY);
	for (size_t i = 0; i < count; i++)
		assert_true(v[i].last_heartbeat_at > 0);
	free(v);
	for (size_t i = 0; i < MANY; i++)
		assert_int_equal(fleet_auth(f->fl, n[i].id, n[i].token),
		    i % 3 == 0 ? AUTH_UNAUTHORIZED : AUTH_OK);
	/* New enrollments after a restart of a big fleet still work. */
	for (size_t i = 0; i < MANY; i += 3) {
		assert_int_equal(
		    fleet_set_status(f->fl, n[i].id, NODE_APPROVED), 0);
		assert_int_equal(enroll(f, &n[i], 0), ENROLL_APPROVED);
	}
	for (size_t i = 0; i < MANY; i++)
		assert_int_equal(fleet_auth(f->fl, n[i].id, n[i].token),
		    AUTH_OK);
	free(n);
}

/* ---- concurrency ------------------------------------------------------------------------ */

struct worker {
	struct cct_fx	*f;
	struct cct_node *n;
	size_t		 count;
	int		 failures;
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;

	for (size_t i = 0; i < w->count; i++) {
		cct_node_init(&w->n[i], "w");
		if (enroll(w->f, &w->n[i], 1) != ENROLL_APPROVED ||
		    fleet_auth(w->f->fl, w->n[i].id, w->n[i].token) !=
			AUTH_OK ||
		    cct_send_heartbeat(w->f->fl, w->n[i].id, "w", "up",
			"active") != 0)
			w->failures++;
		if (i > 0 &&
		    fleet_auth(w->f->fl, w->n[i - 1].id, w->n[i - 1].token) !=
			AUTH_OK)
			w->failures++;
	}
	return NULL;
}

static void
concurrent_enroll_auth_and_heartbeats_are_consistent(void **state)
{
	enum { THREADS = 4, PER = 300 };
	struct cct_fx	 *f = *state;
	struct worker	  w[THREADS];
	pthread_t	  t[THREADS];
	size_t		  count = 0;
	struct node_view *v;

	for (int i = 0; i < THREADS; i++) {
		w[i].f = f;
		w[i].count = PER;
		w[i].failures = 0;
		w[i].n = calloc(PER, sizeof(struct cct_node));
		assert_non_null(w[i].n);
		assert_int_equal(
		    pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].failures, 0);
	}
	cct_reopen(f);
	v = fleet_list(f->fl, time(NULL), &count, NULL);
	assert_int_equal(count, THREADS * PER);
	for (size_t i = 0; i < count; i++)
		assert_true(v[i].last_heartbeat_at > 0);
	free(v);
	for (int i = 0; i < THREADS; i++) {
		for (size_t j = 0; j < PER; j++)
			assert_int_equal(
			    fleet_auth(f->fl, w[i].n[j].id, w[i].n[j].token),
			    AUTH_OK);
		free(w[i].n);
	}
}

/* ---- store failures: memory never runs ahead of the store ------------------------- */

static void
enroll_fails_cleanly_when_store_insert_fails(void **state)
{
	struct cct_fx  *f = *state;
	struct cct_node n;
	char		zero[64];

	cct_db_refuse(f, "no_insert", "INSERT", "nodes");
	cct_node_init(&n, "web-1");
	memset(n.token, 'x', sizeof(n.token));
	assert_int_equal(enroll(f, &n, 1), ENROLL_FAILED);
	memset(zero, 0, sizeof(zero));
	assert_memory_equal(n.token, zero, sizeof(zero));
	/* Not half-enrolled in memory either. */
	{
		struct node_view v;
		char		*hb = NULL;

		assert_int_equal(fleet_get(f->fl, n.id, time(NULL), &v, &hb),
		    -1);
	}
	cct_db_allow(f, "no_insert", "nodes");
	assert_int_equal(enroll(f, &n, 1), ENROLL_APPROVED);
	assert_int_equal(fleet_auth(f->fl, n.id, n.token), AUTH_OK);
}

static void
revoke_fails_cleanly_when_store_update_fails(void **state)
{
	struct cct_fx  *f = *state;
	struct cct_node n;

	enroll_approved(f, &n, "web-1");
	cct_db_refuse(f, "no_status", "UPDATE OF status", "nodes");
	assert_int_equal(fleet_set_status(f->fl, n.id, NODE_REVOKED), -1);
	/* Memory agrees with the store: still approved, token still valid. */
	assert_int_equal(status_of(f, n.id), NODE_APPROVED);
	assert_int_equal(fleet_auth(f->fl, n.id, n.token), AUTH_OK);
	cct_db_allow(f, "no_status", "nodes");
	assert_int_equal(fleet_set_status(f->fl, n.id, NODE_REVOKED), 0);
	assert_int_equal(fleet_auth(f->fl, n.id, n.token), AUTH_UNAUTHORIZED);
}

static void
heartbeat_flush_failure_is_retried(void **state)
{
	const char	*hb_table = cct_pg() ? "nodes" : "heartbeat_chunks";
	struct cct_fx	*f = *state;
	struct cct_node	 n;
	char		*hb = NULL;
	struct node_view v;

	enroll_approved(f, &n, "web-1");
	/* PostgreSQL writes heartbeats into nodes; SQLite into its log. */
	cct_db_refuse(f, "no_hb", cct_pg() ? "UPDATE OF heartbeat" : "INSERT",
	    hb_table);
	assert_int_equal(
	    cct_send_heartbeat(f->fl, n.id, "retried", "up", "active"), 0);
	fleet_flush(f->fl); /* fails: the heartbeat must stay dirty */
	/* Meanwhile it is still what readers see. */
	assert_int_equal(fleet_get(f->fl, n.id, time(NULL), &v, &hb), 0);
	assert_non_null(hb);
	assert_non_null(strstr(hb, "\"retried\""));
	free(hb);
	hb = NULL;
	cct_db_allow(f, "no_hb", hb_table);
	cct_reopen(f);
	assert_int_equal(fleet_get(f->fl, n.id, time(NULL), &v, &hb), 0);
	assert_non_null(hb);
	assert_non_null(strstr(hb, "\"retried\""));
	free(hb);
}

/* A heartbeat with its own uptime, for ordering checks. */
/*
 * Replaces the bytes from with to (the same length) in every chunk of the
 * log, behind the fleet's back: the number of chunks changed.
 */
static int
rewrite_chunks(struct cct_fx *f, const char *from, const char *to)
{
	sqlite3	     *h;
	sqlite3_stmt *get, *put;
	size_t	      len = strlen(from);
	int	      changed = 0;

	assert_int_equal(strlen(to), len);
	h = cct_db_open(f);
	assert_int_equal(sqlite3_prepare_v2(h,
			     "SELECT seq, data FROM "
			     "heartbeat_chunks",
			     -1, &get, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h,
			     "UPDATE heartbeat_chunks SET "
			     "data = ?2 WHERE seq = ?1",
			     -1, &put, NULL),
	    SQLITE_OK);
	while (sqlite3_step(get) == SQLITE_ROW) {
		size_t	       n = (size_t)sqlite3_column_bytes(get, 1);
		unsigned char *d = malloc(n ? n : 1), *p;

		assert_non_null(d);
		memcpy(d, sqlite3_column_blob(get, 1), n);
		if ((p = memmem(d, n, from, len)) != NULL) {
			memcpy(p, to, len);
			sqlite3_bind_int64(put, 1,
			    sqlite3_column_int64(get, 0));
			sqlite3_bind_blob(put, 2, d, (int)n, SQLITE_TRANSIENT);
			assert_int_equal(sqlite3_step(put), SQLITE_DONE);
			sqlite3_reset(put);
			changed++;
		}
		free(d);
	}
	sqlite3_finalize(get);
	sqlite3_finalize(put);
	sqlite3_close(h);
	return changed;
}

static int
send_uptime(struct cct_fx *f, const char *id, json_int_t up)
{
	json_t		*root = cct_heartbeat_body(id, "web-1", "up", "active");
	struct heartbeat hb;
	char		 err[256];
	int		 rc;

	json_object_set_new(root, "uptime_secs", json_integer(up));
	if (validate_heartbeat(root, &hb, err, sizeof(err)) != 0)
		fail_msg("validate_heartbeat: %s", err);
	rc = fleet_heartbeat(f->fl, &hb);
	free(hb.json);
	json_decref(root);
	return rc;
}

static json_int_t
uptime_of(const char *json)
{
	json_t	  *j = json != NULL ? json_loads(json, 0, NULL) : NULL;
	json_int_t up = -1;

	if (j != NULL)
		up = json_integer_value(json_object_get(j, "uptime_secs"));
	json_decref(j);
	return up;
}

static void
written_heartbeat_is_read_from_the_store(void **state)
{
	struct cct_fx	*f = *state;
	struct cct_node	 n;
	struct node_view v, *all;
	char		*hb = NULL, **hbs = NULL;
	size_t		 count;

	CCT_SQLITE_ONLY();

	enroll_approved(f, &n, "web-1");
	assert_int_equal(fleet_get(f->fl, n.id, time(NULL), &v, &hb), 0);
	assert_null(hb); /* none yet, in memory or in the store */
	assert_int_equal(send_uptime(f, n.id, 11), 0);
	assert_int_equal(fleet_get(f->fl, n.id, time(NULL), &v, &hb), 0);
	assert_int_equal(uptime_of(hb), 11);
	free(hb);
	fleet_flush(f->fl);
	/* Written: memory lets go; what the store holds is what is shown. */
	assert_int_equal(
	    rewrite_chunks(f, "\"uptime_secs\":11", "\"uptime_secs\":22"), 1);
	assert_int_equal(fleet_get(f->fl, n.id, time(NULL), &v, &hb), 0);
	assert_int_equal(uptime_of(hb), 22);
	free(hb);
	all = fleet_list(f->fl, time(NULL), &count, &hbs);
	assert_non_null(all);
	assert_int_equal(count, 1);
	assert_int_equal(uptime_of(hbs[0]), 22);
	free(hbs[0]);
	free(hbs);
	free(all);
	/* A new one is shown from memory until it is written. */
	assert_int_equal(send_uptime(f, n.id, 33), 0);
	assert_int_equal(fleet_get(f->fl, n.id, time(NULL), &v, &hb), 0);
	assert_int_equal(uptime_of(hb), 33);
	free(hb);
	assert_int_equal(fleet_get(f->fl, n.id, time(NULL), &v, NULL), 0);
}

struct order_fx {
	struct cct_fx *f;
	const char    *id;
	_Atomic int    stop;
	json_int_t     sent;	  /* by the sender, read after join */
	int	       backwards; /* by the reader */
	size_t	       reads;
};

static void *
order_sender(void *arg)
{
	struct order_fx *o = arg;

	for (json_int_t up = 1; up <= 3000; up++)
		if (send_uptime(o->f, o->id, up) == 0)
			o->sent = up;
	o->stop = 1;
	return NULL;
}

/* Flushes back to back; every third round folds the whole log too. */
static void *
order_flusher(void *arg)
{
	struct order_fx *o = arg;
	unsigned	 i = 0;

	while (!o->stop) {
		fleet_flush(o->f->fl);
		if (++i % 3 == 0)
			fleet_fold_all(o->f->fl);
	}
	return NULL;
}

static void *
order_reader(void *arg)
{
	struct order_fx *o = arg;
	struct node_view v;
	json_int_t	 last = 0;

	while (!o->stop) {
		char	  *hb = NULL;
		json_int_t up;

		if (fleet_get(o->f->fl, o->id, time(NULL), &v, &hb) != 0)
			continue;
		up = uptime_of(hb);
		free(hb);
		if (up < last)
			o->backwards++;
		last = up;
		o->reads++;
	}
	return NULL;
}

/*
 * While heartbeats arrive and flushes run back to back, a reader sees each
 * heartbeat in memory, in flight or in the store, and never an older one
 * after a newer one.
 */
static void
readers_never_see_an_older_heartbeat_while_flushing(void **state)
{
	struct cct_fx	*f = *state;
	struct cct_node	 n;
	struct order_fx	 o;
	pthread_t	 t[3];
	char		*hb = NULL;
	struct node_view v;

	enroll_approved(f, &n, "web-1");
	assert_int_equal(send_uptime(f, n.id, 0), 0);
	memset(&o, 0, sizeof(o));
	o.f = f;
	o.id = n.id;
	assert_int_equal(pthread_create(&t[0], NULL, order_flusher, &o), 0);
	assert_int_equal(pthread_create(&t[1], NULL, order_reader, &o), 0);
	assert_int_equal(pthread_create(&t[2], NULL, order_sender, &o), 0);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(o.sent, 3000);
	assert_true(o.reads > 0);
	assert_int_equal(o.backwards, 0);
	fleet_flush(f->fl);
	cct_reopen(f);
	assert_int_equal(fleet_get(f->fl, n.id, time(NULL), &v, &hb), 0);
	assert_int_equal(uptime_of(hb), 3000);
	free(hb);
}

/* Heartbeats in the log now. */
static int
log_rows(struct cct_fx *f)
{
	return (int)cct_db_int(f,
	    "SELECT coalesce(sum(n), 0) FROM heartbeat_chunks");
}

/*
 * The log stays bounded (for a small fleet: 4,096 heartbeats kept, folded
 * past 8,192, plus a round): past it the oldest are folded into nodes, and
 * every read still gives each node's latest heartbeat, also for the nodes
 * that went quiet long ago (the fold copies theirs into nodes); a clean
 * stop empties the log. 50 nodes: a fold's line falls inside a chunk.
 */
static void
heartbeat_log_is_folded_past_its_limit(void **state)
{
	struct cct_fx *f = *state;
	enum { NODES = 50, ROUNDS = 300, QUIET_AFTER = 20 };
	struct cct_node *n;
	struct node_view v;
	char		*hb;
	int		 most = 0;

	CCT_SQLITE_ONLY(); /* before anything is allocated: it returns */
	n = calloc(NODES, sizeof(*n));
	assert_non_null(n);
	for (int i = 0; i < NODES; i++)
		enroll_approved(f, &n[i], "n");
	for (int r = 1; r <= ROUNDS; r++) {
		for (int i = 0; i < NODES; i++)
			if (i % 5 != 0 || r <= QUIET_AFTER)
				assert_int_equal(send_uptime(f, n[i].id, r), 0);
		fleet_flush(f->fl);
		if (log_rows(f) > most)
			most = log_rows(f);
		/* Each node's latest, wherever it is now. */
		for (int i = 0; i < NODES; i++) {
			hb = NULL;
			assert_int_equal(
			    fleet_get(f->fl, n[i].id, time(NULL), &v, &hb), 0);
			assert_int_equal(uptime_of(hb),
			    i % 5 != 0 ? r :
					 (r < QUIET_AFTER ? r : QUIET_AFTER));
			free(hb);
		}
	}
	assert_true(most > 8192 - NODES);      /* it was used */
	assert_true(most <= 8192 + 2 * NODES); /* and bounded */
	assert_true(log_rows(f) < 8192);       /* folded */
	assert_true(log_rows(f) >= 4096);      /* down to what it keeps */
	/* The quiet nodes' heartbeats were folded out of the log into nodes. */
	{
		char sql[128];

		snprintf(sql, sizeof(sql),
		    "SELECT count(*) FROM nodes WHERE "
		    "json_extract(heartbeat, '$.uptime_secs') = %d",
		    QUIET_AFTER);
		assert_int_equal(cct_db_int(f, sql), NODES / 5);
	}
	cct_reopen(f);
	assert_int_equal(log_rows(f), 0); /* a clean stop folds it all */
	for (int i = 0; i < NODES; i++) {
		hb = NULL;
		assert_int_equal(fleet_get(f->fl, n[i].id, time(NULL), &v, &hb),
		    0);
		assert_int_equal(uptime_of(hb),
		    i % 5 != 0 ? ROUNDS : QUIET_AFTER);
		free(hb);
	}
	free(n);
}

/*
 * After a crash the log is replayed over nodes: what a start knows (time,
 * hostname, version, the facts attention takes) comes from the newest
 * heartbeat of each node, and the document is read from the log.
 */
static void
heartbeat_log_is_replayed_at_start(void **state)
{
	struct cct_fx	*f = *state;
	struct cct_node	 a;
	struct node_view v;
	struct store	*st;
	struct hb_write	 w[3];
	char		*hb = NULL, err[256];
	const char *json[3] = { "{\"uptime_secs\":5}", "{\"uptime_secs\":6}",
		"{}" };
	const char *host[3] = { "older", "web-1-crashed", "ghost" };
	const char *ver[3] = { "0.0.9", "0.2.0", "0" };

	CCT_SQLITE_ONLY();

	enroll_approved(f, &a, "web-1");
	assert_int_equal(
	    cct_send_heartbeat(f->fl, a.id, "web-1", "up", "active"), 0);
	cct_reopen(f);
	assert_int_equal(log_rows(f), 0);
	/* What a crash leaves: heartbeats the fleet never folded. */
	cct_close(f);
	memset(w, 0, sizeof(w));
	for (int i = 0; i < 3; i++) {
		snprintf(w[i].node_id, sizeof(w[i].node_id), "%s",
		    i < 2 ? a.id : "00000000-0000-4000-8000-000000000000");
		w[i].at = i < 2 ? (int64_t)time(NULL) - 5 + 5 * i : 1;
		w[i].json = (char *)(uintptr_t)json[i];
		w[i].hostname = (char *)(uintptr_t)host[i];
		w[i].agent_version = (char *)(uintptr_t)ver[i];
		w[i].cloudflare = i == 1 ? 2 : 1;
		w[i].services_down = i == 1;
	}
	st = store_open(f->db.path, err, sizeof(err));
	assert_non_null(st);
	assert_int_equal(store_heartbeats(st, w, 3), 0);
	store_close(st);
	cct_open(f, &cct_thr);
	assert_int_equal(log_rows(f), 3);
	assert_int_equal(fleet_get(f->fl, a.id, time(NULL), &v, &hb), 0);
	assert_string_equal(v.hostname, "web-1-crashed");
	assert_string_equal(v.agent_version, "0.2.0");
	assert_true(v.reasons & R_CLOUDFLARE_DOWN);
	assert_true(v.reasons & R_SERVICES_DOWN);
	assert_int_equal(uptime_of(hb), 6);
	free(hb);
	assert_int_equal(fleet_size(f->fl), 1); /* the ghost's: no node */
	cct_reopen(f);
	assert_int_equal(log_rows(f), 0);
	hb = NULL;
	assert_int_equal(fleet_get(f->fl, a.id, time(NULL), &v, &hb), 0);
	assert_string_equal(v.hostname, "web-1-crashed");
	assert_int_equal(uptime_of(hb), 6);
	free(hb);
}

/* ---- views ---------------------------------------------------------------------------- */

static void
fleet_get_unknown_is_minus_one_and_list_empty_fleet(void **state)
{
	struct cct_fx	*f = *state;
	struct node_view v, *all;
	char		*hb = (char *)1;
	char	       **hbs = NULL;
	size_t		 n = 99;
	char		 id[UUID_STRLEN + 1];

	uuid_generate(id);
	assert_int_equal(fleet_get(f->fl, id, time(NULL), &v, &hb), -1);
	assert_null(hb);
	all = fleet_list(f->fl, time(NULL), &n, &hbs);
	assert_non_null(all);
	assert_int_equal(n, 0);
	free(all);
	free(hbs);
}

static void
fleet_list_copies_heartbeats(void **state)
{
	struct cct_fx	 *f = *state;
	struct cct_node	  a, b;
	struct node_view *all;
	char		**hbs = NULL;
	size_t		  n = 0;
	int		  seen_hb = 0, seen_null = 0;

	enroll_approved(f, &a, "a");
	enroll_approved(f, &b, "b");
	assert_int_equal(cct_send_heartbeat(f->fl, a.id, "a", "up", "active"),
	    0);
	all = fleet_list(f->fl, time(NULL), &n, &hbs);
	assert_non_null(all);
	assert_non_null(hbs);
	assert_int_equal(n, 2);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(all[i].node_id, a.id) == 0) {
			assert_non_null(hbs[i]);
			seen_hb = 1;
		} else {
			assert_null(hbs[i]);
			seen_null = 1;
		}
		free(hbs[i]);
	}
	assert_true(seen_hb && seen_null);
	free(hbs);
	free(all);
}

/* ---- the dashboard's page: kept order and counts against a brute force */

static int
ref_cmp(const void *a, const void *b)
{
	const struct node_view *x = a, *y = b;
	int			c;

	if (x->level != y->level)
		return (int)y->level - (int)x->level;
	if ((c = strcmp(x->hostname, y->hostname)) != 0)
		return c;
	return strcmp(x->node_id, y->node_id);
}

static int
ref_match(const struct node_view *v, int level, const char *q)
{
	if (level >= 0 && (int)v->level != level)
		return 0;
	return q == NULL || strcasestr(v->hostname, q) != NULL ||
	    strcasestr(v->node_id, q) != NULL ||
	    strcasestr(v->os_profile, q) != NULL;
}

/*
 * Every page of fleet_page(now, level, q) equals the page of a full copy
 * (fleet_list, attention computed afresh at now) filtered and sorted here.
 */
static void
check_pages(struct cct_fx *f, int64_t now, int level, const char *q, size_t per)
{
	struct node_view   *all, *ref, *pg;
	struct fleet_counts c;
	size_t		    n, nref = 0, got, lv[3] = { 0, 0, 0 };

	all = fleet_list(f->fl, now, &n, NULL);
	assert_non_null(all);
	ref = calloc(n + 1, sizeof(*ref));
	assert_non_null(ref);
	for (size_t i = 0; i < n; i++) {
		lv[all[i].level]++;
		if (ref_match(&all[i], level, q))
			ref[nref++] = all[i];
	}
	qsort(ref, nref, sizeof(*ref), ref_cmp);
	for (size_t first = 0; first <= nref; first += per) {
		pg = fleet_page(f->fl, now, level, q, NULL, NULL, first, per,
		    &got, &c);
		assert_non_null(pg);
		assert_int_equal(c.total, n);
		for (int l = 0; l < 3; l++)
			assert_int_equal(c.by_level[l], lv[l]);
		assert_int_equal(c.matched, nref);
		assert_int_equal(got, nref - first < per ? nref - first : per);
		for (size_t i = 0; i < got; i++) {
			assert_string_equal(pg[i].node_id,
			    ref[first + i].node_id);
			assert_int_equal(pg[i].level, ref[first + i].level);
			assert_int_equal(pg[i].reasons, ref[first + i].reasons);
		}
		free(pg);
	}
	free(ref);
	free(all);
}

static void
check_all_pages(struct cct_fx *f, int64_t now)
{
	check_pages(f, now, -1, NULL, 37);
	for (int l = LEVEL_GREEN; l <= LEVEL_RED; l++)
		check_pages(f, now, l, NULL, 23);
	check_pages(f, now, -1, "HOST-1", 50);
	check_pages(f, now, LEVEL_YELLOW, "2", 50);
}

static void
dashboard_page_keeps_order_and_counts(void **state)
{
	enum { N = 300, STEPS = 3000 };
	struct cct_fx		*f = *state;
	struct cct_node		*n = calloc(N, sizeof(*n));
	static const char *const hosts[] = { "alpha", "host-1", "host-2",
		"zulu", "host-12" };
	int64_t			 now = time(NULL);
	uint32_t		 seed = 12345;

	assert_non_null(n);
	/* Enrolled out of order; none has a heartbeat yet: all red. */
	for (size_t i = 0; i < N; i++) {
		char   host[32];
		size_t k = i * 7 % N;

		snprintf(host, sizeof(host), "host-%03zu", k);
		enroll_approved(f, &n[k], host);
	}
	check_all_pages(f, now);
	/*
	 * Random heartbeats (hostnames that tie, Cloudflare up or down) and
	 * scans (with and without critical findings), checked as they go.
	 */
	for (int step = 0; step < STEPS; step++) {
		size_t k;
		int    op;

		seed = seed * 1103515245u + 12345u;
		k = (seed >> 8) % N;
		op = (int)((seed >> 20) % 4);
		if (op < 3) {
			const char *h =
			    op == 0 ? hosts[(seed >> 4) % 5] : n[k].host;

			assert_int_equal(
			    cct_send_heartbeat(f->fl, n[k].id, h,
				(seed >> 3) % 5 == 0 ? "down" : "up", "active"),
			    0);
		} else {
			int counts[FINDING_SEVERITIES] = { 0 };

			counts[0] = (seed >> 2) % 3 == 0;
			fleet_scan(f->fl, n[k].id, time(NULL), counts);
		}
		/*
		 * After every change: a misplaced node would be found (and
		 * the order rebuilt) by a later change, hiding the fault.
		 */
		check_pages(f, time(NULL), -1, NULL, N);
		if (step % 500 == 499)
			check_all_pages(f, time(NULL));
	}
	/* Time alone: the heartbeats go stale, then the scans. */
	check_all_pages(f, time(NULL) + cct_thr.heartbeat_stale_secs + 1);
	check_all_pages(f, time(NULL) + cct_thr.scan_stale_secs + 1);
	/* A restart sorts the loaded fleet once. */
	cct_reopen(f);
	check_all_pages(f, time(NULL));
	free(n);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, cct_setup_fleet, cct_teardown)
	const struct CMUnitTest tests[] = {
		T(enroll_with_secret_is_approved_with_43_char_token),
		T(enroll_tokens_are_distinct),
		T(enroll_without_secret_is_pending_without_token),
		T(enroll_again_when_approved_with_token_is_conflict),
		T(enroll_commits_without_holding_the_fleet),
		T(revoke_commits_without_holding_the_fleet),
		T(enroll_again_when_pending_stays_pending),
		T(enroll_pending_then_with_secret_is_approved),
		T(operator_approval_of_pending_node_gives_token_on_next_enroll),
		T(pending_node_token_goes_only_to_its_enroll_key),
		T(pending_with_secret_needs_the_same_enroll_key),
		T(node_first_enrolled_without_key_is_not_bound),
		T(auth_right_token_is_ok),
		T(auth_wrong_null_or_empty_token_is_unauthorized),
		T(auth_overlong_token_is_unauthorized),
		T(heartbeat_auth_records_only_for_the_nodes_own_token),
		T(auth_token_of_node_a_for_node_b_is_forbidden),
		T(auth_token_for_unknown_or_pending_node_is_not_ok),
		T(revoke_makes_token_unauthorized_at_once),
		T(enroll_after_revoke_is_revoked),
		T(deleted_node_leaves_the_views_and_keeps_its_id),
		T(pending_nodes_are_capped_and_rate_limited),
		T(reapproval_gives_new_token_and_old_stays_unauthorized),
		T(revoke_and_reapprove_many_times),
		T(set_status_unknown_node_is_minus_two),
		T(set_status_to_same_status_keeps_token),
		T(revocation_survives_restart),
		T(heartbeat_for_unknown_node_is_rejected),
		T(heartbeat_updates_view_and_attention),
		T(heartbeats_flush_and_survive_restart),
		T(heartbeat_survives_close_without_explicit_flush),
		T(only_the_latest_heartbeat_is_kept),
		T(token_is_stored_only_as_32_byte_hash),
		T(many_nodes_all_authenticate),
		T(concurrent_enroll_auth_and_heartbeats_are_consistent),
		T(enroll_fails_cleanly_when_store_insert_fails),
		T(revoke_fails_cleanly_when_store_update_fails),
		T(heartbeat_flush_failure_is_retried),
		T(written_heartbeat_is_read_from_the_store),
		T(heartbeat_log_is_folded_past_its_limit),
		T(heartbeat_log_is_replayed_at_start),
		T(readers_never_see_an_older_heartbeat_while_flushing),
		T(fleet_get_unknown_is_minus_one_and_list_empty_fleet),
		T(fleet_list_copies_heartbeats),
		T(dashboard_page_keeps_order_and_counts),
	};
#undef T

	if (sodium_init() < 0)
		return 1;
	log_set_level("error");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
