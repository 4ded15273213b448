/*
 * The command center's test fixtures (cc_testlib.h). Its name starts with
 * cc_ so the Makefile builds it with command-center/ in the include path.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libpq-fe.h>
#include <sodium.h>

#include "cc_testlib.h"
#include "util.h"

const struct thresholds cct_thr = { 10 * 60, 48 * 3600 };

const char *
cct_pg(void)
{
	const char *base = getenv("VM_TEST_PG");

	return base != NULL && *base != '\0' ? base : NULL;
}

/* Runs sql on VM_TEST_PG's postgres database: 0, or -1 (printed). */
static int
pg_admin(const char *sql)
{
	char	  uri[300];
	PGconn	 *c;
	PGresult *r;
	int	  rc = -1;

	snprintf(uri, sizeof(uri), "%s/postgres", cct_pg());
	c = PQconnectdb(uri);
	if (PQstatus(c) == CONNECTION_OK) {
		r = PQexec(c, sql);
		rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -1;
		if (rc == -1)
			fprintf(stderr, "%s: %s", sql, PQresultErrorMessage(r));
		PQclear(r);
	} else
		fprintf(stderr, "%s: %s", uri, PQerrorMessage(c));
	PQfinish(c);
	return rc;
}

/*
 * A new fixture, its folder made, and under VM_TEST_PG a new empty
 * database there (db.path its URI); the store (and fleet) opened if open.
 */
static int
fx_new(void **state, int open, const struct thresholds *thr)
{
	struct cct_fx *f = tl_state_new(state, sizeof(*f));
	unsigned char  rnd[8];
	char	       sql[128];

	if (tl_dir_init(&f->db, "vm-cc", "cc.db") == -1)
		return -1;
	if (cct_pg() != NULL) {
		randombytes_buf(rnd, sizeof(rnd));
		snprintf(f->pg_db, sizeof(f->pg_db), "vm_unit_");
		sodium_bin2hex(f->pg_db + 8, sizeof(f->pg_db) - 8, rnd,
		    sizeof(rnd));
		snprintf(sql, sizeof(sql), "CREATE DATABASE %s", f->pg_db);
		if (pg_admin(sql) == -1)
			return -1;
		snprintf(f->db.path, sizeof(f->db.path), "%s/%s", cct_pg(),
		    f->pg_db);
	}
	if (open)
		cct_open(f, thr);
	return 0;
}

int
cct_setup(void **state)
{
	return fx_new(state, 0, NULL);
}

int
cct_setup_store(void **state)
{
	return fx_new(state, 1, NULL);
}

int
cct_setup_fleet(void **state)
{
	return fx_new(state, 1, &cct_thr);
}

int
cct_teardown(void **state)
{
	struct cct_fx *f = *state;
	int	       rc;
	char	       sql[128];

	cct_close(f);
	rc = tl_dir_fini(&f->db);
	if (f->pg_db[0] != '\0') {
		snprintf(sql, sizeof(sql), "DROP DATABASE %s WITH (FORCE)",
		    f->pg_db);
		if (pg_admin(sql) == -1)
			rc = -1;
	}
	free(f);
	return rc;
}

void
cct_open(struct cct_fx *f, const struct thresholds *thr)
{
	char err[256] = "";

	if ((f->st = store_open(f->db.path, err, sizeof(err))) == NULL)
		fail_msg("store_open: %s", err);
	f->thr = thr;
	if (thr != NULL &&
	    (f->fl = fleet_open(f->st, thr, err, sizeof(err))) == NULL)
		fail_msg("fleet_open: %s", err);
}

void
cct_close(struct cct_fx *f)
{
	fleet_close(f->fl);
	f->fl = NULL;
	store_close(f->st);
	f->st = NULL;
}

void
cct_reopen(struct cct_fx *f)
{
	cct_close(f);
	cct_open(f, f->thr);
}

int
cct_sign_stub(struct cmd_new *c, void *arg)
{
	(void)arg;
	c->payload = strdup("cGF5bG9hZA==");
	c->signature = strdup("c2ln");
	return c->payload && c->signature ? 0 : -1;
}

int
cct_queue(struct store *st, const char *id, const char *node_id,
    int64_t queued_at, int64_t expires_at)
{
	struct cmd_new c;
	int	       rc;

	memset(&c, 0, sizeof(c));
	if (id == NULL)
		uuid_generate(c.command_id);
	else
		snprintf(c.command_id, sizeof(c.command_id), "%s", id);
	c.node_id = node_id;
	c.command = "agent-info";
	c.args = "{}";
	c.queued_by = "test";
	c.queued_at = queued_at;
	c.expires_at = expires_at;
	rc = store_command_queue(st, &c, cct_sign_stub, NULL);
	free(c.payload);
	free(c.signature);
	return rc;
}

