/*
 * store: the only file that speaks SQL. One SQLite connection in WAL mode,
 * serialised by a mutex; every statement prepared once at open.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "cc.h"
#include "log.h"

/* Migrations by PRAGMA user_version: entry i takes version i to i + 1. */
static const char *const migrations[] = {
	/* 0 -> 1: nodes */
	"CREATE TABLE nodes ("
	"  node_id TEXT PRIMARY KEY,"
	"  hostname TEXT NOT NULL,"
	"  os_profile TEXT NOT NULL,"
	"  agent_version TEXT NOT NULL,"
	"  status TEXT NOT NULL CHECK (status IN"
	"    ('pending', 'approved', 'revoked')),"
	"  token_hash BLOB,"
	"  enrolled_at INTEGER NOT NULL,"
	"  status_changed_at INTEGER,"
	"  last_heartbeat_at INTEGER,"
	"  heartbeat TEXT,"
	"  last_scan_at INTEGER,"
	"  f_critical INTEGER NOT NULL DEFAULT 0,"
	"  f_high INTEGER NOT NULL DEFAULT 0,"
	"  f_medium INTEGER NOT NULL DEFAULT 0,"
	"  f_low INTEGER NOT NULL DEFAULT 0,"
	"  f_info INTEGER NOT NULL DEFAULT 0"
	") WITHOUT ROWID;",
};
#define SCHEMA_VERSION (int)(sizeof(migrations) / sizeof(migrations[0]))

enum stmt_id {
	S_BEGIN, S_COMMIT, S_ROLLBACK,
	S_NODES_ALL, S_NODE_INSERT, S_NODE_STATUS, S_NODE_HB,
	S_COUNT
};

static const char *const stmt_sql[S_COUNT] = {
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_NODES_ALL] = "SELECT node_id, hostname, os_profile, agent_version,"
	    " status, token_hash, enrolled_at, last_heartbeat_at, heartbeat,"
	    " last_scan_at, f_critical, f_high, f_medium, f_low, f_info"
	    " FROM nodes",
	[S_NODE_INSERT] = "INSERT INTO nodes (node_id, hostname, os_profile,"
	    " agent_version, status, token_hash, enrolled_at,"
	    " status_changed_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
	[S_NODE_STATUS] = "UPDATE nodes SET status = ?2, token_hash = ?3,"
	    " status_changed_at = strftime('%s', 'now') WHERE node_id = ?1",
	[S_NODE_HB] = "UPDATE nodes SET last_heartbeat_at = ?2, heartbeat = ?3,"
	    " hostname = ?4, agent_version = ?5 WHERE node_id = ?1",
};

struct store {
	sqlite3		*db;
	sqlite3_stmt	*st[S_COUNT];
	pthread_mutex_t	 mu;
};

static int
exec_sql(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "%s", msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int
migrate(sqlite3 *db, char *err, size_t errlen)
{
	sqlite3_stmt	*st = NULL;
	int		 version = 0;
	char		 sql[64];

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) !=
	    SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
		snprintf(err, errlen, "reading schema version: %s",
		    sqlite3_errmsg(db));
		sqlite3_finalize(st);
		return -1;
	}
	version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (version > SCHEMA_VERSION) {
		snprintf(err, errlen, "database schema version %d is newer than "
		    "this program's %d", version, SCHEMA_VERSION);
		return -1;
	}
	for (; version < SCHEMA_VERSION; version++) {
		if (exec_sql(db, "BEGIN IMMEDIATE", err, errlen) == -1)
			return -1;
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
		    version + 1);
		if (exec_sql(db, migrations[version], err, errlen) == -1 ||
		    exec_sql(db, sql, err, errlen) == -1) {
			(void)exec_sql(db, "ROLLBACK", err + strlen(err), 0);
			return -1;
		}
		if (exec_sql(db, "COMMIT", err, errlen) == -1)
			return -1;
		log_info("store_migrated", "version=%d", version + 1);
	}
	return 0;
}

