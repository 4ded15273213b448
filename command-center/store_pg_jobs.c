/*
 * store_pg_jobs: jobs in the PostgreSQL backend (what store_sqlite_jobs.c
 * does, in PostgreSQL's statements). A wave is queued in one transaction
 * of three statements whatever its size: the nodes' seqs taken at once
 * (rows locked in node order, so two jobs over the same nodes do not
 * deadlock), each command signed here, all of them inserted from one JSON
 * array.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "store_jobs_sql.h"
#include "store_pg_db.h"

static int
pg_job_create(struct store *base, const struct job_rec *j,
    const struct job_node *nodes, size_t n)
{
	struct pg	*s = pg_of(base);
	struct pg_params p;
	struct buf	 b;
	int		 rc = -1;

	/* The nodes as one JSON array (ids and reasons escaped). */
	/* A cap, not an allocation: a reason may be long. */
	buf_init(&b, 64u << 20);
	buf_putc(&b, '[');
	for (size_t i = 0; i < n; i++) {
		buf_printf(&b, "%s{\"node_id\":\"%s\",\"wave\":%d,\"reason\":",
		    i > 0 ? "," : "", nodes[i].node_id, nodes[i].wave);
		if (nodes[i].reason != NULL)
			buf_json_str(&b, nodes[i].reason);
		else
			buf_puts(&b, "null");
		buf_putc(&b, '}');
	}
	buf_putc(&b, ']');
	if (buf_failed(&b)) {
		log_err("store_error", "op=job_insert error=out_of_memory");
		return -1;
	}
	pthread_mutex_lock(&s->db.mu);
	if (pg_begin(s, &s->db) == -1)
		goto out;
	pg_params_init(&p);
	pg_text(&p, j->job_id);
	pg_text(&p, j->command);
	pg_text(&p, j->args);
	pg_text(&p, j->reason);
	pg_text(&p, j->target);
	pg_text(&p, j->rollout);
	pg_text(&p, j->created_by);
	pg_i64(&p, j->created_at);
	pg_text(&p, j->status);
	pg_i64(&p, j->selected);
	pg_i64(&p, j->waves);
	pg_i64(&p, j->pause_secs);
	pg_i64(&p, j->max_failure_pct);
	rc = pg_run(s, &s->db, "job_insert",
	    "INSERT INTO jobs (job_id,"
	    " command, args, reason, target, rollout, created_by, created_at,"
	    " status, selected, waves, pause_secs, max_failure_pct) VALUES"
	    " ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
	    &p);
	pg_params_free(&p);
	if (rc == 0) {
		pg_params_init(&p);
		pg_text(&p, j->job_id);
		pg_text(&p, b.p);
		rc = pg_run(s, &s->db, "job_nodes_insert",
		    "INSERT INTO job_nodes (job_id, node_id, wave, reason)"
		    " SELECT $1, x.node_id, x.wave, x.reason FROM"
		    " json_to_recordset($2::json) AS x(node_id text,"
		    " wave integer, reason text)",
		    &p);
		pg_params_free(&p);
	}
	if (rc == 0)
		rc = pg_commit(s, &s->db);
	if (rc == -1)
		pg_rollback(s, &s->db);
out:
	pthread_mutex_unlock(&s->db.mu);
	buf_free(&b);
	return rc;
}

struct ids_ctx {
	store_node_id_fn fn;
	void		*arg;
};

static int
id_row(const PGresult *res, int i, void *ctx)
{
	struct ids_ctx *c = ctx;

	c->fn(pg_col(res, i, 0), c->arg);
	return 0;
}

static int
pg_job_wave_nodes(struct store *base, const char *job_id, int wave,
    store_node_id_fn fn, void *arg)
{
	struct pg	*s = pg_of(base);
	struct ids_ctx	 c = { fn, arg };
	struct pg_params p;

	pg_params_init(&p);
	pg_text(&p, job_id);
	pg_i64(&p, wave);
	return pg_rows(s, &s->rdb, "job_wave_nodes",
	    "SELECT node_id FROM job_nodes WHERE job_id = $1 AND wave = $2"
	    " ORDER BY node_id COLLATE \"C\"",
	    &p, id_row, &c);
}

