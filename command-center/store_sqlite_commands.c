/*
 * store_sqlite_commands: signed commands, their results, scans and
 * findings in the SQLite backend. Every change of a node's queued count
 * is told to store_queued() once the lock is released.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store_sqlite_db.h"

int
sq_queue_locked(struct sq *s, struct cmd_new *c, sign_fn sign, void *arg)
{
	sqlite3_stmt *st = s->st[S_SEQ_NEXT];

	sqlite3_bind_text(st, 1, c->node_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		return -2;
	}
	c->seq = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (sign(c, arg) == -1) {
		sq_rollback(s);
		return -1;
	}
	st = s->st[S_CMD_INSERT];
	sqlite3_bind_text(st, 1, c->command_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, c->node_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, c->seq);
	sqlite3_bind_text(st, 4, c->command, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, c->args, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, c->queued_by, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, c->queued_at);
	sqlite3_bind_int64(st, 8, c->expires_at);
	sqlite3_bind_text(st, 9, c->payload, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 10, c->signature, -1, SQLITE_STATIC);
	sq_bind_text_or_null(st, 11, c->job_id);
	if (c->delivered)
		sqlite3_bind_int64(st, 12, c->queued_at);
	else
		sqlite3_bind_null(st, 12);
	return sq_tx_step(s, st, "command_insert");
}

static int
sq_command_queue(struct store *base, struct cmd_new *c, sign_fn sign, void *arg)
{
	struct sq *s = sq_of(base);
	int	   rc = -1;

	pthread_mutex_lock(&s->mu);
	if (sq_begin(s) == -1)
		goto out;
	rc = sq_queue_locked(s, c, sign, arg);
	if (rc == -2)
		sq_rollback(s);
	else if (rc == 0 && sq_tx_commit(s) == -1)
		rc = -1;
out:
	pthread_mutex_unlock(&s->mu);
	if (rc == 0)
		store_queued(base, c->node_id, 1);
	return rc;
}

static int
sq_commands_deliver(struct store *base, const char *node_id, int64_t now,
    size_t max, struct cmd_wire **out, size_t *nout)
{
	struct sq	*s = sq_of(base);
	sqlite3_stmt	*st = s->st[S_CMD_OPEN];
	struct cmd_wire *w = NULL;
	size_t		 n = 0;
	int		 rc = -1, src;

	*out = NULL;
	*nout = 0;
	if ((w = calloc(max, sizeof(*w))) == NULL)
		return -1;
	pthread_mutex_lock(&s->mu);
	(void)sq_step_done(s, s->st[S_SYNC_NORMAL], "sync_normal");
	if (sq_begin(s) == -1)
		goto out;
	sqlite3_bind_text(st, 1, node_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)max);
	while (n < max && (src = sqlite3_step(st)) == SQLITE_ROW) {
		snprintf(w[n].command_id, sizeof(w[n].command_id), "%s",
		    (const char *)sqlite3_column_text(st, 0));
		w[n].payload = sq_col_strdup(st, 1);
		w[n].signature = sq_col_strdup(st, 2);
		n++;
		if (w[n - 1].payload == NULL || w[n - 1].signature == NULL)
			break;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	for (size_t i = 0; i < n; i++) {
		st = s->st[S_CMD_MARK];
		sqlite3_bind_text(st, 1, w[i].command_id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, now);
		if (w[i].payload == NULL || w[i].signature == NULL ||
		    sq_step_done(s, st, "command_mark") == -1) {
			sq_rollback(s);
			goto out;
		}
	}
	if (sq_tx_commit(s) == -1)
		goto out;
	rc = 0;
out:
	(void)sq_step_done(s, s->st[S_SYNC_FULL], "sync_full");
	pthread_mutex_unlock(&s->mu);
	if (rc == -1) {
		cmd_wire_free(w, n);
		return -1;
	}
	if (n > 0)
		store_queued(base, node_id, -(int)n);
	*out = w;
	*nout = n;
	return 0;
}

static int
sq_commands_undeliver(struct store *base, const char *node_id,
    const struct cmd_wire *w, size_t n)
{
	struct sq *s = sq_of(base);
	int	   rc = 0, changed = 0;

	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < n; i++) {
		sqlite3_bind_text(s->st[S_CMD_UNDELIVER], 1, w[i].command_id,
		    -1, SQLITE_STATIC);
		if (sq_step_done(s, s->st[S_CMD_UNDELIVER], "undeliver") == -1)
			rc = -1;
		else
			changed += sqlite3_changes(s->db);
	}
	pthread_mutex_unlock(&s->mu);
	if (changed > 0)
		store_queued(base, node_id, changed);
	return rc == -1 ? -1 : changed;
}

static enum result_outcome
sq_command_result(struct store *base, struct cmd_result *res)
{
	struct sq	   *s = sq_of(base);
	sqlite3_stmt	   *st = s->st[S_CMD_GET];
	enum result_outcome out = RESULT_ERROR;
	char		    owner[37] = "", status[16] = "", command[33] = "";
	int		    no_start = 0;

	memset(res->counts, 0, sizeof(res->counts));
	res->is_scan = 0;
	res->was_queued = 0;
	pthread_mutex_lock(&s->mu);
	if (sq_begin(s) == -1)
		goto out;
	sqlite3_bind_text(st, 1, res->command_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(owner, sizeof(owner), "%s",
		    (const char *)sqlite3_column_text(st, 0));
		snprintf(status, sizeof(status), "%s",
		    (const char *)sqlite3_column_text(st, 1));
		snprintf(command, sizeof(command), "%s",
		    (const char *)sqlite3_column_text(st, 2));
		no_start = sqlite3_column_int(st, 3);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (owner[0] == '\0') {
		out = RESULT_UNKNOWN;
		sq_rollback(s);
		goto out;
	}
	if (strcmp(owner, res->node_id) != 0) {
		out = RESULT_FORBIDDEN;
		sq_rollback(s);
		goto out;
	}
	/* Open, or timed out by the CC itself (no agent result yet). */
	if (strcmp(status, "queued") != 0 && strcmp(status, "delivered") != 0 &&
	    !(strcmp(status, "timeout") == 0 && no_start)) {
		out = RESULT_REPEAT; /* a result is stored already */
		sq_rollback(s);
		goto out;
	}
	res->was_queued = strcmp(status, "queued") == 0;
	st = s->st[S_CMD_RESULT];
	sqlite3_bind_text(st, 1, res->command_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, res->status, -1, SQLITE_STATIC);
	if (res->has_exit)
		sqlite3_bind_int64(st, 3, res->exit_code);
	else
		sqlite3_bind_null(st, 3);
	sq_bind_text_or_null(st, 4, res->output);
	sq_bind_text_or_null(st, 5, res->started_at);
	sq_bind_text_or_null(st, 6, res->finished_at);
	sqlite3_bind_int64(st, 7, res->now);
	if (res->output_hash != 0)
		sqlite3_bind_int64(st, 8, res->output_hash);
	else
		sqlite3_bind_null(st, 8);
	if (sq_tx_step(s, st, "command_result") == -1)
		goto out;
	if (strcmp(command, "sovereign-scan") == 0 &&
	    strcmp(res->status, "ok") == 0) {
		res->is_scan = 1;
		for (size_t i = 0; i < res->nfindings; i++) {
			const struct finding *f = &res->findings[i];
			int sev = finding_severity(f->severity);

			if (sev >= 0)
				res->counts[sev]++;
		}
		st = s->st[S_SCAN_INSERT];
		sqlite3_bind_text(st, 1, res->command_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, res->node_id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, res->now);
		for (int i = 0; i < FINDING_SEVERITIES; i++)
			sqlite3_bind_int(st, 4 + i, res->counts[i]);
		if (sq_tx_step(s, st, "scan_insert") == -1)
			goto out;
		for (size_t i = 0; i < res->nfindings; i++) {
			const struct finding *f = &res->findings[i];

			st = s->st[S_FINDING_INSERT];
			sqlite3_bind_text(st, 1, res->command_id, -1,
			    SQLITE_STATIC);
			sqlite3_bind_int64(st, 2, (sqlite3_int64)i);
			sqlite3_bind_text(st, 3, f->id, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 4, f->severity, -1,
			    SQLITE_STATIC);
			sqlite3_bind_text(st, 5, f->title, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 6, f->detail, -1, SQLITE_STATIC);
			sq_bind_text_or_null(st, 7, f->remediation);
			if (sq_tx_step(s, st, "finding_insert") == -1)
				goto out;
		}
		st = s->st[S_NODE_SCAN];
		sqlite3_bind_text(st, 1, res->node_id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, res->now);
		for (int i = 0; i < FINDING_SEVERITIES; i++)
			sqlite3_bind_int(st, 3 + i, res->counts[i]);
		if (sq_tx_step(s, st, "node_scan") == -1)
			goto out;
	}
	if (sq_tx_commit(s) == -1)
		goto out;
	out = RESULT_STORED;
