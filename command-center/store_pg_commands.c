/*
 * store_pg_commands: signed commands, their results, scans and findings
 * in the PostgreSQL backend. Every change of a node's queued count is
 * told to store_queued() once the lock is released.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "store_pg_db.h"

int
pg_queue_locked(struct pg *s, struct cmd_new *c, sign_fn sign, void *arg)
{
	struct pg_params p;
	PGresult	*res;
	int		 rc;

	/* The row lock this takes orders the node's queuers across replicas. */
	pg_params_init(&p);
	pg_text(&p, c->node_id);
	res = pg_exec(s, &s->db, "seq_next",
	    "UPDATE nodes SET last_seq ="
	    " last_seq + 1 WHERE node_id = $1 RETURNING last_seq",
	    &p);
	pg_params_free(&p);
	if (res == NULL || PQntuples(res) != 1) {
		rc = res != NULL ? -2 : -1; /* -2: no such node */
		PQclear(res);
		return rc;
	}
	c->seq = pg_col_i64(res, 0, 0);
	PQclear(res);
	if (sign(c, arg) == -1)
		return -1;
	pg_params_init(&p);
	pg_text(&p, c->command_id);
	pg_text(&p, c->node_id);
	pg_i64(&p, c->seq);
	pg_text(&p, c->command);
	pg_text(&p, c->args);
	pg_text(&p, c->queued_by);
	pg_i64(&p, c->queued_at);
	pg_i64(&p, c->expires_at);
	pg_text(&p, c->payload);
	pg_text(&p, c->signature);
	rc = pg_run(s, &s->db, "command_insert",
	    "INSERT INTO commands"
	    " (command_id, node_id, seq, command, args, queued_by, queued_at,"
	    " expires_at, payload, signature, status) VALUES ($1, $2, $3, $4,"
	    " $5, $6, $7, $8, $9, $10, 'queued')",
	    &p);
	pg_params_free(&p);
	return rc;
}

static int
pg_command_queue(struct store *base, struct cmd_new *c, sign_fn sign, void *arg)
{
	struct pg *s = pg_of(base);
	int	   rc = -1;

	pthread_mutex_lock(&s->db.mu);
	if (pg_begin(s, &s->db) == -1)
		goto out;
	rc = pg_queue_locked(s, c, sign, arg);
	if (rc != 0 || pg_commit(s, &s->db) == -1) {
		rc = rc == 0 ? -1 : rc;
		pg_rollback(s, &s->db);
	}
out:
	pthread_mutex_unlock(&s->db.mu);
	if (rc == 0)
		store_queued(base, c->node_id, 1);
	return rc;
}

/*
 * The delivery's transaction, under db's mutex: its rows, an empty result
 * when another delivery of the node is under way, or NULL.
 *
 * One delivery of a node at a time (a transaction-scoped advisory lock on
 * the node, tried, not waited for: a second poll of the node, on this or
 * another replica, takes nothing, as SKIP LOCKED would have it take only
 * what the first does not). The statement after it has a snapshot that
 * sees every delivery committed before: the open commands, oldest first,
 * none past an older one still delivered without a result (the agent runs
 * only rising seqs; a command whose answer was lost with its replica goes
 * first again when its lease puts it back), marked delivered.
 */
