/*
 * store_pg_views: the views the PostgreSQL backend answers itself, so that
 * no replica needs the whole fleet in memory for them: the dashboard's
 * order, counts and pages, and GET /nodes.
 *
 * Each node row keeps its attention (attn_level, attn_reasons) as
 * attention.c computed it, and attn_due, when time alone changes it. The
 * heartbeat writer stores the attention its replica computed with the
 * heartbeat (store_pg_heartbeats.c); a scan sets attn_due to 0, as does a
 * heartbeat whose replica had not yet seen the row's latest scan, and a
 * new row starts at 0. pg_attend() computes again, with attention.c, the
 * rows whose due has come: every view calls it first, and the leader once
 * a second, so a view is as fresh as the row it reads. The order is an
 * index on (attn_rank, hostname, node_id), attn_rank a column generated
 * from the level and the status (revoked last).
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "log.h"
#include "store_pg_db.h"

/* Rows computed again in one transaction. */
#define ATTEND_BATCH 2000

static int
pg_attend(struct store *base, int64_t now, const struct thresholds *t)
{
	struct pg	*s = pg_of(base);
	struct pg_params p;
	PGresult	*res = NULL;
	json_t		*arr = NULL;
	char		*batch = NULL;
	int		 rc = -1, n = 0;

	pthread_mutex_lock(&s->rdb.mu);
	if (pg_begin(s, &s->rdb) == -1)
		goto out;
	/* Rows another caller holds (a heartbeat round, a view) wait. */
	pg_params_init(&p);
	pg_i64(&p, now);
	pg_i64(&p, ATTEND_BATCH);
	res = pg_exec(s, &s->rdb, "attend_due",
	    "SELECT node_id, coalesce(last_heartbeat_at, 0),"
	    " coalesce(last_scan_at, 0), hb_cloudflare, hb_services_down,"
	    " f_critical, f_high FROM nodes WHERE attn_due <= $1"
	    " AND deleted_at IS NULL ORDER BY attn_due LIMIT $2"
	    " FOR UPDATE SKIP LOCKED",
	    &p);
	pg_params_free(&p);
	if (res == NULL || (arr = json_array()) == NULL)
		goto fail;
	n = PQntuples(res);
	for (int i = 0; i < n; i++) {
		struct attn_input in;
		unsigned	  reasons;
		int		  cf = (int)pg_col_i64(res, i, 3);
		json_t		 *o;

		in.last_heartbeat_at = pg_col_i64(res, i, 1);
		in.last_scan_at = pg_col_i64(res, i, 2);
		in.cloudflare = cf == CF_UP || cf == CF_DOWN ?
		    (enum cf_state)cf :
		    CF_UNKNOWN;
		in.services_down = pg_col_i64(res, i, 4) > 0;
		in.critical = (int)pg_col_i64(res, i, 5);
		in.high = (int)pg_col_i64(res, i, 6);
		reasons = attention_reasons(&in, now, t);
		o = json_pack("{s:s, s:i, s:i, s:I}", "id",
		    PQgetvalue(res, i, 0), "l", (int)attention_level(reasons),
		    "r", (int)reasons, "d",
		    (json_int_t)attention_due(&in, reasons, t));
		if (o == NULL || json_array_append_new(arr, o) == -1)
			goto fail;
	}
	if (n > 0) {
		if ((batch = json_dumps(arr, JSON_COMPACT)) == NULL)
			goto fail;
		pg_params_init(&p);
		pg_text(&p, batch);
		rc = pg_run(s, &s->rdb, "attend",
		    "UPDATE nodes n SET attn_level = u.l, attn_reasons = u.r,"
		    " attn_due = u.d FROM json_to_recordset($1::json) AS"
		    " u(id text, l integer, r integer, d bigint)"
		    " WHERE n.node_id = u.id",
		    &p);
		pg_params_free(&p);
		if (rc == -1)
			goto fail;
	}
	if (pg_commit(s, &s->rdb) == -1)
		goto fail;
	rc = n == ATTEND_BATCH ? 1 : 0;
	goto out;
fail:
	rc = -1;
	pg_rollback(s, &s->rdb);
out:
	pthread_mutex_unlock(&s->rdb.mu);
	PQclear(res);
	free(batch);
	json_decref(arr);
	return rc;
}