out:
	pthread_mutex_unlock(&s->mu);
	if (out == RESULT_STORED && res->was_queued) /* never delivered */
		store_queued(base, res->node_id, -1);
	return out;
}

/* A node id, as the queue-changing statements return them. */
typedef char node_id_buf[37];

/*
 * Steps st (bound, ?1 = t) and collects the node ids it returns into *ids
 * (malloc'd, *n of them); with s->mu held. 0, or -1 on a store error.
 */
static int
collect_nodes(struct sq *s, sqlite3_stmt *st, const char *op, node_id_buf **ids,
    size_t *n)
{
	node_id_buf *nids;
	size_t	     cap = 0;
	int	     rc, ret = 0;

	*ids = NULL;
	*n = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((nids = realloc(*ids, cap * sizeof(**ids))) == NULL)
				break;
			*ids = nids;
		}
		snprintf((*ids)[(*n)++], 37, "%s",
		    (const char *)sqlite3_column_text(st, 0));
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		log_err("store_error", "op=%s error=\"%s\"", op,
		    sqlite3_errmsg(s->db));
		ret = -1;
	}
	/* A ROW here means we ran out of memory: finish the statement. */
	while (rc == SQLITE_ROW)
		rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return ret;
}

/*
 * Runs statement id (bound to t), each row of which is a command that
 * left (delta -1) or came back to (+1) its node's queue, and tells
 * store_queued() and fn of each one's node, outside the store's lock (fn
 * takes the fleet's): the count, or -1.
 */
