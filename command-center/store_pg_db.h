/*
 * store_pg_db: the PostgreSQL backend's own header, shared by its files
 * (store_pg.c and one file per table family) and included by nothing
 * else: the only files that include libpq-fe.h.
 */
#ifndef VM_CC_STORE_PG_DB_H
#define VM_CC_STORE_PG_DB_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "store_backend.h"

/* Any number, the same in every replica: the leader holds it. */
#define PG_LEAD_LOCK "721501962"

/* One connection and the lock that makes it one caller's at a time. */
struct pg_conn {
	PGconn	       *c;
	pthread_mutex_t mu;
	const char     *name; /* "writer", "views", "listener": the log */
	_Atomic int	pid;  /* its server process (notifications from it) */
};

/*
 * Two connections, as the SQLite backend has: db does every write and
 * what decides one; rdb serves the views (documents, histories, lists),
 * so a page never waits for the heartbeat writer's round. A third, lsn,
 * is the replica thread's alone (store_pg_replica.c): it listens for the
 * other replicas' changes and holds the leader's lock.
 */
struct pg {
	struct store   base; /* first: what store.c sees */
	char	      *conninfo;
	struct pg_conn db;
	struct pg_conn rdb;
	struct pg_conn lsn;
	int	       leader; /* lsn holds PG_LEAD_LOCK */
};

static inline struct pg *
pg_of(struct store *s)
{
	return (struct pg *)s;
}

/* The families' tables (store_pg_<family>.c). */
extern const struct store_node_ops	pg_node_ops;
extern const struct store_heartbeat_ops pg_heartbeat_ops;
extern const struct store_command_ops	pg_command_ops;
extern const struct store_audit_ops	pg_audit_ops;
extern const struct store_sample_ops	pg_sample_ops;
extern const struct store_replica_ops	pg_replica_ops;
extern const struct store_job_ops	pg_job_ops;
extern const struct store_approval_ops	pg_approval_ops;
extern const struct store_webhook_ops	pg_webhook_ops;
extern const struct store_key_ops	pg_key_ops;
extern const struct store_view_ops	pg_view_ops;

/*
 * Inside a transaction on db (its lock held): takes c's seq from its
 * node's row (locking it), signs and inserts c: 0, -2 when the node is
 * unknown, or -1. The caller commits or rolls back.
 */
int pg_queue_locked(struct pg *s, struct cmd_new *c, sign_fn sign, void *arg);

/*
 * A new connection's settings (its notices go to the debug log) and its
 * server process's id.
 */
void pg_conn_setup(struct pg_conn *c);

/*
 * A node row as pg_node_rec() reads it (the heartbeat itself only for
 * rows older than its two facts).
 */
#define PG_NODE_COLUMNS                                                  \
	"nodes.node_id, hostname, os_profile, agent_version, status,"    \
	" token_hash, enrolled_at, last_heartbeat_at, CASE WHEN"         \
	" hb_cloudflare < 0 OR hb_services_down < 0 THEN heartbeat END," \
	" last_scan_at, f_critical, f_high, f_medium, f_low, f_info,"    \
	" hb_cloudflare, hb_services_down, enroll_key_hash,"             \
	" deleted_at IS NOT NULL, labels, pinned_key_id"
/* Row i of a PG_NODE_COLUMNS query as a node_rec (strings malloc'd). */
int pg_node_rec(const PGresult *res, int i, struct node_rec *r);

/* A statement's parameters, as text (NULL: SQL NULL). */
#define PG_PARAMS_MAX 16
struct pg_params {
	const char *v[PG_PARAMS_MAX];
	char	    num[PG_PARAMS_MAX][24];
	char	   *owned[PG_PARAMS_MAX]; /* freed by pg_params_free */
	int	    n;
};

void pg_params_init(struct pg_params *p);
void pg_params_free(struct pg_params *p);
void pg_text(struct pg_params *p, const char *s);
void pg_i64(struct pg_params *p, int64_t v);
void pg_real(struct pg_params *p, double v); /* NaN: NULL */
/* len bytes as bytea (hex); NULL: SQL NULL. */
void pg_bytes(struct pg_params *p, const unsigned char *b, size_t len);

/*
 * Runs sql on c with p (NULL: none) after making sure the connection is
 * up (a lost one is reset once): the result when its status is
 * PGRES_COMMAND_OK or PGRES_TUPLES_OK (PQclear() it), else NULL (logged
 * with what). The caller holds c's lock.
 */
PGresult *pg_exec(struct pg *s, struct pg_conn *c, const char *what,
    const char *sql, const struct pg_params *p);
/* The same for a statement that returns nothing: 0, or -1. */
int pg_run(struct pg *s, struct pg_conn *c, const char *what, const char *sql,
    const struct pg_params *p);
/*
 * Runs sql on c (its lock taken and given back) and calls row(res, i, ctx)
 * for each row of the answer until one returns -1: 0, or -1.
 */
int pg_rows(struct pg *s, struct pg_conn *c, const char *what, const char *sql,
    const struct pg_params *p,
    int (*row)(const PGresult *res, int i, void *ctx), void *ctx);
/* BEGIN, COMMIT, ROLLBACK on c (its lock held): 0, or -1. */
int  pg_begin(struct pg *s, struct pg_conn *c);
int  pg_commit(struct pg *s, struct pg_conn *c);
void pg_rollback(struct pg *s, struct pg_conn *c);
/* A column's value: text (NULL for NULL), int64 (0 for NULL), a double. */
const char *pg_col(const PGresult *r, int row, int col);
int64_t	    pg_col_i64(const PGresult *r, int row, int col);
int	    pg_col_null(const PGresult *r, int row, int col);
/* A bytea column of exactly len bytes into out: 1, else 0. */
int pg_col_bytes(const PGresult *r, int row, int col, unsigned char *out,
    size_t len);

#endif
