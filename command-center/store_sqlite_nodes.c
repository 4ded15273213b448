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

static int
sq_load_nodes(struct store *base, store_node_fn fn, void *arg)
{
	struct sq      *s = sq_of(base);
	sqlite3_stmt   *st = s->st[S_NODES_ALL];
	struct node_rec r;
	int		rc, ret = 0;

	pthread_mutex_lock(&s->mu);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(st, 0);

		memset(&r, 0, sizeof(r));
		snprintf(r.node_id, sizeof(r.node_id), "%s", id ? id : "");
		r.hostname = sq_col_strdup(st, 1);
		r.os_profile = sq_col_strdup(st, 2);
		r.agent_version = sq_col_strdup(st, 3);
		if (status_parse((const char *)sqlite3_column_text(st, 4),
			&r.status) == -1)
			r.status = NODE_PENDING;
		if (sqlite3_column_bytes(st, 5) == TOKEN_HASH_LEN) {
			memcpy(r.token_hash, sqlite3_column_blob(st, 5),
			    TOKEN_HASH_LEN);
			r.has_token = 1;
		}
		r.enrolled_at = sqlite3_column_int64(st, 6);
		r.last_heartbeat_at = sqlite3_column_int64(st, 7);
		r.heartbeat = sq_col_strdup(st, 8);
		r.last_scan_at = sqlite3_column_int64(st, 9);
		for (int i = 0; i < FINDING_SEVERITIES; i++)
			r.findings[i] = sqlite3_column_int(st, 10 + i);
		r.hb_cloudflare = sqlite3_column_int(st, 15);
		r.hb_services_down = sqlite3_column_int(st, 16);
		if (sqlite3_column_bytes(st, 17) == TOKEN_HASH_LEN) {
			memcpy(r.key_hash, sqlite3_column_blob(st, 17),
			    TOKEN_HASH_LEN);
			r.has_key = 1;
		}
		if (sqlite3_column_int(st, 18)) {
			r.status = NODE_DELETED;
			r.has_token = 0;
		}
		if (r.hostname == NULL || r.os_profile == NULL ||
		    r.agent_version == NULL || fn(&r, arg) == -1)
			ret = -1;
		node_rec_free(&r);
		if (ret == -1)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		log_err("store_error", "op=load_nodes error=\"%s\"",
		    sqlite3_errmsg(s->db));
		ret = -1;
	}
	sqlite3_reset(st);
	pthread_mutex_unlock(&s->mu);
	return ret;
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

const struct store_node_ops sq_node_ops = {
	.load = sq_load_nodes,
	.insert = sq_node_insert,
	.set_status = sq_node_set_status,
	.enroll_peer = sq_node_enroll_peer,
};
