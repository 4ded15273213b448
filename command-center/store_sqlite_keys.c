/*
 * store_sqlite_keys: the command-signing keys and the key each node last
 * confirmed, in the SQLite backend (on the write connection: a handful of
 * rows, read at start and after a rotation).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "store_sqlite_db.h"

struct key_ctx {
	store_key_fn fn;
	void	    *arg;
};

static int
key_row(sqlite3_stmt *st, void *arg)
{
	struct key_ctx *c = arg;
	struct key_rec	k;

	memset(&k, 0, sizeof(k));
	k.version = sqlite3_column_int64(st, 0);
	snprintf(k.key_id, sizeof(k.key_id), "%s",
	    sq_col_text(st, 1) ? sq_col_text(st, 1) : "");
	snprintf(k.public_key, sizeof(k.public_key), "%s",
	    sq_col_text(st, 2) ? sq_col_text(st, 2) : "");
	k.state = sq_col_text(st, 3);
	k.created_at = sqlite3_column_int64(st, 4);
	k.retire_by = sqlite3_column_int64(st, 5);
	k.retired_at = sqlite3_column_int64(st, 6);
	k.emergency = sqlite3_column_int(st, 7);
	k.link = sq_col_text(st, 8);
	k.sealed = sq_col_text(st, 9);
	if (k.state == NULL)
		return -1;
	return c->fn(&k, c->arg);
}

static int
sq_keys_all(struct store *base, store_key_fn fn, void *arg)
{
	struct sq     *s = sq_of(base);
	struct key_ctx c = { fn, arg };
	int	       rc;

	pthread_mutex_lock(&s->mu);
	rc = sq_each_row(s->st[S_KEYS_ALL], "keys", key_row, &c);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* The newest version (mu held), or -1. */
static int64_t
max_locked(struct sq *s)
{
	sqlite3_stmt *st = s->st[S_KEY_MAX];
	int64_t	      v = -1;

	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	else
		log_err("store_error", "op=key_version error=\"%s\"",
		    sqlite3_errmsg(s->db));
	sqlite3_reset(st);
	return v;
}

static int
sq_key_add(struct store *base, const struct key_rec *k)
{
	struct sq    *s = sq_of(base);
	sqlite3_stmt *st;
	int64_t	      max;
	int	      rc = -1;

	pthread_mutex_lock(&s->mu);
	if (sq_begin(s) == -1)
		goto out;
	if ((max = max_locked(s)) == -1) {
		sq_rollback(s);
		goto out;
	}
	if (max != k->version - 1) {
		sq_rollback(s);
		rc = 0;
		goto out;
	}
	st = s->st[S_KEY_DEMOTE];
	sqlite3_bind_int64(st, 1, k->version);
	sqlite3_bind_int(st, 2, k->emergency != 0);
	sqlite3_bind_int64(st, 3, k->created_at);
	sqlite3_bind_int64(st, 4, k->retire_by);
	if (sq_tx_step(s, st, "key_demote") == -1)
		goto out;
	st = s->st[S_KEY_INSERT];
	sqlite3_bind_int64(st, 1, k->version);
	sqlite3_bind_text(st, 2, k->key_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, k->public_key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, k->created_at);
	sqlite3_bind_int64(st, 5, 0);
	sqlite3_bind_int(st, 6, k->emergency != 0);
	sq_bind_text_or_null(st, 7, k->link);
	sq_bind_text_or_null(st, 8, k->sealed);
	if (sq_tx_step(s, st, "key_insert") == -1)
		goto out;
	if (sq_tx_commit(s) == 0)
		rc = 1;
out:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int
sq_key_retire(struct store *base, int64_t version, int64_t now)
{
	struct sq    *s = sq_of(base);
	sqlite3_stmt *st = s->st[S_KEY_RETIRE];
	int	      rc;

	pthread_mutex_lock(&s->mu);
	sqlite3_bind_int64(st, 1, version);
	sqlite3_bind_int64(st, 2, now);
	rc = sq_step_done(s, st, "key_retire");
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int64_t
sq_key_version(struct store *base)
{
	struct sq *s = sq_of(base);
	int64_t	   v;

	pthread_mutex_lock(&s->mu);
	v = max_locked(s);
	pthread_mutex_unlock(&s->mu);
	return v;
}

static int
sq_node_pinned(struct store *base, const char *node_id, const char *key_id)
{
	struct sq    *s = sq_of(base);
	sqlite3_stmt *st = s->st[S_NODE_PINNED];
	int	      rc;

	pthread_mutex_lock(&s->mu);
	sqlite3_bind_text(st, 1, node_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, key_id, -1, SQLITE_STATIC);
	rc = sq_step_done(s, st, "node_pinned");
	pthread_mutex_unlock(&s->mu);
	return rc;
}

const struct store_key_ops sq_key_ops = { sq_keys_all, sq_key_add,
	sq_key_retire, sq_key_version, sq_node_pinned };
