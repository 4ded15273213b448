/*
 * store_pg_heartbeats: heartbeats in the PostgreSQL backend, written into
 * their nodes' rows a round at a time (every replica reads them there);
 * and a node's stored heartbeat document. The log of schema version 1 is
 * folded into nodes by the migration to version 2; replay and fold still
 * read and fold what such a log holds, which is nothing since.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "store_pg_db.h"

#define SCAN_SAME                                                     \
	"(coalesce(n.last_scan_at, 0) = u.sa AND n.f_critical = u.fc" \
	" AND n.f_high = u.fh)"

/*
 * A round's heartbeats go into their nodes' rows in one statement (one
 * round trip, whatever their number): the batch as a JSON array that the
 * server turns into rows. A node's row keeps the newest heartbeat when
 * two replicas write it. seq is 0: nodes holds each one (no log here).
 */
static int
pg_heartbeats(struct store *base, struct hb_write *w, size_t n)
{
	struct pg	*s = pg_of(base);
	struct pg_params p;
	struct buf	 batch;
	int		 rc;

	if (n == 0)
		return 0;
	/*
	 * Written straight into a buffer (jansson's objects and dump cost
	 * the round more): the strings escaped, the rest numbers.
	 */
	buf_init(&batch, (size_t)1 << 30);
	buf_putc(&batch, '[');
	for (size_t i = 0; i < n; i++) {
		buf_puts(&batch, i ? ",{" : "{");
		buf_json_field(&batch, "node_id", w[i].node_id);
		buf_printf(&batch, ",\"at\":%lld", (long long)w[i].at);
		buf_json_field(&batch, "heartbeat", w[i].json);
		buf_json_field(&batch, "hostname", w[i].hostname);
		buf_json_field(&batch, "agent_version", w[i].agent_version);
		buf_printf(&batch,
		    ",\"cf\":%d,\"sd\":%d,\"lv\":%d,\"rs\":%u,\"due\":%lld,"
		    "\"sa\":%lld,\"fc\":%d,\"fh\":%d}",
		    w[i].cloudflare, w[i].services_down, (int)w[i].level,
		    w[i].reasons, (long long)w[i].due, (long long)w[i].scan_at,
		    w[i].critical, w[i].high);
		w[i].seq = 0;
	}
	buf_putc(&batch, ']');
	if (buf_failed(&batch))
		return -1;
	pg_params_init(&p);
	pg_text(&p, batch.p);
	pthread_mutex_lock(&s->db.mu);
	/*
	 * The attention the fleet computed goes beside the row when the row's
	 * scan facts are the ones it was computed from; else (another
	 * replica's scan not seen here yet) attn_due 0 has it computed again
	 * (store_pg_views.c).
	 */
	rc = pg_run(s, &s->db, "heartbeats",
	    "UPDATE nodes n SET last_heartbeat_at = u.at,"
	    " heartbeat = u.heartbeat, hostname = u.hostname,"
	    " agent_version = u.agent_version, hb_cloudflare = u.cf,"
	    " hb_services_down = u.sd, changed_xid = txid_current(),"
	    " attn_level = CASE WHEN " SCAN_SAME " THEN u.lv ELSE"
	    " n.attn_level END, attn_reasons = CASE WHEN " SCAN_SAME
	    " THEN u.rs ELSE n.attn_reasons END, attn_due = CASE WHEN " SCAN_SAME
	    " THEN u.due ELSE 0 END"
	    " FROM json_to_recordset($1::json) AS"
	    " u(node_id text, at bigint, heartbeat text, hostname text,"
	    " agent_version text, cf integer, sd integer, lv integer,"
	    " rs integer, due bigint, sa bigint, fc integer, fh integer)"
	    " WHERE n.node_id = u.node_id AND (n.last_heartbeat_at IS NULL OR"
	    " n.last_heartbeat_at <= u.at)",
	    &p);
	pthread_mutex_unlock(&s->db.mu);
	pg_params_free(&p);
	buf_free(&batch);
	return rc;
}

