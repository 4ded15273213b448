/*
 * store_pg_webhooks: the webhooks' outbox and the attention levels told to
 * them, in the PostgreSQL backend. Only the leader delivers and compares
 * levels; any replica may add to the outbox.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "store_pg_db.h"

static int
pg_outbox_add(struct store *base, const char *event, const char *body,
    const char *const *urls, size_t n, int64_t now)
{
	struct pg	*s = pg_of(base);
	struct pg_params p;
	int		 rc = 0;

	pthread_mutex_lock(&s->db.mu);
	if (pg_begin(s, &s->db) == -1) {
		pthread_mutex_unlock(&s->db.mu);
		return -1;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		pg_params_init(&p);
		pg_text(&p, urls[i]);
		pg_text(&p, event);
		pg_text(&p, body);
		pg_i64(&p, now);
		rc = pg_run(s, &s->db, "outbox_add",
		    "INSERT INTO webhook_outbox (url, event, body, created_at,"
		    " next_at) VALUES ($1, $2, $3, $4, $4)",
		    &p);
		pg_params_free(&p);
	}
	if (rc != 0 || pg_commit(s, &s->db) == -1) {
		rc = -1;
		pg_rollback(s, &s->db);
	}
	pthread_mutex_unlock(&s->db.mu);
	return rc;
}

struct outbox_ctx {
	store_outbox_fn fn;
	void	       *arg;
};

static int
outbox_row(const PGresult *res, int i, void *ctx)
{
	struct outbox_ctx *c = ctx;
	struct outbox_rec  o;

	memset(&o, 0, sizeof(o));
	o.n = pg_col_i64(res, i, 0);
	o.url = pg_col(res, i, 1);
	o.event = pg_col(res, i, 2);
	o.body = pg_col(res, i, 3);
	o.attempts = (int)pg_col_i64(res, i, 4);
	o.created_at = pg_col_i64(res, i, 5);
	return c->fn(&o, c->arg);
}

static int
pg_outbox_due(struct store *base, int64_t now, int limit, store_outbox_fn fn,
    void *arg)
{
	struct pg	 *s = pg_of(base);
	struct pg_params  p;
	struct outbox_ctx c = { fn, arg };
	int		  rc;

	pg_params_init(&p);
	pg_i64(&p, now);
	pg_i64(&p, limit);
	rc = pg_rows(s, &s->db, "outbox_due",
	    "SELECT n, url, event, body, attempts, created_at FROM"
	    " webhook_outbox o WHERE state = 'pending' AND next_at <= $1 AND"
	    " n = (SELECT min(n) FROM webhook_outbox p WHERE p.url = o.url"
	    " AND p.state = 'pending') ORDER BY n LIMIT $2",
	    &p, outbox_row, &c);
	pg_params_free(&p);
	return rc;
}

/* One statement on db under its lock: 0, or -1. */
static int
run(struct pg *s, const char *what, const char *sql, struct pg_params *p)
{
	int rc;

	pthread_mutex_lock(&s->db.mu);
	rc = pg_run(s, &s->db, what, sql, p);
	pthread_mutex_unlock(&s->db.mu);
	pg_params_free(p);
	return rc;
}

static int
pg_outbox_done(struct store *base, int64_t n, int64_t at)
{
	struct pg_params p;

	pg_params_init(&p);
	pg_i64(&p, n);
	pg_i64(&p, at);
	return run(pg_of(base), "outbox_done",
	    "UPDATE webhook_outbox SET state = 'delivered', delivered_at = $2,"
	    " attempts = attempts + 1 WHERE n = $1 AND state = 'pending'",
	    &p);
}

static int
pg_outbox_failed(struct store *base, int64_t n, int64_t next_at,
    const char *error, int dead)
{
	struct pg_params p;

	pg_params_init(&p);
	pg_i64(&p, n);
	pg_i64(&p, next_at);
	pg_text(&p, error);
	pg_text(&p, dead ? "dead" : "pending");
	return run(pg_of(base), "outbox_failed",
	    "UPDATE webhook_outbox SET attempts = attempts + 1, next_at = $2,"
	    " last_error = $3, state = $4 WHERE n = $1 AND state = 'pending'",
	    &p);
}

static int
count_row(const PGresult *res, int i, void *ctx)
{
	int64_t *c = ctx;

	c[strcmp(pg_col(res, i, 0), "dead") == 0] = pg_col_i64(res, i, 1);
	return 0;
}

static int
pg_outbox_counts(struct store *base, int64_t *pending, int64_t *dead)
{
	struct pg *s = pg_of(base);
	int64_t	   c[2] = { 0, 0 };
	int	   rc;

	rc = pg_rows(s, &s->rdb, "outbox_counts",
	    "SELECT state, count(*) FROM webhook_outbox WHERE state IN"
	    " ('pending', 'dead') GROUP BY state",
	    NULL, count_row, c);
	*pending = c[0];
	*dead = c[1];
	return rc;
}

static int
pg_outbox_prune(struct store *base, int64_t before)
{
	struct pg_params p;

	pg_params_init(&p);
	pg_i64(&p, before);
	return run(pg_of(base), "outbox_prune",
	    "DELETE FROM webhook_outbox WHERE state <> 'pending' AND"
	    " created_at < $1",
	    &p);
}

struct level_ctx {
	store_level_fn fn;
	void	      *arg;
};

static int
level_row(const PGresult *res, int i, void *ctx)
{
	struct level_ctx *c = ctx;

	return c->fn(pg_col(res, i, 0), (int)pg_col_i64(res, i, 1),
	    (unsigned)pg_col_i64(res, i, 2), pg_col_i64(res, i, 3), c->arg);
}

static int
pg_levels(struct store *base, store_level_fn fn, void *arg)
{
	struct pg	*s = pg_of(base);
	struct level_ctx c = { fn, arg };

	return pg_rows(s, &s->db, "webhook_levels",
	    "SELECT node_id, level, reasons, at FROM webhook_levels", NULL,
	    level_row, &c);
}

static int
pg_level_set(struct store *base, const char *node_id, int level,
    unsigned reasons, int64_t at)
{
	struct pg_params p;

	pg_params_init(&p);
	pg_text(&p, node_id);
	pg_i64(&p, level);
	pg_i64(&p, (int64_t)reasons);
	pg_i64(&p, at);
	return run(pg_of(base), "webhook_level_set",
	    "INSERT INTO webhook_levels (node_id, level, reasons, at) VALUES"
	    " ($1, $2, $3, $4) ON CONFLICT (node_id) DO UPDATE SET level ="
	    " excluded.level, reasons = excluded.reasons, at = excluded.at",
	    &p);
}

const struct store_webhook_ops pg_webhook_ops = { pg_outbox_add, pg_outbox_due,
	pg_outbox_done, pg_outbox_failed, pg_outbox_counts, pg_outbox_prune,
	pg_levels, pg_level_set };