static PGresult *
deliver_locked(struct pg *s, const char *node_id, int64_t now, size_t max)
{
	struct pg_params p;
	PGresult	*res;
	int		 mine;

	if (pg_begin(s, &s->db) == -1)
		return NULL;
	pg_params_init(&p);
	pg_text(&p, node_id);
	res = pg_exec(s, &s->db, "deliver_lock",
	    "SELECT pg_try_advisory_xact_lock(721501963, hashtext($1))", &p);
	pg_params_free(&p);
	mine = res != NULL && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	if (res == NULL || !mine) {
		/* Nothing to hand, as an empty RETURNING would be. */
		if (res != NULL)
			PQclear(res);
		pg_rollback(s, &s->db);
		return res == NULL ? NULL :
				     PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
	}
	PQclear(res);
	pg_params_init(&p);
	pg_text(&p, node_id);
	pg_i64(&p, now);
	pg_i64(&p, (int64_t)max);
	res = pg_exec(s, &s->db, "commands_deliver",
	    "WITH o AS (SELECT command_id FROM commands WHERE node_id = $1"
	    " AND status = 'queued' AND expires_at > $2 AND seq < coalesce(("
	    "SELECT min(seq) FROM commands WHERE node_id = $1 AND status ="
	    " 'delivered'), 9223372036854775807) ORDER BY seq LIMIT $3 FOR"
	    " UPDATE SKIP LOCKED) UPDATE commands c SET status = 'delivered',"
	    " delivered_at = $2 FROM o WHERE c.command_id = o.command_id"
	    " RETURNING c.command_id, c.payload, c.signature, c.seq",
	    &p);
	pg_params_free(&p);
	if (res == NULL || pg_commit(s, &s->db) == -1) {
		PQclear(res);
		pg_rollback(s, &s->db);
		return NULL;
	}
	return res;
}

static int
pg_commands_deliver(struct store *base, const char *node_id, int64_t now,
    size_t max, struct cmd_wire **out, size_t *nout)
{
	struct pg	*s = pg_of(base);
	PGresult	*res;
	struct cmd_wire *w;
	size_t		 n = 0;
	int		 rc = -1, marked = 0;

	*out = NULL;
	*nout = 0;
	if ((w = calloc(max, sizeof(*w))) == NULL)
		return -1;
	pthread_mutex_lock(&s->db.mu);
	res = deliver_locked(s, node_id, now, max);
	pthread_mutex_unlock(&s->db.mu);
	if (res == NULL)
		goto out;
	/* They left the queue, whether or not they can be handed out now. */
	marked = PQntuples(res);
	/* RETURNING has no order of its own: by seq, as they were queued. */
	for (int i = 0; i < PQntuples(res) && n < max; i++, n++) {
		snprintf(w[n].command_id, sizeof(w[n].command_id), "%s",
		    PQgetvalue(res, i, 0));
		w[n].payload = strdup(PQgetvalue(res, i, 1));
		w[n].signature = strdup(PQgetvalue(res, i, 2));
		if (w[n].payload == NULL || w[n].signature == NULL) {
			n++;
			PQclear(res);
			goto out;
		}
	}
	{
		int64_t *seqs = calloc(n + 1, sizeof(*seqs));

		if (seqs == NULL) {
			PQclear(res);
			goto out;
		}
		for (size_t i = 0; i < n; i++)
			seqs[i] = pg_col_i64(res, (int)i, 3);
		/* Insertion sort: at most DELIVER_MAX of them. */
		for (size_t i = 1; i < n; i++)
			for (size_t j = i; j > 0 && seqs[j - 1] > seqs[j];
			     j--) {
				struct cmd_wire t = w[j];
				int64_t		ts = seqs[j];

				w[j] = w[j - 1];
				seqs[j] = seqs[j - 1];
				w[j - 1] = t;
				seqs[j - 1] = ts;
			}
		free(seqs);
	}
	PQclear(res);
	rc = 0;
out:
	if (marked > 0)
		store_queued(base, node_id, -marked);
	if (rc == -1) {
		/* Marked delivered but not handed out: the lease brings it back. */
		cmd_wire_free(w, n);
		return -1;
	}
	*out = w;
	*nout = n;
	return 0;
}