static int
nodes_changed(struct store *base, enum stmt_id id, const char *op, int64_t t,
    int delta, store_node_id_fn fn, void *arg)
{
	struct sq    *s = sq_of(base);
	sqlite3_stmt *st = s->st[id];
	node_id_buf  *ids = NULL;
	size_t	      n = 0;
	int	      ret;

	pthread_mutex_lock(&s->mu);
	sqlite3_bind_int64(st, 1, t);
	ret = collect_nodes(s, st, op, &ids, &n);
	pthread_mutex_unlock(&s->mu);
	for (size_t i = 0; i < n; i++) {
		store_queued(base, ids[i], delta);
		if (fn != NULL)
			fn(ids[i], arg);
	}
	free(ids);
	return ret == -1 ? -1 : (int)n;
}

static int
sq_commands_expire(struct store *base, int64_t now, int64_t grace,
    store_node_id_fn fn, void *arg)
{
	struct sq    *s = sq_of(base);
	sqlite3_stmt *st = s->st[S_CMD_LOST];
	int	      n;

	n = nodes_changed(base, S_CMD_EXPIRE, "expire", now, -1, fn, arg);
	pthread_mutex_lock(&s->mu);
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int64(st, 2, grace);
	if (sq_step_done(s, st, "lost") == 0 && sqlite3_changes(s->db) > 0)
		log_warn("commands_timed_out", "count=%d reason=no_result",
		    sqlite3_changes(s->db));
	pthread_mutex_unlock(&s->mu);
	return n;
}

static int
sq_commands_release(struct store *base, int64_t before, store_node_id_fn fn,
    void *arg)
{
	return nodes_changed(base, S_CMD_RELEASE, "release", before, 1, fn,
	    arg);
}

