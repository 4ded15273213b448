/*
 * Unit tests of what replicas sharing one PostgreSQL database learn from
 * each other through the store (store_pg_replica.c): two stores open on
 * one database stand for two command centers. Every test is skipped
 * without VM_TEST_PG (make unit-pg starts a throwaway cluster).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "cc_testlib.h"
#include "log.h"
#include "util.h"

#define ID_A "0b5e3c1a-7d2f-4c3e-9a1b-2c3d4e5f6a7b"
#define ID_B "7c9e6679-7425-40de-944b-e07fc1f90ae7"

#define PG_ONLY()                     \
	do {                          \
		if (cct_pg() == NULL) \
			skip();       \
	} while (0)

/* What one store heard: notes and its queued-count hook. */
struct heard {
	int  queued, nodes, hook;
	int  for_b; /* notes about ID_B */
	char node_id[37];
	int  delta;
};

static void
note_cb(enum store_note what, const char *node_id, int delta, int64_t lag_us,
    void *arg)
{
	struct heard *h = arg;

	(void)lag_us;
	if (what == STORE_NOTE_NODE) {
		h->nodes++;
		return;
	}
	h->queued++;
	h->for_b += strcmp(node_id, ID_B) == 0;
	snprintf(h->node_id, sizeof(h->node_id), "%s", node_id);
	h->delta = delta;
}

static void
hook_cb(const char *node_id, int delta, void *arg)
{
	struct heard *h = arg;

	(void)node_id;
	h->hook += delta;
}

static struct store *
open_second(struct cct_fx *f)
{
	char	      err[256];
	struct store *st = store_open(f->db.path, err, sizeof(err));

	if (st == NULL)
		fail_msg("store_open: %s", err);
	return st;
}

static void
insert_node(struct store *st, const char *id)
{
	struct node_rec r;

	memset(&r, 0, sizeof(r));
	snprintf(r.node_id, sizeof(r.node_id), "%s", id);
	r.hostname = (char *)(uintptr_t) "host";
	r.os_profile = (char *)(uintptr_t) "debian-12";
	r.agent_version = (char *)(uintptr_t) "0.1.0";
	r.status = NODE_APPROVED;
	r.has_token = 1;
	memset(r.token_hash, 7, TOKEN_HASH_LEN);
	r.enrolled_at = 1795773600;
	assert_int_equal(store_node_insert(st, &r), 0);
}

/* Listens until pred(h) holds, for at most 10 s: 1, or 0. */
static int
listen_until(struct store *st, struct heard *h, int (*pred)(struct heard *))
{
	int64_t end = mono_ms() + 10000;

	while (!pred(h) && mono_ms() < end)
		assert_true(store_replica_listen(st, 100, note_cb, h) >= 0);
	return pred(h);
}

static int
two_queued(struct heard *h)
{
	return h->queued >= 2;
}

static int
one_node_note(struct heard *h)
{
	return h->nodes >= 1;
}

static void
a_queue_on_one_store_is_heard_by_the_other_and_not_by_itself(void **state)
{
	struct cct_fx *f = *state;
	struct store  *b;
	struct heard   ha = { 0 };
	int64_t	       now = time(NULL);

	PG_ONLY();
	b = open_second(f);
	insert_node(f->st, ID_A);
	insert_node(f->st, ID_B);
	store_on_queued(f->st, hook_cb, &ha);
	/* A new connection: said so, so the caller reads everything. */
	assert_int_equal(store_replica_listen(f->st, 0, note_cb, &ha), 1);
	/*
	 * Its own queue (for B): counted by its hook at once, never heard
	 * again (it would be heard first: notes come in commit order).
	 */
	assert_int_equal(cct_queue(f->st, NULL, ID_B, now, now + 600), 0);
	assert_int_equal(ha.hook, 1);
	/* Two from the other store: heard, each +1, through the hook too. */
	assert_int_equal(cct_queue(b, NULL, ID_A, now, now + 600), 0);
	assert_int_equal(cct_queue(b, NULL, ID_A, now, now + 600), 0);
	assert_true(listen_until(f->st, &ha, two_queued));
	assert_int_equal(ha.for_b, 0);
	assert_int_equal(ha.queued, 2);
	assert_string_equal(ha.node_id, ID_A);
	assert_int_equal(ha.delta, 1);
	assert_int_equal(ha.hook, 3);
	/* Delivered on the other store: -1, -1 heard here. */
	{
		struct cmd_wire *w;
		size_t		 n;
		struct heard	 before = ha;

		assert_int_equal(
		    store_commands_deliver(b, ID_A, now, 8, &w, &n), 0);
		assert_int_equal(n, 2);
		cmd_wire_free(w, n);
		ha.queued = 0; /* two more */
		assert_true(listen_until(f->st, &ha, two_queued));
		assert_int_equal(ha.delta, -1);
		assert_int_equal(ha.hook, before.hook - 2);
	}
	store_on_queued(f->st, NULL, NULL);
	store_close(b);
}

struct rows {
	int  n;
	char host[64];
	int  status;
};

static int
rows_cb(const struct node_rec *rec, void *arg)
{
	struct rows *r = arg;

	r->n++;
	snprintf(r->host, sizeof(r->host), "%s", rec->hostname);
	r->status = (int)rec->status;
	return 0;
}

