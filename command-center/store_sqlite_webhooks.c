/*
 * store_sqlite_webhooks: the webhooks' outbox and the attention levels told
 * to them, in the SQLite backend (on the write connection: the delivery
 * thread's reads are few and small).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "store_sqlite_db.h"

static int
sq_outbox_add(struct store *base, const char *event, const char *body,
    const char *const *urls, size_t n, int64_t now)
{
	struct sq    *s = sq_of(base);
	sqlite3_stmt *st = s->st[S_OUTBOX_ADD];
	int	      rc = -1;

	pthread_mutex_lock(&s->mu);
	if (sq_begin(s) == -1)
		goto out;
	for (size_t i = 0; i < n; i++) {
		sqlite3_bind_text(st, 1, urls[i], -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, event, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, body, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, now);
		if (sq_tx_step(s, st, "outbox_add") == -1)
			goto out;
	}
	rc = sq_tx_commit(s);
out:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

struct outbox_ctx {
	store_outbox_fn fn;
	void	       *arg;
};

static int
outbox_row(sqlite3_stmt *st, void *arg)
{
	struct outbox_ctx *c = arg;
	struct outbox_rec  o;

	memset(&o, 0, sizeof(o));
	o.n = sqlite3_column_int64(st, 0);
	o.url = sq_col_text(st, 1);
	o.event = sq_col_text(st, 2);
	o.body = sq_col_text(st, 3);
	o.attempts = sqlite3_column_int(st, 4);
	o.created_at = sqlite3_column_int64(st, 5);
	return c->fn(&o, c->arg);
}

static int
sq_outbox_due(struct store *base, int64_t now, int limit, store_outbox_fn fn,
    void *arg)
{
	struct sq	 *s = sq_of(base);
	sqlite3_stmt	 *st = s->st[S_OUTBOX_DUE];
	struct outbox_ctx c = { fn, arg };
	int		  rc;

	pthread_mutex_lock(&s->mu);
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int(st, 2, limit);
	rc = sq_each_row(st, "outbox_due", outbox_row, &c);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int
sq_outbox_done(struct store *base, int64_t n, int64_t at)
{
	struct sq    *s = sq_of(base);
	sqlite3_stmt *st = s->st[S_OUTBOX_DONE];
	int	      rc;

	pthread_mutex_lock(&s->mu);
	sqlite3_bind_int64(st, 1, n);
	sqlite3_bind_int64(st, 2, at);
	rc = sq_step_done(s, st, "outbox_done");
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int
sq_outbox_failed(struct store *base, int64_t n, int64_t next_at,
    const char *error, int dead)
{
	struct sq    *s = sq_of(base);
	sqlite3_stmt *st = s->st[S_OUTBOX_FAILED];
	int	      rc;

	pthread_mutex_lock(&s->mu);
	sqlite3_bind_int64(st, 1, n);
	sqlite3_bind_int64(st, 2, next_at);
	sqlite3_bind_text(st, 3, error, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, dead ? "dead" : "pending", -1, SQLITE_STATIC);
	rc = sq_step_done(s, st, "outbox_failed");
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int
count_row(sqlite3_stmt *st, void *arg)
{
	int64_t *c = arg;

	c[strcmp(sq_col_text(st, 0), "dead") == 0] =
	    sqlite3_column_int64(st, 1);
	return 0;
}

static int
sq_outbox_counts(struct store *base, int64_t *pending, int64_t *dead)
{
	struct sq    *s = sq_of(base);
	sqlite3_stmt *st = s->st[S_OUTBOX_COUNTS];
	int64_t	      c[2] = { 0, 0 };
	int	      rc;

	pthread_mutex_lock(&s->mu);
	rc = sq_each_row(st, "outbox_counts", count_row, c);
	pthread_mutex_unlock(&s->mu);
	*pending = c[0];
	*dead = c[1];
	return rc;
}

static int
sq_outbox_prune(struct store *base, int64_t before)
{
	struct sq    *s = sq_of(base);
	sqlite3_stmt *st = s->st[S_OUTBOX_PRUNE];
	int	      rc;

	pthread_mutex_lock(&s->mu);
	sqlite3_bind_int64(st, 1, before);
	rc = sq_step_done(s, st, "outbox_prune");
	pthread_mutex_unlock(&s->mu);
	return rc;
}

struct level_ctx {
	store_level_fn fn;
	void	      *arg;
};

static int
level_row(sqlite3_stmt *st, void *arg)
{
	struct level_ctx *c = arg;

	return c->fn(sq_col_text(st, 0), sqlite3_column_int(st, 1),
	    (unsigned)sqlite3_column_int(st, 2), sqlite3_column_int64(st, 3),
	    c->arg);
}

static int
sq_levels(struct store *base, store_level_fn fn, void *arg)
{
	struct sq	*s = sq_of(base);
	struct level_ctx c = { fn, arg };
	int		 rc;

	pthread_mutex_lock(&s->mu);
	rc = sq_each_row(s->st[S_LEVELS], "webhook_levels", level_row, &c);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int
sq_level_set(struct store *base, const char *node_id, int level,
    unsigned reasons, int64_t at)
{
	struct sq    *s = sq_of(base);
	sqlite3_stmt *st = s->st[S_LEVEL_SET];
	int	      rc;

	pthread_mutex_lock(&s->mu);
	sqlite3_bind_text(st, 1, node_id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, level);
	sqlite3_bind_int(st, 3, (int)reasons);
	sqlite3_bind_int64(st, 4, at);
	rc = sq_step_done(s, st, "webhook_level_set");
	pthread_mutex_unlock(&s->mu);
	return rc;
}

const struct store_webhook_ops sq_webhook_ops = { sq_outbox_add, sq_outbox_due,
	sq_outbox_done, sq_outbox_failed, sq_outbox_counts, sq_outbox_prune,
	sq_levels, sq_level_set };
