/*
 * store_sqlite_approvals: requests that wait for a second operator, in the
 * SQLite backend. A decision is one transaction with what it starts: the
 * job's row, or the approved command queued with its seq.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "store_sqlite_db.h"

static int
sq_approval_add(struct store *base, const struct approval_rec *a)
{
	struct sq    *s = sq_of(base);
	sqlite3_stmt *st = s->st[S_APPROVAL_INSERT];
	int	      rc;

	pthread_mutex_lock(&s->mu);
	sqlite3_bind_text(st, 1, a->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, a->kind, -1, SQLITE_STATIC);
	sq_bind_text_or_null(st, 3, a->node_id);
	sqlite3_bind_text(st, 4, a->command, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, a->args, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, a->reason, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, a->requested_by, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, a->requested_at);
	sqlite3_bind_int64(st, 9, a->expires_at);
	sqlite3_bind_int(st, 10, a->selected);
	rc = sq_step_done(s, st, "approval_insert");
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int
approval_of(sqlite3_stmt *st, void *arg)
{
	struct store_rows  *r = arg;
	struct approval_rec a;
	const char **const  text[] = { &a.kind, &a.node_id, &a.command, &a.args,
		 &a.reason, &a.requested_by };

	memset(&a, 0, sizeof(a));
	snprintf(a.id, sizeof(a.id), "%s", sq_col_text(st, 0));
	sq_col_texts(st, 1, text, sizeof(text) / sizeof(text[0]));
	a.requested_at = sqlite3_column_int64(st, 7);
	a.expires_at = sqlite3_column_int64(st, 8);
	a.selected = sqlite3_column_int(st, 9);
	a.status = sq_col_text(st, 10);
	a.decided_by = sq_col_text(st, 11);
	a.decided_at = sqlite3_column_int64(st, 12);
	a.decision_reason = sq_col_text(st, 13);
	return r->fn.approval(&a, r->arg);
}

static int
sq_approval_get(struct store *base, const char *id, store_approval_fn fn,
    void *arg)
{
	struct sq	 *s = sq_of(base);
	sqlite3_stmt	 *st = s->st[S_APPROVAL_GET];
	struct store_rows r = { .fn.approval = fn, .arg = arg };
	int		  rc, found = 0;

	pthread_mutex_lock(&s->rmu);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		found = 1;
		rc = approval_of(st, &r) == -1 ? SQLITE_ERROR : SQLITE_DONE;
	} else if (rc != SQLITE_DONE)
		log_err("store_error", "op=approval_get error=\"%s\"",
		    sqlite3_errmsg(s->rdb));
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	pthread_mutex_unlock(&s->rmu);
	return rc != SQLITE_DONE ? -1 : found;
}

static int
sq_approval_list(struct store *base, const char *status, const char *node_id,
    int limit, store_approval_fn fn, void *arg)
{
	struct sq	 *s = sq_of(base);
	sqlite3_stmt	 *st = s->st[S_APPROVAL_LIST];
	struct store_rows r = { .fn.approval = fn, .arg = arg };
	int		  rc;

	pthread_mutex_lock(&s->rmu);
	sq_bind_text_or_null(st, 1, status);
	sq_bind_text_or_null(st, 2, node_id);
	sqlite3_bind_int(st, 3, limit);
	rc = sq_each_row(st, "approval_list", approval_of, &r);
	pthread_mutex_unlock(&s->rmu);
	return rc;
}

static int
sq_approval_decide(struct store *base, const char *id, const char *status,
    const char *by, int64_t at, const char *reason, struct cmd_new *c,
    sign_fn sign, void *arg)
{
	struct sq    *s = sq_of(base);
	sqlite3_stmt *st = s->st[S_APPROVAL_DECIDE];
	char	      kind[16] = "";
	int	      rc = -1, step, one;

	pthread_mutex_lock(&s->mu);
	if (sq_begin(s) == -1)
		goto out;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, status, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, by, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, at);
	sq_bind_text_or_null(st, 5, reason);
	if ((step = sqlite3_step(st)) == SQLITE_ROW)
		snprintf(kind, sizeof(kind), "%s", sq_col_text(st, 0));
	if (step == SQLITE_ROW)
		step = sqlite3_step(st);
	if (step != SQLITE_DONE)
		log_err("store_error", "op=approval_decide error=\"%s\"",
		    sqlite3_errmsg(s->db));
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (step != SQLITE_DONE || kind[0] == '\0') {
		sq_rollback(s);
		rc = step != SQLITE_DONE ? -1 : 0;
		goto out;
	}
	if (strcmp(kind, "job") == 0) {
		st = s->st[S_APPROVAL_JOB];
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2,
		    strcmp(status, "approved") == 0 ? "running" : "cancelled",
		    -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, at);
		if (sq_tx_step(s, st, "approval_job") == -1)
			goto out;
	} else if (c != NULL) {
		if ((one = sq_queue_locked(s, c, sign, arg)) != 0) {
			if (one == -2)
				sq_rollback(s);
			rc = one;
			goto out;
		}
	}
	if (sq_tx_commit(s) == 0)
		rc = 1;
out:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

struct ids {
	store_node_id_fn fn;
	void		*arg;
};

static int
id_of(sqlite3_stmt *st, void *arg)
{
	struct ids *ids = arg;

	ids->fn((const char *)sqlite3_column_text(st, 0), ids->arg);
	return 0;
}

static int
sq_approvals_expired(struct store *base, int64_t now, store_node_id_fn fn,
    void *arg)
{
	struct sq    *s = sq_of(base);
	sqlite3_stmt *st = s->st[S_APPROVAL_EXPIRED];
	struct ids    ids = { fn, arg };
	int	      rc;

	pthread_mutex_lock(&s->rmu);
	sqlite3_bind_int64(st, 1, now);
	rc = sq_each_row(st, "approvals_expired", id_of, &ids);
	pthread_mutex_unlock(&s->rmu);
	return rc;
}

const struct store_approval_ops sq_approval_ops = { sq_approval_add,
	sq_approval_get, sq_approval_list, sq_approval_decide,
	sq_approvals_expired };
