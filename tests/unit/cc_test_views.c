/*
 * Unit tests of command-center/views.c: the dashboard's pages and counts
 * and GET /nodes as views.c answers them (from the database on PostgreSQL,
 * with VM_TEST_PG; from the fleet in memory on SQLite) against a brute
 * force over the fleet in memory, after random heartbeats, scans, status
 * changes and the passing of time; and, on PostgreSQL, a heartbeat written
 * by a replica that had not seen another replica's scan.
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
#include <jansson.h>

#include "cc_testlib.h"
#include "log.h"
#include "util.h"
#include "views.h"

/* The views read app's store, fleet and thresholds. */
static void
use(struct cct_fx *f)
{
	app.store = f->st;
	app.fleet = f->fl;
	app.thr = cct_thr;
}

static void
enroll(struct cct_fx *f, struct cct_node *n, const char *host, int approved)
{
	cct_node_init(n, host);
	assert_int_equal(fleet_enroll(f->fl, &n->er, approved, n->token),
	    approved ? ENROLL_APPROVED : ENROLL_PENDING);
}

static void
heartbeat(struct cct_fx *f, const char *id, const char *host, const char *cf,
    const char *svc)
{
	assert_int_equal(cct_send_heartbeat(f->fl, id, host, cf, svc), 0);
}

/*
 * A scan's facts as the store writes them for a result (on PostgreSQL,
 * behind this fleet's back: as another replica would); the fleet learns
 * of it when seen.
 */
static void
scan(struct cct_fx *f, const char *id, int64_t at, int critical, int high,
    int seen)
{
	int counts[FINDING_SEVERITIES] = { critical, high, 0, 0, 0 };

	if (cct_pg() != NULL) {
		char sql[256];

		snprintf(sql, sizeof(sql),
		    "UPDATE nodes SET last_scan_at = %lld, f_critical = %d,"
		    " f_high = %d, attn_due = 0 WHERE node_id = '%s'",
		    (long long)at, critical, high, id);
		cct_db_exec(f, sql);
	}
	if (seen)
		fleet_scan(f->fl, id, at, counts);
}

static int
rank(const struct node_view *v)
{
	return v->status == NODE_REVOKED ? 3 : 2 - (int)v->level;
}

static int
ref_cmp(const void *a, const void *b)
{
	const struct node_view *x = a, *y = b;
	int			c;

	if (rank(x) != rank(y))
		return rank(x) - rank(y);
	if ((c = strcmp(x->hostname, y->hostname)) != 0)
		return c;
	return strcmp(x->node_id, y->node_id);
}

/* The selector of the pages that have one: hostnames ending in 7. */
static int
ends_in_7(const struct node_facts *nf, const void *arg)
{
	size_t n = strlen(nf->hostname);

	(void)arg;
	return n > 0 && nf->hostname[n - 1] == '7';
}

static int
ref_match(const struct node_view *v, int level, const char *q, node_pred pred)
{
	struct node_facts nf;

	if (level == FLEET_REVOKED ? v->status != NODE_REVOKED :
		level >= 0	   ? v->status == NODE_REVOKED ||
		    (int)v->level != level :
			     0)
		return 0;
	if (q != NULL && strcasestr(v->hostname, q) == NULL &&
	    strcasestr(v->node_id, q) == NULL &&
	    strcasestr(v->os_profile, q) == NULL)
		return 0;
	node_facts_of(v, &nf);
	return pred == NULL || pred(&nf, NULL);
}

/*
 * Every page of views_page(now, level, q, pred) equals the page of a full
 * copy of the fleet in memory (attention computed afresh at now) filtered
 * and sorted here, and so do its counts.
 */
