/*
 * store_pg_keys: the command-signing keys and the key each node last
 * confirmed, in the PostgreSQL backend. Replicas share them: a rotation on
 * one is one transaction the others read (keys.c asks for the newest
 * version before it signs for an agent).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "store_pg_db.h"

struct key_ctx {
	store_key_fn fn;
	void	    *arg;
};

static int
key_row(const PGresult *res, int i, void *arg)
{
	struct key_ctx *c = arg;
	struct key_rec	k;

	memset(&k, 0, sizeof(k));
	k.version = pg_col_i64(res, i, 0);
	snprintf(k.key_id, sizeof(k.key_id), "%s", PQgetvalue(res, i, 1));
	snprintf(k.public_key, sizeof(k.public_key), "%s",
	    PQgetvalue(res, i, 2));
	k.state = PQgetvalue(res, i, 3);
	k.created_at = pg_col_i64(res, i, 4);
	k.retire_by = pg_col_i64(res, i, 5);
	k.retired_at = pg_col_i64(res, i, 6);
	k.emergency = strcmp(PQgetvalue(res, i, 7), "t") == 0;
	k.link = pg_col(res, i, 8);
	k.sealed = pg_col(res, i, 9);
	return c->fn(&k, c->arg);
}

static int
pg_keys_all(struct store *base, store_key_fn fn, void *arg)
{
	struct pg     *s = pg_of(base);
	struct key_ctx c = { fn, arg };

	return pg_rows(s, &s->db, "keys",
	    "SELECT version, key_id, public_key, state, created_at,"
	    " retire_by, retired_at, emergency, link, sealed FROM cc_keys"
	    " ORDER BY version",
	    NULL, key_row, &c);
}

static int
pg_key_add(struct store *base, const struct key_rec *k)
{
	struct pg	*s = pg_of(base);
	struct pg_params p;
	PGresult	*r;
	int		 rc = -1;

	pthread_mutex_lock(&s->db.mu);
	if (pg_begin(s, &s->db) == -1)
		goto out;
	/*
	 * Two replicas rotating at once: the table's lock makes the second
	 * wait for the first, then see its row and add nothing.
	 */
	if ((r = pg_exec(s, &s->db, "key_lock",
		 "LOCK TABLE cc_keys IN EXCLUSIVE MODE;"
		 "SELECT coalesce(max(version), 0) FROM cc_keys",
		 NULL)) == NULL)
		goto fail;
	if (pg_col_i64(r, 0, 0) != k->version - 1) {
		PQclear(r);
		pg_rollback(s, &s->db);
		rc = 0;
		goto out;
	}
	PQclear(r);
	pg_params_init(&p);
	pg_i64(&p, k->version);
	pg_text(&p, k->emergency ? "t" : "f");
	pg_i64(&p, k->created_at);
	pg_i64(&p, k->retire_by);
	rc = pg_run(s, &s->db, "key_demote",
	    "UPDATE cc_keys SET state = CASE WHEN $2 THEN 'retired' ELSE"
	    " 'retiring' END, sealed = CASE WHEN $2 THEN NULL ELSE sealed END,"
	    " retired_at = CASE WHEN $2 THEN $3 ELSE retired_at END,"
	    " retire_by = CASE WHEN state = 'current' THEN $4 ELSE"
	    " retire_by END WHERE version < $1 AND (state = 'current' OR ($2 AND state ="
	    " 'retiring'))",
	    &p);
	pg_params_free(&p);
	if (rc == -1)
		goto fail;
	pg_params_init(&p);
	pg_i64(&p, k->version);
	pg_text(&p, k->key_id);
	pg_text(&p, k->public_key);
	pg_i64(&p, k->created_at);
	pg_i64(&p, 0);
	pg_text(&p, k->emergency ? "t" : "f");
	pg_text(&p, k->link);
	pg_text(&p, k->sealed);
	rc = pg_run(s, &s->db, "key_insert",
	    "INSERT INTO cc_keys (version, key_id, public_key, state,"
	    " created_at, retire_by, emergency, link, sealed) VALUES ($1, $2,"
	    " $3, 'current', $4, $5, $6, $7, $8)",
	    &p);
	pg_params_free(&p);
	if (rc == -1 || pg_commit(s, &s->db) == -1)
		goto fail;
	rc = 1;
	goto out;
fail:
	rc = -1;
	pg_rollback(s, &s->db);
out:
	pthread_mutex_unlock(&s->db.mu);
	return rc;
}

static int
pg_key_retire(struct store *base, int64_t version, int64_t now)
{
	struct pg	*s = pg_of(base);
	struct pg_params p;
	int		 rc;

	pg_params_init(&p);
	pg_i64(&p, version);
	pg_i64(&p, now);
	pthread_mutex_lock(&s->db.mu);
	rc = pg_run(s, &s->db, "key_retire",
	    "UPDATE cc_keys SET state = 'retired', sealed = NULL,"
	    " retired_at = $2 WHERE version = $1 AND state <> 'current'",
	    &p);
	pthread_mutex_unlock(&s->db.mu);
	pg_params_free(&p);
	return rc;
}

static int64_t
pg_key_version(struct store *base)
{
	struct pg *s = pg_of(base);
	PGresult  *r;
	int64_t	   v = -1;

	/* The views' connection: a poll's answer does not wait for writes. */
	pthread_mutex_lock(&s->rdb.mu);
	if ((r = pg_exec(s, &s->rdb, "key_version",
		 "SELECT coalesce(max(version), 0) FROM cc_keys", NULL)) !=
	    NULL) {
		v = pg_col_i64(r, 0, 0);
		PQclear(r);
	}
	pthread_mutex_unlock(&s->rdb.mu);
	return v;
}

static int
pg_node_pinned(struct store *base, const char *node_id, const char *key_id)
{
	struct pg	*s = pg_of(base);
	struct pg_params p;
	int		 rc;

	pg_params_init(&p);
	pg_text(&p, node_id);
	pg_text(&p, key_id);
	pthread_mutex_lock(&s->db.mu);
	rc = pg_run(s, &s->db, "node_pinned",
	    "UPDATE nodes SET pinned_key_id = $2 WHERE node_id = $1", &p);
	pthread_mutex_unlock(&s->db.mu);
	pg_params_free(&p);
	return rc;
}

const struct store_key_ops pg_key_ops = { pg_keys_all, pg_key_add,
	pg_key_retire, pg_key_version, pg_node_pinned };