/* q in ASCII lower case (the needle of strcasestr()), into out. */
static void
q_lower(const char *q, char *out, size_t outlen)
{
	size_t i = 0;

	for (; q != NULL && q[i] != '\0' && i + 1 < outlen; i++)
		out[i] = (char)tolower((unsigned char)q[i]);
	out[i] = '\0';
}

/* Where a level of struct store_view_q is in the order (-1: anywhere). */
static int
rank_of_level(int level)
{
	return level < 0 ? -1 : level >= 3 ? 3 : 2 - level;
}

/* $1: q in lower case ("" for all); lower() in "C" folds ASCII only. */
#define Q_MATCH                                                     \
	"($1 = '' OR strpos(lower(hostname COLLATE \"C\"), $1) > 0" \
	" OR strpos(lower(node_id COLLATE \"C\"), $1) > 0"          \
	" OR strpos(lower(os_profile COLLATE \"C\"), $1) > 0)"

struct counts_ctx {
	struct store_view_counts *c;
	int			  rank;
};

static int
count_row(const PGresult *res, int i, void *arg)
{
	struct counts_ctx *x = arg;
	int		   rank = (int)pg_col_i64(res, i, 0);
	int64_t		   n = pg_col_i64(res, i, 1);

	x->c->total += n;
	if (rank == 3)
		x->c->revoked += n;
	else if (rank >= 0 && rank <= 2)
		x->c->by_level[2 - rank] += n;
	if (x->rank < 0 || x->rank == rank)
		x->c->matched += n;
	return 0;
}

/*
 * The counts are the sums of attn_counts (a few rows: the leader folds
 * them); only a search reads the rows it matches.
 */
static int
pg_view_counts(struct store *base, int level, const char *q,
    struct store_view_counts *c)
{
	struct pg	 *s = pg_of(base);
	struct pg_params  p;
	struct counts_ctx x = { c, rank_of_level(level) };
	char		  lq[256];
	PGresult	 *res;
	int		  rc;

	memset(c, 0, sizeof(*c));
	rc = pg_rows(s, &s->rdb, "view_counts",
	    "SELECT rank, sum(n) FROM attn_counts GROUP BY rank", NULL,
	    count_row, &x);
	q_lower(q, lq, sizeof(lq));
	if (rc == -1 || lq[0] == '\0')
		return rc;
	pg_params_init(&p);
	pg_text(&p, lq);
	pg_i64(&p, x.rank);
	pthread_mutex_lock(&s->rdb.mu);
	res = pg_exec(s, &s->rdb, "view_matched",
	    "SELECT count(*) FROM nodes WHERE deleted_at IS NULL"
	    " AND ($2::integer < 0 OR attn_rank = $2::integer) AND " Q_MATCH,
	    &p);
	pthread_mutex_unlock(&s->rdb.mu);
	pg_params_free(&p);
	if (res == NULL)
		return -1;
	c->matched = pg_col_i64(res, 0, 0);
	PQclear(res);
	return 0;
}

/* The leader's: the count rows folded into one a rank. */
static int
pg_view_fold(struct store *base)
{
	struct pg *s = pg_of(base);
	int	   rc;

	pthread_mutex_lock(&s->rdb.mu);
	rc = pg_run(s, &s->rdb, "view_fold",
	    "WITH d AS (DELETE FROM attn_counts RETURNING rank, n)"
	    " INSERT INTO attn_counts SELECT rank, sum(n) FROM d GROUP BY rank",
	    NULL);
	pthread_mutex_unlock(&s->rdb.mu);
	return rc;
}

/*
 * The columns a view reads; then the node's queued commands (the page's
 * table: pending; GET /nodes does not show them: 0) and, for GET /nodes,
 * its heartbeat document.
 */
#define VIEW_COLUMNS                                                  \
	"node_id, hostname, os_profile, agent_version, status,"       \
	" enrolled_at, last_heartbeat_at, last_scan_at, f_critical,"  \
	" f_high, f_medium, f_low, f_info, attn_level, attn_reasons," \
	" labels, pinned_key_id"
#define QUEUED_COUNT                                                   \
	"(SELECT count(*) FROM commands c WHERE c.node_id = n.node_id" \
	" AND c.status = 'queued')"

/* A stretch of the dashboard's order, by offset or after a key. */
static const char page_sql[] =
    "SELECT " VIEW_COLUMNS ", " QUEUED_COUNT " FROM nodes n"
    " WHERE deleted_at IS NULL AND ($2::integer < 0 OR attn_rank ="
    " $2::integer) AND " Q_MATCH " AND ($3::integer IS NULL OR (attn_rank,"
    " hostname COLLATE \"C\", node_id COLLATE \"C\") > ($3::integer,"
    " $4 COLLATE \"C\", $5 COLLATE \"C\")) ORDER BY attn_rank, hostname"
    " COLLATE \"C\", node_id COLLATE \"C\" OFFSET $6 LIMIT $7";