static int
pg_commands_undeliver(struct store *base, const char *node_id,
    const struct cmd_wire *w, size_t n)
{
	struct pg	*s = pg_of(base);
	struct pg_params p;
	PGresult	*res;
	struct buf	 ids;
	int		 changed = -1;

	/* The ids as one array (a command id is a UUID: nothing to quote). */
	buf_init(&ids, 64 + n * 40);
	buf_putc(&ids, '{');
	for (size_t i = 0; i < n; i++)
		buf_printf(&ids, "%s%s", i > 0 ? "," : "", w[i].command_id);
	buf_puts(&ids, "}");
	if (buf_failed(&ids))
		return -1;
	pg_params_init(&p);
	pg_text(&p, ids.p);
	pthread_mutex_lock(&s->db.mu);
	res = pg_exec(s, &s->db, "undeliver",
	    "UPDATE commands SET status = 'queued', delivered_at = NULL"
	    " WHERE command_id = ANY ($1::text[]) AND status = 'delivered'",
	    &p);
	pthread_mutex_unlock(&s->db.mu);
	if (res != NULL)
		changed = atoi(PQcmdTuples(res));
	PQclear(res);
	buf_free(&ids);
	if (changed > 0)
		store_queued(base, node_id, changed);
	return changed;
}

/* The scan rows of an "ok" sovereign-scan (in the result's transaction). */
static int
store_scan(struct pg *s, struct cmd_result *res)
{
	struct pg_params p;

	res->is_scan = 1;
	for (size_t i = 0; i < res->nfindings; i++) {
		int sev = finding_severity(res->findings[i].severity);

		if (sev >= 0)
			res->counts[sev]++;
	}
	pg_params_init(&p);
	pg_text(&p, res->command_id);
	pg_text(&p, res->node_id);
	pg_i64(&p, res->now);
	for (int i = 0; i < FINDING_SEVERITIES; i++)
		pg_i64(&p, res->counts[i]);
	if (pg_run(s, &s->db, "scan_insert",
		"INSERT INTO scans (command_id,"
		" node_id, scanned_at, critical, high, medium, low, info) VALUES"
		" ($1, $2, $3, $4, $5, $6, $7, $8)",
		&p) == -1)
		return -1;
	for (size_t i = 0; i < res->nfindings; i++) {
		const struct finding *f = &res->findings[i];
		int		      rc;

		pg_params_init(&p);
		pg_text(&p, res->command_id);
		pg_i64(&p, (int64_t)i);
		pg_text(&p, f->id);
		pg_text(&p, f->severity);
		pg_text(&p, f->title);
		pg_text(&p, f->detail);
		pg_text(&p, f->remediation);
		rc = pg_run(s, &s->db, "finding_insert",
		    "INSERT INTO findings"
		    " (command_id, idx, finding_id, severity, title, detail,"
		    " remediation) VALUES ($1, $2, $3, $4, $5, $6, $7)",
		    &p);
		if (rc == -1)
			return -1;
	}
	pg_params_init(&p);
	pg_text(&p, res->node_id);
	pg_i64(&p, res->now);
	for (int i = 0; i < FINDING_SEVERITIES; i++)
		pg_i64(&p, res->counts[i]);
	return pg_run(s, &s->db, "node_scan",
	    "UPDATE nodes SET last_scan_at"
	    " = $2, f_critical = $3, f_high = $4, f_medium = $5, f_low = $6,"
	    " f_info = $7, attn_due = 0 WHERE node_id = $1",
	    &p); /* attn_due 0: its attention is computed again */
}

