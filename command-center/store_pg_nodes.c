/*
 * store_pg_nodes: the nodes table of the PostgreSQL backend: enrollment,
 * status and the token and enroll-key hashes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store_pg_db.h"

static char *
dup_col(const PGresult *r, int row, int col)
{
	const char *v = pg_col(r, row, col);

	return v != NULL ? strdup(v) : NULL;
}

int
pg_node_rec(const PGresult *res, int i, struct node_rec *r)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->node_id, sizeof(r->node_id), "%s", PQgetvalue(res, i, 0));
	r->hostname = dup_col(res, i, 1);
	r->os_profile = dup_col(res, i, 2);
	r->agent_version = dup_col(res, i, 3);
	if (status_parse(PQgetvalue(res, i, 4), &r->status) == -1)
		r->status = NODE_PENDING;
	r->has_token = pg_col_bytes(res, i, 5, r->token_hash, TOKEN_HASH_LEN);
	r->enrolled_at = pg_col_i64(res, i, 6);
	r->last_heartbeat_at = pg_col_i64(res, i, 7);
	r->heartbeat = dup_col(res, i, 8);
	r->last_scan_at = pg_col_i64(res, i, 9);
	for (int k = 0; k < FINDING_SEVERITIES; k++)
		r->findings[k] = (int)pg_col_i64(res, i, 10 + k);
	r->hb_cloudflare = (int)pg_col_i64(res, i, 15);
	r->hb_services_down = (int)pg_col_i64(res, i, 16);
	r->has_key = pg_col_bytes(res, i, 17, r->key_hash, TOKEN_HASH_LEN);
	if (strcmp(PQgetvalue(res, i, 18), "t") == 0) {
		r->status = NODE_DELETED;
		r->has_token = 0;
	}
	r->labels = dup_col(res, i, 19);
	snprintf(r->pinned_key_id, sizeof(r->pinned_key_id), "%s",
	    pg_col(res, i, 20) ? pg_col(res, i, 20) : "");
	return r->hostname != NULL && r->os_profile != NULL &&
		r->agent_version != NULL ?
	    0 :
	    -1;
}

static int
node_row(const PGresult *res, int i, void *ctx)
{
	struct store_rows *r = ctx;
	struct node_rec	   rec;
	int		   rc = -1;

	if (pg_node_rec(res, i, &rec) == 0)
		rc = r->fn.node(&rec, r->arg);
	node_rec_free(&rec);
	return rc;
}

static int
pg_load_nodes(struct store *base, store_node_fn fn, void *arg)
{
	struct pg	 *s = pg_of(base);
	struct store_rows r = { .fn.node = fn, .arg = arg };

	/* The heartbeat itself only for rows older than its two facts. */
	return pg_rows(s, &s->db, "load_nodes",
	    "SELECT " PG_NODE_COLUMNS " FROM nodes", NULL, node_row, &r);
}

static int
pg_node_insert(struct store *base, const struct node_rec *r)
{
	struct pg	*s = pg_of(base);
	struct pg_params p;
	int		 rc;

	pg_params_init(&p);
	pg_text(&p, r->node_id);
	pg_text(&p, r->hostname);
	pg_text(&p, r->os_profile);
	pg_text(&p, r->agent_version);
	pg_text(&p, status_name(r->status));
	pg_bytes(&p, r->has_token ? r->token_hash : NULL, TOKEN_HASH_LEN);
	pg_i64(&p, r->enrolled_at);
	pg_bytes(&p, r->has_key ? r->key_hash : NULL, TOKEN_HASH_LEN);
	pg_text(&p, r->enroll_peer);
	pthread_mutex_lock(&s->db.mu);
	rc = pg_run(s, &s->db, "node_insert",
	    "INSERT INTO nodes (node_id,"
	    " hostname, os_profile, agent_version, status, token_hash,"
	    " enrolled_at, status_changed_at, enroll_key_hash, enroll_peer)"
	    " VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9)",
	    &p);
	pthread_mutex_unlock(&s->db.mu);
	pg_params_free(&p);
	return rc;
}

/* sql with p on the writer, which must change exactly one row: 0 or -1. */
static int
update_one(struct pg *s, const char *what, const char *sql, struct pg_params *p)
{
	PGresult *res;
	int	  rc = -1;

	pthread_mutex_lock(&s->db.mu);
	res = pg_exec(s, &s->db, what, sql, p);
	pthread_mutex_unlock(&s->db.mu);
	if (res != NULL && strcmp(PQcmdTuples(res), "1") == 0)
		rc = 0;
	PQclear(res);
	pg_params_free(p);
	return rc;
}

static int
pg_node_set_status(struct store *base, const char *node_id,
    enum node_status status, const unsigned char *token_hash)
{
	struct pg_params p;

	pg_params_init(&p);
	pg_text(&p, node_id);
	if (status != NODE_DELETED) {
		pg_text(&p, status_name(status));
		pg_bytes(&p, token_hash, TOKEN_HASH_LEN);
	}
	return update_one(pg_of(base), "node_set_status",
	    status == NODE_DELETED ?
		"UPDATE nodes SET token_hash = NULL, deleted_at ="
		" extract(epoch FROM now())::bigint, status_changed_at ="
		" extract(epoch FROM now())::bigint WHERE node_id = $1" :
		"UPDATE nodes SET status = $2, token_hash = $3,"
		" status_changed_at = extract(epoch FROM now())::bigint"
		" WHERE node_id = $1",
	    &p);
}

static int
pg_node_set_labels(struct store *base, const char *node_id, const char *labels)
{
	struct pg_params p;

	pg_params_init(&p);
	pg_text(&p, node_id);
	pg_text(&p, labels);
	return update_one(pg_of(base), "node_set_labels",
	    "UPDATE nodes SET labels = $2 WHERE node_id = $1", &p);
}

static int
pg_node_enroll_peer(struct store *base, const char *node_id, char *out,
    size_t outlen)
{
	struct pg	*s = pg_of(base);
	struct pg_params p;
	PGresult	*res;

	out[0] = '\0';
	pg_params_init(&p);
	pg_text(&p, node_id);
	pthread_mutex_lock(&s->rdb.mu);
	res = pg_exec(s, &s->rdb, "node_peer",
	    "SELECT enroll_peer FROM nodes WHERE node_id = $1", &p);
	pthread_mutex_unlock(&s->rdb.mu);
	if (res == NULL)
		return -1;
	if (PQntuples(res) == 1 && pg_col(res, 0, 0) != NULL)
		snprintf(out, outlen, "%s", pg_col(res, 0, 0));
	PQclear(res);
	return 0;
}

/* In store_backend.h\'s order. */
const struct store_node_ops pg_node_ops = { pg_load_nodes, pg_node_insert,
	pg_node_set_status, pg_node_enroll_peer, pg_node_set_labels };