sqlite3 *
cct_db_open(struct cct_fx *f)
{
	sqlite3 *h = NULL;

	if (sqlite3_open_v2(f->db.path, &h,
		SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK)
		fail_msg("sqlite3_open %s: %s", f->db.path, sqlite3_errmsg(h));
	sqlite3_busy_timeout(h, 10000);
	return h;
}

/* sql on f's PostgreSQL database: its result (a failure fails the test). */
static PGresult *
pg_query(struct cct_fx *f, const char *sql)
{
	PGconn	 *c = PQconnectdb(f->db.path);
	PGresult *r;

	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("%s: %s", f->db.path, PQerrorMessage(c));
	r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK &&
	    PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQresultErrorMessage(r));
	PQfinish(c);
	return r;
}

void
cct_db_exec(struct cct_fx *f, const char *sql)
{
	if (f->pg_db[0] != '\0') {
		PQclear(pg_query(f, sql));
		return;
	}
	sqlite3 *h = cct_db_open(f);

	if (sqlite3_exec(h, sql, NULL, NULL, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(h));
	sqlite3_close(h);
}

long long
cct_db_int(struct cct_fx *f, const char *sql)
{
	if (f->pg_db[0] != '\0') {
		PGresult   *r = pg_query(f, sql);
		const char *v;
		long long   n;

		if (PQntuples(r) < 1)
			fail_msg("%s: no row", sql);
		v = PQgetvalue(r, 0, 0);
		/* A boolean is t or f there. */
		n = strcmp(v, "t") == 0 ? 1 :
		    strcmp(v, "f") == 0 ? 0 :
					  atoll(v);
		PQclear(r);
		return n;
	}
	sqlite3	     *h = cct_db_open(f);
	sqlite3_stmt *st = NULL;
	long long     v;

	if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW)
		fail_msg("%s: %s", sql, sqlite3_errmsg(h));
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return v;
}

void
cct_db_refuse(struct cct_fx *f, const char *name, const char *when,
    const char *table)
{
	char sql[512];

	if (f->pg_db[0] != '\0')
		snprintf(sql, sizeof(sql),
		    "CREATE FUNCTION %s() RETURNS trigger LANGUAGE plpgsql AS"
		    " $$BEGIN RAISE EXCEPTION 'refused by test'; END$$;"
		    "CREATE TRIGGER %s BEFORE %s ON %s FOR EACH ROW"
		    " EXECUTE FUNCTION %s()",
		    name, name, when, table, name);
	else
		snprintf(sql, sizeof(sql),
		    "CREATE TRIGGER %s BEFORE %s ON %s BEGIN"
		    " SELECT RAISE(ABORT, 'refused by test'); END",
		    name, when, table);
	cct_db_exec(f, sql);
}

void
cct_db_allow(struct cct_fx *f, const char *name, const char *table)
{
	char sql[256];

	if (f->pg_db[0] != '\0')
		snprintf(sql, sizeof(sql),
		    "DROP TRIGGER %s ON %s; DROP FUNCTION %s()", name, table,
		    name);
	else
		snprintf(sql, sizeof(sql), "DROP TRIGGER %s", name);
	cct_db_exec(f, sql);
}

void
cct_node_init(struct cct_node *n, const char *host)
{
	memset(n, 0, sizeof(*n));
	uuid_generate(n->id);
	snprintf(n->host, sizeof(n->host), "%s", host);
	n->er.node_id = n->id;
	n->er.hostname = n->host;
	n->er.os_profile = "debian-12";
	n->er.agent_version = "0.1.0";
}

json_t *
cct_heartbeat_body(const char *id, const char *host, const char *cf,
    const char *svc_state)
{
	json_t *root = json_pack("{s:s, s:s, s:s, s:s, s:I, s:f, s:f, s:f, "
				 "s:s, s:[{s:s, s:s}], s:s}",
	    "node_id", id, "hostname", host, "os_profile", "debian-12",
	    "agent_version", "0.1.1", "uptime_secs", (json_int_t)3600, "load1",
	    0.5, "mem_used_pct", 40.0, "root_disk_used_pct", 60.0, "cloudflare",
	    cf, "services", "name", "nginx.service", "state", svc_state,
	    "sent_at", "2026-11-27T10:00:00Z");

	assert_non_null(root);
	return root;
}

int
cct_send_heartbeat(struct fleet *fl, const char *id, const char *host,
    const char *cf, const char *svc_state)
{
	json_t		*root = cct_heartbeat_body(id, host, cf, svc_state);
	struct heartbeat hb;
	char		 err[256];
	int		 rc;

	if (validate_heartbeat(root, &hb, err, sizeof(err)) != 0)
		fail_msg("validate_heartbeat: %s", err);
	rc = fleet_heartbeat(fl, &hb);
	free(hb.json); /* NULL when the fleet took it */
	json_decref(root);
	return rc;
}
