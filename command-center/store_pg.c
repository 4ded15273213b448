/*
 * store_pg: the PostgreSQL backend: its schema and migrations, the two
 * connections, and the table of operations made of its families' tables:
 * store_pg_nodes.c (nodes), store_pg_heartbeats.c (the heartbeat log),
 * store_pg_commands.c (commands, scans, findings) and store_pg_audit.c
 * (the audit log and the pictures' samples). What they share is in
 * store_pg_db.c. The schema holds what the SQLite one holds, in
 * PostgreSQL's types; times are Unix seconds (bigint) in both.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store_pg_db.h"

/* Migrations by vm_schema.version: entry i takes version i to i + 1. */
static const char *const migrations[] = {
	/* 0 -> 1: everything the SQLite schema holds at its version 10 */
	"CREATE TABLE nodes (  node_id text PRIMARY KEY,"
	"  hostname text NOT NULL,  os_profile text NOT NULL,"
	"  agent_version text NOT NULL,  status text NOT NULL CHECK (status IN"
	"    ('pending', 'approved', 'revoked')),  token_hash bytea,"
	"  enrolled_at bigint NOT NULL,  status_changed_at bigint,"
	"  last_heartbeat_at bigint,  heartbeat text,"
	"  last_scan_at bigint,  f_critical integer NOT NULL DEFAULT 0,"
	"  f_high integer NOT NULL DEFAULT 0,"
	"  f_medium integer NOT NULL DEFAULT 0,"
	"  f_low integer NOT NULL DEFAULT 0,"
	"  f_info integer NOT NULL DEFAULT 0,"
	"  last_seq bigint NOT NULL DEFAULT 0,"
	"  hb_cloudflare integer NOT NULL DEFAULT -1,"
	"  hb_services_down integer NOT NULL DEFAULT -1,"
	"  enroll_key_hash bytea,  deleted_at bigint,  enroll_peer text);"
	"CREATE TABLE commands (  command_id text PRIMARY KEY,"
	"  node_id text NOT NULL REFERENCES nodes (node_id),"
	"  seq bigint NOT NULL,  command text NOT NULL,"
	"  args text NOT NULL,  queued_by text NOT NULL,"
	"  queued_at bigint NOT NULL,  expires_at bigint NOT NULL,"
	"  payload text NOT NULL,  signature text NOT NULL,"
	"  status text NOT NULL CHECK (status IN ('queued', 'delivered',"
	"    'ok', 'error', 'rejected', 'timeout', 'expired')),"
	"  delivered_at bigint,  started_at text,"
	"  finished_at text,  exit_code bigint,"
	"  output text,  result_at bigint,  UNIQUE (node_id, seq));"
	"CREATE INDEX commands_by_node ON commands (node_id, seq DESC);"
	"CREATE INDEX commands_open ON commands (status, expires_at)"
	"  WHERE status IN ('queued', 'delivered');CREATE TABLE scans ("
	"  command_id text PRIMARY KEY REFERENCES commands (command_id),"
	"  node_id text NOT NULL REFERENCES nodes (node_id),"
	"  scanned_at bigint NOT NULL,"
	"  critical integer NOT NULL, high integer NOT NULL,"
	"  medium integer NOT NULL, low integer NOT NULL, info integer NOT NULL"
	");CREATE INDEX scans_by_node ON scans (node_id, scanned_at DESC);"
	"CREATE TABLE findings ("
	"  command_id text NOT NULL REFERENCES scans (command_id),"
	"  idx integer NOT NULL,  finding_id text NOT NULL,"
	"  severity text NOT NULL CHECK (severity IN"
	"    ('critical', 'high', 'medium', 'low', 'info')),"
	"  title text NOT NULL,  detail text NOT NULL,"
	"  remediation text,  PRIMARY KEY (command_id, idx)"
	");CREATE TABLE audit (  id bigserial PRIMARY KEY,  at bigint NOT NULL,"
	"  who text NOT NULL,  peer text NOT NULL,"
	"  action text NOT NULL,  target text NOT NULL,"
	"  detail text NOT NULL,  result text NOT NULL"
	");CREATE TABLE fleet_samples ("
	"  at bigint PRIMARY KEY,  green integer NOT NULL,"
	"  yellow integer NOT NULL,  red integer NOT NULL"
	");CREATE TABLE heartbeat_samples ("
	"  node_id text NOT NULL,  at bigint NOT NULL,"
	"  load1 double precision,  mem_used_pct double precision,"
	"  PRIMARY KEY (node_id, at));"
	"CREATE INDEX heartbeat_samples_at ON heartbeat_samples (at);"
	/*
	 * The heartbeat log: a row a heartbeat, numbered by the sequence,
	 * folded into nodes by the writer (PostgreSQL appends rows to a
	 * table's heap; the page-sized chunks of the SQLite log are not
	 * needed here).
	 */
	"CREATE TABLE heartbeat_log (  seq bigserial PRIMARY KEY,"
	"  node_id text NOT NULL,  at bigint NOT NULL,"
	"  heartbeat text NOT NULL,  hostname text NOT NULL,"
	"  agent_version text NOT NULL,  hb_cloudflare integer NOT NULL,"
	"  hb_services_down integer NOT NULL);",
	/*
	 * 1 -> 2: replicas. Each change of a node row carries the id of its
	 * transaction (what replicas read the changes by); each change of a
	 * command's queued state is told on vm_queued (node, +1 or -1, when,
	 * the command), each change of a node's status or token on vm_node, at
	 * the commit. Heartbeats go into nodes directly from now on: what
	 * the log still holds is folded into nodes and the log emptied.
	 */
	"ALTER TABLE nodes ADD COLUMN changed_xid bigint NOT NULL DEFAULT 0;"
	"CREATE INDEX nodes_by_change ON nodes (changed_xid);"
	"CREATE FUNCTION vm_node_changed() RETURNS trigger LANGUAGE plpgsql"
	"  AS $$BEGIN NEW.changed_xid := txid_current(); RETURN NEW; END$$;"
	"CREATE TRIGGER nodes_changed BEFORE INSERT ON nodes"
	"  FOR EACH ROW EXECUTE FUNCTION vm_node_changed();"
	/* A statement that sets changed_xid itself (heartbeats) skips it. */
	"CREATE TRIGGER nodes_changed_update BEFORE UPDATE ON nodes"
	"  FOR EACH ROW WHEN (NEW.changed_xid = OLD.changed_xid)"
	"  EXECUTE FUNCTION vm_node_changed();"
	"CREATE FUNCTION vm_node_told() RETURNS trigger LANGUAGE plpgsql"
	"  AS $$BEGIN PERFORM pg_notify('vm_node', ''); RETURN NULL; END$$;"
	"CREATE TRIGGER nodes_told AFTER INSERT OR UPDATE OF status,"
	"  token_hash, deleted_at ON nodes"
	"  FOR EACH STATEMENT EXECUTE FUNCTION vm_node_told();"
	"CREATE FUNCTION vm_command_told() RETURNS trigger LANGUAGE plpgsql"
	"  AS $$DECLARE d integer; BEGIN"
	"  d := (NEW.status = 'queued')::integer; IF TG_OP = 'UPDATE' THEN"
	"    d := d - (OLD.status = 'queued')::integer; END IF;"
	"  IF d <> 0 THEN PERFORM pg_notify('vm_queued',"
	"    NEW.node_id || ' ' || d || ' ' || (extract(epoch FROM"
	"    clock_timestamp()) * 1000000)::bigint || ' ' || NEW.command_id);"
	"  END IF;"
	"  RETURN NULL; END$$;"
	"CREATE TRIGGER commands_told AFTER INSERT OR UPDATE OF status"
	"  ON commands FOR EACH ROW EXECUTE FUNCTION vm_command_told();"
	"UPDATE nodes n SET last_heartbeat_at = l.at,"
	"  heartbeat = l.heartbeat, hostname = l.hostname,"
	"  agent_version = l.agent_version, hb_cloudflare = l.hb_cloudflare,"
	"  hb_services_down = l.hb_services_down FROM (SELECT DISTINCT ON"
	"  (node_id) * FROM heartbeat_log ORDER BY node_id, seq DESC) l"
	"  WHERE n.node_id = l.node_id;"
	"DELETE FROM heartbeat_log;",
	/*
	 * 2 -> 3: operators' labels, a JSON object (NULL: none); a change
	 * of them is told on vm_node as a status change is.
	 */
	"ALTER TABLE nodes ADD COLUMN labels text;"
	"DROP TRIGGER nodes_told ON nodes;"
	"CREATE TRIGGER nodes_told AFTER INSERT OR UPDATE OF status,"
	"  token_hash, deleted_at, labels ON nodes"
	"  FOR EACH STATEMENT EXECUTE FUNCTION vm_node_told();",
	/*
	 * 3 -> 4: jobs (one command for the nodes a target selects, in
	 * waves). A command may be part of one (job_id) and may be
	 * "cancelled".
	 */
	"ALTER TABLE commands DROP CONSTRAINT commands_status_check;"
	"ALTER TABLE commands ADD CONSTRAINT commands_status_check CHECK"
	"  (status IN ('queued', 'delivered', 'ok', 'error', 'rejected',"
	"  'timeout', 'expired', 'cancelled'));"
	"ALTER TABLE commands ADD COLUMN job_id text;"
	"ALTER TABLE commands ADD COLUMN output_hash bigint;"
	"CREATE INDEX commands_by_job ON commands (job_id, node_id, status)"
	"  WHERE job_id IS NOT NULL;"
	"CREATE INDEX commands_job_answers ON commands (job_id, status,"
	"  output_hash) WHERE job_id IS NOT NULL;"
	"CREATE TABLE jobs (  n bigserial PRIMARY KEY,"
	"  job_id text NOT NULL UNIQUE,  command text NOT NULL,"
	"  args text NOT NULL,  reason text NOT NULL,"
	"  target text NOT NULL,  rollout text NOT NULL,"
	"  created_by text NOT NULL,  created_at bigint NOT NULL,"
	"  status text NOT NULL CHECK (status IN ('awaiting_approval',"
	"    'running', 'done', 'stopped', 'cancelled')),"
	"  selected integer NOT NULL,  waves integer NOT NULL,"
	"  wave integer NOT NULL DEFAULT -1,"
	"  wave_done_at bigint NOT NULL DEFAULT 0,"
	"  pause_secs integer NOT NULL,  max_failure_pct integer NOT NULL,"
	"  finished_at bigint NOT NULL DEFAULT 0);"
	"CREATE INDEX jobs_by_status ON jobs (status, n);"
	"CREATE TABLE job_nodes (  job_id text NOT NULL,"
	"  node_id text NOT NULL,  wave integer NOT NULL,  reason text,"
	"  PRIMARY KEY (job_id, node_id));"
	"CREATE INDEX job_nodes_by_wave ON job_nodes (job_id, wave);"
	"CREATE TABLE job_schedules (  schedule_id text PRIMARY KEY,"
	"  command text NOT NULL,  args text NOT NULL,  reason text NOT NULL,"
	"  target text NOT NULL,  rollout text NOT NULL,"
	"  created_by text NOT NULL,  created_at bigint NOT NULL,"
	"  every_secs bigint NOT NULL,  next_at bigint NOT NULL,"
	"  last_job_id text,  deleted_at bigint);",
	/* 4 -> 5: a node's commands still out, for delivery in order */
	("CREATE INDEX commands_out ON commands (node_id, status, seq)"
	 "  WHERE status IN ('queued', 'delivered');"),
	/* 5 -> 6: requests that wait for a second operator */
	"CREATE TABLE approvals (  n bigserial PRIMARY KEY,"
	"  id text NOT NULL UNIQUE,"
	"  kind text NOT NULL CHECK (kind IN ('command', 'job')),"
	"  node_id text,  command text NOT NULL,  args text NOT NULL,"
	"  reason text NOT NULL,  requested_by text NOT NULL,"
	"  requested_at bigint NOT NULL,  expires_at bigint NOT NULL,"
	"  selected integer NOT NULL,"
	"  status text NOT NULL CHECK (status IN ('awaiting_approval',"
	"    'approved', 'rejected', 'expired')),"
	"  decided_by text,  decided_at bigint,  decision_reason text);"
	"CREATE INDEX approvals_open ON approvals (status, expires_at);"
	"CREATE INDEX approvals_by_node ON approvals (node_id, n)"
	"  WHERE node_id IS NOT NULL;",
	/* 6 -> 7: the webhooks' outbox, the attention levels told */
	"CREATE TABLE webhook_outbox (  n bigserial PRIMARY KEY,"
	"  url text NOT NULL,  event text NOT NULL,  body text NOT NULL,"
	"  created_at bigint NOT NULL,  next_at bigint NOT NULL,"
	"  attempts integer NOT NULL DEFAULT 0,"
	"  state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending',"
	"    'delivered', 'dead')),"
	"  delivered_at bigint,  last_error text);"
	"CREATE INDEX webhook_outbox_pending ON webhook_outbox (url, n)"
	"  WHERE state = 'pending';"
	"CREATE TABLE webhook_levels (  node_id text PRIMARY KEY,"
	"  level integer NOT NULL,  reasons integer NOT NULL,"
	"  at bigint NOT NULL);",
	/* 7 -> 8: the command-signing keys, the one each node confirmed */
	"CREATE TABLE cc_keys (  version bigint PRIMARY KEY,"
	"  key_id text NOT NULL UNIQUE,  public_key text NOT NULL,"
	"  state text NOT NULL CHECK (state IN ('current', 'retiring',"
	"    'retired')),"
	"  created_at bigint NOT NULL,  retire_by bigint NOT NULL,"
	"  retired_at bigint NOT NULL DEFAULT 0,"
	"  emergency boolean NOT NULL DEFAULT false,  link text,"
	"  sealed text);"
	"ALTER TABLE nodes ADD COLUMN pinned_key_id text;",
	/*
	 * 8 -> 9: the views from the database (store_pg_views.c). Each row
	 * keeps its attention as attention.c computed it and when time alone
	 * changes it (attn_due; 0: a change wants it computed again), and its
	 * place in the dashboard's order: red, yellow, green, then revoked.
	 */
	"ALTER TABLE nodes ADD COLUMN attn_level smallint NOT NULL DEFAULT 2,"
	"  ADD COLUMN attn_reasons integer NOT NULL DEFAULT 0,"
	"  ADD COLUMN attn_due bigint NOT NULL DEFAULT 0;"
	"ALTER TABLE nodes ADD COLUMN attn_rank smallint GENERATED ALWAYS AS"
	"  (CASE WHEN status = 'revoked' THEN 3 ELSE 2 - attn_level END)"
	"  STORED;"
	"CREATE INDEX nodes_by_attention ON nodes (attn_rank,"
	"  hostname COLLATE \"C\", node_id COLLATE \"C\")"
	"  WHERE deleted_at IS NULL;"
	"CREATE INDEX nodes_attention_due ON nodes (attn_due)"
	"  WHERE deleted_at IS NULL;"
	/*
	 * The dashboard's counts: rows (rank, +n or -n) only ever added, by
	 * the triggers below at each change of a shown node's rank, so no
	 * two writers wait on one counter; their sum per rank is the count.
	 * The leader folds them into one row per rank (store_pg_views.c).
	 */
	"CREATE TABLE attn_counts (  rank smallint NOT NULL,"
	"  n bigint NOT NULL);"
	"INSERT INTO attn_counts SELECT attn_rank, count(*) FROM nodes"
	"  WHERE deleted_at IS NULL GROUP BY attn_rank;"
	"CREATE FUNCTION vm_attn_count() RETURNS trigger LANGUAGE plpgsql"
	"  AS $$DECLARE o smallint; n smallint; BEGIN"
	"  IF TG_OP <> 'INSERT' AND OLD.deleted_at IS NULL THEN"
	"    o := OLD.attn_rank; END IF;"
	"  IF TG_OP <> 'DELETE' AND NEW.deleted_at IS NULL THEN"
	"    n := NEW.attn_rank; END IF;"
	"  IF o IS DISTINCT FROM n THEN"
	"    IF o IS NOT NULL THEN INSERT INTO attn_counts VALUES (o, -1);"
	"    END IF;"
	"    IF n IS NOT NULL THEN INSERT INTO attn_counts VALUES (n, 1);"
	"    END IF;"
	"  END IF;"
	"  RETURN NULL; END$$;"
	"CREATE TRIGGER nodes_attn_counted AFTER INSERT OR DELETE ON nodes"
	"  FOR EACH ROW EXECUTE FUNCTION vm_attn_count();"
	/* A heartbeat that changes no rank costs the WHEN alone. */
	"CREATE TRIGGER nodes_attn_recounted AFTER UPDATE ON nodes"
	"  FOR EACH ROW WHEN (OLD.attn_rank IS DISTINCT FROM NEW.attn_rank"
	"    OR (OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL))"
	"  EXECUTE FUNCTION vm_attn_count();",
};
#define SCHEMA_VERSION (int)(sizeof(migrations) / sizeof(migrations[0]))

