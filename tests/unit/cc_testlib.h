/*
 * The command center's test fixtures: a database in a temporary folder,
 * the store (and the fleet) opened on it, and SQLite reached directly
 * through a connection of its own, behind the store's back. Linked into
 * the cc_* unit tests only; built with command-center/ in its path.
 */
#ifndef VM_CC_TESTLIB_H
#define VM_CC_TESTLIB_H

#include <jansson.h>
#include <sqlite3.h>

#include "cc_all.h"

#include "testlib.h"
#include "util.h"

struct cct_fx {
	struct tl_dir		 db; /* db.path: the database (file or URI) */
	char			 pg_db[32]; /* VM_TEST_PG: its database */
	struct store		*st;
	struct fleet		*fl;
	const struct thresholds *thr; /* NULL: no fleet */
};

/* The thresholds of CONTRACT.md's defaults: 10 minutes, 48 hours. */
extern const struct thresholds cct_thr;

/*
 * VM_TEST_PG (a libpq URI without a database): every fixture gets a new
 * empty PostgreSQL database there instead of a SQLite file, dropped at
 * its teardown. NULL when unset.
 */
const char *cct_pg(void);
/* At the top of a test of the SQLite file itself: skipped on PostgreSQL. */
#define CCT_SQLITE_ONLY()             \
	do {                          \
		if (cct_pg() != NULL) \
			skip();       \
	} while (0)

/* cmocka fixtures: *state is a struct cct_fx, nothing open yet. */
int cct_setup(void **state);
/* The same with the store open. */
int cct_setup_store(void **state);
/* The same with the store and a fleet (cct_thr) over it open. */
int cct_setup_fleet(void **state);
/* Closes what is open and removes the folder. */
int cct_teardown(void **state);

/* Opens the store, and a fleet with thr over it unless thr is NULL. */
void cct_open(struct cct_fx *f, const struct thresholds *thr);
/* Closes the fleet and the store (a clean stop). */
void cct_close(struct cct_fx *f);
/* A restart: closes and opens again what was open. */
void cct_reopen(struct cct_fx *f);

/*
 * Queues an agent-info command for node_id in the store, signed with a
 * stand-in payload and signature; id NULL: a new one. What
 * store_command_queue() returns.
 */
int cct_queue(struct store *st, const char *id, const char *node_id,
    int64_t queued_at, int64_t expires_at);

/* Signs a command with a stand-in payload and signature (a sign_fn). */
int cct_sign_stub(struct cmd_new *c, void *arg);

/* An enrollment request with its own storage. */
struct cct_node {
	char		  id[UUID_STRLEN + 1];
	char		  host[64];
	struct enroll_req er;
	char		  token[64];
};

/* A new id and host for n, profile debian-12, version 0.1.0. */
void cct_node_init(struct cct_node *n, const char *host);
/*
 * A heartbeat body for id that validates (Cloudflare cf, one service in
 * svc_state); json_decref() it.
 */
json_t *cct_heartbeat_body(const char *id, const char *host, const char *cf,
    const char *svc_state);
/* That heartbeat validated and given to fl: fleet_heartbeat()'s answer. */
int cct_send_heartbeat(struct fleet *fl, const char *id, const char *host,
    const char *cf, const char *svc_state);

/* A read-write connection of its own to f's database (waits up to 10 s). */
sqlite3 *cct_db_open(struct cct_fx *f);
/*
 * Runs sql through such a connection (on PostgreSQL, one of libpq's); an
 * error fails the test.
 */
void cct_db_exec(struct cct_fx *f, const char *sql);
/* The integer (or boolean) in the first column of the row sql gives. */
long long cct_db_int(struct cct_fx *f, const char *sql);
/*
 * A trigger named name that makes every <when> ("INSERT", "UPDATE OF
 * status") on table fail, in the backend's own syntax; cct_db_allow()
 * drops it.
 */
void cct_db_refuse(struct cct_fx *f, const char *name, const char *when,
    const char *table);
void cct_db_allow(struct cct_fx *f, const char *name, const char *table);

#endif