/* A node's new seq, as the seq statement returns them (sorted by id). */
struct node_seq {
	char	node_id[37];
	int64_t seq;
	int	out; /* it has a command queued or delivered already */
};

static int
seq_cmp(const void *a, const void *b)
{
	return strcmp(((const struct node_seq *)a)->node_id,
	    ((const struct node_seq *)b)->node_id);
}

/*
 * A command to hand at once is stored as delivered only if its node has
 * nothing older queued or delivered: marks those nodes' seqs `out` (the
 * caller clears the command's delivered). Asked after
 * the nodes' rows are locked, so a command queued or delivered by another
 * replica before is seen, and none can come between. 0, or -1.
 */
static int
keep_order(struct pg *s, const struct cmd_new *c, size_t n,
    struct node_seq *seqs, size_t nseq)
{
	struct pg_params p;
	PGresult	*res;
	struct buf	 ids;
	struct node_seq	 key, *hit;
	size_t		 nclaimed = 0;

	buf_init(&ids, 64 + n * 40);
	buf_putc(&ids, '{');
	for (size_t i = 0; i < n; i++)
		if (c[i].delivered)
			buf_printf(&ids, "%s%s", nclaimed++ > 0 ? "," : "",
			    c[i].node_id);
	buf_putc(&ids, '}');
	if (nclaimed == 0 || buf_failed(&ids)) {
		buf_free(&ids);
		return nclaimed == 0 ? 0 : -1;
	}
	pg_params_init(&p);
	pg_text(&p, ids.p);
	res = pg_exec(s, &s->db, "job_nodes_out",
	    "SELECT DISTINCT node_id FROM commands WHERE node_id = ANY"
	    " ($1::text[]) AND status IN ('queued', 'delivered')",
	    &p);
	pg_params_free(&p);
	buf_free(&ids);
	if (res == NULL)
		return -1;
	for (int r = 0; r < PQntuples(res); r++) {
		snprintf(key.node_id, sizeof(key.node_id), "%s",
		    PQgetvalue(res, r, 0));
		if ((hit = bsearch(&key, seqs, nseq, sizeof(*seqs), seq_cmp)) !=
		    NULL)
			hit->out = 1;
	}
	PQclear(res);
	return 0;
}

/*
 * The wave's commands, their seqs taken (a node that is gone gets 0),
 * signed and inserted: how many, or -1. The caller holds db and its
 * transaction.
 */
