/*
 * store_pg_audit: the PostgreSQL backend's records of what happened: the
 * audit log of operator actions and the pictures' samples.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store_pg_db.h"

static int
pg_audit_add(struct store *base, const struct audit_rec *a)
{
	struct pg	*s = pg_of(base);
	struct pg_params p;
	int		 rc;

	pg_params_init(&p);
	pg_i64(&p, a->at);
	pg_text(&p, a->who);
	pg_text(&p, a->peer);
	pg_text(&p, a->action);
	pg_text(&p, a->target);
	pg_text(&p, a->detail);
	pg_text(&p, a->result);
	pthread_mutex_lock(&s->db.mu);
	rc = pg_run(s, &s->db, "audit_add",
	    "INSERT INTO audit (at, who, peer,"
	    " action, target, detail, result) VALUES ($1, $2, $3, $4, $5, $6,"
	    " $7)",
	    &p);
	pthread_mutex_unlock(&s->db.mu);
	return rc;
}

static int
audit_row(const PGresult *res, int i, void *ctx)
{
	struct store_rows *r = ctx;
	struct audit_rec   a;

	a.at = pg_col_i64(res, i, 1);
	a.who = pg_col(res, i, 2);
	a.peer = pg_col(res, i, 3);
	a.action = pg_col(res, i, 4);
	a.target = pg_col(res, i, 5);
	a.detail = pg_col(res, i, 6);
	a.result = pg_col(res, i, 7);
	return r->fn.audit(pg_col_i64(res, i, 0), &a, r->arg);
}

static int
pg_audit_list(struct store *base, const struct audit_filter *flt, int limit,
    store_audit_fn fn, void *arg)
{
	struct pg	 *s = pg_of(base);
	struct store_rows r = { .fn.audit = fn, .arg = arg };
	struct pg_params  p;

	pg_params_init(&p);
	pg_i64(&p, flt != NULL && flt->before > 0 ? flt->before : INT64_MAX);
	pg_i64(&p, limit);
	pg_text(&p, flt != NULL ? flt->action : NULL);
	pg_text(&p, flt != NULL ? flt->target : NULL);
	return pg_rows(s, &s->rdb, "audit_list",
	    "SELECT id, at, who, peer,"
	    " action, target, detail, result FROM audit WHERE id < $1 AND"
	    " ($3::text IS NULL OR action = $3) AND ($4::text IS NULL OR"
	    " target = $4) ORDER BY id DESC LIMIT $2",
	    &p, audit_row, &r);
}

/* ---- samples for the pictures --------------------------------------- */

static int
pg_fleet_sample(struct store *base, const struct fleet_sample *fs,
    int64_t keep_after)
{
	struct pg	*s = pg_of(base);
	struct pg_params p, q;
	int		 rc = -1;

	pg_params_init(&p);
	pg_i64(&p, fs->at);
	for (int i = 0; i < 3; i++)
		pg_i64(&p, fs->count[i]);
	pg_params_init(&q);
	pg_i64(&q, keep_after);
	pthread_mutex_lock(&s->db.mu);
	if (pg_begin(s, &s->db) == 0 &&
	    pg_run(s, &s->db, "fleet_sample",
		"INSERT INTO fleet_samples (at,"
		" green, yellow, red) VALUES ($1, $2, $3, $4) ON CONFLICT (at) DO"
		" UPDATE SET green = excluded.green, yellow = excluded.yellow,"
		" red = excluded.red",
		&p) == 0 &&
	    pg_run(s, &s->db, "fleet_prune",
		"DELETE FROM fleet_samples WHERE at < $1", &q) == 0)
		rc = pg_commit(s, &s->db);
	if (rc == -1)
		pg_rollback(s, &s->db);
	pthread_mutex_unlock(&s->db.mu);
	return rc;
}

static int
fleet_row(const PGresult *res, int i, void *ctx)
{
	struct store_rows  *r = ctx;
	struct fleet_sample fs;

	fs.at = pg_col_i64(res, i, 0);
	for (int k = 0; k < 3; k++)
		fs.count[k] = (int)pg_col_i64(res, i, 1 + k);
	return r->fn.fleet(&fs, r->arg);
}