/* Any number, the same in every replica: who migrates holds it. */
#define MIGRATE_LOCK "721501961"

/*
 * 1 when the schema is this program's already: nothing to migrate, and no
 * DDL, which a role with rights on the rows only may not run.
 */
static int
schema_current(struct pg *s)
{
	PGresult *r = pg_exec(s, &s->db, "schema_exists",
	    "SELECT to_regclass('vm_schema') IS NOT NULL", NULL);
	int	  current = r != NULL && strcmp(PQgetvalue(r, 0, 0), "t") == 0;

	PQclear(r);
	if (!current) /* a new database (or none reached: migrate says) */
		return 0;
	r = pg_exec(s, &s->db, "schema_version",
	    "SELECT max(version) FROM vm_schema", NULL);
	current = r != NULL && pg_col_i64(r, 0, 0) == SCHEMA_VERSION;
	PQclear(r);
	return current;
}

static int
migrate(struct pg *s, char *err, size_t errlen)
{
	struct pg_conn *c = &s->db;
	PGresult       *r = NULL;
	char		sql[96];
	int		version, rc = -1;

	if (schema_current(s))
		return 0;
	if (pg_begin(s, c) == -1 ||
	    pg_run(s, c, "migrate_lock",
		"SELECT pg_advisory_xact_lock(" MIGRATE_LOCK ")", NULL) == -1 ||
	    pg_run(s, c, "migrate_table",
		"CREATE TABLE IF NOT EXISTS "
		"vm_schema (version integer NOT NULL)",
		NULL) == -1 ||
	    (r = pg_exec(s, c, "migrate_version",
		 "SELECT max(version) FROM vm_schema", NULL)) == NULL) {
		snprintf(err, errlen, "reading the schema version: %s",
		    PQerrorMessage(c->c));
		goto out;
	}
	version = (int)pg_col_i64(r, 0, 0);
	if (version > SCHEMA_VERSION) {
		snprintf(err, errlen,
		    "database schema version %d is newer than "
		    "this program's %d",
		    version, SCHEMA_VERSION);
		goto out;
	}
	for (; version < SCHEMA_VERSION; version++) {
		snprintf(sql, sizeof(sql),
		    "DELETE FROM vm_schema; INSERT INTO vm_schema VALUES (%d)",
		    version + 1);
		if (pg_run(s, c, "migrate", migrations[version], NULL) == -1 ||
		    pg_run(s, c, "migrate_version", sql, NULL) == -1) {
			snprintf(err, errlen, "migrating to version %d: %s",
			    version + 1, PQerrorMessage(c->c));
			goto out;
		}
		log_info("store_migrated", "backend=postgresql version=%d",
		    version + 1);
	}
	if (pg_commit(s, c) == -1) {
		snprintf(err, errlen, "committing the schema: %s",
		    PQerrorMessage(c->c));
		goto out;
	}
	rc = 0;
out:
	if (rc == -1)
		pg_rollback(s, c);
	PQclear(r);
	return rc;
}