static enum result_outcome
pg_command_result(struct store *base, struct cmd_result *res)
{
	struct pg	   *s = pg_of(base);
	struct pg_params    p;
	PGresult	   *r = NULL;
	enum result_outcome out = RESULT_ERROR;
	const char	   *status;
	int		    no_start;

	memset(res->counts, 0, sizeof(res->counts));
	res->is_scan = 0;
	res->was_queued = 0;
	pthread_mutex_lock(&s->db.mu);
	if (pg_begin(s, &s->db) == -1)
		goto out;
	pg_params_init(&p);
	pg_text(&p, res->command_id);
	r = pg_exec(s, &s->db, "command_get",
	    "SELECT node_id, status, command,"
	    " started_at IS NULL FROM commands WHERE command_id = $1 FOR UPDATE",
	    &p);
	if (r == NULL)
		goto fail;
	if (PQntuples(r) != 1) {
		out = RESULT_UNKNOWN;
		goto fail;
	}
	if (strcmp(PQgetvalue(r, 0, 0), res->node_id) != 0) {
		out = RESULT_FORBIDDEN;
		goto fail;
	}
	status = PQgetvalue(r, 0, 1);
	no_start = strcmp(PQgetvalue(r, 0, 3), "t") == 0;
	/* Open, or timed out by the CC itself (no agent result yet). */
	if (strcmp(status, "queued") != 0 && strcmp(status, "delivered") != 0 &&
	    !(strcmp(status, "timeout") == 0 && no_start)) {
		out = RESULT_REPEAT; /* a result is stored already */
		goto fail;
	}
	res->was_queued = strcmp(status, "queued") == 0;
	pg_params_init(&p);
	pg_text(&p, res->command_id);
	pg_text(&p, res->status);
	if (res->has_exit)
		pg_i64(&p, res->exit_code);
	else
		pg_text(&p, NULL);
	pg_text(&p, res->output);
	pg_text(&p, res->started_at);
	pg_text(&p, res->finished_at);
	pg_i64(&p, res->now);
	if (res->output_hash != 0)
		pg_i64(&p, res->output_hash);
	else
		pg_text(&p, NULL);
	if (pg_run(s, &s->db, "command_result",
		"UPDATE commands SET status ="
		" $2, exit_code = $3, output = $4, started_at = $5, finished_at ="
		" $6, result_at = $7, output_hash = $8 WHERE command_id = $1",
		&p) == -1)
		goto fail;
	if (strcmp(PQgetvalue(r, 0, 2), "sovereign-scan") == 0 &&
	    strcmp(res->status, "ok") == 0 && store_scan(s, res) == -1)
		goto fail;
	if (pg_commit(s, &s->db) == -1)
		goto fail;
	out = RESULT_STORED;
	goto out;
fail:
	res->was_queued = 0;
	pg_rollback(s, &s->db);
out:
	PQclear(r);
	pthread_mutex_unlock(&s->db.mu);
	if (out == RESULT_STORED && res->was_queued) /* never delivered */
		store_queued(base, res->node_id, -1);
	return out;
}

/*
 * Runs sql (?1 = t, ?2 = grace), each row of which is the node of a
 * command that left (delta -1) or came back to (+1) its queue, and tells
 * store_queued() and fn of each, outside the store's lock: the count, or
 * -1.
 */
static int
nodes_changed(struct store *base, const char *op, const char *sql, int64_t t,
    int delta, store_node_id_fn fn, void *arg)
{
	struct pg	*s = pg_of(base);
	struct pg_params p;
	PGresult	*res;
	int		 n;

	pg_params_init(&p);
	pg_i64(&p, t);
	pthread_mutex_lock(&s->db.mu);
	res = pg_exec(s, &s->db, op, sql, &p);
	pthread_mutex_unlock(&s->db.mu);
	if (res == NULL)
		return -1;
	n = PQntuples(res);
	for (int i = 0; i < n; i++) {
		store_queued(base, PQgetvalue(res, i, 0), delta);
		if (fn != NULL)
			fn(PQgetvalue(res, i, 0), arg);
	}
	PQclear(res);
	return n;
}

static int
pg_commands_expire(struct store *base, int64_t now, int64_t grace,
    store_node_id_fn fn, void *arg)
{
	struct pg	*s = pg_of(base);
	struct pg_params p;
	PGresult	*res;
	int		 n;

	/*
	 * Past expiry, a command still queued is "expired"; one that was
	 * delivered and put back (its lease ran out) is "timeout", the CC's
	 * own verdict (NULL started_at).
	 */
	n = nodes_changed(base, "expire",
	    "UPDATE commands SET status = CASE"
	    " WHEN delivered_at IS NULL THEN 'expired' ELSE 'timeout' END,"
	    " output = CASE WHEN delivered_at IS NULL THEN output ELSE 'no"
	    " result from the agent before the command expired' END,"
	    " result_at = $1 WHERE status = 'queued' AND expires_at <= $1"
	    " RETURNING node_id",
	    now, -1, fn, arg);
	pg_params_init(&p);
	pg_i64(&p, now);
	pg_i64(&p, grace);
	pthread_mutex_lock(&s->db.mu);
	res = pg_exec(s, &s->db, "lost",
	    "UPDATE commands SET status ="
	    " 'timeout', result_at = $1, output = 'no result from the agent"
	    " before the command expired' WHERE status = 'delivered' AND"
	    " expires_at <= $1::bigint - $2::bigint",
	    &p);
	pthread_mutex_unlock(&s->db.mu);
	if (res != NULL && atoi(PQcmdTuples(res)) > 0)
		log_warn("commands_timed_out", "count=%s reason=no_result",
		    PQcmdTuples(res));
	PQclear(res);
	return n;
}

