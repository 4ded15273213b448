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

#include "cc_testlib.h"
#include "util.h"

const struct thresholds cct_thr = { 10 * 60, 48 * 3600 };

/* A new fixture, its folder made; the store (and fleet) opened if open. */
static int
fx_new(void **state, int open, const struct thresholds *thr)
{
	struct cct_fx *f = tl_state_new(state, sizeof(*f));

	if (tl_dir_init(&f->db, "vm-cc", "cc.db") == -1)
		return -1;
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

	cct_close(f);
	rc = tl_dir_fini(&f->db);
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

static int
sign_stub(struct cmd_new *c, void *arg)
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
	rc = store_command_queue(st, &c, sign_stub, NULL);
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

void
cct_db_exec(struct cct_fx *f, const char *sql)
{
	sqlite3 *h = cct_db_open(f);

	if (sqlite3_exec(h, sql, NULL, NULL, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(h));
	sqlite3_close(h);
}

long long
cct_db_int(struct cct_fx *f, const char *sql)
{
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