static const struct store_ops pg_ops;
static void		      pg_close(struct store *base);

static int
conn_open(struct pg *s, struct pg_conn *c, const char *name, char *err,
    size_t errlen)
{
	c->name = name;
	pthread_mutex_init(&c->mu, NULL);
	c->c = PQconnectdb(s->conninfo);
	pg_conn_setup(c);
	if (c->c == NULL || PQstatus(c->c) != CONNECTION_OK) {
		snprintf(err, errlen, "PostgreSQL (%s connection): %s", name,
		    c->c != NULL ? PQerrorMessage(c->c) : "out of memory");
		err[strcspn(err, "\n")] = '\0';
		return -1;
	}
	return 0;
}

struct store *
store_pg_open(const char *conninfo, char *err, size_t errlen)
{
	struct pg *s;

	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->conninfo = strdup(conninfo)) == NULL) {
		free(s);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->base.ops = &pg_ops;
	/*
	 * A server that does not answer holds a handler at most this long
	 * per connection attempt (libpq waits forever by default); the URI's
	 * connect_timeout wins.
	 */
	(void)setenv("PGCONNECT_TIMEOUT", "5", 0);
	if (conn_open(s, &s->db, "writer", err, errlen) == -1 ||
	    migrate(s, err, errlen) == -1 ||
	    conn_open(s, &s->rdb, "views", err, errlen) == -1) {
		pg_close(&s->base);
		return NULL;
	}
	/* Connected by the replica thread, when it starts listening. */
	s->lsn.name = "listener";
	pthread_mutex_init(&s->lsn.mu, NULL);
	return &s->base;
}

