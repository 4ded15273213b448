/*
 * store_sqlite_db: what the SQLite backend's files share: running a
 * statement, walking its rows, transactions, columns and bindings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store_sqlite_db.h"
#include "util.h"

int
sq_step_done(struct sq *s, sqlite3_stmt *st, const char *what)
{
	int64_t t0 = mono_us();
	int	rc = sqlite3_step(st);

	/* A COMMIT, or a statement in autocommit mode: a whole write. */
	if (rc == SQLITE_DONE && s->base.on_write != NULL &&
	    (st == s->st[S_COMMIT] ||
		(sqlite3_get_autocommit(s->db) && !sqlite3_stmt_readonly(st))))
		s->base.on_write(mono_us() - t0);
	if (rc != SQLITE_DONE)
		log_err("store_error", "op=%s rc=%d error=\"%s\"", what, rc,
		    sqlite3_errmsg(sqlite3_db_handle(st)));
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

const char *
sq_col_text(sqlite3_stmt *st, int col)
{
	return (const char *)sqlite3_column_text(st, col);
}

void
sq_col_texts(sqlite3_stmt *st, int first, const char **const to[], size_t n)
{
	for (size_t i = 0; i < n; i++)
		*to[i] = sq_col_text(st, first + (int)i);
}

char *
sq_col_strdup(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	return t ? strdup((const char *)t) : NULL;
}

int
sq_each_row(sqlite3_stmt *st, const char	  *what,
    int (*row)(sqlite3_stmt *st, void *arg), void *arg)
{
	int rc, ret = 0;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (row(st, arg) == -1) {
			ret = -1;
			break;
		}
	if (ret == 0 && rc != SQLITE_DONE) {
		log_err("store_error", "op=%s rc=%d error=\"%s\"", what, rc,
		    sqlite3_errmsg(sqlite3_db_handle(st)));
		ret = -1;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return ret;
}

void
sq_bind_text_or_null(sqlite3_stmt *st, int i, const char *s)
{
	if (s != NULL)
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

int
sq_begin(struct sq *s)
{
	return sq_step_done(s, s->st[S_BEGIN], "begin");
}

int
sq_commit(struct sq *s)
{
	return sq_step_done(s, s->st[S_COMMIT], "commit");
}

void
sq_rollback(struct sq *s)
{
	(void)sq_step_done(s, s->st[S_ROLLBACK], "rollback");
}

int
sq_tx_step(struct sq *s, sqlite3_stmt *st, const char *what)
{
	if (sq_step_done(s, st, what) == 0)
		return 0;
	sq_rollback(s);
	return -1;
}

int
sq_tx_commit(struct sq *s)
{
	return sq_tx_step(s, s->st[S_COMMIT], "commit");
}