static int
pg_commands_release(struct store *base, int64_t before, store_node_id_fn fn,
    void *arg)
{
	return nodes_changed(base, "release",
	    "UPDATE commands SET status ="
	    " 'queued' WHERE status = 'delivered' AND delivered_at <= $1"
	    " RETURNING node_id",
	    before, 1, fn, arg);
}

static int
pending_row(const PGresult *res, int i, void *ctx)
{
	struct store_rows *r = ctx;

	r->fn.pending(PQgetvalue(res, i, 0), (int)pg_col_i64(res, i, 1),
	    r->arg);
	return 0;
}

static int
pg_commands_pending(struct store *base, store_pending_fn fn, void *arg)
{
	struct pg	 *s = pg_of(base);
	struct store_rows r = { .fn.pending = fn, .arg = arg };

	return pg_rows(s, &s->db, "commands_pending",
	    "SELECT node_id,"
	    " count(*) FROM commands WHERE status = 'queued' GROUP BY node_id",
	    NULL, pending_row, &r);
}

static int
pg_command_open(struct store *base, const char *node_id, const char *command)
{
	struct pg	*s = pg_of(base);
	struct pg_params p;
	PGresult	*res;
	int		 n = -1;

	pg_params_init(&p);
	pg_text(&p, node_id);
	pg_text(&p, command);
	pthread_mutex_lock(&s->db.mu);
	res = pg_exec(s, &s->db, "command_open",
	    "SELECT count(*) FROM commands"
	    " WHERE node_id = $1 AND command = $2 AND status IN ('queued',"
	    " 'delivered')",
	    &p);
	pthread_mutex_unlock(&s->db.mu);
	if (res != NULL)
		n = (int)pg_col_i64(res, 0, 0);
	PQclear(res);
	return n;
}

static int
cmd_row(const PGresult *res, int i, void *ctx)
{
	struct store_rows *r = ctx;
	struct cmd_row	   row;

	memset(&row, 0, sizeof(row));
	row.command_id = pg_col(res, i, 0);
	row.seq = pg_col_i64(res, i, 1);
	row.command = pg_col(res, i, 2);
	row.args = pg_col(res, i, 3);
	row.queued_by = pg_col(res, i, 4);
	row.queued_at = pg_col_i64(res, i, 5);
	row.expires_at = pg_col_i64(res, i, 6);
	row.status = pg_col(res, i, 7);
	row.delivered_at = pg_col_i64(res, i, 8);
	row.started_at = pg_col(res, i, 9);
	row.finished_at = pg_col(res, i, 10);
	row.has_exit = !pg_col_null(res, i, 11);
	row.exit_code = pg_col_i64(res, i, 11);
	row.output = pg_col(res, i, 12);
	row.result_at = pg_col_i64(res, i, 13);
	return r->fn.cmd(&row, r->arg);
}

