/*
 * Unit tests of command-center/store.c on a temporary SQLite file: schema
 * creation and migration, node rows, status changes, heartbeat batches.
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
#include <sqlite3.h>

#include "cc_testlib.h"
#include "../../command-center/test_hooks.h"
#include "log.h"

#define ID_A "0b5e3c1a-7d2f-4c3e-9a1b-2c3d4e5f6a7b"
#define ID_B "7c9e6679-7425-40de-944b-e07fc1f90ae7"
#define ID_C "1d2c3b4a-0000-4000-8000-00000000000c"
#define ID_X "ffffffff-ffff-4fff-bfff-ffffffffffff"

/* ---- collecting loaded rows ---------------------------------------------------- */

#define MAXREC 16

struct loaded {
	struct node_rec r[MAXREC];
	size_t		n;
	int		stop_after; /* return -1 after this many (0: never) */
};

static char *
dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static int
collect(const struct node_rec *rec, void *arg)
{
	struct loaded	*l = arg;
	struct node_rec *c;

	if (l->n == MAXREC)
		return -1;
	c = &l->r[l->n++];
	*c = *rec;
	c->hostname = dup_or_null(rec->hostname);
	c->os_profile = dup_or_null(rec->os_profile);
	c->agent_version = dup_or_null(rec->agent_version);
	c->heartbeat = dup_or_null(rec->heartbeat);
	if (l->stop_after > 0 && (int)l->n >= l->stop_after)
		return -1;
	return 0;
}

static void
loaded_free(struct loaded *l)
{
	for (size_t i = 0; i < l->n; i++)
		node_rec_free(&l->r[i]);
	l->n = 0;
}

static const struct node_rec *
loaded_find(const struct loaded *l, const char *id)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->r[i].node_id, id) == 0)
			return &l->r[i];
	return NULL;
}

/* Loads every node into l, expecting want of them (-1: any number). */
static void
load_all(struct cct_fx *f, struct loaded *l, int want)
{
	memset(l, 0, sizeof(*l));
	assert_int_equal(store_load_nodes(f->st, collect, l), 0);
	if (want != -1 && l->n != (size_t)want)
		fail_msg("%zu nodes loaded, want %d", l->n, want);
}

static struct node_rec
make_rec(const char *id, const char *host, enum node_status st, int with_token,
    unsigned char fill)
{
	struct node_rec r;

	memset(&r, 0, sizeof(r));
	snprintf(r.node_id, sizeof(r.node_id), "%s", id);
	r.hostname = (char *)(uintptr_t)host;
	r.os_profile = (char *)(uintptr_t) "debian-12";
	r.agent_version = (char *)(uintptr_t) "0.1.0";
	r.status = st;
	r.enrolled_at = 1795773600;
	if (with_token) {
		r.has_token = 1;
		memset(r.token_hash, fill, TOKEN_HASH_LEN);
		r.token_hash[0] = 0; /* a NUL inside the blob */
		r.token_hash[TOKEN_HASH_LEN - 1] = 0xff;
	}
	return r;
}

/* Opens the store and inserts each node of a NULL-ended list. */
static void
open_with(struct cct_fx *f, ...)
{
	struct node_rec *r;
	va_list		 ap;

	cct_open(f, NULL);
	va_start(ap, f);
	while ((r = va_arg(ap, struct node_rec *)) != NULL)
		assert_int_equal(store_node_insert(f->st, r), 0);
	va_end(ap);
}

/* ---- deleted nodes, enroll peers, delivery leases ------------------------------- */

static void
store_deleted_node_keeps_its_row_without_a_token(void **state)
{
	struct cct_fx	      *f = *state;
	struct node_rec	       a = make_rec(ID_A, "web-1", NODE_APPROVED, 1, 1);
	struct node_rec	       b = make_rec(ID_B, "db-1", NODE_PENDING, 0, 0);
	struct loaded	       l;
	const struct node_rec *r;
	char		       peer[64];

	b.enroll_peer = "192.0.2.7";
	open_with(f, &a, &b, NULL);
	assert_int_equal(store_node_set_status(f->st, ID_A, NODE_DELETED, NULL),
	    0);
	cct_reopen(f);
	load_all(f, &l, 2);
	r = loaded_find(&l, ID_A);
	assert_int_equal(r->status, NODE_DELETED);
	assert_int_equal(r->has_token, 0);
	assert_int_equal(loaded_find(&l, ID_B)->status, NODE_PENDING);
	loaded_free(&l);
	assert_int_equal(
	    store_node_enroll_peer(f->st, ID_B, peer, sizeof(peer)), 0);
	assert_string_equal(peer, "192.0.2.7");
	assert_int_equal(
	    store_node_enroll_peer(f->st, ID_A, peer, sizeof(peer)), 0);
	assert_string_equal(peer, "");
	/* The id stays taken: a new row under it is refused. */
	assert_int_equal(store_node_insert(f->st, &a), -1);
}

static void
count_node(const char *node_id, void *arg)
{
	(void)node_id;
	(*(int *)arg)++;
}

/* What store_on_queued told, for one node. */
struct queued_tally {
	int  sum;
	int  calls;
	char other[37]; /* a node it should not have named */
};

static void
tally_queued(const char *node_id, int delta, void *arg)
{
	struct queued_tally *t = arg;

	if (strcmp(node_id, ID_A) == 0) {
		t->sum += delta;
		t->calls++;
	} else
		snprintf(t->other, sizeof(t->other), "%s", node_id);
}

static void
pending_of(const char *node_id, int n, void *arg)
{
	if (strcmp(node_id, ID_A) == 0)
		*(int *)arg = n;
}

/* The store's own count of ID_A's queued commands. */
static int
queued_in_store(struct store *st)
{
	int n = 0;

	assert_int_equal(store_commands_pending(st, pending_of, &n), 0);
	return n;
}

/* A command for ID_A queued at 100, expiring at expires_at. */
static void
queue_one(struct store *st, const char *id, int64_t expires_at)
{
	assert_int_equal(cct_queue(st, id, ID_A, 100, expires_at), 0);
}

/*
 * The pending count has one source: every change the store makes to a
 * node's queued commands is told through store_on_queued, once, so the
 * sum of what it told is always the store's own count.
 */