static int
sq_commands_pending(struct store *base, store_pending_fn fn, void *arg)
{
	struct sq    *s = sq_of(base);
	sqlite3_stmt *st = s->st[S_CMD_PENDING];
	int	      rc;

	pthread_mutex_lock(&s->mu);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		fn((const char *)sqlite3_column_text(st, 0),
		    sqlite3_column_int(st, 1), arg);
	sqlite3_reset(st);
	pthread_mutex_unlock(&s->mu);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* The row converters' contexts: each one's callback, typed. */
static int
cmd_row_of(sqlite3_stmt *st, void *arg)
{
	struct store_rows *r = arg;
	struct cmd_row	   row;

	memset(&row, 0, sizeof(row));
	row.command_id = sq_col_text(st, 0);
	row.seq = sqlite3_column_int64(st, 1);
	row.command = sq_col_text(st, 2);
	row.args = sq_col_text(st, 3);
	row.queued_by = sq_col_text(st, 4);
	row.queued_at = sqlite3_column_int64(st, 5);
	row.expires_at = sqlite3_column_int64(st, 6);
	row.status = sq_col_text(st, 7);
	row.delivered_at = sqlite3_column_int64(st, 8);
	row.started_at = sq_col_text(st, 9);
	row.finished_at = sq_col_text(st, 10);
	row.has_exit = sqlite3_column_type(st, 11) != SQLITE_NULL;
	row.exit_code = sqlite3_column_int64(st, 11);
	row.output = sq_col_text(st, 12);
	row.result_at = sqlite3_column_int64(st, 13);
	/* Strings stay valid until the next step: copy what is kept. */
	return r->fn.cmd(&row, r->arg);
}

static int
sq_commands_list(struct store *base, const char *node_id,
    const struct cmd_filter *flt, int limit, store_cmd_row_fn fn, void *arg)
{
	struct sq	 *s = sq_of(base);
	sqlite3_stmt	 *st = s->st[S_CMD_LIST];
	struct store_rows r = { .fn.cmd = fn, .arg = arg };
	int		  rc;

	pthread_mutex_lock(&s->rmu);
	sqlite3_bind_text(st, 1, node_id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, limit);
	sqlite3_bind_int64(st, 3,
	    flt != NULL && flt->before > 0 ? flt->before : INT64_MAX);
	sq_bind_text_or_null(st, 4, flt != NULL ? flt->status : NULL);
	sq_bind_text_or_null(st, 5, flt != NULL ? flt->command : NULL);
	rc = sq_each_row(st, "commands_list", cmd_row_of, &r);
	pthread_mutex_unlock(&s->rmu);
	return rc;
}

static int
finding_of(sqlite3_stmt *st, void *arg)
{
	struct store_rows *r = arg;
	struct finding	   f;
	const char **const text[] = { &f.id, &f.severity, &f.title, &f.detail,
		&f.remediation };

	sq_col_texts(st, 0, text, sizeof(text) / sizeof(text[0]));
	return r->fn.finding(&f, r->arg);
}

static int
sq_findings(struct store *base, const char *command_id, store_finding_fn fn,
    void *arg)
{
	struct sq	 *s = sq_of(base);
	sqlite3_stmt	 *st = s->st[S_FINDINGS_OF];
	struct store_rows r = { .fn.finding = fn, .arg = arg };
	int		  rc;

	pthread_mutex_lock(&s->rmu);
	sqlite3_bind_text(st, 1, command_id, -1, SQLITE_STATIC);
	rc = sq_each_row(st, "findings", finding_of, &r);
	pthread_mutex_unlock(&s->rmu);
	return rc;
}

static int
sq_command_open(struct store *base, const char *node_id, const char *command)
{
	struct sq    *s = sq_of(base);
	sqlite3_stmt *st = s->st[S_CMD_OPEN_OF];
	int	      n = -1;

	pthread_mutex_lock(&s->mu);
	sqlite3_bind_text(st, 1, node_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, command, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	pthread_mutex_unlock(&s->mu);
	return n;
}

static int
scan_row_of(sqlite3_stmt *st, void *arg)
{
	struct store_rows *r = arg;
	struct scan_row	   row;

	row.command_id = sq_col_text(st, 0);
	row.scanned_at = sqlite3_column_int64(st, 1);
	for (int i = 0; i < FINDING_SEVERITIES; i++)
		row.counts[i] = sqlite3_column_int(st, 2 + i);
	return r->fn.scan(&row, r->arg);
}

static int
sq_scans_list(struct store *base, const char *node_id, int limit,
    store_scan_fn fn, void *arg)
{
	struct sq	 *s = sq_of(base);
	sqlite3_stmt	 *st = s->st[S_SCANS_OF];
	struct store_rows r = { .fn.scan = fn, .arg = arg };
	int		  rc;

	pthread_mutex_lock(&s->rmu);
	sqlite3_bind_text(st, 1, node_id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, limit);
	rc = sq_each_row(st, "scans_list", scan_row_of, &r);
	pthread_mutex_unlock(&s->rmu);
	return rc;
}

static int
command_count_of(sqlite3_stmt *st, void *arg)
{
	struct store_rows *r = arg;

	return r->fn.count(sq_col_text(st, 0), sq_col_text(st, 1),
	    sqlite3_column_int(st, 2), r->arg);
}

static int
sq_command_counts(struct store *base, store_count_fn fn, void *arg)
{
	struct sq	 *s = sq_of(base);
	struct store_rows r = { .fn.count = fn, .arg = arg };
	int		  rc;

	pthread_mutex_lock(&s->rmu);
	rc = sq_each_row(s->st[S_CMD_COUNTS], "command_counts",
	    command_count_of, &r);
	pthread_mutex_unlock(&s->rmu);
	return rc;
}

/* In store_backend.h\'s order. */
const struct store_command_ops sq_command_ops = { sq_command_queue,
	sq_commands_deliver, sq_commands_undeliver, sq_command_result,
	sq_commands_expire, sq_commands_release, sq_commands_pending,
	sq_command_open, sq_commands_list, sq_command_counts, sq_scans_list,
	sq_findings };