struct store *
store_open(const char *path, char *err, size_t errlen)
{
	struct store	*s;
	int		 i;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&s->mu, NULL);
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, s->db ?
		    sqlite3_errmsg(s->db) : "cannot open");
		goto fail;
	}
	sqlite3_busy_timeout(s->db, 5000);
	if (exec_sql(s->db, "PRAGMA journal_mode = WAL;"
	    "PRAGMA synchronous = FULL;"
	    "PRAGMA foreign_keys = ON;", err, errlen) == -1 ||
	    migrate(s->db, err, errlen) == -1)
		goto fail;
	for (i = 0; i < S_COUNT; i++)
		if (sqlite3_prepare_v3(s->db, stmt_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL) != SQLITE_OK) {
			snprintf(err, errlen, "preparing statement %d: %s", i,
			    sqlite3_errmsg(s->db));
			goto fail;
		}
	return s;
fail:
	store_close(s);
	return NULL;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	for (int i = 0; i < S_COUNT; i++)
		sqlite3_finalize(s->st[i]);
	if (s->db != NULL)
		sqlite3_close(s->db);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

/* Runs a statement with no result rows; resets it. SQLITE_DONE or error. */
static int
step_done(struct store *s, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	if (rc != SQLITE_DONE)
		log_err("store_error", "op=%s rc=%d error=\"%s\"", what, rc,
		    sqlite3_errmsg(s->db));
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static char *
col_strdup(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	return t ? strdup((const char *)t) : NULL;
}

void
node_rec_free(struct node_rec *r)
{
	if (r == NULL)
		return;
	free(r->hostname);
	free(r->os_profile);
	free(r->agent_version);
	free(r->heartbeat);
	memset(r, 0, sizeof(*r));
}

int
store_load_nodes(struct store *s, int (*fn)(const struct node_rec *, void *),
    void *arg)
{
	sqlite3_stmt	*st = s->st[S_NODES_ALL];
	struct node_rec	 r;
	int		 rc, ret = 0;

	pthread_mutex_lock(&s->mu);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(st, 0);

		memset(&r, 0, sizeof(r));
		snprintf(r.node_id, sizeof(r.node_id), "%s", id ? id : "");
		r.hostname = col_strdup(st, 1);
		r.os_profile = col_strdup(st, 2);
		r.agent_version = col_strdup(st, 3);
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
		r.heartbeat = col_strdup(st, 8);
		r.last_scan_at = sqlite3_column_int64(st, 9);
		for (int i = 0; i < FINDING_SEVERITIES; i++)
			r.findings[i] = sqlite3_column_int(st, 10 + i);
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

int
store_node_insert(struct store *s, const struct node_rec *r)
{
	sqlite3_stmt	*st = s->st[S_NODE_INSERT];
	int		 rc;

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
	rc = step_done(s, st, "node_insert");
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int
store_node_set_status(struct store *s, const char *node_id,
    enum node_status status, const unsigned char *token_hash)
{
	sqlite3_stmt	*st = s->st[S_NODE_STATUS];
	int		 rc;

	pthread_mutex_lock(&s->mu);
	sqlite3_bind_text(st, 1, node_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, status_name(status), -1, SQLITE_STATIC);
	if (token_hash != NULL)
		sqlite3_bind_blob(st, 3, token_hash, TOKEN_HASH_LEN,
		    SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 3);
	rc = step_done(s, st, "node_set_status");
	if (rc == 0 && sqlite3_changes(s->db) != 1)
		rc = -1;
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int
store_heartbeats(struct store *s, const struct hb_write *w, size_t n)
{
	sqlite3_stmt	*st = s->st[S_NODE_HB];
	int		 rc = -1;

	if (n == 0)
		return 0;
	pthread_mutex_lock(&s->mu);
	if (step_done(s, s->st[S_BEGIN], "begin") == -1)
		goto out;
	for (size_t i = 0; i < n; i++) {
		sqlite3_bind_text(st, 1, w[i].node_id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, w[i].at);
		sqlite3_bind_text(st, 3, w[i].json, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, w[i].hostname, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, w[i].agent_version, -1, SQLITE_STATIC);
		if (step_done(s, st, "heartbeat") == -1) {
			(void)step_done(s, s->st[S_ROLLBACK], "rollback");
			goto out;
		}
	}
	rc = step_done(s, s->st[S_COMMIT], "commit");
	if (rc == -1)
		(void)step_done(s, s->st[S_ROLLBACK], "rollback");
out:
	pthread_mutex_unlock(&s->mu);
	return rc;
}