static void
store_tells_each_change_of_the_queued_count(void **state)
{
	struct cct_fx	   *f = *state;
	struct node_rec	    a = make_rec(ID_A, "web-1", NODE_APPROVED, 1, 1);
	struct queued_tally t;
	struct cmd_wire	   *w = NULL;
	struct cmd_result   res;
	size_t		    n = 0;
	int		    calls;

	memset(&t, 0, sizeof(t));
	cct_open(f, NULL);
	store_on_queued(f->st, tally_queued, &t);
	assert_int_equal(store_node_insert(f->st, &a), 0);
	queue_one(f->st, "11111111-2222-4333-8444-000000000001", 1000);
	queue_one(f->st, "11111111-2222-4333-8444-000000000002", 1000);
	queue_one(f->st, "11111111-2222-4333-8444-000000000003", 1000);
	assert_int_equal(t.sum, 3);
	assert_int_equal(queued_in_store(f->st), 3);
	/* A command for an unknown node is not stored, and not counted. */
	assert_int_equal(cct_queue(f->st,
			     "11111111-2222-4333-8444-000000000009", ID_B, 0,
			     0),
	    -2);
	assert_string_equal(t.other, "");

	/* Two delivered: -2. */
	assert_int_equal(store_commands_deliver(f->st, ID_A, 100, 2, &w, &n),
	    0);
	assert_int_equal(n, 2);
	assert_int_equal(t.sum, 1);
	assert_int_equal(queued_in_store(f->st), 1);
	/* The answer to one never left: it goes back, +1; twice, no change. */
	assert_int_equal(store_commands_undeliver(f->st, ID_A, &w[0], 1), 1);
	assert_int_equal(t.sum, 2);
	calls = t.calls;
	assert_int_equal(store_commands_undeliver(f->st, ID_A, &w[0], 1), 0);
	assert_int_equal(t.calls, calls);
	assert_int_equal(queued_in_store(f->st), 2);

	/* A result for a command still queued (never polled): -1. */
	memset(&res, 0, sizeof(res));
	res.node_id = ID_A;
	res.command_id = w[0].command_id;
	res.status = "ok";
	res.now = 150;
	assert_int_equal(store_command_result(f->st, &res), RESULT_STORED);
	assert_true(res.was_queued);
	assert_int_equal(t.sum, 1);
	assert_int_equal(queued_in_store(f->st), 1);
	/* The same result again changes nothing. */
	calls = t.calls;
	assert_int_equal(store_command_result(f->st, &res), RESULT_REPEAT);
	assert_int_equal(t.calls, calls);

	/* The other delivery's lease runs out: queued again, +1. */
	assert_int_equal(store_commands_release(f->st, 100, NULL, NULL), 1);
	assert_int_equal(t.sum, 2);
	assert_int_equal(queued_in_store(f->st), 2);
	/* Past expiry every queued one goes: -2. */
	assert_int_equal(store_commands_expire(f->st, 2000, 600, NULL, NULL),
	    2);
	assert_int_equal(t.sum, 0);
	assert_int_equal(queued_in_store(f->st), 0);
	assert_string_equal(t.other, "");
	cmd_wire_free(w, n);
}

/*
 * A delivery is a lease: a delivered command without a result is queued
 * again once its lease ran out (and all of them at a start), delivered
 * anew with the same id, and timed out, not "expired", past expiry.
 */
static void
store_delivered_commands_are_released_after_their_lease(void **state)
{
	struct cct_fx	*f = *state;
	struct node_rec	 a = make_rec(ID_A, "web-1", NODE_APPROVED, 1, 1);
	const char	*id = "11111111-2222-4333-8444-555555555555";
	struct cmd_wire *w = NULL;
	size_t		 n = 0;
	int		 called = 0;
	char		 sql[160];

	open_with(f, &a, NULL);
	queue_one(f->st, id, 1000);
	assert_int_equal(store_commands_deliver(f->st, ID_A, 100, 8, &w, &n),
	    0);
	assert_int_equal(n, 1);
	cmd_wire_free(w, n);
	/* Delivered at 100: not released for a lease that ends before it. */
	assert_int_equal(store_commands_release(f->st, 99, count_node, &called),
	    0);
	assert_int_equal(called, 0);
	assert_int_equal(
	    store_commands_release(f->st, 100, count_node, &called), 1);
	assert_int_equal(called, 1);
	snprintf(sql, sizeof(sql),
	    "SELECT count(*) FROM commands WHERE status ="
	    " 'queued' AND delivered_at = 100");
	assert_int_equal(cct_db_int(f, sql), 1);
	/* Offered again, the same command. */
	assert_int_equal(store_commands_deliver(f->st, ID_A, 200, 8, &w, &n),
	    0);
	assert_int_equal(n, 1);
	assert_string_equal(w[0].command_id, id);
	cmd_wire_free(w, n);
	/* Its answer failed after the lease took it: nothing goes back. */
	{
		struct cmd_wire one;

		memset(&one, 0, sizeof(one));
		snprintf(one.command_id, sizeof(one.command_id), "%s", id);
		assert_int_equal(store_commands_undeliver(f->st, ID_A, &one, 1),
		    1);
		assert_int_equal(store_commands_undeliver(f->st, ID_A, &one, 1),
		    0);
		assert_int_equal(
		    store_commands_deliver(f->st, ID_A, 200, 8, &w, &n), 0);
		assert_int_equal(n, 1);
		cmd_wire_free(w, n);
	}
	/* A start releases every delivery at once. */
	assert_int_equal(store_commands_release(f->st, INT64_MAX, NULL, NULL),
	    1);
	/* Past expiry a released command is a timeout, not "expired". */
	called = 0;
	assert_int_equal(
	    store_commands_expire(f->st, 1000, 600, count_node, &called), 1);
	assert_int_equal(called, 1);
	assert_int_equal(cct_db_int(f,
			     "SELECT count(*) FROM commands WHERE"
			     " status = 'timeout' AND started_at IS NULL"),
	    1);
}

/*
 * The agent runs only rising seqs: a command delivered whose answer was
 * lost (its replica died) must not be overtaken by newer ones of its node,
 * or it would be refused as a replay when its lease puts it back. Nothing
 * is delivered past it until then; then all of them, in order.
 */
static void
store_delivers_nothing_past_a_command_still_out(void **state)
{
	struct cct_fx	 *f = *state;
	struct node_rec	  a = make_rec(ID_A, "web-1", NODE_APPROVED, 1, 1);
	struct node_rec	  b = make_rec(ID_B, "web-2", NODE_APPROVED, 1, 1);
	struct cmd_wire	 *w = NULL;
	struct cmd_result res;
	size_t		  n = 0;
	static const char *const id[3] = {
		"11111111-2222-4333-8444-000000000011",
		"11111111-2222-4333-8444-000000000012",
		"11111111-2222-4333-8444-000000000013",
	};

	open_with(f, &a, NULL);
	assert_int_equal(store_node_insert(f->st, &b), 0);
	for (int i = 0; i < 3; i++)
		queue_one(f->st, id[i], 1000);
	assert_int_equal(cct_queue(f->st, NULL, ID_B, 100, 1000), 0);
	/* Seq 1 goes out; its answer is lost. */
	assert_int_equal(store_commands_deliver(f->st, ID_A, 100, 1, &w, &n),
	    0);
	assert_int_equal(n, 1);
	cmd_wire_free(w, n);
	/* The next poll gets nothing past it; another node is not held. */
	assert_int_equal(store_commands_deliver(f->st, ID_A, 101, 8, &w, &n),
	    0);
	assert_int_equal(n, 0);
	cmd_wire_free(w, n);
	assert_int_equal(store_commands_deliver(f->st, ID_B, 101, 8, &w, &n),
	    0);
	assert_int_equal(n, 1);
	cmd_wire_free(w, n);
	/* Its lease puts it back: then all three, in order. */
	assert_int_equal(store_commands_release(f->st, 100, NULL, NULL), 1);
	assert_int_equal(store_commands_deliver(f->st, ID_A, 102, 8, &w, &n),
	    0);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(w[i].command_id, id[i]);
	cmd_wire_free(w, n);
	/* A result frees the node: one queued after it goes out at once. */
	queue_one(f->st, NULL, 1000);
	assert_int_equal(store_commands_deliver(f->st, ID_A, 103, 8, &w, &n),
	    0);
	assert_int_equal(n, 0);
	cmd_wire_free(w, n);
	for (int i = 0; i < 3; i++) {
		memset(&res, 0, sizeof(res));
		res.node_id = ID_A;
		res.command_id = id[i];
		res.status = "ok";
		res.now = 104;
		assert_int_equal(store_command_result(f->st, &res),
		    RESULT_STORED);
	}
	assert_int_equal(store_commands_deliver(f->st, ID_A, 105, 8, &w, &n),
	    0);
	assert_int_equal(n, 1);
	cmd_wire_free(w, n);
}

