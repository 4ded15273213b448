/*
 * store_pg_replica: what replicas sharing one PostgreSQL database learn
 * from each other. The listener connection (one thread's) hears what the
 * schema's triggers tell at each commit: vm_queued (a command entered or
 * left the queued state) and vm_node (a node's status or token changed).
 * Node rows are read by the id of the transaction that last changed them
 * (nodes.changed_xid): a reader keeps the oldest transaction still open
 * at its last read, so a row committed late is read, never skipped. The
 * listener connection also holds the leader's advisory lock: it goes
 * with the connection, so a replica that dies or loses the database lets
 * another one lead.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store_pg_db.h"
#include "util.h"
#include "validate.h"

/*
 * Drops the listener connection: the lock and what it heard go with it
 * (said once, when it was listening; a connection that never came up is
 * the caller's to report).
 */
static void
lsn_drop(struct pg *s, const char *why, int was_listening)
{
	char m[300];

	snprintf(m, sizeof(m), "%s", why);
	m[strcspn(m, "\n")] = '\0';
	if (was_listening)
		log_warn("store_listener_lost", "error=\"%s\" leader=%d", m,
		    s->leader);
	else
		log_debug("store_listener_failed", "error=\"%s\"", m);
	PQfinish(s->lsn.c);
	s->lsn.c = NULL;
	s->leader = 0;
}

/* Connects and listens: 0, or -1. */
static int
lsn_open(struct pg *s)
{
	PGresult *r;

	if ((s->lsn.c = PQconnectdb(s->conninfo)) == NULL ||
	    PQstatus(s->lsn.c) != CONNECTION_OK) {
		lsn_drop(s,
		    s->lsn.c != NULL ? PQerrorMessage(s->lsn.c) :
				       "out of memory",
		    0);
		return -1;
	}
	pg_conn_setup(&s->lsn);
	r = PQexec(s->lsn.c, "LISTEN vm_queued; LISTEN vm_node");
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		lsn_drop(s, PQresultErrorMessage(r), 0);
		PQclear(r);
		return -1;
	}
	PQclear(r);
	log_info("store_listening", "conn=listener");
	return 0;
}

/* 1 when pid is one of this process's own connections. */
static int
own_pid(struct pg *s, int pid)
{
	return pid == atomic_load(&s->db.pid) ||
	    pid == atomic_load(&s->rdb.pid);
}

/*
 * "<node_id> <delta> <µs since the epoch> <command_id>" from vm_queued:
 * 0, or -1.
 */
static int
parse_queued(const char *extra, char node_id[37], int *delta, int64_t *at_us)
{
	const char *sp = strchr(extra, ' ');
	char	   *end;
	long	    d;
	long long   at;

	if (sp == NULL || sp - extra != 36)
		return -1;
	memcpy(node_id, extra, 36);
	node_id[36] = '\0';
	d = strtol(sp + 1, &end, 10);
	if (!uuid_valid(node_id) || end == sp + 1 || *end != ' ' ||
	    (d != 1 && d != -1))
		return -1;
	at = strtoll(end + 1, &end, 10);
	if (*end != ' ' || at <= 0)
		return -1;
	*delta = (int)d;
	*at_us = at;
	return 0;
}

static void
heard(struct pg *s, PGnotify *n, store_note_fn fn, void *arg)
{
	char	node_id[37];
	int	delta;
	int64_t at_us;

	if (strcmp(n->relname, "vm_node") == 0) {
		fn(STORE_NOTE_NODE, NULL, 0, -1, arg);
		return;
	}
	/* This process told its own hook already, before the commit's end. */
	if (own_pid(s, n->be_pid))
		return;
	if (parse_queued(n->extra, node_id, &delta, &at_us) == -1) {
		log_warn("store_note_invalid", "channel=%s", n->relname);
		return;
	}
	store_queued(&s->base, node_id, delta);
	fn(STORE_NOTE_QUEUED, node_id, delta, wall_us() - at_us, arg);
}

static int
pg_listen(struct store *base, int timeout_ms, store_note_fn fn, void *arg)
{
	struct pg    *s = pg_of(base);
	struct pollfd pfd;
	PGnotify     *n;
	int	      rc;

	/* A new connection is told at once: the caller reads everything. */
	if (s->lsn.c == NULL)
		return lsn_open(s) == -1 ? -1 : 1;
	pfd.fd = PQsocket(s->lsn.c);
	pfd.events = POLLIN;
	pfd.revents = 0;
	rc = poll(&pfd, 1, timeout_ms);
	if (rc == -1 && errno != EINTR) {
		lsn_drop(s, strerror(errno), 1);
		return -1;
	}
	if (rc > 0 && !PQconsumeInput(s->lsn.c)) {
		lsn_drop(s, PQerrorMessage(s->lsn.c), 1);
		return -1;
	}
	while ((n = PQnotifies(s->lsn.c)) != NULL) {
		heard(s, n, fn, arg);
		PQfreemem(n);
	}
	return 0;
}

static int
pg_lead(struct store *base)
{
	struct pg *s = pg_of(base);
	PGresult  *r;

	if (s->lsn.c == NULL)
		return -1;
	/* Held: still ours while the connection is (asked, not assumed). */
	r = PQexec(s->lsn.c,
	    s->leader ? "SELECT true" :
			"SELECT pg_try_advisory_lock(" PG_LEAD_LOCK ")");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		lsn_drop(s, PQresultErrorMessage(r), 1);
		PQclear(r);
		return -1;
	}
	if (!s->leader && strcmp(PQgetvalue(r, 0, 0), "t") == 0) {
		s->leader = 1;
		log_info("replica_leading", "conn=listener");
	}
	PQclear(r);
	return s->leader;
}

struct changed {
	struct store_rows rows;
	int64_t		  next;
};

static int
changed_row(const PGresult *res, int i, void *ctx)
{
	struct changed *c = ctx;
	struct node_rec rec;
	int		rc = -1;

	c->next = pg_col_i64(res, i, 21); /* after PG_NODE_COLUMNS */
	if (pg_col_null(res, i, 0))
		return 0; /* nothing changed: the snapshot's row alone */
	if (pg_node_rec(res, i, &rec) == 0)
		rc = c->rows.fn.node(&rec, c->rows.arg);
	node_rec_free(&rec);
	return rc;
}

static int
pg_changed(struct store *base, int64_t *cursor, store_node_fn fn, void *arg)
{
	struct pg	*s = pg_of(base);
	struct changed	 c = { { .fn.node = fn, .arg = arg }, *cursor };
	struct pg_params p;
	int		 rc;

	/*
	 * One statement, one snapshot: the rows it sees, and the oldest
	 * transaction it does not (where the next read starts).
	 */
	pg_params_init(&p);
	pg_i64(&p, *cursor);
	rc = pg_rows(s, &s->rdb, "nodes_changed",
	    "SELECT " PG_NODE_COLUMNS ", x.xmin FROM (SELECT"
	    " txid_snapshot_xmin(txid_current_snapshot()) AS xmin) x"
	    " LEFT JOIN nodes ON nodes.changed_xid >= $1",
	    &p, changed_row, &c);
	pg_params_free(&p);
	if (rc == 0)
		*cursor = c.next;
	return rc;
}

/* In store_backend.h\'s order. */
const struct store_replica_ops pg_replica_ops = { pg_listen, pg_changed,
	pg_lead };