static int
queue_all(struct pg *s, struct cmd_new *c, size_t n, sign_fn sign, void *arg)
{
	struct pg_params p;
	struct node_seq *seqs = NULL, key, *hit;
	PGresult	*res = NULL;
	struct buf	 ids, rows;
	size_t		 nseq = 0;
	int		 queued = 0, rc = -1;

	/* Caps, not allocations: a command's payload may be long. */
	buf_init(&ids, 64 + n * 40);
	buf_init(&rows, 1u << 30);
	buf_putc(&ids, '{');
	for (size_t i = 0; i < n; i++)
		buf_printf(&ids, "%s%s", i > 0 ? "," : "", c[i].node_id);
	buf_putc(&ids, '}');
	if (buf_failed(&ids))
		goto out;
	pg_params_init(&p);
	pg_text(&p, ids.p);
	res = pg_exec(s, &s->db, "job_seqs",
	    "UPDATE nodes n SET last_seq = n.last_seq + 1 FROM (SELECT node_id"
	    " FROM nodes WHERE node_id = ANY ($1::text[]) ORDER BY node_id"
	    " FOR UPDATE) x WHERE n.node_id = x.node_id"
	    " RETURNING n.node_id, n.last_seq",
	    &p);
	pg_params_free(&p);
	if (res == NULL)
		goto out;
	nseq = (size_t)PQntuples(res);
	if ((seqs = calloc(nseq + 1, sizeof(*seqs))) == NULL)
		goto out;
	for (size_t i = 0; i < nseq; i++) {
		snprintf(seqs[i].node_id, sizeof(seqs[i].node_id), "%s",
		    PQgetvalue(res, (int)i, 0));
		seqs[i].seq = pg_col_i64(res, (int)i, 1);
	}
	qsort(seqs, nseq, sizeof(*seqs), seq_cmp);
	if (keep_order(s, c, n, seqs, nseq) == -1)
		goto out;
	buf_putc(&rows, '[');
	for (size_t i = 0; i < n; i++) {
		snprintf(key.node_id, sizeof(key.node_id), "%s", c[i].node_id);
		hit = bsearch(&key, seqs, nseq, sizeof(*seqs), seq_cmp);
		c[i].seq = hit != NULL ? hit->seq : 0;
		if (hit == NULL)
			continue;
		if (hit->out)
			c[i].delivered = 0;
		if (sign(&c[i], arg) == -1)
			goto out;
		buf_printf(&rows,
		    "%s{\"command_id\":\"%s\",\"node_id\":\"%s\",\"seq\":%lld,"
		    "\"command\":",
		    queued > 0 ? "," : "", c[i].command_id, c[i].node_id,
		    (long long)c[i].seq);
		buf_json_str(&rows, c[i].command);
		buf_json_field(&rows, "args", c[i].args);
		buf_json_field(&rows, "queued_by", c[i].queued_by);
		buf_printf(&rows,
		    ",\"queued_at\":%lld,\"expires_at\":%lld,"
		    "\"payload\":\"%s\",\"signature\":\"%s\"",
		    (long long)c[i].queued_at, (long long)c[i].expires_at,
		    c[i].payload, c[i].signature);
		buf_json_field(&rows, "job_id", c[i].job_id);
		buf_printf(&rows, ",\"delivered\":%s}",
		    c[i].delivered ? "true" : "false");
		queued++;
	}
	buf_putc(&rows, ']');
	if (buf_failed(&rows)) {
		log_err("store_error", "op=job_seqs error=out_of_memory");
		goto out;
	}
	if (queued > 0) {
		pg_params_init(&p);
		pg_text(&p, rows.p);
		rc = pg_run(s, &s->db, "job_commands_insert",
		    "INSERT INTO commands (command_id, node_id, seq, command,"
		    " args, queued_by, queued_at, expires_at, payload,"
		    " signature, status, job_id, delivered_at) SELECT"
		    " x.command_id, x.node_id, x.seq, x.command, x.args,"
		    " x.queued_by, x.queued_at, x.expires_at, x.payload,"
		    " x.signature, CASE WHEN x.delivered THEN 'delivered' ELSE"
		    " 'queued' END, x.job_id, CASE WHEN x.delivered THEN"
		    " x.queued_at END FROM json_to_recordset($1::json) AS"
		    " x(command_id text, node_id text, seq bigint, command"
		    " text, args text, queued_by text, queued_at bigint,"
		    " expires_at bigint, payload text, signature text, job_id"
		    " text, delivered boolean)",
		    &p);
		pg_params_free(&p);
		if (rc == -1)
			goto out;
	}
	rc = queued;
out:
	PQclear(res);
	free(seqs);
	buf_free(&ids);
	buf_free(&rows);
	return rc;
}

static int
pg_job_start_wave(struct store *base, const char *job_id, int wave,
    struct cmd_new *c, size_t n, sign_fn sign, void *arg)
{
	struct pg	*s = pg_of(base);
	struct pg_params p;
	PGresult	*res;
	int		 rc = -1;