static int
pg_fleet_history(struct store *base, int64_t since, int64_t step,
    store_fleet_sample_fn fn, void *arg)
{
	struct pg	 *s = pg_of(base);
	struct store_rows r = { .fn.fleet = fn, .arg = arg };
	struct pg_params  p;

	pg_params_init(&p);
	pg_i64(&p, since);
	pg_i64(&p, step > 0 ? step : 1);
	/* The newest sample of each step-second bucket, oldest first. */
	return pg_rows(s, &s->rdb, "fleet_history",
	    "SELECT at, green, yellow,"
	    " red FROM (SELECT DISTINCT ON (at / $2) at, green, yellow, red"
	    " FROM fleet_samples WHERE at >= $1 ORDER BY at / $2, at DESC) b"
	    " ORDER BY at",
	    &p, fleet_row, &r);
}

static int
pg_hb_samples_add(struct store *base, const struct hb_sample *w, size_t n,
    int64_t keep_after, size_t prune_max)
{
	struct pg	*s = pg_of(base);
	struct pg_params p;
	int		 rc = -1;

	pthread_mutex_lock(&s->db.mu);
	if (pg_begin(s, &s->db) == -1)
		goto out;
	for (size_t i = 0; i < n; i++) {
		pg_params_init(&p);
		pg_text(&p, w[i].node_id);
		pg_i64(&p, w[i].at);
		pg_real(&p, w[i].load1);
		pg_real(&p, w[i].mem_used_pct);
		if (pg_run(s, &s->db, "hb_sample",
			"INSERT INTO"
			" heartbeat_samples (node_id, at, load1, mem_used_pct)"
			" VALUES ($1, $2, $3, $4) ON CONFLICT (node_id, at) DO"
			" UPDATE SET load1 = excluded.load1, mem_used_pct ="
			" excluded.mem_used_pct",
			&p) == -1)
			goto fail;
	}
	/* Bounded, so one round never holds the lock for long. */
	pg_params_init(&p);
	pg_i64(&p, keep_after);
	pg_i64(&p, (int64_t)prune_max);
	if (pg_run(s, &s->db, "hb_prune",
		"DELETE FROM heartbeat_samples WHERE"
		" (node_id, at) IN (SELECT node_id, at FROM heartbeat_samples"
		" WHERE at < $1 ORDER BY at LIMIT $2)",
		&p) == -1 ||
	    pg_commit(s, &s->db) == -1)
		goto fail;
	rc = 0;
	goto out;
fail:
	pg_rollback(s, &s->db);
out:
	pthread_mutex_unlock(&s->db.mu);
	return rc;
}

struct load_rows {
	store_hb_sample_fn fn;
	void		  *arg;
	struct hb_sample   hs; /* node_id filled in once */
};

static double
real_or_nan(const PGresult *res, int i, int col)
{
	return pg_col_null(res, i, col) ? NAN :
					  strtod(PQgetvalue(res, i, col), NULL);
}

static int
load_row(const PGresult *res, int i, void *ctx)
{
	struct load_rows *r = ctx;

	r->hs.at = pg_col_i64(res, i, 0);
	r->hs.load1 = real_or_nan(res, i, 1);
	r->hs.mem_used_pct = real_or_nan(res, i, 2);
	return r->fn(&r->hs, r->arg);
}

static int
pg_hb_history(struct store *base, const char *node_id, int64_t since,
    store_hb_sample_fn fn, void *arg)
{
	struct pg	*s = pg_of(base);
	struct load_rows r;
	struct pg_params p;

	memset(&r, 0, sizeof(r));
	r.fn = fn;
	r.arg = arg;
	snprintf(r.hs.node_id, sizeof(r.hs.node_id), "%s", node_id);
	pg_params_init(&p);
	pg_text(&p, node_id);
	pg_i64(&p, since);
	return pg_rows(s, &s->rdb, "hb_history",
	    "SELECT at, load1,"
	    " mem_used_pct FROM heartbeat_samples WHERE node_id = $1 AND"
	    " at >= $2 ORDER BY at",
	    &p, load_row, &r);
}

/* In store_backend.h\'s order. */
const struct store_audit_ops pg_audit_ops = { pg_audit_add, pg_audit_list };

/* In store_backend.h\'s order. */
const struct store_sample_ops pg_sample_ops = { pg_fleet_sample,
	pg_fleet_history, pg_hb_samples_add, pg_hb_history };