static int
pg_commands_list(struct store *base, const char *node_id,
    const struct cmd_filter *flt, int limit, store_cmd_row_fn fn, void *arg)
{
	struct pg	 *s = pg_of(base);
	struct store_rows r = { .fn.cmd = fn, .arg = arg };
	struct pg_params  p;

	pg_params_init(&p);
	pg_text(&p, node_id);
	pg_i64(&p, limit);
	pg_i64(&p, flt != NULL && flt->before > 0 ? flt->before : INT64_MAX);
	pg_text(&p, flt != NULL ? flt->status : NULL);
	pg_text(&p, flt != NULL ? flt->command : NULL);
	return pg_rows(s, &s->rdb, "commands_list",
	    "SELECT command_id, seq,"
	    " command, args, queued_by, queued_at, expires_at, status,"
	    " delivered_at, started_at, finished_at, exit_code, output,"
	    " result_at FROM commands WHERE node_id = $1 AND seq < $3 AND"
	    " ($4::text IS NULL OR status = $4) AND ($5::text IS NULL OR"
	    " command = $5) ORDER BY seq DESC LIMIT $2",
	    &p, cmd_row, &r);
}

static int
finding_row(const PGresult *res, int i, void *ctx)
{
	struct store_rows *r = ctx;
	struct finding	   f;

	f.id = pg_col(res, i, 0);
	f.severity = pg_col(res, i, 1);
	f.title = pg_col(res, i, 2);
	f.detail = pg_col(res, i, 3);
	f.remediation = pg_col(res, i, 4);
	return r->fn.finding(&f, r->arg);
}

static int
pg_findings(struct store *base, const char *command_id, store_finding_fn fn,
    void *arg)
{
	struct pg	 *s = pg_of(base);
	struct store_rows r = { .fn.finding = fn, .arg = arg };
	struct pg_params  p;

	pg_params_init(&p);
	pg_text(&p, command_id);
	return pg_rows(s, &s->rdb, "findings",
	    "SELECT finding_id, severity,"
	    " title, detail, remediation FROM findings WHERE command_id = $1"
	    " ORDER BY CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1"
	    " WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 4 END, idx",
	    &p, finding_row, &r);
}

static int
scan_row(const PGresult *res, int i, void *ctx)
{
	struct store_rows *r = ctx;
	struct scan_row	   row;

	row.command_id = pg_col(res, i, 0);
	row.scanned_at = pg_col_i64(res, i, 1);
	for (int k = 0; k < FINDING_SEVERITIES; k++)
		row.counts[k] = (int)pg_col_i64(res, i, 2 + k);
	return r->fn.scan(&row, r->arg);
}

static int
pg_scans_list(struct store *base, const char *node_id, int limit,
    store_scan_fn fn, void *arg)
{
	struct pg	 *s = pg_of(base);
	struct store_rows r = { .fn.scan = fn, .arg = arg };
	struct pg_params  p;

	pg_params_init(&p);
	pg_text(&p, node_id);
	pg_i64(&p, limit);
	return pg_rows(s, &s->rdb, "scans_list",
	    "SELECT command_id,"
	    " scanned_at, critical, high, medium, low, info FROM scans WHERE"
	    " node_id = $1 ORDER BY scanned_at DESC, ctid DESC LIMIT $2",
	    &p, scan_row, &r);
}

static int
count_row(const PGresult *res, int i, void *ctx)
{
	struct store_rows *r = ctx;

	return r->fn.count(pg_col(res, i, 0), pg_col(res, i, 1),
	    (int)pg_col_i64(res, i, 2), r->arg);
}

static int
pg_command_counts(struct store *base, store_count_fn fn, void *arg)
{
	struct pg	 *s = pg_of(base);
	struct store_rows r = { .fn.count = fn, .arg = arg };

	return pg_rows(s, &s->rdb, "command_counts",
	    "SELECT command, status,"
	    " count(*) FROM commands GROUP BY command, status ORDER BY"
	    " command, status",
	    NULL, count_row, &r);
}

/* In store_backend.h\'s order. */
const struct store_command_ops pg_command_ops = { pg_command_queue,
	pg_commands_deliver, pg_commands_undeliver, pg_command_result,
	pg_commands_expire, pg_commands_release, pg_commands_pending,
	pg_command_open, pg_commands_list, pg_command_counts, pg_scans_list,
	pg_findings };