	pthread_mutex_lock(&s->db.mu);
	if (pg_begin(s, &s->db) == -1)
		goto out;
	pg_params_init(&p);
	pg_text(&p, job_id);
	pg_i64(&p, wave);
	res = pg_exec(s, &s->db, "job_wave_set",
	    "UPDATE jobs SET wave = $2, wave_done_at = 0 WHERE job_id = $1"
	    " AND status = 'running' AND wave = $2 - 1",
	    &p);
	pg_params_free(&p);
	if (res == NULL || atoi(PQcmdTuples(res)) == 0) {
		rc = res == NULL ? -1 : -3;
		PQclear(res);
		pg_rollback(s, &s->db);
		goto out;
	}
	PQclear(res);
	if ((rc = queue_all(s, c, n, sign, arg)) == -1 ||
	    pg_commit(s, &s->db) == -1) {
		rc = -1;
		pg_rollback(s, &s->db);
	}
out:
	pthread_mutex_unlock(&s->db.mu);
	if (rc > 0)
		for (size_t i = 0; i < n; i++)
			if (c[i].seq > 0 && !c[i].delivered)
				store_queued(base, c[i].node_id, 1);
	return rc;
}

static int
job_row(const PGresult *res, int i, void *ctx)
{
	struct store_rows *r = ctx;
	struct job_rec	   j;

	memset(&j, 0, sizeof(j));
	snprintf(j.job_id, sizeof(j.job_id), "%s", pg_col(res, i, 0));
	j.n = pg_col_i64(res, i, 1);
	j.command = pg_col(res, i, 2);
	j.args = pg_col(res, i, 3);
	j.reason = pg_col(res, i, 4);
	j.target = pg_col(res, i, 5);
	j.rollout = pg_col(res, i, 6);
	j.created_by = pg_col(res, i, 7);
	j.created_at = pg_col_i64(res, i, 8);
	j.status = pg_col(res, i, 9);
	j.selected = (int)pg_col_i64(res, i, 10);
	j.waves = (int)pg_col_i64(res, i, 11);
	j.wave = (int)pg_col_i64(res, i, 12);
	j.wave_done_at = pg_col_i64(res, i, 13);
	j.pause_secs = (int)pg_col_i64(res, i, 14);
	j.max_failure_pct = (int)pg_col_i64(res, i, 15);
	j.finished_at = pg_col_i64(res, i, 16);
	return r->fn.job(&j, r->arg);
}

struct found {
	struct store_rows r;
	int		  n;
};

static int
job_found(const PGresult *res, int i, void *ctx)
{
	struct found *f = ctx;

	f->n++;
	return job_row(res, i, &f->r);
}

static int
pg_job_get(struct store *base, const char *job_id, store_job_fn fn, void *arg)
{
	struct pg	*s = pg_of(base);
	struct found	 f = { { .fn.job = fn, .arg = arg }, 0 };
	struct pg_params p;

	pg_params_init(&p);
	pg_text(&p, job_id);
	if (pg_rows(s, &s->rdb, "job_get",
		"SELECT " JOB_COLUMNS " FROM jobs WHERE job_id = $1", &p,
		job_found, &f) == -1)
		return -1;
	return f.n > 0 ? 0 : -2;
}

static int
pg_job_list(struct store *base, int64_t before, const char *status, int limit,
    store_job_fn fn, void *arg)
{
	struct pg	 *s = pg_of(base);
	struct store_rows r = { .fn.job = fn, .arg = arg };
	struct pg_params  p;

	pg_params_init(&p);
	pg_i64(&p, before > 0 ? before : INT64_MAX);
	pg_text(&p, status);
	pg_i64(&p, limit);
	return pg_rows(s, &s->rdb, "job_list",
	    "SELECT " JOB_COLUMNS " FROM jobs WHERE n < $1 AND ($2::text IS"
	    " NULL OR status = $2) ORDER BY n DESC LIMIT $3",
	    &p, job_row, &r);
}