/* GET /nodes: by node id, after the last one sent. */
static const char list_sql[] =
    "SELECT " VIEW_COLUMNS ", 0, heartbeat FROM nodes n"
    " WHERE deleted_at IS NULL AND node_id > $1 ORDER BY node_id LIMIT $2";

struct view_ctx {
	store_view_fn fn;
	void	     *arg;
};

static int
view_row(const PGresult *res, int i, void *arg)
{
	struct view_ctx *x = arg;
	struct node_row	 row;
	int		 nf = PQnfields(res);

	memset(&row, 0, sizeof(row));
	snprintf(row.r.node_id, sizeof(row.r.node_id), "%s",
	    PQgetvalue(res, i, 0));
	row.r.hostname = PQgetvalue(res, i, 1);
	row.r.os_profile = PQgetvalue(res, i, 2);
	row.r.agent_version = PQgetvalue(res, i, 3);
	if (status_parse(PQgetvalue(res, i, 4), &row.r.status) == -1)
		row.r.status = NODE_PENDING;
	row.r.enrolled_at = pg_col_i64(res, i, 5);
	row.r.last_heartbeat_at = pg_col_i64(res, i, 6);
	row.r.last_scan_at = pg_col_i64(res, i, 7);
	for (int k = 0; k < FINDING_SEVERITIES; k++)
		row.r.findings[k] = (int)pg_col_i64(res, i, 8 + k);
	row.level = (enum level)pg_col_i64(res, i, 13);
	if (row.level != LEVEL_GREEN && row.level != LEVEL_YELLOW)
		row.level = LEVEL_RED;
	row.reasons = (unsigned)pg_col_i64(res, i, 14);
	row.r.labels = pg_col_null(res, i, 15) ? NULL : PQgetvalue(res, i, 15);
	snprintf(row.r.pinned_key_id, sizeof(row.r.pinned_key_id), "%s",
	    pg_col_null(res, i, 16) ? "" : PQgetvalue(res, i, 16));
	row.pending = (int)pg_col_i64(res, i, 17);
	if (nf > 18 && !pg_col_null(res, i, 18))
		row.r.heartbeat = PQgetvalue(res, i, 18);
	return x->fn(&row, x->arg);
}

static int
pg_view_page(struct store *base, const struct store_view_q *q, store_view_fn fn,
    void *arg)
{
	struct pg	*s = pg_of(base);
	struct pg_params p;
	struct view_ctx	 x = { fn, arg };
	char		 lq[256];
	int		 rc;

	q_lower(q->q, lq, sizeof(lq));
	pg_params_init(&p);
	pg_text(&p, lq);
	pg_i64(&p, rank_of_level(q->level));
	if (q->after != NULL) {
		pg_i64(&p,
		    rank_of_level(q->after->r.status == NODE_REVOKED ?
			    3 :
			    (int)q->after->level));
		pg_text(&p, q->after->r.hostname);
		pg_text(&p, q->after->r.node_id);
	} else {
		pg_text(&p, NULL);
		pg_text(&p, NULL);
		pg_text(&p, NULL);
	}
	pg_i64(&p, q->offset);
	pg_i64(&p, q->limit);
	/*
	 * A custom plan for each (unnamed statements): the parameters that
	 * are not there fold away and the order's index is read in order.
	 */
	rc = pg_rows(s, &s->rdb, "view_page", page_sql, &p, view_row, &x);
	pg_params_free(&p);
	return rc;
}

static int
pg_view_list(struct store *base, const char *after_id, int64_t limit,
    store_view_fn fn, void *arg)
{
	struct pg	*s = pg_of(base);
	struct pg_params p;
	struct view_ctx	 x = { fn, arg };
	int		 rc;

	pg_params_init(&p);
	pg_text(&p, after_id != NULL ? after_id : "");
	pg_i64(&p, limit);
	rc = pg_rows(s, &s->rdb, "view_list", list_sql, &p, view_row, &x);
	pg_params_free(&p);
	return rc;
}

const struct store_view_ops pg_view_ops = { pg_attend, pg_view_counts,
	pg_view_page, pg_view_list, pg_view_fold };