static int
logged_row(const PGresult *res, int i, void *ctx)
{
	struct store_rows *r = ctx;
	struct hb_logged   l;

	memset(&l, 0, sizeof(l));
	l.seq = pg_col_i64(res, i, 0);
	snprintf(l.node_id, sizeof(l.node_id), "%s", PQgetvalue(res, i, 1));
	l.at = pg_col_i64(res, i, 2);
	l.hostname = PQgetvalue(res, i, 3);
	l.agent_version = PQgetvalue(res, i, 4);
	l.cloudflare = (int)pg_col_i64(res, i, 5);
	l.services_down = (int)pg_col_i64(res, i, 6);
	return r->fn.logged(&l, r->arg);
}

static int
pg_heartbeat_log(struct store *base, store_hb_logged_fn fn, void *arg)
{
	struct pg	 *s = pg_of(base);
	struct store_rows r = { .fn.logged = fn, .arg = arg };

	return pg_rows(s, &s->db, "heartbeat_replay",
	    "SELECT seq, node_id,"
	    " at, hostname, agent_version, hb_cloudflare, hb_services_down"
	    " FROM heartbeat_log ORDER BY seq",
	    NULL, logged_row, &r);
}

static int
pg_fold(struct store *base, const struct hb_fold *fold, size_t n, int64_t upto,
    int64_t *cut)
{
	struct pg	*s = pg_of(base);
	struct pg_params p;
	PGresult	*res = NULL;
	int		 rc = -1;

	*cut = 0;
	pthread_mutex_lock(&s->db.mu);
	if (pg_begin(s, &s->db) == -1)
		goto out;
	/* A heartbeat no longer there, or another node's: nothing to copy. */
	for (size_t i = 0; i < n; i++) {
		pg_params_init(&p);
		pg_text(&p, fold[i].node_id);
		pg_i64(&p, fold[i].seq);
		rc = pg_run(s, &s->db, "fold",
		    "UPDATE nodes SET"
		    " last_heartbeat_at = l.at, heartbeat = l.heartbeat,"
		    " hostname = l.hostname, agent_version = l.agent_version,"
		    " hb_cloudflare = l.hb_cloudflare, hb_services_down ="
		    " l.hb_services_down FROM heartbeat_log l WHERE l.seq = $2"
		    " AND l.node_id = $1 AND nodes.node_id = $1",
		    &p);
		pg_params_free(&p);
		if (rc == -1)
			goto fail;
	}
	rc = -1;
	pg_params_init(&p);
	pg_i64(&p, upto);
	res = pg_exec(s, &s->db, "fold_drop",
	    "WITH d AS (DELETE FROM"
	    " heartbeat_log WHERE seq <= $1 RETURNING seq) SELECT max(seq)"
	    " FROM d",
	    &p);
	pg_params_free(&p);
	if (res == NULL || pg_commit(s, &s->db) == -1)
		goto fail;
	*cut = pg_col_i64(res, 0, 0); /* NULL: 0, none */
	rc = 0;
	goto out;
fail:
	*cut = 0;
	pg_rollback(s, &s->db);
out:
	PQclear(res);
	pthread_mutex_unlock(&s->db.mu);
	return rc;
}

static int
pg_node_heartbeat(struct store *base, const char *node_id, int64_t seq,
    char **json)
{
	struct pg	*s = pg_of(base);
	struct pg_params p;
	PGresult	*res;
	int		 rc = 0;

	*json = NULL;
	pg_params_init(&p);
	pg_text(&p, node_id);
	if (seq > 0)
		pg_i64(&p, seq);
	pthread_mutex_lock(&s->rdb.mu);
	res = pg_exec(s, &s->rdb, "node_heartbeat",
	    seq > 0 ? "SELECT heartbeat FROM heartbeat_log WHERE seq = $2"
		      " AND node_id = $1" :
		      "SELECT heartbeat FROM nodes WHERE node_id = $1",
	    &p);
	pthread_mutex_unlock(&s->rdb.mu);
	pg_params_free(&p);
	if (res == NULL)
		return -1;
	if (PQntuples(res) == 0 && seq > 0)
		rc = 1; /* folded meanwhile */
	else if (PQntuples(res) == 1 && pg_col(res, 0, 0) != NULL &&
	    (*json = strdup(pg_col(res, 0, 0))) == NULL)
		rc = -1;
	PQclear(res);
	return rc;
}

/* In store_backend.h\'s order. */
const struct store_heartbeat_ops pg_heartbeat_ops = { pg_heartbeats,
	pg_heartbeat_log, pg_fold, pg_node_heartbeat };