static int
pg_job_counts(struct store *base, const char *job_id, store_count_fn fn,
    void *arg)
{
	struct pg	*s = pg_of(base);
	struct pg_params p;
	PGresult	*res;
	const char	*status;
	int		 commands = 0, nodes = 0, n, ret = 0;

	pg_params_init(&p);
	pg_text(&p, job_id);
	pthread_mutex_lock(&s->rdb.mu);
	res = pg_exec(s, &s->rdb, "job_counts",
	    "SELECT status, count(*) FROM commands WHERE job_id = $1 GROUP BY"
	    " status UNION ALL SELECT 'nodes', count(*) FROM job_nodes WHERE"
	    " job_id = $1 AND wave >= 0",
	    &p);
	pthread_mutex_unlock(&s->rdb.mu);
	if (res == NULL)
		return -1;
	for (int i = 0; ret == 0 && i < PQntuples(res); i++) {
		status = pg_col(res, i, 0);
		n = (int)pg_col_i64(res, i, 1);
		if (strcmp(status, "nodes") == 0)
			nodes = n;
		else {
			commands += n;
			ret = fn(NULL, status, n, arg);
		}
	}
	PQclear(res);
	/* The nodes of waves not started have no command yet. */
	if (ret == 0 && nodes > commands)
		ret = fn(NULL, "not_started", nodes - commands, arg);
	return ret;
}

/* Runs an UPDATE of one row: 1 when it changed it, 0, or -1. */
static int
update_one(struct pg *s, const char *what, const char *sql,
    const struct pg_params *p)
{
	PGresult *res;
	int	  rc = -1;

	pthread_mutex_lock(&s->db.mu);
	res = pg_exec(s, &s->db, what, sql, p);
	pthread_mutex_unlock(&s->db.mu);
	if (res != NULL)
		rc = atoi(PQcmdTuples(res)) > 0;
	PQclear(res);
	return rc;
}

static int
pg_job_update(struct store *base, const char *job_id, const char *status,
    int64_t now, int64_t wave_done_at)
{
	struct pg_params p;

	pg_params_init(&p);
	pg_text(&p, job_id);
	pg_text(&p, status);
	pg_i64(&p, now);
	pg_i64(&p, wave_done_at);
	return update_one(pg_of(base), "job_update",
	    "UPDATE jobs SET status = $2, finished_at = CASE WHEN $2 ="
	    " 'running' THEN 0 ELSE $3 END, wave_done_at = $4 WHERE job_id ="
	    " $1 AND status = 'running'",
	    &p);
}

static int
pg_job_cancel(struct store *base, const char *job_id, const char *status,
    int64_t now, store_node_id_fn fn, void *arg)
{
	struct pg	*s = pg_of(base);
	struct pg_params p;
	PGresult	*res = NULL, *cmds = NULL;
	int		 rc = -1;

	pthread_mutex_lock(&s->db.mu);
	if (pg_begin(s, &s->db) == -1)
		goto out;
	pg_params_init(&p);
	pg_text(&p, job_id);
	pg_text(&p, status);
	pg_i64(&p, now);
	res = pg_exec(s, &s->db, "job_end",
	    "UPDATE jobs SET status = $2, finished_at = $3 WHERE job_id = $1"
	    " AND status IN ('running', 'awaiting_approval')",
	    &p);
	pg_params_free(&p);
	if (res == NULL || atoi(PQcmdTuples(res)) == 0) {
		rc = res == NULL ? -1 : -2;
		pg_rollback(s, &s->db);
		goto out;
	}
	pg_params_init(&p);
	pg_text(&p, job_id);
	pg_i64(&p, now);
	cmds = pg_exec(s, &s->db, "job_cancel",
	    "UPDATE commands SET status = 'cancelled', result_at = $2"
	    " WHERE job_id = $1 AND status = 'queued' RETURNING node_id",
	    &p);
	pg_params_free(&p);
	if (cmds == NULL || pg_commit(s, &s->db) == -1) {
		pg_rollback(s, &s->db);
		goto out;
	}
	rc = PQntuples(cmds);
out:
	pthread_mutex_unlock(&s->db.mu);
	for (int i = 0; rc > 0 && i < rc; i++) {
		store_queued(base, PQgetvalue(cmds, i, 0), -1);
		if (fn != NULL)
			fn(PQgetvalue(cmds, i, 0), arg);
	}
	PQclear(cmds);
	PQclear(res);
	return rc;
}