static void
pg_close(struct store *base)
{
	struct pg *s = pg_of(base);

	PQfinish(s->lsn.c);
	PQfinish(s->rdb.c);
	PQfinish(s->db.c);
	if (s->lsn.name != NULL)
		pthread_mutex_destroy(&s->lsn.mu);
	if (s->rdb.name != NULL)
		pthread_mutex_destroy(&s->rdb.mu);
	if (s->db.name != NULL)
		pthread_mutex_destroy(&s->db.mu);
	free(s->conninfo);
	free(s);
}

static int
pg_ping(struct store *base)
{
	struct pg *s = pg_of(base);
	int	   rc;

	pthread_mutex_lock(&s->db.mu);
	rc = pg_run(s, &s->db, "ping", "SELECT 1", NULL);
	pthread_mutex_unlock(&s->db.mu);
	return rc;
}

static int
pg_writer_busy(struct store *base)
{
	struct pg *s = pg_of(base);

	return store_mutex_busy(&s->db.mu);
}

/* In store_backend.h's order. */
static const struct store_ops pg_ops = { "postgresql", pg_close, pg_ping,
	pg_writer_busy, &pg_node_ops, &pg_heartbeat_ops, &pg_command_ops,
	&pg_audit_ops, &pg_sample_ops, &pg_replica_ops, &pg_job_ops,
	&pg_approval_ops, &pg_webhook_ops, &pg_key_ops, &pg_view_ops };