/* ---- schema ---------------------------------------------------------------------- */

static void
store_open_creates_schema_in_wal_mode(void **state)
{
	struct cct_fx *f = *state;
	struct loaded  l;

	CCT_SQLITE_ONLY();

	cct_open(f, NULL);
	assert_true(access(f->db.path, F_OK) == 0);
	assert_true(cct_db_int(f, "PRAGMA user_version") >= 1);
	assert_int_equal(cct_db_int(f,
			     "SELECT count(*) FROM sqlite_master "
			     "WHERE type = 'table' AND name = 'nodes'"),
	    1);
	assert_int_equal(cct_db_int(f, "SELECT count(*) FROM nodes"), 0);
	assert_int_equal(cct_db_int(f,
			     "SELECT journal_mode = 'wal' FROM "
			     "pragma_journal_mode"),
	    1);
	assert_int_equal(cct_db_int(f, "PRAGMA page_size"), 16384);
	load_all(f, &l, 0);
}

/* A database made with 4 KiB pages (before 16 KiB) is used as it is. */
static void
store_keeps_the_page_size_of_an_existing_database(void **state)
{
	struct cct_fx  *f = *state;
	struct node_rec r = make_rec(ID_A, "web-1", NODE_APPROVED, 1, 0x11);
	struct loaded	l;
	sqlite3	       *h = NULL;

	CCT_SQLITE_ONLY();

	h = cct_db_open(f);
	assert_int_equal(
	    sqlite3_exec(h,
		"PRAGMA page_size = 4096;"
		"PRAGMA journal_mode = WAL; CREATE TABLE t (x); DROP TABLE t;",
		NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(h);
	assert_int_equal(cct_db_int(f, "PRAGMA page_size"), 4096);
	open_with(f, &r, NULL);
	cct_reopen(f);
	assert_int_equal(cct_db_int(f, "PRAGMA page_size"), 4096);
	load_all(f, &l, 1);
	assert_string_equal(l.r[0].node_id, ID_A);
	loaded_free(&l);
}

static void
store_open_twice_is_idempotent(void **state)
{
	struct cct_fx  *f = *state;
	struct node_rec r = make_rec(ID_A, "web-1", NODE_APPROVED, 1, 0x11);
	long long	v1, tables1;
	struct loaded	l;

	CCT_SQLITE_ONLY();

	open_with(f, &r, NULL);
	v1 = cct_db_int(f, "PRAGMA user_version");
	tables1 = cct_db_int(f, "SELECT count(*) FROM sqlite_master");
	cct_reopen(f);
	cct_reopen(f);
	assert_int_equal(cct_db_int(f, "PRAGMA user_version"), v1);
	assert_int_equal(cct_db_int(f, "SELECT count(*) FROM sqlite_master"),
	    tables1);
	load_all(f, &l, 1);
	assert_string_equal(l.r[0].node_id, ID_A);
	loaded_free(&l);
}

static void
store_refuses_database_newer_than_program(void **state)
{
	struct cct_fx  *f = *state;
	struct node_rec r = make_rec(ID_A, "web-1", NODE_PENDING, 0, 0);
	char		err[256] = "";

	CCT_SQLITE_ONLY();

	open_with(f, &r, NULL);
	cct_close(f);
	cct_db_exec(f, "PRAGMA user_version = 999");
	f->st = store_open(f->db.path, err, sizeof(err));
	assert_null(f->st);
	assert_non_null(strstr(err, "999"));
	/* Nothing was touched. */
	assert_int_equal(cct_db_int(f, "PRAGMA user_version"), 999);
	assert_int_equal(cct_db_int(f, "SELECT count(*) FROM nodes"), 1);
}

static void
store_open_in_missing_directory_fails_with_message(void **state)
{
	struct cct_fx *f = *state;
	char	       p[400], err[256] = "";

	CCT_SQLITE_ONLY();

	snprintf(p, sizeof(p), "%s/no/such/dir/x.db", f->db.dir);
	assert_null(store_open(p, err, sizeof(err)));
	assert_true(err[0] != '\0');
}

static void
store_open_of_non_database_file_fails(void **state)
{
	struct cct_fx *f = *state;
	FILE	      *fp = fopen(f->db.path, "w");
	char	       err[256] = "";

	CCT_SQLITE_ONLY();

	assert_non_null(fp);
	for (int i = 0; i < 200; i++)
		fputs("this is not an SQLite database at all\n", fp);
	fclose(fp);
	assert_null(store_open(f->db.path, err, sizeof(err)));
	assert_true(err[0] != '\0');
}

static void
store_close_accepts_null(void **state)
{
	(void)state;
	store_close(NULL);
	node_rec_free(NULL);
}

/* ---- nodes ---------------------------------------------------------------------- */

static void
store_node_insert_and_load_round_trip(void **state)
{
	struct cct_fx  *f = *state;
	struct node_rec a = make_rec(ID_A, "web-1", NODE_APPROVED, 1, 0x5a);
	struct node_rec b = make_rec(ID_B, "db-1", NODE_PENDING, 0, 0);
	struct node_rec c = make_rec(ID_C, "old", NODE_REVOKED, 0, 0);
	const struct node_rec *ra, *rb, *rc;
	struct loaded	       l;

	b.os_profile = (char *)(uintptr_t) "arch";
	b.agent_version = (char *)(uintptr_t) "0.2.0-rc1";
	b.enrolled_at = 1700000000;
	open_with(f, &a, &b, &c, NULL);
	cct_reopen(f);
	load_all(f, &l, 3);
	ra = loaded_find(&l, ID_A);
	rb = loaded_find(&l, ID_B);
	rc = loaded_find(&l, ID_C);
	assert_non_null(ra);
	assert_non_null(rb);
	assert_non_null(rc);
	assert_string_equal(ra->hostname, "web-1");
	assert_string_equal(ra->os_profile, "debian-12");
	assert_string_equal(ra->agent_version, "0.1.0");
	assert_int_equal(ra->status, NODE_APPROVED);
	assert_int_equal(ra->has_token, 1);
	assert_memory_equal(ra->token_hash, a.token_hash, TOKEN_HASH_LEN);
	assert_int_equal(ra->enrolled_at, 1795773600);
	assert_int_equal(ra->last_heartbeat_at, 0);
	assert_int_equal(ra->last_scan_at, 0);
	assert_null(ra->heartbeat);
	for (int i = 0; i < FINDING_SEVERITIES; i++)
		assert_int_equal(ra->findings[i], 0);
	assert_string_equal(rb->hostname, "db-1");
	assert_string_equal(rb->os_profile, "arch");
	assert_string_equal(rb->agent_version, "0.2.0-rc1");
	assert_int_equal(rb->status, NODE_PENDING);
	assert_int_equal(rb->has_token, 0);
	assert_int_equal(rb->enrolled_at, 1700000000);
	assert_int_equal(rc->status, NODE_REVOKED);
	assert_int_equal(rc->has_token, 0);
	loaded_free(&l);
}

static void
store_keeps_hostile_strings_verbatim(void **state)
{
	struct cct_fx  *f = *state;
	const char     *host = "x'); DROP TABLE nodes; -- <script>\"\xc3\xa9";
	struct node_rec a = make_rec(ID_A, host, NODE_PENDING, 0, 0);
	struct loaded	l;

	open_with(f, &a, NULL);
	load_all(f, &l, 1);
	assert_string_equal(l.r[0].hostname, host);
	loaded_free(&l);
}

static void
store_duplicate_insert_fails_and_keeps_first(void **state)
{
	struct cct_fx  *f = *state;
	struct node_rec a = make_rec(ID_A, "first", NODE_APPROVED, 1, 0x22);
	struct node_rec dup = make_rec(ID_A, "second", NODE_PENDING, 0, 0);
	struct loaded	l;

	open_with(f, &a, NULL);
	assert_int_equal(store_node_insert(f->st, &dup), -1);
	load_all(f, &l, 1);
	assert_string_equal(l.r[0].hostname, "first");
	assert_int_equal(l.r[0].status, NODE_APPROVED);
	assert_int_equal(l.r[0].has_token, 1);
	assert_memory_equal(l.r[0].token_hash, a.token_hash, TOKEN_HASH_LEN);
	loaded_free(&l);
	/* The statement is usable again after the failure. */
	dup = make_rec(ID_B, "other", NODE_PENDING, 0, 0);
	assert_int_equal(store_node_insert(f->st, &dup), 0);
	load_all(f, &l, 2);
	loaded_free(&l);
}

static void
store_node_set_status_updates_status_and_token(void **state)
{
	struct cct_fx	      *f = *state;
	struct node_rec	       a = make_rec(ID_A, "web-1", NODE_PENDING, 0, 0);
	unsigned char	       th[TOKEN_HASH_LEN];
	const struct node_rec *r;
	struct loaded	       l;

	for (int i = 0; i < TOKEN_HASH_LEN; i++)
		th[i] = (unsigned char)(i * 7 + 1);
	open_with(f, &a, NULL);
	assert_int_equal(store_node_set_status(f->st, ID_A, NODE_APPROVED, th),
	    0);
	cct_reopen(f);
	load_all(f, &l, -1);
	r = loaded_find(&l, ID_A);
	assert_non_null(r);
	assert_int_equal(r->status, NODE_APPROVED);
	assert_int_equal(r->has_token, 1);
	assert_memory_equal(r->token_hash, th, TOKEN_HASH_LEN);
	loaded_free(&l);
	assert_int_equal(store_node_set_status(f->st, ID_A, NODE_REVOKED, NULL),
	    0);
	cct_reopen(f);
	load_all(f, &l, -1);
	assert_int_equal(l.r[0].status, NODE_REVOKED);
	assert_int_equal(l.r[0].has_token, 0);
	loaded_free(&l);
	assert_int_equal(cct_db_int(f, "SELECT token_hash IS NULL FROM nodes"),
	    1);
}

static void
store_node_set_status_unknown_id_fails(void **state)
{
	struct cct_fx  *f = *state;
	struct node_rec a = make_rec(ID_A, "web-1", NODE_PENDING, 0, 0);
	struct loaded	l;

	cct_open(f, NULL);
	assert_int_equal(
	    store_node_set_status(f->st, ID_X, NODE_APPROVED, NULL), -1);
	assert_int_equal(store_node_insert(f->st, &a), 0);
	assert_int_equal(store_node_set_status(f->st, ID_X, NODE_REVOKED, NULL),
	    -1);
	load_all(f, &l, 1);
	assert_int_equal(l.r[0].status, NODE_PENDING);
	loaded_free(&l);
}

/* ---- heartbeats -------------------------------------------------------------------- */

/* The stored heartbeat of id at seq (0: nodes), checked against want. */
static void
assert_stored_hb(struct cct_fx *f, const char *id, int64_t seq,
    const char *want)
{
	char *json = (char *)(uintptr_t) "sentinel";

	assert_int_equal(store_node_heartbeat(f->st, id, seq, &json), 0);
	if (want == NULL)
		assert_null(json);
	else
		assert_string_equal(json, want);
	free(json);
}

static void
hb_write_set(struct hb_write *w, const char *id, int64_t at, const char *json,
    const char *host, const char *ver)
{
	memset(w, 0, sizeof(*w));
	snprintf(w->node_id, sizeof(w->node_id), "%s", id);
	w->at = at;
	w->json = (char *)(uintptr_t)json;
	w->hostname = (char *)(uintptr_t)host;
	w->agent_version = (char *)(uintptr_t)ver;
}

struct logged {
	size_t		 n;
	struct hb_logged r[8];
	char		 host[8][32];
};

static int
collect_log(const struct hb_logged *l, void *arg)
{
	struct logged *g = arg;

	if (g->n == 8)
		return -1;
	g->r[g->n] = *l;
	snprintf(g->host[g->n], sizeof(g->host[0]), "%s", l->hostname);
	g->r[g->n].hostname = g->host[g->n];
	g->r[g->n].agent_version = NULL; /* borrowed: gone */
	g->n++;
	return 0;
}

/*
 * Heartbeats are appended to the log (nodes untouched), read back by
 * their number, replayed in order after a reopen, and folded into nodes.
 */
static void
store_heartbeats_append_then_fold(void **state)
{
	struct cct_fx	      *f = *state;
	struct node_rec	       a = make_rec(ID_A, "web-1", NODE_APPROVED, 1, 1);
	struct node_rec	       b = make_rec(ID_B, "db-1", NODE_APPROVED, 1, 2);
	struct node_rec	       c = make_rec(ID_C, "idle", NODE_APPROVED, 1, 3);
	struct hb_write	       w[2];
	struct hb_fold	       fold;
	int64_t		       cut;
	struct logged	       g;
	const struct node_rec *r;
	struct loaded	       l;
	char		      *json;

	CCT_SQLITE_ONLY();

	open_with(f, &a, &b, &c, NULL);
	hb_write_set(&w[0], ID_A, 1795773601, "{\"hostname\":\"web-1b\"}",
	    "web-1b", "0.1.1");
	w[0].cloudflare = CF_DOWN;
	w[0].services_down = 1;
	hb_write_set(&w[1], ID_B, 1795773602, "{\"hostname\":\"db-1\"}", "db-1",
	    "0.1.0");
	assert_int_equal(store_heartbeats(f->st, w, 2), 0);
	assert_true(w[0].seq > 0 && w[1].seq == w[0].seq + 1);
	assert_int_equal(cct_db_int(f,
			     "SELECT sum(n) FROM "
			     "heartbeat_chunks"),
	    2);
	cct_reopen(f);
	/* nodes is untouched; the log has both, oldest first. */
	load_all(f, &l, -1);
	r = loaded_find(&l, ID_A);
	assert_int_equal(r->last_heartbeat_at, 0);
	assert_string_equal(r->hostname, "web-1");
	assert_null(r->heartbeat);
	loaded_free(&l);
	memset(&g, 0, sizeof(g));
	assert_int_equal(store_heartbeat_log(f->st, collect_log, &g), 0);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.r[0].seq, w[0].seq);
	assert_string_equal(g.r[0].node_id, ID_A);
	assert_int_equal(g.r[0].at, 1795773601);
	assert_string_equal(g.r[0].hostname, "web-1b");
	assert_int_equal(g.r[0].cloudflare, CF_DOWN);
	assert_int_equal(g.r[0].services_down, 1);
	assert_string_equal(g.r[1].node_id, ID_B);
	assert_stored_hb(f, ID_A, w[0].seq, "{\"hostname\":\"web-1b\"}");
	assert_stored_hb(f, ID_B, w[1].seq, "{\"hostname\":\"db-1\"}");
	assert_stored_hb(f, ID_A, 0, NULL); /* not folded yet */
	/* A heartbeat is read only for its own node. */
	json = NULL;
	assert_int_equal(store_node_heartbeat(f->st, ID_B, w[0].seq, &json), 1);
	assert_null(json);

	/* Fold A's; B's is dropped unfolded (as if a newer one existed). */
	snprintf(fold.node_id, sizeof(fold.node_id), "%s", ID_A);
	fold.seq = w[0].seq;
	assert_int_equal(store_fold(f->st, &fold, 1, w[1].seq, &cut), 0);
	assert_int_equal(cut, w[1].seq);
	assert_int_equal(cct_db_int(f,
			     "SELECT count(*) FROM "
			     "heartbeat_chunks"),
	    0);
	assert_stored_hb(f, ID_A, 0, "{\"hostname\":\"web-1b\"}");
	assert_int_equal(store_node_heartbeat(f->st, ID_A, w[0].seq, &json), 1);
	load_all(f, &l, -1);
	r = loaded_find(&l, ID_A);
	assert_int_equal(r->last_heartbeat_at, 1795773601);
	assert_string_equal(r->hostname, "web-1b");
	assert_string_equal(r->agent_version, "0.1.1");
	assert_int_equal(r->hb_cloudflare, CF_DOWN);
	assert_int_equal(r->hb_services_down, 1);
	assert_int_equal(r->status, NODE_APPROVED); /* untouched */
	assert_int_equal(r->has_token, 1);
	r = loaded_find(&l, ID_B);
	assert_int_equal(r->last_heartbeat_at, 0);
	r = loaded_find(&l, ID_C);
	assert_int_equal(r->last_heartbeat_at, 0);
	assert_stored_hb(f, ID_C, 0, NULL);
	loaded_free(&l);
	/* Sequence numbers are never reused, even after the log emptied. */
	assert_int_equal(store_heartbeats(f->st, w, 1), 0);
	assert_true(w[0].seq > w[1].seq);
}

/* A fold is one transaction: when it fails, nodes and the log stay. */
static void
store_fold_failure_keeps_the_log(void **state)
{
	struct cct_fx  *f = *state;
	struct node_rec a = make_rec(ID_A, "web-1", NODE_APPROVED, 1, 1);
	struct hb_write w;
	struct hb_fold	fold;
	int64_t		cut;

	CCT_SQLITE_ONLY();

	open_with(f, &a, NULL);
	hb_write_set(&w, ID_A, 7, "{\"n\":1}", "web-1", "0.1.0");
	assert_int_equal(store_heartbeats(f->st, &w, 1), 0);
	cct_db_exec(f,
	    "CREATE TRIGGER no_drop BEFORE DELETE ON "
	    "heartbeat_chunks BEGIN SELECT RAISE(ABORT, 'refused by test'); "
	    "END");
	snprintf(fold.node_id, sizeof(fold.node_id), "%s", ID_A);
	fold.seq = w.seq;
	assert_int_equal(store_fold(f->st, &fold, 1, w.seq, &cut), -1);
	assert_int_equal(cut, 0);
	assert_stored_hb(f, ID_A, 0, NULL);
	assert_stored_hb(f, ID_A, w.seq, "{\"n\":1}");
	cct_db_exec(f, "DROP TRIGGER no_drop");
	assert_int_equal(store_fold(f->st, &fold, 1, w.seq, &cut), 0);
	assert_stored_hb(f, ID_A, 0, "{\"n\":1}");
}

/*
 * A database written by version 8 (a row a heartbeat in heartbeat_log, the
 * view latest_heartbeats) opens at the current version with each node's
 * newest logged heartbeat folded into nodes and the old log gone.
 */
static void
store_migration_8_folds_the_row_log(void **state)
{
	struct cct_fx	      *f = *state;
	struct node_rec	       a = make_rec(ID_A, "web-1", NODE_APPROVED, 1, 1);
	struct node_rec	       b = make_rec(ID_B, "db-1", NODE_APPROVED, 1, 2);
	struct hb_write	       w;
	struct logged	       g;
	struct loaded	       l;
	const struct node_rec *r;
	long long	       current;

	CCT_SQLITE_ONLY();

	cct_open(f, NULL);
	current = cct_db_int(f, "PRAGMA user_version");
	assert_true(current >= 9);
	assert_int_equal(store_node_insert(f->st, &a), 0);
	assert_int_equal(store_node_insert(f->st, &b), 0);
	cct_close(f);
	/*
	 * Back to what version 8 left: two rows of A's (the log's order
	 * decides, not their times), a ghost's, none of B's.
	 */
	cct_db_exec(f,
	    "DROP TABLE heartbeat_chunks;"
	    "CREATE TABLE heartbeat_log (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	    " node_id TEXT NOT NULL, at INTEGER NOT NULL, heartbeat TEXT NOT"
	    " NULL, hostname TEXT NOT NULL, agent_version TEXT NOT NULL,"
	    " hb_cloudflare INTEGER NOT NULL, hb_services_down INTEGER NOT"
	    " NULL);"
	    "CREATE VIEW latest_heartbeats AS SELECT node_id FROM heartbeat_log;"
	    "INSERT INTO heartbeat_log (node_id, at, heartbeat, hostname,"
	    " agent_version, hb_cloudflare, hb_services_down) VALUES"
	    " ('" ID_A "', 20, '{\"n\":1}', 'web-old', '0.1.0', 1, 0),"
	    " ('" ID_A "', 10, '{\"n\":2}', 'web-new', '0.2.0', 2, 3),"
	    " ('" ID_X "', 30, '{}', 'ghost', '0', 1, 0);"
	    "ALTER TABLE nodes DROP COLUMN deleted_at;"
	    "ALTER TABLE nodes DROP COLUMN enroll_peer;"
	    "ALTER TABLE nodes DROP COLUMN labels;"
	    "DROP TABLE jobs;DROP TABLE job_nodes;DROP TABLE job_schedules;"
	    "DROP TABLE approvals;DROP TABLE webhook_outbox;"
	    "DROP TABLE webhook_levels;DROP TABLE cc_keys;"
	    "ALTER TABLE nodes DROP COLUMN pinned_key_id;"
	    "PRAGMA user_version = 8");
	cct_reopen(f);
	assert_int_equal(cct_db_int(f, "PRAGMA user_version"), current);
	assert_int_equal(
	    cct_db_int(f,
		"SELECT count(*) FROM sqlite_master "
		"WHERE name IN ('heartbeat_log', 'latest_heartbeats')"),
	    0);
	load_all(f, &l, 2); /* no ghost */
	r = loaded_find(&l, ID_A);
	assert_int_equal(r->last_heartbeat_at, 10);
	assert_string_equal(r->hostname, "web-new");
	assert_string_equal(r->agent_version, "0.2.0");
	assert_int_equal(r->hb_cloudflare, 2);
	assert_int_equal(r->hb_services_down, 3);
	r = loaded_find(&l, ID_B);
	assert_int_equal(r->last_heartbeat_at, 0);
	assert_string_equal(r->hostname, "db-1");
	loaded_free(&l);
	assert_stored_hb(f, ID_A, 0, "{\"n\":2}");
	assert_stored_hb(f, ID_B, 0, NULL);
	memset(&g, 0, sizeof(g));
	assert_int_equal(store_heartbeat_log(f->st, collect_log, &g), 0);
	assert_int_equal(g.n, 0);
	/* And the new log works. */
	hb_write_set(&w, ID_B, 40, "{\"n\":3}", "db-1", "0.1.0");
	assert_int_equal(store_heartbeats(f->st, &w, 1), 0);
	assert_stored_hb(f, ID_B, w.seq, "{\"n\":3}");
}

static int
count_log(const struct hb_logged *l, void *arg)
{
	int64_t *last = arg;

	if (l->seq <= last[1])
		return -1; /* out of order */
	last[0]++;
	last[1] = l->seq;
	return 0;
}

/*
 * Heartbeats fill chunks of at most a page (16 KiB for a new database):
 * a round of 200 takes several; each is read back by its number; a fold
 * drops only the chunks that end by its line; a heartbeat larger than a
 * page has a chunk of its own.
 */
static void
store_heartbeats_fill_chunks_of_a_page(void **state)
{
	enum { N = 200, BIG = 40000 };
	typedef char	 json_buf[512];
	struct cct_fx	*f = *state;
	struct node_rec	 a;
	struct hb_write *w;
	json_buf	*json;
	char		*big, *got = NULL;
	int64_t		 first_end, cut, seen[2] = { 0, 0 };
	long long	 chunks;

	CCT_SQLITE_ONLY(); /* before anything is allocated: it returns */
	a = make_rec(ID_A, "web-1", NODE_APPROVED, 1, 1);
	w = calloc(N + 3, sizeof(*w));
	json = calloc(N, sizeof(*json));
	big = malloc(BIG + 16);
	assert_non_null(w);
	assert_non_null(json);
	assert_non_null(big);
	open_with(f, &a, NULL);
	for (int i = 0; i < N; i++) {
		snprintf(json[i], 512, "{\"i\":%d,\"pad\":\"%0400d\"}", i, i);
		hb_write_set(&w[i], ID_A, i + 1, json[i], "web-1", "0.1.0");
	}
	assert_int_equal(store_heartbeats(f->st, w, N), 0);
	for (int i = 1; i < N; i++)
		assert_int_equal(w[i].seq, w[0].seq + i);
	chunks = cct_db_int(f, "SELECT count(*) FROM heartbeat_chunks");
	assert_true(chunks >= 6 && chunks < 10); /* ~94 KB in 16 KiB */
	assert_true(cct_db_int(f,
			"SELECT max(length(data)) FROM "
			"heartbeat_chunks") <= 16384 - 64);
	assert_int_equal(cct_db_int(f,
			     "SELECT sum(n) FROM "
			     "heartbeat_chunks"),
	    N);
	for (int i = 0; i < N; i++)
		assert_stored_hb(f, ID_A, w[i].seq, json[i]);
	assert_int_equal(
	    store_node_heartbeat(f->st, ID_A, w[N - 1].seq + 1, &got), 1);
	/* A line one past the first chunk's end: only that chunk goes. */
	first_end = cct_db_int(f, "SELECT min(seq) FROM heartbeat_chunks");
	assert_true(first_end > w[0].seq && first_end < w[N - 1].seq);
	assert_int_equal(store_fold(f->st, NULL, 0, first_end + 1, &cut), 0);
	assert_int_equal(cut, first_end);
	assert_int_equal(cct_db_int(f,
			     "SELECT count(*) FROM "
			     "heartbeat_chunks"),
	    chunks - 1);
	assert_int_equal(store_node_heartbeat(f->st, ID_A, first_end, &got), 1);
	assert_stored_hb(f, ID_A, first_end + 1,
	    json[first_end + 1 - w[0].seq]);
	/* One larger than a page, between two small ones. */
	memset(big, 'x', BIG + 16);
	memcpy(big, "{\"pad\":\"", 8);
	memcpy(big + BIG, "\"}", 3);
	hb_write_set(&w[N], ID_A, 1000, "{\"s\":1}", "web-1", "0.1.0");
	hb_write_set(&w[N + 1], ID_A, 1001, big, "web-1", "0.1.0");
	hb_write_set(&w[N + 2], ID_A, 1002, "{\"s\":2}", "web-1", "0.1.0");
	assert_int_equal(store_heartbeats(f->st, &w[N], 3), 0);
	assert_int_equal(cct_db_int(f,
			     "SELECT count(*) FROM "
			     "heartbeat_chunks"),
	    chunks - 1 + 3);
	assert_stored_hb(f, ID_A, w[N].seq, "{\"s\":1}");
	assert_stored_hb(f, ID_A, w[N + 1].seq, big);
	assert_stored_hb(f, ID_A, w[N + 2].seq, "{\"s\":2}");
	/* A start replays all that is left, in order. */
	cct_reopen(f);
	seen[1] = first_end;
	assert_int_equal(store_heartbeat_log(f->st, count_log, seen), 0);
	assert_int_equal(seen[0], w[N + 2].seq - first_end);
	assert_int_equal(seen[1], w[N + 2].seq);
	free(w);
	free(json);
	free(big);
}

/*
 * A damaged chunk (cut short, or its count wrong): a start replays what
 * can be read and skips the rest (logged), a read of it is an error, and
 * nothing is read out of bounds (the sanitizers watch).
 */
static void
store_damaged_chunk_is_skipped(void **state)
{
	struct cct_fx  *f = *state;
	struct node_rec a = make_rec(ID_A, "web-1", NODE_APPROVED, 1, 1);
	struct node_rec b = make_rec(ID_B, "db-1", NODE_APPROVED, 1, 2);
	struct hb_write w[3];
	char	       *got = NULL, sql[256];
	int64_t		seen[2] = { 0, 0 };

	CCT_SQLITE_ONLY();

	open_with(f, &a, &b, NULL);
	hb_write_set(&w[0], ID_A, 1, "{\"n\":1}", "web-1", "0.1.0");
	hb_write_set(&w[1], ID_B, 2, "{\"n\":2}", "db-1", "0.1.0");
	hb_write_set(&w[2], ID_B, 3, "{\"n\":3}", "db-1", "0.1.0");
	assert_int_equal(store_heartbeats(f->st, &w[0], 1), 0);
	assert_int_equal(store_heartbeats(f->st, &w[1], 2), 0);
	/* A's chunk cut short; B's claims three heartbeats, holds two. */
	snprintf(sql, sizeof(sql),
	    "UPDATE heartbeat_chunks SET data = "
	    "substr(data, 1, 30) WHERE seq = %lld; UPDATE heartbeat_chunks "
	    "SET n = 3 WHERE seq = %lld",
	    (long long)w[0].seq, (long long)w[2].seq);
	cct_db_exec(f, sql);
	assert_int_equal(store_node_heartbeat(f->st, ID_A, w[0].seq, &got), -1);
	assert_null(got);
	/* B's chunk has no third heartbeat to read. */
	assert_int_equal(store_node_heartbeat(f->st, ID_B, w[2].seq, &got), -1);
	assert_null(got);
	cct_reopen(f);
	assert_int_equal(store_heartbeat_log(f->st, count_log, seen), 0);
	assert_int_equal(seen[0], 2); /* B's two; A's chunk skipped */
	/*
	 * A node id longer than any (it would overrun the replay's copy),
	 * in an otherwise well-formed chunk: refused by the reader.
	 */
	{
		unsigned char d[256], *p = d;
		const char   *strs[3] = { "h", "v", "{}" };
		sqlite3	     *h;
		sqlite3_stmt *st;

		memset(d, 0, sizeof(d));
		*p = 101; /* u32 101, little-endian */
		p += 4;
		memset(p, 'a', 100); /* and its NUL */
		p += 101 + 16;	     /* at, cloudflare, services_down */
		for (int i = 0; i < 3; i++) {
			*p = (unsigned char)(strlen(strs[i]) + 1);
			p += 4;
			memcpy(p, strs[i], strlen(strs[i]));
			p += strlen(strs[i]) + 1;
		}
		h = cct_db_open(f);
		assert_int_equal(
		    sqlite3_prepare_v2(h,
			"INSERT INTO "
			"heartbeat_chunks (seq, n, data) VALUES (?1, 1, ?2)",
			-1, &st, NULL),
		    SQLITE_OK);
		sqlite3_bind_int64(st, 1, w[2].seq + 10);
		sqlite3_bind_blob(st, 2, d, (int)(p - d), SQLITE_STATIC);
		assert_int_equal(sqlite3_step(st), SQLITE_DONE);
		sqlite3_finalize(st);
		sqlite3_close(h);
	}
	assert_int_equal(store_node_heartbeat(f->st, ID_A, w[2].seq + 10, &got),
	    -1);
	cct_reopen(f);
	memset(seen, 0, sizeof(seen));
	assert_int_equal(store_heartbeat_log(f->st, count_log, seen), 0);
	assert_int_equal(seen[0], 2); /* still B's two */
}

/*
 * Heartbeat numbers go on from the highest the log holds, even when
 * sqlite_sequence lost its row (a file rebuilt by .recover, say).
 */
static void
store_heartbeat_numbers_survive_a_lost_sequence(void **state)
{
	struct cct_fx  *f = *state;
	struct node_rec a = make_rec(ID_A, "web-1", NODE_APPROVED, 1, 1);
	struct hb_write w[2];

	CCT_SQLITE_ONLY();

	open_with(f, &a, NULL);
	hb_write_set(&w[0], ID_A, 1, "{\"n\":1}", "web-1", "0.1.0");
	hb_write_set(&w[1], ID_A, 2, "{\"n\":2}", "web-1", "0.1.0");
	assert_int_equal(store_heartbeats(f->st, &w[0], 1), 0);
	cct_close(f);
	cct_db_exec(f, "DELETE FROM sqlite_sequence");
	cct_reopen(f);
	assert_int_equal(store_heartbeats(f->st, &w[1], 1), 0);
	assert_true(w[1].seq > w[0].seq);
	assert_stored_hb(f, ID_A, w[0].seq, "{\"n\":1}");
	assert_stored_hb(f, ID_A, w[1].seq, "{\"n\":2}");
	/* Numbers taken behind the store's back: a failed round recovers. */
	cct_db_exec(f,
	    "INSERT INTO heartbeat_chunks (seq, n, data) "
	    "SELECT seq + 1, n, data FROM heartbeat_chunks WHERE seq = "
	    "(SELECT max(seq) FROM heartbeat_chunks)");
	assert_int_equal(store_heartbeats(f->st, &w[0], 1), -1);
	assert_int_equal(store_heartbeats(f->st, &w[0], 1), 0);
	assert_int_equal(w[0].seq, w[1].seq + 2);
	assert_stored_hb(f, ID_A, w[0].seq, "{\"n\":1}");
}

static void
store_heartbeats_empty_batch_is_ok(void **state)
{
	struct cct_fx *f = *state;

	cct_open(f, NULL);
	assert_int_equal(store_heartbeats(f->st, NULL, 0), 0);
}

static void
store_heartbeat_for_unknown_node_creates_nothing(void **state)
{
	struct cct_fx  *f = *state;
	struct hb_write w;
	struct loaded	l;

	cct_open(f, NULL);
	memset(&w, 0, sizeof(w));
	snprintf(w.node_id, sizeof(w.node_id), "%s", ID_X);
	w.at = 1;
	w.json = (char *)(uintptr_t) "{}";
	w.hostname = (char *)(uintptr_t) "ghost";
	w.agent_version = (char *)(uintptr_t) "0";
	(void)store_heartbeats(f->st, &w, 1);
	load_all(f, &l, 0);
}

static void
store_load_nodes_stops_when_callback_fails_and_stays_usable(void **state)
{
	struct cct_fx  *f = *state;
	struct node_rec a = make_rec(ID_A, "a", NODE_PENDING, 0, 0);
	struct node_rec b = make_rec(ID_B, "b", NODE_PENDING, 0, 0);
	struct node_rec c = make_rec(ID_C, "c", NODE_PENDING, 0, 0);
	struct loaded	l;

	open_with(f, &a, &b, &c, NULL);
	memset(&l, 0, sizeof(l));
	l.stop_after = 1;
	assert_int_equal(store_load_nodes(f->st, collect, &l), -1);
	assert_int_equal(l.n, 1);
	loaded_free(&l);
	/* The statement was reset: a full load still sees everything. */
	load_all(f, &l, 3);
	loaded_free(&l);
	assert_int_equal(
	    store_node_set_status(f->st, ID_B, NODE_APPROVED, NULL), 0);
}

/* ---- the views' connection ---------------------------------------------------- */

struct blocked_write {
	struct store   *st;
	struct hb_write w;
	int		rc;
};

static void *
write_heartbeat(void *arg)
{
	struct blocked_write *b = arg;

	b->rc = store_heartbeats(b->st, &b->w, 1);
	return NULL;
}

/*
 * A view reads while the writer waits inside the store (here for SQLite's
 * write lock, held by another connection): it does not queue behind it.
 */
static void
store_reads_do_not_wait_for_the_writer(void **state)
{
	struct cct_fx  *f = *state;
	struct node_rec r = make_rec(ID_A, "web-1", NODE_APPROVED, 1, 0x11);
	struct hb_write w;
	struct blocked_write b;
	struct timespec	     ms = { 0, 1000000 };
	pthread_t	     t;
	sqlite3		    *h = NULL;
	char		    *json = NULL;
	int		     waited = 0, busy, got, listed, still;

	CCT_SQLITE_ONLY();

	open_with(f, &r, NULL);
	hb_write_set(&w, ID_A, 1795773601, "{\"hostname\":\"web-1\"}", "web-1",
	    "0.1.0");
	assert_int_equal(store_heartbeats(f->st, &w, 1), 0);
	h = cct_db_open(f);
	assert_int_equal(sqlite3_exec(h, "BEGIN IMMEDIATE", NULL, NULL, NULL),
	    SQLITE_OK);
	memset(&b, 0, sizeof(b));
	b.st = f->st;
	hb_write_set(&b.w, ID_A, 1795773602, "{\"hostname\":\"web-2\"}",
	    "web-2", "0.1.0");
	assert_int_equal(pthread_create(&t, NULL, write_heartbeat, &b), 0);
	while (!store_writer_busy(f->st) && waited++ < 4000)
		nanosleep(&ms, NULL);
	/*
	 * Observed while the writer holds the store (a view reads the
	 * committed row), asserted once it is released and joined.
	 */
	busy = store_writer_busy(f->st);
	got = store_node_heartbeat(f->st, ID_A, w.seq, &json);
	listed = store_commands_list(f->st, ID_A, NULL, 10, NULL, NULL);
	still = store_writer_busy(f->st);
	assert_int_equal(sqlite3_exec(h, "COMMIT", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(h);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_true(busy);
	assert_int_equal(got, 0);
	assert_non_null(json);
	assert_string_equal(json, "{\"hostname\":\"web-1\"}");
	free(json);
	assert_int_equal(listed, 0);
	assert_true(still);	   /* the writer was waiting all along */
	assert_int_equal(b.rc, 0); /* and then writes */
	assert_int_equal(b.w.seq, w.seq + 1);
	json = NULL;
	assert_int_equal(store_node_heartbeat(f->st, ID_A, b.w.seq, &json), 0);
	assert_string_equal(json, "{\"hostname\":\"web-2\"}");
	free(json);
}

/* VAULTMESH_DB as the log shows it: a URI's password never. */
static void
store_where_shown_hides_a_uri_password(void **state)
{
	static const char *const cases[][2] = {
		{ "/var/lib/vaultmesh/vaultmesh.db",
		    "/var/lib/vaultmesh/vaultmesh.db" },
		{ "postgresql://vm@db/vaultmesh",
		    "postgresql://vm@db/vaultmesh" },
		{ "postgresql://vm:s3cret@db:5432/vaultmesh",
		    "postgresql://vm:***@db:5432/vaultmesh" },
		{ "postgres://vm:p@ss@db/x", "postgres://vm:***@db/x" },
		{ "postgresql://db:5432/vaultmesh?user=vm",
		    "postgresql://db:5432/vaultmesh?user=vm" },
	};
	char out[128];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		store_where_shown(cases[i][0], out, sizeof(out));
		if (strcmp(out, cases[i][1]) != 0)
			fail_msg("%s shown as %s, want %s", cases[i][0], out,
			    cases[i][1]);
		assert_int_equal(store_is_server(cases[i][0]), i > 0);
	}
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, cct_setup, cct_teardown)
	const struct CMUnitTest tests[] = {
		T(store_open_creates_schema_in_wal_mode),
		T(store_open_twice_is_idempotent),
		T(store_keeps_the_page_size_of_an_existing_database),
		T(store_refuses_database_newer_than_program),
		T(store_open_in_missing_directory_fails_with_message),
		T(store_open_of_non_database_file_fails),
		cmocka_unit_test(store_close_accepts_null),
		cmocka_unit_test(store_where_shown_hides_a_uri_password),
		T(store_node_insert_and_load_round_trip),
		T(store_keeps_hostile_strings_verbatim),
		T(store_duplicate_insert_fails_and_keeps_first),
		T(store_node_set_status_updates_status_and_token),
		T(store_node_set_status_unknown_id_fails),
		T(store_heartbeats_append_then_fold),
		T(store_fold_failure_keeps_the_log),
		T(store_migration_8_folds_the_row_log),
		T(store_deleted_node_keeps_its_row_without_a_token),
		T(store_delivered_commands_are_released_after_their_lease),
		T(store_delivers_nothing_past_a_command_still_out),
		T(store_tells_each_change_of_the_queued_count),
		T(store_heartbeats_fill_chunks_of_a_page),
		T(store_damaged_chunk_is_skipped),
		T(store_heartbeat_numbers_survive_a_lost_sequence),
		T(store_heartbeats_empty_batch_is_ok),
		T(store_reads_do_not_wait_for_the_writer),
		T(store_heartbeat_for_unknown_node_creates_nothing),
		T(store_load_nodes_stops_when_callback_fails_and_stays_usable),
#undef T
	};

	/* Expected failures (duplicate insert, ...) are logged; keep it quiet. */
	log_set_level("error");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
