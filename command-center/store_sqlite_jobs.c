/*
 * store_sqlite_jobs: jobs in the SQLite backend: a job's row, its nodes
 * and their waves, a wave's commands queued in one transaction, its
 * counts, results and groups of identical answers. A job's commands are
 * rows of commands (job_id): what a node answered is read from there.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store_sqlite_db.h"

static int
sq_job_create(struct store *base, const struct job_rec *j,
    const struct job_node *nodes, size_t n)
{
	struct sq    *s = sq_of(base);
	sqlite3_stmt *st = s->st[S_JOB_INSERT];
	int	      rc = -1;

	pthread_mutex_lock(&s->mu);
	if (sq_begin(s) == -1)
		goto out;
	sqlite3_bind_text(st, 1, j->job_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, j->command, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, j->args, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, j->reason, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, j->target, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, j->rollout, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, j->created_by, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, j->created_at);
	sqlite3_bind_text(st, 9, j->status, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 10, j->selected);
	sqlite3_bind_int(st, 11, j->waves);
	sqlite3_bind_int(st, 12, j->pause_secs);
	sqlite3_bind_int(st, 13, j->max_failure_pct);
	if (sq_tx_step(s, st, "job_insert") == -1)
		goto out;
	st = s->st[S_JOB_NODE_INSERT];
	for (size_t i = 0; i < n; i++) {
		sqlite3_bind_text(st, 1, j->job_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, nodes[i].node_id, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 3, nodes[i].wave);
		sq_bind_text_or_null(st, 4, nodes[i].reason);
		if (sq_tx_step(s, st, "job_node_insert") == -1)
			goto out;
	}
	rc = sq_tx_commit(s);
out:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int
sq_job_wave_nodes(struct store *base, const char *job_id, int wave,
    store_node_id_fn fn, void *arg)
{
	struct sq    *s = sq_of(base);
	sqlite3_stmt *st = s->st[S_JOB_WAVE_NODES];
	int	      rc;

	pthread_mutex_lock(&s->rmu);
	sqlite3_bind_text(st, 1, job_id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, wave);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		fn((const char *)sqlite3_column_text(st, 0), arg);
	if (rc != SQLITE_DONE)
		log_err("store_error", "op=job_wave_nodes error=\"%s\"",
		    sqlite3_errmsg(s->rdb));
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	pthread_mutex_unlock(&s->rmu);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* 1 if the node has a command queued or delivered, 0 if not, -1. */
static int
node_has_out(struct sq *s, const char *node_id)
{
	sqlite3_stmt *st = s->st[S_CMD_OUT];
	int	      rc;

	sqlite3_bind_text(st, 1, node_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		log_err("store_error", "op=command_out error=\"%s\"",
		    sqlite3_errmsg(s->db));
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static int
sq_job_start_wave(struct store *base, const char *job_id, int wave,
    struct cmd_new *c, size_t n, sign_fn sign, void *arg)
{
	struct sq    *s = sq_of(base);
	sqlite3_stmt *st = s->st[S_JOB_WAVE_SET];
	int	      rc = -1, queued = 0, one;

	pthread_mutex_lock(&s->mu);
	if (sq_begin(s) == -1)
		goto out;
	sqlite3_bind_text(st, 1, job_id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, wave);
	if (sq_tx_step(s, st, "job_wave_set") == -1)
		goto out;
	if (sqlite3_changes(s->db) == 0) { /* ended, or started already */
		sq_rollback(s);
		rc = -3;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		/* Handed at once only with nothing older still out. */
		if (c[i].delivered &&
		    (one = node_has_out(s, c[i].node_id)) != 0) {
			if (one == -1) {
				sq_rollback(s);
				goto out;
			}
			c[i].delivered = 0;
		}
		one = sq_queue_locked(s, &c[i], sign, arg);
		if (one == -1)
			goto out;
		if (one == -2) /* deleted since: no command */
			c[i].seq = 0;
		else
			queued++;
	}
	if (sq_tx_commit(s) == 0)
		rc = queued;
out:
	pthread_mutex_unlock(&s->mu);
	if (rc > 0)
		for (size_t i = 0; i < n; i++)
			if (c[i].seq > 0 && !c[i].delivered)
				store_queued(base, c[i].node_id, 1);
	return rc;
}

static int
job_of(sqlite3_stmt *st, void *arg)
{
	struct store_rows *r = arg;
	struct job_rec	   j;
	const char **const text[] = { &j.command, &j.args, &j.reason, &j.target,
		&j.rollout, &j.created_by };

	memset(&j, 0, sizeof(j));
	snprintf(j.job_id, sizeof(j.job_id), "%s", sq_col_text(st, 0));
	j.n = sqlite3_column_int64(st, 1);
	sq_col_texts(st, 2, text, sizeof(text) / sizeof(text[0]));
	j.created_at = sqlite3_column_int64(st, 8);
	j.status = sq_col_text(st, 9);
	j.selected = sqlite3_column_int(st, 10);
	j.waves = sqlite3_column_int(st, 11);
	j.wave = sqlite3_column_int(st, 12);
	j.wave_done_at = sqlite3_column_int64(st, 13);
	j.pause_secs = sqlite3_column_int(st, 14);
	j.max_failure_pct = sqlite3_column_int(st, 15);
	j.finished_at = sqlite3_column_int64(st, 16);
	return r->fn.job(&j, r->arg);
}

static int
sq_job_get(struct store *base, const char *job_id, store_job_fn fn, void *arg)
{
	struct sq	 *s = sq_of(base);
	sqlite3_stmt	 *st = s->st[S_JOB_GET];
	struct store_rows r = { .fn.job = fn, .arg = arg };
	int		  rc, found = 0;

	pthread_mutex_lock(&s->rmu);
	sqlite3_bind_text(st, 1, job_id, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		found = 1;
		rc = job_of(st, &r) == -1 ? SQLITE_ERROR : SQLITE_DONE;
	} else if (rc != SQLITE_DONE)
		log_err("store_error", "op=job_get error=\"%s\"",
		    sqlite3_errmsg(s->rdb));
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	pthread_mutex_unlock(&s->rmu);
	if (rc != SQLITE_DONE)
		return -1;
	return found ? 0 : -2;
}

static int
sq_job_list(struct store *base, int64_t before, const char *status, int limit,
    store_job_fn fn, void *arg)
{
	struct sq	 *s = sq_of(base);
	sqlite3_stmt	 *st = s->st[S_JOB_LIST];
	struct store_rows r = { .fn.job = fn, .arg = arg };
	int		  rc;

	pthread_mutex_lock(&s->rmu);
	sqlite3_bind_int64(st, 1, before > 0 ? before : INT64_MAX);
	sq_bind_text_or_null(st, 2, status);
	sqlite3_bind_int(st, 3, limit);
	rc = sq_each_row(st, "job_list", job_of, &r);
	pthread_mutex_unlock(&s->rmu);
	return rc;
}

static int
sq_job_counts(struct store *base, const char *job_id, store_count_fn fn,
    void *arg)
{
	struct sq    *s = sq_of(base);
	sqlite3_stmt *st = s->st[S_JOB_COUNTS];
	const char   *status;
	int	      rc = SQLITE_DONE, n, commands = 0, nodes = 0, ret = 0;

	pthread_mutex_lock(&s->rmu);
	sqlite3_bind_text(st, 1, job_id, -1, SQLITE_STATIC);
	while (ret == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		status = sq_col_text(st, 0);
		n = sqlite3_column_int(st, 1);
		if (strcmp(status, "nodes") == 0)
			nodes = n;
		else {
			commands += n;
			ret = fn(NULL, status, n, arg);
		}
	}
	if (ret == 0 && rc != SQLITE_DONE) {
		log_err("store_error", "op=job_counts error=\"%s\"",
		    sqlite3_errmsg(s->rdb));
		ret = -1;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	pthread_mutex_unlock(&s->rmu);
	/* The nodes of waves not started have no command yet. */
	if (ret == 0 && nodes > commands)
		ret = fn(NULL, "not_started", nodes - commands, arg);
	return ret;
}

static int
sq_job_update(struct store *base, const char *job_id, const char *status,
    int64_t now, int64_t wave_done_at)
{
	struct sq    *s = sq_of(base);
	sqlite3_stmt *st = s->st[S_JOB_UPDATE];
	int	      rc;

	pthread_mutex_lock(&s->mu);
	sqlite3_bind_text(st, 1, job_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, status, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now);
	sqlite3_bind_int64(st, 4, wave_done_at);
	rc = sq_step_done(s, st, "job_update");
	if (rc == 0)
		rc = sqlite3_changes(s->db) > 0;
	sqlite3_clear_bindings(st);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

typedef char node_id_buf[37];

static int
sq_job_cancel(struct store *base, const char *job_id, const char *status,
    int64_t now, store_node_id_fn fn, void *arg)
{
	struct sq    *s = sq_of(base);
	sqlite3_stmt *st = s->st[S_JOB_END];
	node_id_buf  *ids = NULL, *nids;
	size_t	      n = 0, cap = 0;
	int	      rc = -1, src;

	pthread_mutex_lock(&s->mu);
	if (sq_begin(s) == -1)
		goto out;
	sqlite3_bind_text(st, 1, job_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, status, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now);
	if (sq_tx_step(s, st, "job_end") == -1)
		goto out;
	if (sqlite3_changes(s->db) == 0) {
		sq_rollback(s);
		rc = -2;
		goto out;
	}
	st = s->st[S_JOB_CANCEL_CMDS];
	sqlite3_bind_text(st, 1, job_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			if ((nids = realloc(ids, cap * sizeof(*ids))) == NULL) {
				src = SQLITE_NOMEM;
				break;
			}
			ids = nids;
		}
		snprintf(ids[n++], sizeof(ids[0]), "%s",
		    (const char *)sqlite3_column_text(st, 0));
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (src != SQLITE_DONE) {
		log_err("store_error", "op=job_cancel error=\"%s\"",
		    sqlite3_errmsg(s->db));
		sq_rollback(s);
		goto out;
	}
	if (sq_tx_commit(s) == 0)
		rc = (int)n;
out:
	pthread_mutex_unlock(&s->mu);
	if (rc > 0)
		for (size_t i = 0; i < n; i++) {
			store_queued(base, ids[i], -1);
			if (fn != NULL)
				fn(ids[i], arg);
		}
	free(ids);
	return rc;
}

static int
result_of(sqlite3_stmt *st, void *arg)
{
	struct store_rows *r = arg;
	struct job_result  jr;

	memset(&jr, 0, sizeof(jr));
	jr.node_id = sq_col_text(st, 0);
	jr.hostname = sq_col_text(st, 1);
	jr.wave = sqlite3_column_int(st, 2);
	jr.status = sq_col_text(st, 3);
	jr.reason = sq_col_text(st, 4);
	jr.has_exit = sqlite3_column_type(st, 5) != SQLITE_NULL;
	jr.exit_code = sqlite3_column_int64(st, 5);
	jr.output = sq_col_text(st, 6);
	jr.result_at = sqlite3_column_int64(st, 7);
	jr.command_id = sq_col_text(st, 8);
	return r->fn.result(&jr, r->arg);
}

static int
sq_job_results(struct store *base, const struct job_result_q *q,
    store_job_result_fn fn, void *arg)
{
	struct sq	 *s = sq_of(base);
	sqlite3_stmt	 *st;
	struct store_rows r = { .fn.result = fn, .arg = arg };
	int		  rc;

	pthread_mutex_lock(&s->rmu);
	st = s->st[q->failures_first ? S_JOB_RESULTS_RANKED : S_JOB_RESULTS];
	sqlite3_bind_text(st, 1, q->job_id, -1, SQLITE_STATIC);
	if (q->failures_first)
		sqlite3_bind_int(st, 2, q->offset);
	else
		sqlite3_bind_text(st, 2, q->after != NULL ? q->after : "", -1,
		    SQLITE_STATIC);
	sqlite3_bind_int(st, 3, q->limit);
	rc = sq_each_row(st, "job_results", result_of, &r);
	pthread_mutex_unlock(&s->rmu);
	return rc;
}

static int
sq_job_groups(struct store *base, const char *job_id, int limit,
    store_job_group_fn fn, void *arg)
{
	struct sq    *s = sq_of(base);
	sqlite3_stmt *st = s->st[S_JOB_GROUPS],
		     *out = s->st[S_JOB_GROUP_OUTPUT];
	int rc, ret = 0;

	pthread_mutex_lock(&s->rmu);
	sqlite3_bind_text(st, 1, job_id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, limit);
	while (ret == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		/* The group's text, from one of its rows. */
		sqlite3_bind_text(out, 1, job_id, -1, SQLITE_STATIC);
		sqlite3_bind_value(out, 2, sqlite3_column_value(st, 0));
		sqlite3_bind_value(out, 3, sqlite3_column_value(st, 1));
		ret = fn(sq_col_text(st, 0),
		    sqlite3_step(out) == SQLITE_ROW ? sq_col_text(out, 0) :
						      NULL,
		    sqlite3_column_int(st, 2), arg);
		sqlite3_reset(out);
		sqlite3_clear_bindings(out);
	}
	if (ret == 0 && rc != SQLITE_DONE) {
		log_err("store_error", "op=job_groups error=\"%s\"",
		    sqlite3_errmsg(s->rdb));
		ret = -1;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	pthread_mutex_unlock(&s->rmu);
	return ret;
}

/* ---- recurring jobs ---------------------------------------------------- */

static int
sq_schedule_add(struct store *base, const struct schedule_rec *sc)
{
	struct sq    *s = sq_of(base);
	sqlite3_stmt *st = s->st[S_SCHED_ADD];
	int	      rc;

	pthread_mutex_lock(&s->mu);
	sqlite3_bind_text(st, 1, sc->schedule_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, sc->command, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, sc->args, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, sc->reason, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, sc->target, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, sc->rollout, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, sc->created_by, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, sc->created_at);
	sqlite3_bind_int64(st, 9, sc->every_secs);
	sqlite3_bind_int64(st, 10, sc->next_at);
	sq_bind_text_or_null(st, 11, sc->last_job_id);
	rc = sq_step_done(s, st, "schedule_add");
	sqlite3_clear_bindings(st);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int
schedule_of(sqlite3_stmt *st, void *arg)
{
	struct store_rows  *r = arg;
	struct schedule_rec sc;
	const char **const  text[] = { &sc.command, &sc.args, &sc.reason,
		 &sc.target, &sc.rollout, &sc.created_by };

	memset(&sc, 0, sizeof(sc));
	snprintf(sc.schedule_id, sizeof(sc.schedule_id), "%s",
	    sq_col_text(st, 0));
	sq_col_texts(st, 1, text, sizeof(text) / sizeof(text[0]));
	sc.created_at = sqlite3_column_int64(st, 7);
	sc.every_secs = sqlite3_column_int64(st, 8);
	sc.next_at = sqlite3_column_int64(st, 9);
	sc.last_job_id = sq_col_text(st, 10);
	return r->fn.schedule(&sc, r->arg);
}

static int
sq_schedules(struct store *base, store_schedule_fn fn, void *arg)
{
	struct sq	 *s = sq_of(base);
	struct store_rows r = { .fn.schedule = fn, .arg = arg };
	int		  rc;

	pthread_mutex_lock(&s->rmu);
	rc = sq_each_row(s->st[S_SCHED_ALL], "schedules", schedule_of, &r);
	pthread_mutex_unlock(&s->rmu);
	return rc;
}

static int
sq_schedule_ran(struct store *base, const char *schedule_id, int64_t due,
    int64_t next, const char *job_id)
{
	struct sq    *s = sq_of(base);
	sqlite3_stmt *st = s->st[S_SCHED_RAN];
	int	      rc;

	pthread_mutex_lock(&s->mu);
	sqlite3_bind_text(st, 1, schedule_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, due);
	sqlite3_bind_int64(st, 3, next);
	sq_bind_text_or_null(st, 4, job_id);
	rc = sq_step_done(s, st, "schedule_ran");
	if (rc == 0)
		rc = sqlite3_changes(s->db) > 0;
	sqlite3_clear_bindings(st);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int
sq_schedule_delete(struct store *base, const char *schedule_id, int64_t now)
{
	struct sq    *s = sq_of(base);
	sqlite3_stmt *st = s->st[S_SCHED_DELETE];
	int	      rc;

	pthread_mutex_lock(&s->mu);
	sqlite3_bind_text(st, 1, schedule_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	rc = sq_step_done(s, st, "schedule_delete");
	if (rc == 0)
		rc = sqlite3_changes(s->db) > 0;
	sqlite3_clear_bindings(st);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* In store_backend.h's order. */
const struct store_job_ops sq_job_ops = { sq_job_create, sq_job_wave_nodes,
	sq_job_start_wave, sq_job_get, sq_job_list, sq_job_counts,
	sq_job_update, sq_job_cancel, sq_job_results, sq_job_groups,
	sq_schedule_add, sq_schedules, sq_schedule_ran, sq_schedule_delete };