static int
result_row(const PGresult *res, int i, void *ctx)
{
	struct store_rows *r = ctx;
	struct job_result  jr;

	memset(&jr, 0, sizeof(jr));
	jr.node_id = pg_col(res, i, 0);
	jr.hostname = pg_col(res, i, 1);
	jr.wave = (int)pg_col_i64(res, i, 2);
	jr.status = pg_col(res, i, 3);
	jr.reason = pg_col(res, i, 4);
	jr.has_exit = !pg_col_null(res, i, 5);
	jr.exit_code = pg_col_i64(res, i, 5);
	jr.output = pg_col(res, i, 6);
	jr.result_at = pg_col_i64(res, i, 7);
	jr.command_id = pg_col(res, i, 8);
	return r->fn.result(&jr, r->arg);
}

static int
pg_job_results(struct store *base, const struct job_result_q *q,
    store_job_result_fn fn, void *arg)
{
	struct pg	 *s = pg_of(base);
	struct store_rows r = { .fn.result = fn, .arg = arg };
	struct pg_params  p;

	pg_params_init(&p);
	pg_text(&p, q->job_id);
	if (q->failures_first)
		pg_i64(&p, q->offset);
	else
		pg_text(&p, q->after != NULL ? q->after : "");
	pg_i64(&p, q->limit);
	if (q->failures_first)
		return pg_rows(s, &s->rdb, "job_results",
		    JOB_RESULTS_RANKED("$1", "$3", "$2"), &p, result_row, &r);
	return pg_rows(s, &s->rdb, "job_results",
	    "SELECT " JOB_RESULT_COLUMNS " WHERE j.job_id = $1 AND j.node_id"
	    " COLLATE \"C\" > $2 ORDER BY j.node_id COLLATE \"C\" LIMIT $3",
	    &p, result_row, &r);
}

static int
pg_job_groups(struct store *base, const char *job_id, int limit,
    store_job_group_fn fn, void *arg)
{
	struct pg	*s = pg_of(base);
	struct pg_params p;
	PGresult	*res, *out;
	int		 ret = 0;

	pg_params_init(&p);
	pg_text(&p, job_id);
	pg_i64(&p, limit);
	pthread_mutex_lock(&s->rdb.mu);
	res = pg_exec(s, &s->rdb, "job_groups", JOB_GROUPS("$1", "$2"), &p);
	for (int i = 0; res != NULL && ret == 0 && i < PQntuples(res); i++) {
		/* The group's text, from one of its rows. */
		pg_params_init(&p);
		pg_text(&p, job_id);
		pg_text(&p, pg_col(res, i, 0));
		pg_text(&p, pg_col(res, i, 1));
		out = pg_exec(s, &s->rdb, "job_group_output",
		    "SELECT output FROM commands WHERE job_id = $1 AND status ="
		    " $2 AND output_hash IS NOT DISTINCT FROM $3::bigint LIMIT 1",
		    &p);
		pg_params_free(&p);
		ret = fn(pg_col(res, i, 0),
		    out != NULL && PQntuples(out) > 0 ? pg_col(out, 0, 0) :
							NULL,
		    (int)pg_col_i64(res, i, 2), arg);
		PQclear(out);
	}
	pthread_mutex_unlock(&s->rdb.mu);
	if (res == NULL)
		return -1;
	PQclear(res);
	return ret;
}

/* ---- recurring jobs ---------------------------------------------------- */