static void
check_pages(int64_t now, int level, const char *q, node_pred pred, size_t per)
{
	struct node_view   *all, *ref, *pg;
	struct fleet_counts c;
	size_t		    n, nref = 0, got, shown = 0, revoked = 0;
	size_t		    lv[3] = { 0, 0, 0 };

	all = fleet_list(app.fleet, now, &n, NULL);
	assert_non_null(all);
	ref = calloc(n + 1, sizeof(*ref));
	assert_non_null(ref);
	for (size_t i = 0; i < n; i++) {
		if (all[i].status == NODE_DELETED)
			continue;
		shown++;
		if (all[i].status == NODE_REVOKED)
			revoked++;
		else
			lv[all[i].level]++;
		if (ref_match(&all[i], level, q, pred))
			ref[nref++] = all[i];
	}
	qsort(ref, nref, sizeof(*ref), ref_cmp);
	for (size_t first = 0; first <= nref; first += per) {
		pg =
		    views_page(now, level, q, pred, NULL, first, per, &got, &c);
		assert_non_null(pg);
		assert_int_equal(c.total, shown);
		assert_int_equal(c.revoked, revoked);
		for (int l = 0; l < 3; l++)
			assert_int_equal(c.by_level[l], lv[l]);
		assert_int_equal(c.matched, nref);
		assert_int_equal(got, nref - first < per ? nref - first : per);
		for (size_t i = 0; i < got; i++) {
			const struct node_view *r = &ref[first + i];

			if (pg[i].level != r->level)
				print_message(
				    "level %d/%d reasons %x/%x hb %lld"
				    " scan %lld now %lld st %d\n",
				    pg[i].level, r->level, pg[i].reasons,
				    r->reasons, (long long)r->last_heartbeat_at,
				    (long long)r->last_scan_at, (long long)now,
				    r->status);
			assert_string_equal(pg[i].node_id, r->node_id);
			assert_string_equal(pg[i].hostname, r->hostname);
			assert_int_equal(pg[i].status, r->status);
			assert_int_equal(pg[i].level, r->level);
			assert_int_equal(pg[i].reasons, r->reasons);
			assert_int_equal(pg[i].last_heartbeat_at,
			    r->last_heartbeat_at);
			assert_int_equal(pg[i].last_scan_at, r->last_scan_at);
			assert_memory_equal(pg[i].findings, r->findings,
			    sizeof(r->findings));
			assert_int_equal(pg[i].pending, r->pending);
			assert_string_equal(pg[i].labels, r->labels);
		}
		free(pg);
	}
	free(ref);
	free(all);
}

static void
check_all(int64_t now)
{
	static int calls;

	fleet_flush(app.fleet); /* what a view reads is in the store */
	/* The counts with the changes folded (the leader's) and not. */
	if (calls++ % 2)
		assert_int_equal(store_view_fold(app.store), 0);
	check_pages(now, -1, NULL, NULL, 37);
	for (int l = LEVEL_GREEN; l <= LEVEL_RED; l++)
		check_pages(now, l, NULL, NULL, 23);
	check_pages(now, FLEET_REVOKED, NULL, NULL, 7);
	check_pages(now, -1, "HOST-1", NULL, 50);
	check_pages(now, LEVEL_YELLOW, "2", NULL, 50);
	check_pages(now, -1, NULL, ends_in_7, 9);
	check_pages(now, LEVEL_RED, "host", ends_in_7, 4);
	/* Hostile filters are text, not patterns or SQL. */
	check_pages(now, -1, "%", NULL, 10);
	check_pages(now, -1, "_", NULL, 10);
	check_pages(now, -1, "' OR 1=1 --", NULL, 10);
}

static void
views_equal_the_fleet_in_memory(void **state)
{
	enum { N = 160, STEPS = 900 };
	struct cct_fx		*f = *state;
	struct cct_node		*n = calloc(N, sizeof(*n));
	static const char *const hosts[] = { "alpha", "host-1", "Host-2",
		"zulu", "host-12", "HOST-17" };
	uint32_t		 seed = 4242;

	assert_non_null(n);
	use(f);
	for (size_t i = 0; i < N; i++) {
		char   host[32];
		size_t k = i * 7 % N;

		snprintf(host, sizeof(host), "%s-%03zu",
		    i % 3 ? "host" : "HOST", k);
		enroll(f, &n[k], host, k % 16 != 15); /* some stay pending */
	}
	check_all(time(NULL));
	for (int step = 0; step < STEPS; step++) {
		size_t k;
		int    op;

		seed = seed * 1103515245u + 12345u;
		k = (seed >> 8) % N;
		op = (int)((seed >> 20) % 8);
		if (k % 16 == 15) /* pending: no token, no heartbeat */
			continue;
		if (op < 5)
			heartbeat(f, n[k].id,
			    op == 0 ? hosts[(seed >> 4) % 6] : n[k].host,
			    (seed >> 3) % 5 == 0 ? "down" : "up",
			    (seed >> 6) % 7 == 0 ? "failed" : "active");
		else if (op < 7)
			scan(f, n[k].id, time(NULL) - (int64_t)(seed % 50),
			    (seed >> 2) % 3 == 0, (seed >> 5) % 2, 1);
		else if (step % 3 == 0)
			assert_int_equal(
			    fleet_set_status(f->fl, n[k].id,
				(seed >> 9) % 2 ? NODE_REVOKED : NODE_APPROVED),
			    0);
		else
			assert_int_equal(cct_queue(f->st, NULL, n[k].id,
					     time(NULL), time(NULL) + 600),
			    0);
		if (step == STEPS / 2)
			for (size_t d = 0; d < 5; d++)
				assert_int_equal(
				    fleet_delete(f->fl, n[d * 11].id, 0), 0);
		if (step % 150 == 149)
			check_all(time(NULL));
	}
	/* Time alone: the heartbeats go stale, then the scans. */
	check_all(time(NULL) + cct_thr.heartbeat_stale_secs + 1);
	check_all(time(NULL) + cct_thr.scan_stale_secs + 1);
	/* A restart: the store's views need nothing the fleet held. */
	cct_reopen(f);
	use(f);
	check_all(time(NULL) + cct_thr.scan_stale_secs + 1);
	free(n);
}

