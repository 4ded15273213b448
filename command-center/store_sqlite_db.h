/*
 * store_sqlite_db: the SQLite backend's own header, shared by its files
 * (store_sqlite.c and one file per table family) and included by nothing
 * else: the only files that include sqlite3.h.
 */
#ifndef VM_CC_STORE_SQLITE_DB_H
#define VM_CC_STORE_SQLITE_DB_H

#include <pthread.h>
#include <stdint.h>

#include <sqlite3.h>

#include "buf.h"
#include "store_backend.h"

enum stmt_id {
	S_BEGIN,
	S_COMMIT,
	S_ROLLBACK,
	S_NODES_ALL,
	S_NODE_INSERT,
	S_NODE_STATUS,
	S_NODE_DELETE,
	S_NODE_HB,
	S_NODE_HB_GET,
	S_CMD_RELEASE,
	S_CMD_OUT,
	S_OUTBOX_ADD,
	S_OUTBOX_DUE,
	S_OUTBOX_DONE,
	S_OUTBOX_FAILED,
	S_OUTBOX_COUNTS,
	S_OUTBOX_PRUNE,
	S_LEVELS,
	S_KEYS_ALL,
	S_KEY_MAX,
	S_KEY_INSERT,
	S_KEY_DEMOTE,
	S_KEY_RETIRE,
	S_NODE_PINNED,
	S_LEVEL_SET,
	S_APPROVAL_INSERT,
	S_APPROVAL_GET,
	S_APPROVAL_LIST,
	S_APPROVAL_DECIDE,
	S_APPROVAL_JOB,
	S_APPROVAL_EXPIRED,
	S_NODE_PEER,
	S_NODE_LABELS,
	S_LOG_HB_GET,
	S_LOG_CHUNK,
	S_LOG_ALL,
	S_LOG_FOLD,
	S_LOG_CUT,
	S_LOG_DROP,
	S_LOG_LAST,
	S_SEQ_NEXT,
	S_CMD_INSERT,
	S_CMD_OPEN,
	S_CMD_MARK,
	S_CMD_UNDELIVER,
	S_CMD_GET,
	S_CMD_RESULT,
	S_SCAN_INSERT,
	S_FINDING_INSERT,
	S_NODE_SCAN,
	S_CMD_EXPIRE,
	S_CMD_PENDING,
	S_CMD_LIST,
	S_FINDINGS_OF,
	S_CMD_OPEN_OF,
	S_SCANS_OF,
	S_CMD_LOST,
	S_AUDIT_ADD,
	S_AUDIT_LIST,
	S_CMD_COUNTS,
	S_FLEET_SAMPLE_ADD,
	S_FLEET_SAMPLE_PRUNE,
	S_FLEET_HISTORY,
	S_HB_SAMPLE_ADD,
	S_HB_SAMPLE_PRUNE,
	S_HB_HISTORY,
	S_JOB_INSERT,
	S_JOB_NODE_INSERT,
	S_JOB_WAVE_NODES,
	S_JOB_WAVE_SET,
	S_JOB_GET,
	S_JOB_LIST,
	S_JOB_COUNTS,
	S_JOB_UPDATE,
	S_JOB_CANCEL_CMDS,
	S_JOB_END,
	S_JOB_RESULTS,
	S_JOB_RESULTS_RANKED,
	S_JOB_GROUPS,
	S_JOB_GROUP_OUTPUT,
	S_SCHED_ADD,
	S_SCHED_ALL,
	S_SCHED_RAN,
	S_SCHED_DELETE,
	S_SYNC_NORMAL,
	S_SYNC_FULL,
	S_COUNT
};

/*
 * Two connections. db does every write and what decides one; rdb, read
 * only, serves the views (documents, histories, lists): in WAL mode it
 * reads the latest commit while db is inside a transaction, so a page
 * never waits for the heartbeat writer's round. Each has its own mutex.
 */
struct sq {
	struct store	base; /* first: what store.c sees */
	sqlite3	       *db;
	pthread_mutex_t mu;
	sqlite3	       *rdb;
	pthread_mutex_t rmu;
	sqlite3_stmt   *st[S_COUNT]; /* each on its connection */
	/* The heartbeat chunks (the writer's, under mu). */
	int64_t	   hb_last;   /* the last heartbeat number given */
	size_t	   chunk_max; /* bytes a chunk fills: a page, less */
	struct buf chunk;     /* the one being filled */
};

static inline struct sq *
sq_of(struct store *s)
{
	return (struct sq *)s;
}

/* The families' tables (store_sqlite_<family>.c). */
extern const struct store_node_ops	sq_node_ops;
extern const struct store_heartbeat_ops sq_heartbeat_ops;
extern const struct store_command_ops	sq_command_ops;
extern const struct store_audit_ops	sq_audit_ops;
extern const struct store_sample_ops	sq_sample_ops;
extern const struct store_job_ops	sq_job_ops;
extern const struct store_approval_ops	sq_approval_ops;
extern const struct store_webhook_ops	sq_webhook_ops;
extern const struct store_key_ops	sq_key_ops;

/*
 * Inside a transaction (mu held): assigns c's seq, signs and inserts it:
 * 0, -2 when its node is unknown (nothing done), or -1 (the transaction
 * is rolled back).
 */
int sq_queue_locked(struct sq *s, struct cmd_new *c, sign_fn sign, void *arg);

/* Runs a statement with no result rows; resets it: 0, or -1 (logged). */
int sq_step_done(struct sq *s, sqlite3_stmt *st, const char *what);
/*
 * Steps st (bound, its lock held) through its rows, calling row(st, arg)
 * for each until one returns -1, then resets st and clears its bindings:
 * 0, or -1 when a row() stopped it or SQLite failed (logged).
 */
int sq_each_row(sqlite3_stmt *st, const char	  *what,
    int (*row)(sqlite3_stmt *st, void *arg), void *arg);
/* BEGIN IMMEDIATE, COMMIT, ROLLBACK on the write connection (mu held). */
int  sq_begin(struct sq *s);
int  sq_commit(struct sq *s);
void sq_rollback(struct sq *s);
/*
 * Inside a transaction: runs st as sq_step_done, or COMMITs; either rolls
 * the transaction back when it fails: 0, or -1.
 */
int sq_tx_step(struct sq *s, sqlite3_stmt *st, const char *what);
int sq_tx_commit(struct sq *s);
/* A column's text, borrowed (NULL for NULL), or a malloc'd copy. */
const char *sq_col_text(sqlite3_stmt *st, int col);
/* Columns first, first + 1, ... as text (borrowed) into *to[0], *to[1], ... */
void
sq_col_texts(sqlite3_stmt *st, int first, const char **const to[], size_t n);
char *sq_col_strdup(sqlite3_stmt *st, int col);
/* Binds s, or NULL when s is NULL. */
void sq_bind_text_or_null(sqlite3_stmt *st, int i, const char *s);

/* The heartbeat chunks, after the statements: their size and numbers. */
int sq_chunks_open(struct sq *s, char *err, size_t errlen);

#endif
