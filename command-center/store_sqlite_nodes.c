/*
 * store_sqlite_nodes: the nodes table of the SQLite backend: enrollment,
 * status and the token and enroll-key hashes (a node's heartbeat facts
 * are the heartbeat family's).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store_sqlite_db.h"

/* A stored hash of TOKEN_HASH_LEN bytes in column col into out: 1, else 0. */
static int
col_hash(sqlite3_stmt *st, int col, unsigned char out[TOKEN_HASH_LEN])
{
	if (sqlite3_column_bytes(st, col) != TOKEN_HASH_LEN)
		return 0;
	memcpy(out, sqlite3_column_blob(st, col), TOKEN_HASH_LEN);
	return 1;
}

/* A row of S_NODES_ALL as a node_rec, to the caller's callback. */
static int
node_of(sqlite3_stmt *st, void *arg)
{
	struct store_rows *rows = arg;
	struct node_rec	   r;
	const char	  *id = sq_col_text(st, 0);
	int		   rc = -1;

	memset(&r, 0, sizeof(r));
	snprintf(r.node_id, sizeof(r.node_id), "%s", id ? id : "");
	r.hostname = sq_col_strdup(st, 1);
	r.os_profile = sq_col_strdup(st, 2);
	r.agent_version = sq_col_strdup(st, 3);
	if (status_parse(sq_col_text(st, 4), &r.status) == -1)
		r.status = NODE_PENDING;
	r.has_token = col_hash(st, 5, r.token_hash);
	r.enrolled_at = sqlite3_column_int64(st, 6);
	r.last_heartbeat_at = sqlite3_column_int64(st, 7);
	r.heartbeat = sq_col_strdup(st, 8);
	r.last_scan_at = sqlite3_column_int64(st, 9);
	for (int i = 0; i < FINDING_SEVERITIES; i++)
		r.findings[i] = sqlite3_column_int(st, 10 + i);
	r.hb_cloudflare = sqlite3_column_int(st, 15);
	r.hb_services_down = sqlite3_column_int(st, 16);
	r.has_key = col_hash(st, 17, r.key_hash);
	if (sqlite3_column_int(st, 18)) {
		r.status = NODE_DELETED;
		r.has_token = 0;
	}
	r.labels = sq_col_strdup(st, 19);
	snprintf(r.pinned_key_id, sizeof(r.pinned_key_id), "%s",
	    sq_col_text(st, 20) ? sq_col_text(st, 20) : "");
	if (r.hostname != NULL && r.os_profile != NULL &&
	    r.agent_version != NULL)
		rc = rows->fn.node(&r, rows->arg);
	node_rec_free(&r);
	return rc;
}

static int
sq_load_nodes(struct store *base, store_node_fn fn, void *arg)
{
	struct sq	 *s = sq_of(base);
	struct store_rows r = { .fn.node = fn, .arg = arg };
	int		  rc;

	pthread_mutex_lock(&s->mu);
	rc = sq_each_row(s->st[S_NODES_ALL], "load_nodes", node_of, &r);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int
sq_node_insert(struct store *base, const struct node_rec *r)
{
	struct sq    *s = sq_of(base);
	sqlite3_stmt *st = s->st[S_NODE_INSERT];
	int	      rc;

	pthread_mutex_lock(&s->mu);
	sqlite3_bind_text(st, 1, r->node_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->hostname, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, r->os_profile, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, r->agent_version, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, status_name(r->status), -1, SQLITE_STATIC);
	if (r->has_token)
		sqlite3_bind_blob(st, 6, r->token_hash, TOKEN_HASH_LEN,
		    SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 6);
	sqlite3_bind_int64(st, 7, r->enrolled_at);
	if (r->has_key)
		sqlite3_bind_blob(st, 8, r->key_hash, TOKEN_HASH_LEN,
		    SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 8);
	if (r->enroll_peer != NULL)
		sqlite3_bind_text(st, 9, r->enroll_peer, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 9);
	rc = sq_step_done(s, st, "node_insert");
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int
sq_node_set_status(struct store *base, const char *node_id,
    enum node_status status, const unsigned char *token_hash)
{
	struct sq    *s = sq_of(base);
	sqlite3_stmt *st =
	    s->st[status == NODE_DELETED ? S_NODE_DELETE : S_NODE_STATUS];
	int rc;

	pthread_mutex_lock(&s->mu);
	sqlite3_bind_text(st, 1, node_id, -1, SQLITE_STATIC);
	if (status != NODE_DELETED) {
		sqlite3_bind_text(st, 2, status_name(status), -1,
		    SQLITE_STATIC);
		if (token_hash != NULL)
			sqlite3_bind_blob(st, 3, token_hash, TOKEN_HASH_LEN,
			    SQLITE_STATIC);
		else
			sqlite3_bind_null(st, 3);
	}
	rc = sq_step_done(s, st, "node_set_status");
	if (rc == 0 && sqlite3_changes(s->db) != 1)
		rc = -1;
	pthread_mutex_unlock(&s->mu);
	return rc;
}
static int
sq_node_set_labels(struct store *base, const char *node_id, const char *labels)
{
	struct sq    *s = sq_of(base);
	sqlite3_stmt *st = s->st[S_NODE_LABELS];
	int	      rc;

	pthread_mutex_lock(&s->mu);
	sqlite3_bind_text(st, 1, node_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, labels, -1, SQLITE_STATIC);
	rc = sq_step_done(s, st, "node_set_labels");
	if (rc == 0 && sqlite3_changes(s->db) != 1)
		rc = -1;
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int
sq_node_enroll_peer(struct store *base, const char *node_id, char *out,
    size_t outlen)
{
	struct sq    *s = sq_of(base);
	sqlite3_stmt *st = s->st[S_NODE_PEER];
	int	      r, rc = 0;

	out[0] = '\0';
	pthread_mutex_lock(&s->rmu);
	sqlite3_bind_text(st, 1, node_id, -1, SQLITE_STATIC);
	if ((r = sqlite3_step(st)) == SQLITE_ROW &&
	    sqlite3_column_type(st, 0) != SQLITE_NULL)
		snprintf(out, outlen, "%s",
		    (const char *)sqlite3_column_text(st, 0));
	else if (r != SQLITE_ROW && r != SQLITE_DONE)
		rc = -1;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	pthread_mutex_unlock(&s->rmu);
	return rc;
}

/* In store_backend.h\'s order. */
const struct store_node_ops sq_node_ops = { sq_load_nodes, sq_node_insert,
	sq_node_set_status, sq_node_enroll_peer, sq_node_set_labels };