static void
a_status_change_on_one_store_is_heard_and_read_by_the_other(void **state)
{
	struct cct_fx *f = *state;
	struct store  *b;
	struct heard   ha = { 0 };
	struct rows    r = { 0 };
	int64_t	       cursor = 0;

	PG_ONLY();
	b = open_second(f);
	insert_node(f->st, ID_A);
	assert_int_equal(store_replica_listen(f->st, 0, note_cb, &ha), 1);
	assert_int_equal(store_nodes_changed(f->st, &cursor, rows_cb, &r), 0);
	assert_int_equal(r.status, NODE_APPROVED);
	assert_int_equal(store_node_set_status(b, ID_A, NODE_REVOKED, NULL), 0);
	assert_true(listen_until(f->st, &ha, one_node_note));
	memset(&r, 0, sizeof(r));
	assert_int_equal(store_nodes_changed(f->st, &cursor, rows_cb, &r), 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.status, NODE_REVOKED);
	store_close(b);
}

static void
a_row_committed_after_a_read_began_is_read_the_next_time(void **state)
{
	struct cct_fx *f = *state;
	struct rows    r = { 0 };
	int64_t	       cursor = 0;
	PGconn	      *c;
	PGresult      *res;

	PG_ONLY();
	insert_node(f->st, ID_A);
	insert_node(f->st, ID_B);
	assert_int_equal(store_nodes_changed(f->st, &cursor, rows_cb, &r), 0);
	assert_int_equal(r.n, 2); /* the first read: every row */
	/* A transaction that changes a row and stays open across a read. */
	c = PQconnectdb(f->db.path);
	assert_int_equal(PQstatus(c), CONNECTION_OK);
	PQclear(PQexec(c, "BEGIN"));
	res = PQexec(c,
	    "UPDATE nodes SET hostname = 'late' WHERE node_id = '" ID_A "'");
	assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
	PQclear(res);
	memset(&r, 0, sizeof(r));
	assert_int_equal(store_nodes_changed(f->st, &cursor, rows_cb, &r), 0);
	assert_int_equal(r.n, 0); /* not committed: not seen */
	PQclear(PQexec(c, "COMMIT"));
	PQfinish(c);
	memset(&r, 0, sizeof(r));
	assert_int_equal(store_nodes_changed(f->st, &cursor, rows_cb, &r), 0);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.host, "late");
	/* Read: the next read brings nothing new. */
	memset(&r, 0, sizeof(r));
	assert_int_equal(store_nodes_changed(f->st, &cursor, rows_cb, &r), 0);
	assert_int_equal(r.n, 0);
	/* A status change, and a heartbeat, are changes too. */
	assert_int_equal(store_node_set_status(f->st, ID_B, NODE_REVOKED, NULL),
	    0);
	assert_int_equal(store_nodes_changed(f->st, &cursor, rows_cb, &r), 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.status, NODE_REVOKED);
	{
		struct hb_write w;

		memset(&w, 0, sizeof(w));
		snprintf(w.node_id, sizeof(w.node_id), "%s", ID_A);
		w.at = 1795773700;
		w.json = (char *)(uintptr_t) "{\"hostname\":\"hb\"}";
		w.hostname = (char *)(uintptr_t) "hb";
		w.agent_version = (char *)(uintptr_t) "0.2.0";
		assert_int_equal(store_heartbeats(f->st, &w, 1), 0);
	}
	memset(&r, 0, sizeof(r));
	assert_int_equal(store_nodes_changed(f->st, &cursor, rows_cb, &r), 0);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.host, "hb");
}

static void
one_store_leads_and_another_takes_over_when_it_closes(void **state)
{
	struct cct_fx *f = *state;
	struct store  *b;
	struct heard   h = { 0 };
	int64_t	       end;
	int	       led = 0;

	PG_ONLY();
	b = open_second(f);
	assert_int_equal(store_replica_listen(f->st, 0, note_cb, &h), 1);
	assert_int_equal(store_replica_listen(b, 0, note_cb, &h), 1);
	assert_int_equal(store_replica_lead(f->st), 1);
	assert_int_equal(store_replica_lead(b), 0);
	assert_int_equal(store_replica_lead(f->st), 1); /* kept */
	store_close(f->st);
	f->st = NULL;
	/* The lock goes with the server process of the closed connection. */
	for (end = mono_ms() + 10000; !led && mono_ms() < end;)
		led = store_replica_lead(b) == 1;
	assert_true(led);
	store_close(b);
}

static void
a_store_of_its_own_always_leads_and_shares_nothing(void **state)
{
	struct cct_fx *f = *state;
	int64_t	       cursor = 0;

	if (cct_pg() != NULL)
		skip();
	assert_int_equal(store_shared(f->st), 0);
	assert_int_equal(store_replica_lead(f->st), 1);
	assert_int_equal(store_nodes_changed(f->st, &cursor, rows_cb, NULL), 0);
	assert_int_equal(store_replica_listen(f->st, 0, note_cb, NULL), -1);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, cct_setup_store, cct_teardown)
	const struct CMUnitTest tests[] = {
		T(a_queue_on_one_store_is_heard_by_the_other_and_not_by_itself),
		T(a_status_change_on_one_store_is_heard_and_read_by_the_other),
		T(a_row_committed_after_a_read_began_is_read_the_next_time),
		T(one_store_leads_and_another_takes_over_when_it_closes),
		T(a_store_of_its_own_always_leads_and_shares_nothing),
#undef T
	};

	log_set_level("error");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