/* The ids views_list() gives, in order, and whether each has a document. */
static size_t
list_all(char (*ids)[37], size_t max, int *with_hb)
{
	struct views_cursor cur;
	size_t		    total = 0;

	memset(&cur, 0, sizeof(cur));
	*with_hb = 0;
	assert_int_equal(views_ready(time(NULL)), 0);
	while (!cur.done) {
		char		**hb = NULL;
		size_t		  n;
		struct node_view *v = views_list(time(NULL), &cur, 7, &n, &hb);

		assert_non_null(v);
		for (size_t i = 0; i < n; i++) {
			assert_true(total < max);
			assert_int_not_equal(v[i].status, NODE_DELETED);
			memcpy(ids[total++], v[i].node_id, 37);
			if (hb[i] != NULL) {
				json_t *doc = json_loads(hb[i], 0, NULL);

				assert_non_null(doc);
				json_decref(doc);
				(*with_hb)++;
			}
			free(hb[i]);
		}
		free(hb);
		free(v);
	}
	return total;
}

static int
id_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void
list_gives_every_node_once_without_the_deleted(void **state)
{
	enum { N = 40 };
	struct cct_fx  *f = *state;
	struct cct_node n[N];
	char		want[N][37], got[N][37];
	size_t		nwant = 0, ngot;
	int		with_hb;

	use(f);
	for (size_t i = 0; i < N; i++) {
		char host[32];

		snprintf(host, sizeof(host), "list-%02zu", i);
		enroll(f, &n[i], host, 1);
		if (i % 2 == 0)
			heartbeat(f, n[i].id, host, "up", "active");
	}
	assert_int_equal(fleet_delete(f->fl, n[3].id, 0), 0);
	assert_int_equal(fleet_delete(f->fl, n[4].id, 0), 0);
	fleet_flush(f->fl);
	for (size_t i = 0; i < N; i++)
		if (i != 3 && i != 4)
			memcpy(want[nwant++], n[i].id, 37);
	ngot = list_all(got, N, &with_hb);
	assert_int_equal(ngot, nwant);
	assert_int_equal(with_hb, N / 2 - 1); /* node 4 had one */
	qsort(want, nwant, 37, id_cmp);
	qsort(got, ngot, 37, id_cmp); /* the fleet's order is enrollment's */
	for (size_t i = 0; i < ngot; i++)
		assert_string_equal(got[i], want[i]);
}

/*
 * A replica whose fleet has not yet seen another replica's scan writes a
 * heartbeat: the attention it computed is not the row's, so the row's is
 * computed again before a view reads it.
 */
static void
heartbeat_after_an_unseen_scan_is_attended_again(void **state)
{
	struct cct_fx	   *f = *state;
	struct cct_node	    a;
	struct node_view   *v;
	struct fleet_counts c;
	size_t		    got;

	if (cct_pg() == NULL)
		skip();
	use(f);
	enroll(f, &a, "unseen", 1);
	heartbeat(f, a.id, "unseen", "up", "active");
	scan(f, a.id, time(NULL), 0, 0, 1);
	check_all(time(NULL));
	v = views_page(time(NULL), -1, NULL, NULL, NULL, 0, 5, &got, &c);
	assert_non_null(v);
	assert_int_equal(got, 1);
	assert_int_equal(v[0].level, LEVEL_GREEN);
	free(v);
	/* Another replica stores a scan with a critical finding. */
	scan(f, a.id, time(NULL), 2, 0, 0);
	heartbeat(f, a.id, "unseen", "up", "active");
	fleet_flush(f->fl); /* computed here: green, from the old scan */
	assert_int_equal(cct_db_int(f,
			     "SELECT attn_due FROM nodes WHERE hostname ="
			     " 'unseen'"),
	    0);
	v = views_page(time(NULL), -1, NULL, NULL, NULL, 0, 5, &got, &c);
	assert_non_null(v);
	assert_int_equal(got, 1);
	assert_int_equal(v[0].level, LEVEL_RED);
	assert_true(v[0].reasons & R_CRITICAL_FINDINGS);
	assert_int_equal(c.by_level[LEVEL_RED], 1);
	free(v);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, cct_setup_fleet, cct_teardown)
	const struct CMUnitTest tests[] = {
		T(views_equal_the_fleet_in_memory),
		T(list_gives_every_node_once_without_the_deleted),
		T(heartbeat_after_an_unseen_scan_is_attended_again),
	};

	log_set_fd(-1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
