/*
 * store_pg_approvals: requests that wait for a second operator, in the
 * PostgreSQL backend. A decision is one transaction with what it starts;
 * the request's row is decided once, whichever replica two approvers use
 * (the UPDATE's row lock and its status condition).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "store_jobs_sql.h"
#include "store_pg_db.h"

static int
pg_approval_add(struct store *base, const struct approval_rec *a)
{
	struct pg	*s = pg_of(base);
	struct pg_params p;
	int		 rc;

	pg_params_init(&p);
	pg_text(&p, a->id);
	pg_text(&p, a->kind);
	pg_text(&p, a->node_id);
	pg_text(&p, a->command);
	pg_text(&p, a->args);
	pg_text(&p, a->reason);
	pg_text(&p, a->requested_by);
	pg_i64(&p, a->requested_at);
	pg_i64(&p, a->expires_at);
	pg_i64(&p, a->selected);
	pthread_mutex_lock(&s->db.mu);
	rc = pg_run(s, &s->db, "approval_insert",
	    "INSERT INTO approvals (id, kind, node_id, command, args, reason,"
	    " requested_by, requested_at, expires_at, selected, status) VALUES"
	    " ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'awaiting_approval')",
	    &p);
	pthread_mutex_unlock(&s->db.mu);
	pg_params_free(&p);
	return rc;
}

struct approval_ctx {
	store_approval_fn fn;
	void		 *arg;
	int		  n;
};

static int
approval_row(const PGresult *res, int i, void *ctx)
{
	struct approval_ctx *c = ctx;
	struct approval_rec  a;

	memset(&a, 0, sizeof(a));
	snprintf(a.id, sizeof(a.id), "%s", pg_col(res, i, 0));
	a.kind = pg_col(res, i, 1);
	a.node_id = pg_col(res, i, 2);
	a.command = pg_col(res, i, 3);
	a.args = pg_col(res, i, 4);
	a.reason = pg_col(res, i, 5);
	a.requested_by = pg_col(res, i, 6);
	a.requested_at = pg_col_i64(res, i, 7);
	a.expires_at = pg_col_i64(res, i, 8);
	a.selected = (int)pg_col_i64(res, i, 9);
	a.status = pg_col(res, i, 10);
	a.decided_by = pg_col(res, i, 11);
	a.decided_at = pg_col_i64(res, i, 12);
	a.decision_reason = pg_col(res, i, 13);
	c->n++;
	return c->fn(&a, c->arg);
}

static int
pg_approval_get(struct store *base, const char *id, store_approval_fn fn,
    void *arg)
{
	struct pg	   *s = pg_of(base);
	struct pg_params    p;
	struct approval_ctx c = { fn, arg, 0 };
	int		    rc;

	pg_params_init(&p);
	pg_text(&p, id);
	rc = pg_rows(s, &s->rdb, "approval_get",
	    "SELECT " APPROVAL_COLUMNS " FROM approvals WHERE id = $1", &p,
	    approval_row, &c);
	pg_params_free(&p);
	return rc == -1 ? -1 : c.n > 0;
}

static int
pg_approval_list(struct store *base, const char *status, const char *node_id,
    int limit, store_approval_fn fn, void *arg)
{
	struct pg	   *s = pg_of(base);
	struct pg_params    p;
	struct approval_ctx c = { fn, arg, 0 };
	int		    rc;

	pg_params_init(&p);
	pg_text(&p, status);
	pg_text(&p, node_id);
	pg_i64(&p, limit);
	rc = pg_rows(s, &s->rdb, "approval_list",
	    "SELECT " APPROVAL_COLUMNS " FROM approvals WHERE ($1::text IS"
	    " NULL OR status = $1) AND ($2::text IS NULL OR node_id = $2)"
	    " ORDER BY n DESC LIMIT $3",
	    &p, approval_row, &c);
	pg_params_free(&p);
	return rc;
}

static int
pg_approval_decide(struct store *base, const char *id, const char *status,
    const char *by, int64_t at, const char *reason, struct cmd_new *c,
    sign_fn sign, void *arg)
{
	struct pg	*s = pg_of(base);
	struct pg_params p;
	PGresult	*res;
	char		 kind[16] = "";
	int		 rc = -1;

	pthread_mutex_lock(&s->db.mu);
	if (pg_begin(s, &s->db) == -1)
		goto out;
	pg_params_init(&p);
	pg_text(&p, id);
	pg_text(&p, status);
	pg_text(&p, by);
	pg_i64(&p, at);
	pg_text(&p, reason);
	res = pg_exec(s, &s->db, "approval_decide",
	    "UPDATE approvals SET status = $2, decided_by = $3, decided_at ="
	    " $4, decision_reason = $5 WHERE id = $1 AND status ="
	    " 'awaiting_approval' RETURNING kind",
	    &p);
	pg_params_free(&p);
	if (res != NULL && PQntuples(res) == 1)
		snprintf(kind, sizeof(kind), "%s", PQgetvalue(res, 0, 0));
	if (res == NULL || kind[0] == '\0') {
		rc = res == NULL ? -1 : 0;
		PQclear(res);
		pg_rollback(s, &s->db);
		goto out;
	}
	PQclear(res);
	if (strcmp(kind, "job") == 0) {
		pg_params_init(&p);
		pg_text(&p, id);
		pg_text(&p,
		    strcmp(status, "approved") == 0 ? "running" : "cancelled");
		pg_i64(&p, at);
		rc = pg_run(s, &s->db, "approval_job",
		    "UPDATE jobs SET status = $2, finished_at = CASE WHEN $2 ="
		    " 'running' THEN 0 ELSE $3 END WHERE job_id = $1 AND"
		    " status = 'awaiting_approval'",
		    &p);
		pg_params_free(&p);
	} else if (c != NULL)
		rc = pg_queue_locked(s, c, sign, arg);
	else
		rc = 0;
	if (rc != 0 || pg_commit(s, &s->db) == -1) {
		rc = rc == 0 ? -1 : rc;
		pg_rollback(s, &s->db);
		goto out;
	}
	rc = 1;
out:
	pthread_mutex_unlock(&s->db.mu);
	return rc;
}

struct ids {
	store_node_id_fn fn;
	void		*arg;
};

static int
id_row(const PGresult *res, int i, void *ctx)
{
	struct ids *ids = ctx;

	ids->fn(pg_col(res, i, 0), ids->arg);
	return 0;
}

static int
pg_approvals_expired(struct store *base, int64_t now, store_node_id_fn fn,
    void *arg)
{
	struct pg	*s = pg_of(base);
	struct pg_params p;
	struct ids	 ids = { fn, arg };
	int		 rc;

	pg_params_init(&p);
	pg_i64(&p, now);
	rc = pg_rows(s, &s->rdb, "approvals_expired",
	    "SELECT id FROM approvals WHERE status = 'awaiting_approval' AND"
	    " expires_at <= $1",
	    &p, id_row, &ids);
	pg_params_free(&p);
	return rc;
}

const struct store_approval_ops pg_approval_ops = { pg_approval_add,
	pg_approval_get, pg_approval_list, pg_approval_decide,
	pg_approvals_expired };
