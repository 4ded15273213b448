/*
 * store_sqlite_audit: the SQLite backend's records of what happened: the
 * audit log of operator actions and the pictures' samples (the fleet's
 * attention and each node's load over time).
 */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "store_sqlite_db.h"

/* The row converters' contexts: each one's callback, typed. */
struct hb_rows {
	store_hb_sample_fn fn;
	void		  *arg;
	struct hb_sample   hs; /* node_id filled in once */
};

static int
sq_audit_add(struct store *base, const struct audit_rec *a)
{
	struct sq    *s = sq_of(base);
	sqlite3_stmt *st = s->st[S_AUDIT_ADD];
	int	      rc;

	pthread_mutex_lock(&s->mu);
	sqlite3_bind_int64(st, 1, a->at);
	sqlite3_bind_text(st, 2, a->who, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, a->peer, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, a->action, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, a->target, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, a->detail, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, a->result, -1, SQLITE_STATIC);
	rc = sq_step_done(s, st, "audit_add");
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int
audit_of(sqlite3_stmt *st, void *arg)
{
	struct store_rows *r = arg;
	struct audit_rec   a;
	const char **const text[] = { &a.who, &a.peer, &a.action, &a.target,
		&a.detail, &a.result };

	a.at = sqlite3_column_int64(st, 1);
	sq_col_texts(st, 2, text, sizeof(text) / sizeof(text[0]));
	return r->fn.audit(sqlite3_column_int64(st, 0), &a, r->arg);
}

static int
sq_audit_list(struct store *base, const struct audit_filter *flt, int limit,
    store_audit_fn fn, void *arg)
{
	struct sq	 *s = sq_of(base);
	sqlite3_stmt	 *st = s->st[S_AUDIT_LIST];
	struct store_rows r = { .fn.audit = fn, .arg = arg };
	int		  rc;

	pthread_mutex_lock(&s->rmu);
	sqlite3_bind_int64(st, 1,
	    flt != NULL && flt->before > 0 ? flt->before : INT64_MAX);
	sqlite3_bind_int(st, 2, limit);
	sq_bind_text_or_null(st, 3, flt != NULL ? flt->action : NULL);
	sq_bind_text_or_null(st, 4, flt != NULL ? flt->target : NULL);
	rc = sq_each_row(st, "audit_list", audit_of, &r);
	pthread_mutex_unlock(&s->rmu);
	return rc;
}

/* ---- samples for the pictures --------------------------------------- */

static int
sq_fleet_sample(struct store *base, const struct fleet_sample *fs,
    int64_t keep_after)
{
	struct sq    *s = sq_of(base);
	sqlite3_stmt *st = s->st[S_FLEET_SAMPLE_ADD];
	sqlite3_stmt *prune = s->st[S_FLEET_SAMPLE_PRUNE];
	int	      rc = -1;

	pthread_mutex_lock(&s->mu);
	sqlite3_bind_int64(st, 1, fs->at);
	for (int i = 0; i < 3; i++)
		sqlite3_bind_int(st, 2 + i, fs->count[i]);
	sqlite3_bind_int64(prune, 1, keep_after);
	if (sq_begin(s) == 0 && sq_tx_step(s, st, "fleet_sample") == 0 &&
	    sq_tx_step(s, prune, "fleet_prune") == 0)
		rc = sq_tx_commit(s);
	sqlite3_clear_bindings(st);
	sqlite3_clear_bindings(prune);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int
fleet_sample_of(sqlite3_stmt *st, void *arg)
{
	struct store_rows  *r = arg;
	struct fleet_sample fs;

	fs.at = sqlite3_column_int64(st, 0);
	for (int i = 0; i < 3; i++)
		fs.count[i] = sqlite3_column_int(st, 1 + i);
	return r->fn.fleet(&fs, r->arg);
}

static int
sq_fleet_history(struct store *base, int64_t since, int64_t step,
    store_fleet_sample_fn fn, void *arg)
{
	struct sq	 *s = sq_of(base);
	sqlite3_stmt	 *st = s->st[S_FLEET_HISTORY];
	struct store_rows r = { .fn.fleet = fn, .arg = arg };
	int		  rc;

	pthread_mutex_lock(&s->rmu);
	sqlite3_bind_int64(st, 1, since);
	sqlite3_bind_int64(st, 2, step > 0 ? step : 1);
	rc = sq_each_row(st, "fleet_history", fleet_sample_of, &r);
	pthread_mutex_unlock(&s->rmu);
	return rc;
}

static void
bind_real_or_null(sqlite3_stmt *st, int i, double v)
{
	if (!__builtin_isnan(v))
		sqlite3_bind_double(st, i, v);
	else
		sqlite3_bind_null(st, i);
}

static int
sq_hb_samples_add(struct store *base, const struct hb_sample *w, size_t n,
    int64_t keep_after, size_t prune_max)
{
	struct sq    *s = sq_of(base);
	sqlite3_stmt *st = s->st[S_HB_SAMPLE_ADD];
	int	      rc = -1;

	pthread_mutex_lock(&s->mu);
	if (sq_begin(s) == -1)
		goto out;
	for (size_t i = 0; i < n; i++) {
		sqlite3_bind_text(st, 1, w[i].node_id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, w[i].at);
		bind_real_or_null(st, 3, w[i].load1);
		bind_real_or_null(st, 4, w[i].mem_used_pct);
		if (sq_tx_step(s, st, "hb_sample") == -1)
			goto out;
	}
	st = s->st[S_HB_SAMPLE_PRUNE];
	sqlite3_bind_int64(st, 1, keep_after);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)prune_max);
	if (sq_tx_step(s, st, "hb_prune") == -1 || sq_tx_commit(s) == -1)
		goto out;
	rc = 0;
out:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int
hb_sample_of(sqlite3_stmt *st, void *arg)
{
	struct hb_rows *h = arg;

	h->hs.at = sqlite3_column_int64(st, 0);
	h->hs.load1 = sqlite3_column_type(st, 1) == SQLITE_NULL ?
	    __builtin_nan("") :
	    sqlite3_column_double(st, 1);
	h->hs.mem_used_pct = sqlite3_column_type(st, 2) == SQLITE_NULL ?
	    __builtin_nan("") :
	    sqlite3_column_double(st, 2);
	return h->fn(&h->hs, h->arg);
}

static int
sq_hb_history(struct store *base, const char *node_id, int64_t since,
    store_hb_sample_fn fn, void *arg)
{
	struct sq     *s = sq_of(base);
	sqlite3_stmt  *st = s->st[S_HB_HISTORY];
	struct hb_rows h;
	int	       rc;

	memset(&h, 0, sizeof(h));
	h.fn = fn;
	h.arg = arg;
	snprintf(h.hs.node_id, sizeof(h.hs.node_id), "%s", node_id);
	pthread_mutex_lock(&s->rmu);
	sqlite3_bind_text(st, 1, node_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, since);
	rc = sq_each_row(st, "hb_history", hb_sample_of, &h);
	pthread_mutex_unlock(&s->rmu);
	return rc;
}

/* In store_backend.h\'s order. */
const struct store_audit_ops sq_audit_ops = { sq_audit_add, sq_audit_list };

/* In store_backend.h\'s order. */
const struct store_sample_ops sq_sample_ops = { sq_fleet_sample,
	sq_fleet_history, sq_hb_samples_add, sq_hb_history };