static int
pg_schedule_add(struct store *base, const struct schedule_rec *sc)
{
	struct pg	*s = pg_of(base);
	struct pg_params p;
	int		 rc;

	pg_params_init(&p);
	pg_text(&p, sc->schedule_id);
	pg_text(&p, sc->command);
	pg_text(&p, sc->args);
	pg_text(&p, sc->reason);
	pg_text(&p, sc->target);
	pg_text(&p, sc->rollout);
	pg_text(&p, sc->created_by);
	pg_i64(&p, sc->created_at);
	pg_i64(&p, sc->every_secs);
	pg_i64(&p, sc->next_at);
	pg_text(&p, sc->last_job_id);
	pthread_mutex_lock(&s->db.mu);
	rc = pg_run(s, &s->db, "schedule_add",
	    "INSERT INTO job_schedules (schedule_id, command, args, reason,"
	    " target, rollout, created_by, created_at, every_secs, next_at,"
	    " last_job_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,"
	    " $11)",
	    &p);
	pthread_mutex_unlock(&s->db.mu);
	pg_params_free(&p);
	return rc;
}

static int
schedule_row(const PGresult *res, int i, void *ctx)
{
	struct store_rows  *r = ctx;
	struct schedule_rec sc;

	memset(&sc, 0, sizeof(sc));
	snprintf(sc.schedule_id, sizeof(sc.schedule_id), "%s",
	    pg_col(res, i, 0));
	sc.command = pg_col(res, i, 1);
	sc.args = pg_col(res, i, 2);
	sc.reason = pg_col(res, i, 3);
	sc.target = pg_col(res, i, 4);
	sc.rollout = pg_col(res, i, 5);
	sc.created_by = pg_col(res, i, 6);
	sc.created_at = pg_col_i64(res, i, 7);
	sc.every_secs = pg_col_i64(res, i, 8);
	sc.next_at = pg_col_i64(res, i, 9);
	sc.last_job_id = pg_col(res, i, 10);
	return r->fn.schedule(&sc, r->arg);
}

static int
pg_schedules(struct store *base, store_schedule_fn fn, void *arg)
{
	struct pg	 *s = pg_of(base);
	struct store_rows r = { .fn.schedule = fn, .arg = arg };

	return pg_rows(s, &s->rdb, "schedules",
	    "SELECT " SCHEDULE_COLUMNS " FROM job_schedules WHERE deleted_at"
	    " IS NULL ORDER BY next_at",
	    NULL, schedule_row, &r);
}

static int
pg_schedule_ran(struct store *base, const char *schedule_id, int64_t due,
    int64_t next, const char *job_id)
{
	struct pg_params p;

	pg_params_init(&p);
	pg_text(&p, schedule_id);
	pg_i64(&p, due);
	pg_i64(&p, next);
	pg_text(&p, job_id);
	return update_one(pg_of(base), "schedule_ran",
	    "UPDATE job_schedules SET next_at = $3, last_job_id ="
	    " coalesce($4, last_job_id) WHERE schedule_id = $1 AND next_at ="
	    " $2 AND deleted_at IS NULL",
	    &p);
}

static int
pg_schedule_delete(struct store *base, const char *schedule_id, int64_t now)
{
	struct pg_params p;

	pg_params_init(&p);
	pg_text(&p, schedule_id);
	pg_i64(&p, now);
	return update_one(pg_of(base), "schedule_delete",
	    "UPDATE job_schedules SET deleted_at = $2 WHERE schedule_id = $1"
	    " AND deleted_at IS NULL",
	    &p);
}

/* In store_backend.h's order. */
const struct store_job_ops pg_job_ops = { pg_job_create, pg_job_wave_nodes,
	pg_job_start_wave, pg_job_get, pg_job_list, pg_job_counts,
	pg_job_update, pg_job_cancel, pg_job_results, pg_job_groups,
	pg_schedule_add, pg_schedules, pg_schedule_ran, pg_schedule_delete };
