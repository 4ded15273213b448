/*
 * views: the dashboard's table and GET /nodes, read from the database when
 * the store answers them (store_pg_views.c) and from the fleet in memory
 * otherwise. What either gives is the same struct node_view; the tests
 * compare both backends' pages.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "log.h"
#include "views.h"
#include "writer.h"

/* Rows a page with a selector reads at a time (it walks the order). */
#define SELECT_BATCH 500
/* Rounds of store_view_attend() before a view (2,000 rows each). */
#define ATTEND_ROUNDS 8

static void
view_of_row(const struct node_row *row, struct node_view *v)
{
	memset(v, 0, sizeof(*v));
	node_view_of_rec(&row->r, v);
	v->pending = row->pending;
	v->reasons = row->reasons;
	v->level = row->level;
	v->load1 = v->mem_used_pct = NAN; /* the heartbeat document has them */
}

int
views_ready(int64_t now)
{
	int rc = 1;

	if (!store_views(app.store))
		return 0;
	/*
	 * What this replica acknowledged is in the store before it reads
	 * (the writer would write it within 200 ms): an agent's heartbeat,
	 * then the operator's page, show the heartbeat, as on one CC.
	 */
	fleet_flush(app.fleet);
	for (int i = 0; rc == 1 && i < ATTEND_ROUNDS; i++)
		rc = store_view_attend(app.store, now, &app.thr);
	return rc == -1 ? -1 : 0;
}

struct page_acc {
	struct node_view *v;
	size_t		  n, max;
	/* With a selector: what it lets through, and where the walk is. */
	node_pred	pred;
	const void     *parg;
	size_t		first, matched, read;
	struct node_row last;
	char		last_host[HOSTNAME_MAX + 1];
};

static int
page_row(const struct node_row *row, void *arg)
{
	struct page_acc	 *a = arg;
	struct node_view  v;
	struct node_facts nf;

	a->read++;
	if (a->pred == NULL) {
		if (a->n < a->max)
			view_of_row(row, &a->v[a->n++]);
		return 0;
	}
	/* The walk goes on after this row whatever the selector says. */
	a->last = *row;
	snprintf(a->last_host, sizeof(a->last_host), "%s", row->r.hostname);
	a->last.r.hostname = a->last_host;
	view_of_row(row, &v);
	node_facts_of(&v, &nf);
	if (!a->pred(&nf, a->parg))
		return 0;
	if (a->matched++ >= a->first && a->n < a->max)
		a->v[a->n++] = v;
	return 0;
}

static struct node_view *
store_page(int64_t now, int level, const char *q, node_pred pred,
    const void *parg, size_t first, size_t max, size_t *count,
    struct fleet_counts *c)
{
	struct store_view_counts sc;
	struct store_view_q	 sq = { level, q, NULL, (int64_t)first,
		     (int64_t)max };
	struct page_acc		 a;

	memset(&a, 0, sizeof(a));
	if (views_ready(now) == -1 ||
	    store_view_counts(app.store, level, q, &sc) == -1)
		return NULL;
	c->total = (size_t)sc.total;
	for (int l = 0; l < 3; l++)
		c->by_level[l] = (size_t)sc.by_level[l];
	c->revoked = (size_t)sc.revoked;
	c->matched = (size_t)sc.matched;
	if ((a.v = calloc(max ? max : 1, sizeof(*a.v))) == NULL)
		return NULL;
	a.max = max;
	if (pred == NULL) {
		if (store_view_page(app.store, &sq, page_row, &a) == -1)
			goto fail;
	} else {
		/*
		 * A selector (labels, profile, hostname) is the same code the
		 * jobs use (target.c), so the order is walked a batch at a
		 * time: memory for a batch, time for the level's nodes.
		 */
		a.pred = pred;
		a.parg = parg;
		a.first = first;
		sq.offset = 0;
		sq.limit = SELECT_BATCH;
		do {
			a.read = 0;
			if (store_view_page(app.store, &sq, page_row, &a) == -1)
				goto fail;
			sq.after = &a.last;
		} while (a.read == SELECT_BATCH);
		c->matched = a.matched;
	}
	*count = a.n;
	return a.v;
fail:
	free(a.v);
	return NULL;
}

struct node_view *
views_page(int64_t now, int level, const char *q, node_pred pred,
    const void *parg, size_t first, size_t max, size_t *n,
    struct fleet_counts *c)
{
	if (store_views(app.store))
		return store_page(now, level, q, pred, parg, first, max, n, c);
	return fleet_page(app.fleet, now, level, q, pred, parg, first, max, n,
	    c);
}

struct list_acc {
	struct node_view *v;
	char		**hb;
	size_t		  n, max;
	int		  failed;
};

static int
list_row(const struct node_row *row, void *arg)
{
	struct list_acc *a = arg;

	if (a->n == a->max)
		return 0;
	view_of_row(row, &a->v[a->n]);
	if (row->r.heartbeat != NULL &&
	    (a->hb[a->n] = strdup(row->r.heartbeat)) == NULL)
		a->failed = 1;
	a->n++;
	return 0;
}

static struct node_view *
store_list(struct views_cursor *cur, size_t max, size_t *count, char ***hb)
{
	struct list_acc a = { NULL, NULL, 0, max, 0 };

	if ((a.v = calloc(max ? max : 1, sizeof(*a.v))) == NULL ||
	    (a.hb = calloc(max ? max : 1, sizeof(*a.hb))) == NULL)
		goto fail;
	if (store_view_list(app.store, cur->after, (int64_t)max, list_row,
		&a) == -1 ||
	    a.failed)
		goto fail;
	if (a.n > 0)
		memcpy(cur->after, a.v[a.n - 1].node_id, sizeof(cur->after));
	cur->done = a.n < max;
	*count = a.n;
	*hb = a.hb;
	return a.v;
fail:
	for (size_t i = 0; a.hb != NULL && i < a.n; i++)
		free(a.hb[i]);
	free(a.hb);
	free(a.v);
	return NULL;
}

struct node_view *
views_list(int64_t now, struct views_cursor *cur, size_t max, size_t *count,
    char ***hb)
{
	struct node_view *v;
	size_t		  n, k = 0;

	if (store_views(app.store))
		return store_list(cur, max, count, hb);
	if ((v = fleet_list_range(app.fleet, now, cur->next, max, &n, hb)) ==
	    NULL)
		return NULL;
	cur->next += n;
	cur->done = n < max;
	/* Deleted nodes keep their place in the fleet, not in the list. */
	for (size_t i = 0; i < n; i++) {
		if (v[i].status == NODE_DELETED) {
			free((*hb)[i]);
			continue;
		}
		v[k] = v[i];
		(*hb)[k++] = (*hb)[i];
	}
	*count = k;
	return v;
}

void
views_tick(int64_t now)
{
	if (views_ready(now) == -1 || store_view_fold(app.store) == -1)
		log_warn("views_attend_failed", "the store did not answer");
}
