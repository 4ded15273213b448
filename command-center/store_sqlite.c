/*
 * store_sqlite: the SQLite backend: its schema and migrations, every
 * statement (prepared once at open), the two connections, and the table
 * of operations made of its families' tables: store_sqlite_nodes.c
 * (nodes), store_sqlite_heartbeats.c (the heartbeat log),
 * store_sqlite_commands.c (commands, scans, findings) and
 * store_sqlite_audit.c (the audit log and the pictures' samples). What
 * they share is in store_sqlite_db.c.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store_jobs_sql.h"
#include "store_sqlite_db.h"
#include "util.h"

/* Migrations by PRAGMA user_version: entry i takes version i to i + 1. */
static const char *const migrations[] = {
	/* 0 -> 1: nodes */
	"CREATE TABLE nodes (  node_id TEXT PRIMARY KEY,"
	"  hostname TEXT NOT NULL,  os_profile TEXT NOT NULL,"
	"  agent_version TEXT NOT NULL,  status TEXT NOT NULL CHECK (status IN"
	"    ('pending', 'approved', 'revoked')),  token_hash BLOB,"
	"  enrolled_at INTEGER NOT NULL,  status_changed_at INTEGER,"
	"  last_heartbeat_at INTEGER,  heartbeat TEXT,"
	"  last_scan_at INTEGER,  f_critical INTEGER NOT NULL DEFAULT 0,"
	"  f_high INTEGER NOT NULL DEFAULT 0,"
	"  f_medium INTEGER NOT NULL DEFAULT 0,"
	"  f_low INTEGER NOT NULL DEFAULT 0,  f_info INTEGER NOT NULL DEFAULT 0"
	") WITHOUT ROWID;",
	/* 1 -> 2: signed commands, their results, scans and findings */
	"ALTER TABLE nodes ADD COLUMN last_seq INTEGER NOT NULL DEFAULT 0;"
	"CREATE TABLE commands (  command_id TEXT PRIMARY KEY,"
	"  node_id TEXT NOT NULL REFERENCES nodes (node_id),"
	"  seq INTEGER NOT NULL,  command TEXT NOT NULL,"
	"  args TEXT NOT NULL,  queued_by TEXT NOT NULL,"
	"  queued_at INTEGER NOT NULL,  expires_at INTEGER NOT NULL,"
	"  payload TEXT NOT NULL,  signature TEXT NOT NULL,"
	"  status TEXT NOT NULL CHECK (status IN ('queued', 'delivered',"
	"    'ok', 'error', 'rejected', 'timeout', 'expired')),"
	"  delivered_at INTEGER,  started_at TEXT,"
	"  finished_at TEXT,  exit_code INTEGER,"
	"  output TEXT,  result_at INTEGER,  UNIQUE (node_id, seq));"
	"CREATE INDEX commands_by_node ON commands (node_id, seq DESC);"
	"CREATE INDEX commands_open ON commands (status, expires_at)"
	"  WHERE status IN ('queued', 'delivered');CREATE TABLE scans ("
	"  command_id TEXT PRIMARY KEY REFERENCES commands (command_id),"
	"  node_id TEXT NOT NULL REFERENCES nodes (node_id),"
	"  scanned_at INTEGER NOT NULL,"
	"  critical INTEGER NOT NULL, high INTEGER NOT NULL,"
	"  medium INTEGER NOT NULL, low INTEGER NOT NULL, info INTEGER NOT NULL"
	");CREATE INDEX scans_by_node ON scans (node_id, scanned_at DESC);"
	"CREATE TABLE findings ("
	"  command_id TEXT NOT NULL REFERENCES scans (command_id),"
	"  idx INTEGER NOT NULL,  finding_id TEXT NOT NULL,"
	"  severity TEXT NOT NULL CHECK (severity IN"
	"    ('critical', 'high', 'medium', 'low', 'info')),"
	"  title TEXT NOT NULL,  detail TEXT NOT NULL,"
	"  remediation TEXT,  PRIMARY KEY (command_id, idx)) WITHOUT ROWID;",
	/* 2 -> 3: the audit log of operator actions */
	"CREATE TABLE audit (  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  at INTEGER NOT NULL,  who TEXT NOT NULL,"
	"  peer TEXT NOT NULL,  action TEXT NOT NULL,"
	"  target TEXT NOT NULL,  detail TEXT NOT NULL,"
	"  result TEXT NOT NULL);",
	/* 3 -> 4: pictures: the fleet's attention and each node's load over time */
	"CREATE TABLE fleet_samples (  at INTEGER PRIMARY KEY,"
	"  green INTEGER NOT NULL,  yellow INTEGER NOT NULL,"
	"  red INTEGER NOT NULL);"
	"CREATE TABLE heartbeat_samples (  node_id TEXT NOT NULL,"
	"  at INTEGER NOT NULL,  load1 REAL,"
	"  mem_used_pct REAL,  PRIMARY KEY (node_id, at)) WITHOUT ROWID;"
	"CREATE INDEX heartbeat_samples_at ON heartbeat_samples (at);",
	/*
	 * 4 -> 5: the two facts attention takes from a heartbeat, kept beside
	 * it so a start does not parse every stored heartbeat again (-1: not
	 * known yet, derived from the JSON once).
	 */
	"ALTER TABLE nodes ADD COLUMN hb_cloudflare INTEGER NOT NULL DEFAULT -1;"
	"ALTER TABLE nodes ADD COLUMN hb_services_down INTEGER NOT NULL"
	"  DEFAULT -1;",
	/*
	 * 5 -> 6: the hash of the key the agent chose at its first
	 * enrollment; a token goes only to a request that presents it.
	 */
	"ALTER TABLE nodes ADD COLUMN enroll_key_hash BLOB;",
	/*
	 * 6 -> 7: heartbeats are appended to a log (sequential pages, not a
	 * random page of nodes per heartbeat) and folded into nodes by the
	 * writer; latest_heartbeats is each node's latest, wherever it is.
	 */
	"CREATE TABLE heartbeat_log (  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  node_id TEXT NOT NULL,  at INTEGER NOT NULL,"
	"  heartbeat TEXT NOT NULL,  hostname TEXT NOT NULL,"
	"  agent_version TEXT NOT NULL,  hb_cloudflare INTEGER NOT NULL,"
	"  hb_services_down INTEGER NOT NULL);"
	/* Dropped by migration 8. */
	"CREATE INDEX heartbeat_log_replay ON heartbeat_log (seq, node_id,"
	"  at, hostname, agent_version, hb_cloudflare, hb_services_down);"
	"CREATE VIEW latest_heartbeats AS"
	"  SELECT n.node_id, coalesce(l.at, n.last_heartbeat_at) AS at,"
	"    coalesce(l.heartbeat, n.heartbeat) AS heartbeat"
	"  FROM nodes n LEFT JOIN (SELECT node_id, max(seq) AS seq"
	"    FROM heartbeat_log GROUP BY node_id) m ON m.node_id = n.node_id"
	"  LEFT JOIN heartbeat_log l ON l.seq = m.seq;",
	/*
	 * 7 -> 8: no index on the log. Every heartbeat wrote it and every
	 * fold deleted from it (about a tenth of the CC's CPU under load,
	 * docs/PERFORMANCE.md); a start's replay reads the table in seq order
	 * as fast, the rows being in the page cache after a crash.
	 */
	"DROP INDEX IF EXISTS heartbeat_log_replay;",
	/*
	 * 8 -> 9: heartbeats kept in chunks, a page's worth of them to a row
	 * (one B-tree insert and one delete for some 35 heartbeats instead of
	 * one each: the writer's cost per heartbeat 5.7 -> 2.2 us). What the
	 * old log holds is folded into nodes first (each node's newest row);
	 * latest_heartbeats goes with it (SQL cannot read the chunks).
	 */
	"CREATE INDEX heartbeat_log_node ON heartbeat_log (node_id, seq);"
	"UPDATE nodes SET (last_heartbeat_at, heartbeat, hostname,"
	"    agent_version, hb_cloudflare, hb_services_down) ="
	"  (SELECT at, heartbeat, hostname, agent_version, hb_cloudflare,"
	"    hb_services_down FROM heartbeat_log l"
	"    WHERE l.node_id = nodes.node_id ORDER BY seq DESC LIMIT 1)"
	"  WHERE node_id IN (SELECT node_id FROM heartbeat_log);"
	"DROP VIEW latest_heartbeats;DROP TABLE heartbeat_log;"
	"CREATE TABLE heartbeat_chunks ("
	"  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  n INTEGER NOT NULL CHECK (n > 0),  data BLOB NOT NULL);",
	/*
	 * 9 -> 10: an operator can delete (or reject) a node. The row stays,
	 * with its history, and its id stays taken: deleted_at says so (the
	 * status keeps what it was, for the record). enroll_peer: where a node
	 * enrolled from, shown before an operator approves it.
	 */
	"ALTER TABLE nodes"
	"  ADD COLUMN deleted_at INTEGER;"
	"ALTER TABLE nodes ADD COLUMN enroll_peer TEXT;",
	/* 10 -> 11: operators' labels, a JSON object (NULL: none). */
	"ALTER TABLE nodes ADD COLUMN labels TEXT;",
	/*
	 * 11 -> 12: jobs (one command for the nodes a target selects, in
	 * waves). A command may be part of one (job_id) and may be
	 * "cancelled": the table is made again with that status allowed
	 * (SQLite cannot change a CHECK), foreign keys off meanwhile
	 * (FK_OFF_FROM), checked before the commit.
	 */
	"CREATE TABLE commands_new (  command_id TEXT PRIMARY KEY,"
	"  node_id TEXT NOT NULL REFERENCES nodes (node_id),"
	"  seq INTEGER NOT NULL,  command TEXT NOT NULL,"
	"  args TEXT NOT NULL,  queued_by TEXT NOT NULL,"
	"  queued_at INTEGER NOT NULL,  expires_at INTEGER NOT NULL,"
	"  payload TEXT NOT NULL,  signature TEXT NOT NULL,"
	"  status TEXT NOT NULL CHECK (status IN ('queued', 'delivered',"
	"    'ok', 'error', 'rejected', 'timeout', 'expired', 'cancelled')),"
	"  delivered_at INTEGER,  started_at TEXT,"
	"  finished_at TEXT,  exit_code INTEGER,"
	"  output TEXT,  result_at INTEGER,  job_id TEXT,"
	"  output_hash INTEGER,  UNIQUE (node_id, seq));"
	"INSERT INTO commands_new (command_id, node_id, seq, command, args,"
	"  queued_by, queued_at, expires_at, payload, signature, status,"
	"  delivered_at, started_at, finished_at, exit_code, output, result_at)"
	"  SELECT command_id, node_id, seq, command, args, queued_by,"
	"  queued_at, expires_at, payload, signature, status, delivered_at,"
	"  started_at, finished_at, exit_code, output, result_at"
	"  FROM commands;"
	"DROP TABLE commands;ALTER TABLE commands_new RENAME TO commands;"
	"CREATE INDEX commands_by_node ON commands (node_id, seq DESC);"
	"CREATE INDEX commands_open ON commands (status, expires_at)"
	"  WHERE status IN ('queued', 'delivered');"
	"CREATE INDEX commands_by_job ON commands (job_id, node_id, status)"
	"  WHERE job_id IS NOT NULL;"
	"CREATE INDEX commands_job_answers ON commands (job_id, status,"
	"  output_hash) WHERE job_id IS NOT NULL;"
	"CREATE TABLE jobs (  n INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  job_id TEXT NOT NULL UNIQUE,  command TEXT NOT NULL,"
	"  args TEXT NOT NULL,  reason TEXT NOT NULL,"
	"  target TEXT NOT NULL,  rollout TEXT NOT NULL,"
	"  created_by TEXT NOT NULL,  created_at INTEGER NOT NULL,"
	"  status TEXT NOT NULL CHECK (status IN ('awaiting_approval',"
	"    'running', 'done', 'stopped', 'cancelled')),"
	"  selected INTEGER NOT NULL,  waves INTEGER NOT NULL,"
	"  wave INTEGER NOT NULL DEFAULT -1,"
	"  wave_done_at INTEGER NOT NULL DEFAULT 0,"
	"  pause_secs INTEGER NOT NULL,  max_failure_pct INTEGER NOT NULL,"
	"  finished_at INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX jobs_by_status ON jobs (status, n);"
	"CREATE TABLE job_nodes (  job_id TEXT NOT NULL,"
	"  node_id TEXT NOT NULL,  wave INTEGER NOT NULL,  reason TEXT,"
	"  PRIMARY KEY (job_id, node_id)) WITHOUT ROWID;"
	"CREATE INDEX job_nodes_by_wave ON job_nodes (job_id, wave);"
	"CREATE TABLE job_schedules (  schedule_id TEXT PRIMARY KEY,"
	"  command TEXT NOT NULL,  args TEXT NOT NULL,  reason TEXT NOT NULL,"
	"  target TEXT NOT NULL,  rollout TEXT NOT NULL,"
	"  created_by TEXT NOT NULL,  created_at INTEGER NOT NULL,"
	"  every_secs INTEGER NOT NULL,  next_at INTEGER NOT NULL,"
	"  last_job_id TEXT,  deleted_at INTEGER) WITHOUT ROWID;",
	/* 12 -> 13: a node's commands still out, for delivery in order */
	("CREATE INDEX commands_out ON commands (node_id, status, seq)"
	 "  WHERE status IN ('queued', 'delivered');"),
	/* 13 -> 14: requests that wait for a second operator */
	"CREATE TABLE approvals (  n INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  id TEXT NOT NULL UNIQUE,"
	"  kind TEXT NOT NULL CHECK (kind IN ('command', 'job')),"
	"  node_id TEXT,  command TEXT NOT NULL,  args TEXT NOT NULL,"
	"  reason TEXT NOT NULL,  requested_by TEXT NOT NULL,"
	"  requested_at INTEGER NOT NULL,  expires_at INTEGER NOT NULL,"
	"  selected INTEGER NOT NULL,"
	"  status TEXT NOT NULL CHECK (status IN ('awaiting_approval',"
	"    'approved', 'rejected', 'expired')),"
	"  decided_by TEXT,  decided_at INTEGER,  decision_reason TEXT);"
	"CREATE INDEX approvals_open ON approvals (status, expires_at);"
	"CREATE INDEX approvals_by_node ON approvals (node_id, n)"
	"  WHERE node_id IS NOT NULL;",
	/* 14 -> 15: the webhooks' outbox, the attention levels told */
	"CREATE TABLE webhook_outbox (  n INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  url TEXT NOT NULL,  event TEXT NOT NULL,  body TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,  next_at INTEGER NOT NULL,"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending',"
	"    'delivered', 'dead')),"
	"  delivered_at INTEGER,  last_error TEXT);"
	"CREATE INDEX webhook_outbox_pending ON webhook_outbox (url, n)"
	"  WHERE state = 'pending';"
	"CREATE TABLE webhook_levels (  node_id TEXT PRIMARY KEY,"
	"  level INTEGER NOT NULL,  reasons INTEGER NOT NULL,"
	"  at INTEGER NOT NULL) WITHOUT ROWID;",
	/* 15 -> 16: the command-signing keys, the one each node confirmed */
	"CREATE TABLE cc_keys (  version INTEGER PRIMARY KEY,"
	"  key_id TEXT NOT NULL UNIQUE,  public_key TEXT NOT NULL,"
	"  state TEXT NOT NULL CHECK (state IN ('current', 'retiring',"
	"    'retired')),"
	"  created_at INTEGER NOT NULL,  retire_by INTEGER NOT NULL,"
	"  retired_at INTEGER NOT NULL DEFAULT 0,"
	"  emergency INTEGER NOT NULL DEFAULT 0,  link TEXT,  sealed TEXT);"
	"ALTER TABLE nodes ADD COLUMN pinned_key_id TEXT;",
};
/* The first migration that runs with foreign keys off (the SQLite way). */
#define FK_OFF_FROM 11
#define SCHEMA_VERSION (int)(sizeof(migrations) / sizeof(migrations[0]))

#define CHUNK_OF                                    \
	"SELECT seq, n, data FROM heartbeat_chunks" \
	" WHERE seq >= ?1 ORDER BY seq LIMIT 1"

static const char *const stmt_sql[S_COUNT] = {
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	/* The heartbeat itself only for rows older than its two facts. */
	[S_NODES_ALL] =
	    "SELECT node_id, hostname, os_profile, agent_version,"
	    " status, token_hash, enrolled_at, last_heartbeat_at,"
	    " CASE WHEN hb_cloudflare < 0 OR hb_services_down < 0"
	    " THEN heartbeat END,"
	    " last_scan_at, f_critical, f_high, f_medium, f_low, f_info,"
	    " hb_cloudflare, hb_services_down, enroll_key_hash,"
	    " deleted_at IS NOT NULL, labels, pinned_key_id FROM nodes",
	[S_NODE_LABELS] = "UPDATE nodes SET labels = ?2 WHERE node_id = ?1",
	[S_NODE_INSERT] = "INSERT INTO nodes (node_id, hostname, os_profile,"
			  " agent_version, status, token_hash, enrolled_at,"
			  " status_changed_at, enroll_key_hash, enroll_peer)"
			  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8, ?9)",
	[S_NODE_PEER] = "SELECT enroll_peer FROM nodes WHERE node_id = ?1",
	[S_NODE_STATUS] =
	    "UPDATE nodes SET status = ?2, token_hash = ?3,"
	    " status_changed_at = strftime('%s', 'now') WHERE node_id = ?1",
	[S_NODE_DELETE] =
	    "UPDATE nodes SET token_hash = NULL,"
	    " deleted_at = strftime('%s', 'now'),"
	    " status_changed_at = strftime('%s', 'now') WHERE node_id = ?1",
	/* A chunk: heartbeats seq - n + 1 .. seq, encoded by chunk_put(). */
	[S_NODE_HB] = "INSERT INTO heartbeat_chunks (seq, n, data)"
		      " VALUES (?1, ?2, ?3)",
	[S_NODE_HB_GET] = "SELECT heartbeat FROM nodes WHERE node_id = ?1",
	/* The chunk holding heartbeat ?1: for a view (rdb), for a fold (db). */
	[S_LOG_HB_GET] = CHUNK_OF,
	[S_LOG_CHUNK] = CHUNK_OF,
	[S_LOG_ALL] = "SELECT seq, n, data FROM heartbeat_chunks ORDER BY seq",
	[S_LOG_FOLD] =
	    "UPDATE nodes SET last_heartbeat_at = ?2,"
	    " heartbeat = ?3, hostname = ?4, agent_version = ?5,"
	    " hb_cloudflare = ?6, hb_services_down = ?7 WHERE node_id = ?1",
	[S_LOG_CUT] = "SELECT max(seq) FROM heartbeat_chunks WHERE seq <= ?1",
	[S_LOG_DROP] = "DELETE FROM heartbeat_chunks WHERE seq <= ?1",
	/*
	 * A chunk's seq is given by the store, not by AUTOINCREMENT: take
	 * the larger of the highest ever given and the highest there.
	 */
	[S_LOG_LAST] = "SELECT max(coalesce((SELECT seq FROM sqlite_sequence"
		       " WHERE name = 'heartbeat_chunks'), 0),"
		       " coalesce((SELECT max(seq) FROM heartbeat_chunks), 0))",
	[S_SEQ_NEXT] = "UPDATE nodes SET last_seq = last_seq + 1"
		       " WHERE node_id = ?1 RETURNING last_seq",
	[S_CMD_INSERT] =
	    "INSERT INTO commands (command_id, node_id, seq,"
	    " command, args, queued_by, queued_at, expires_at, payload,"
	    " signature, status, job_id, delivered_at) VALUES (?1, ?2, ?3,"
	    " ?4, ?5, ?6, ?7, ?8, ?9, ?10, CASE WHEN ?12 IS NULL THEN 'queued'"
	    " ELSE 'delivered' END, ?11, ?12)",
	/*
	 * None past an older command of the node still out without a result:
	 * the agent runs only rising seqs, so one whose answer was lost must
	 * go first again (its lease puts it back), not be overtaken and then
	 * refused as a replay.
	 */
	[S_CMD_OPEN] =
	    "SELECT command_id, payload, signature FROM commands"
	    " WHERE node_id = ?1 AND status = 'queued' AND expires_at > ?2"
	    " AND status IN ('queued', 'delivered') AND seq < coalesce(("
	    "SELECT min(seq) FROM commands WHERE node_id = ?1 AND status ="
	    " 'delivered' AND status IN ('queued', 'delivered')),"
	    " 9223372036854775807) ORDER BY seq LIMIT ?3",
	[S_CMD_MARK] =
	    "UPDATE commands SET status = 'delivered',"
	    " delivered_at = ?2 WHERE command_id = ?1 AND status = 'queued'",
	[S_CMD_UNDELIVER] = "UPDATE commands SET status = 'queued',"
			    " delivered_at = NULL WHERE command_id = ?1"
			    " AND status = 'delivered'",
	[S_CMD_GET] = "SELECT node_id, status, command, started_at IS NULL"
		      " FROM commands WHERE command_id = ?1",
	[S_CMD_RESULT] =
	    "UPDATE commands SET status = ?2, exit_code = ?3,"
	    " output = ?4, started_at = ?5, finished_at = ?6, result_at = ?7,"
	    " output_hash = ?8 WHERE command_id = ?1",
	[S_SCAN_INSERT] = "INSERT INTO scans (command_id, node_id, scanned_at,"
			  " critical, high, medium, low, info)"
			  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[S_FINDING_INSERT] =
	    "INSERT INTO findings (command_id, idx,"
	    " finding_id, severity, title, detail, remediation)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[S_NODE_SCAN] = "UPDATE nodes SET last_scan_at = ?2, f_critical = ?3,"
			" f_high = ?4, f_medium = ?5, f_low = ?6, f_info = ?7"
			" WHERE node_id = ?1",
	/*
	 * Past expiry, a command still queued is "expired"; one that was
	 * delivered and put back (its lease ran out) is "timeout", the CC's
	 * own verdict (NULL started_at), which a late spooled result from the
	 * agent may still replace.
	 */
	[S_CMD_EXPIRE] =
	    "UPDATE commands SET status = CASE WHEN delivered_at"
	    " IS NULL THEN 'expired' ELSE 'timeout' END, output = CASE WHEN"
	    " delivered_at IS NULL THEN output ELSE 'no result from the agent"
	    " before the command expired' END,"
	    " result_at = ?1 WHERE status = 'queued' AND expires_at <= ?1"
	    " AND status IN ('queued', 'delivered') RETURNING node_id",
	/*
	 * A delivery is a lease: delivered before ?1 and still without a
	 * result, the command is queued again (delivered_at kept) and
	 * offered at the node's next poll. The agent answers a command it
	 * already took from its spool and runs one it never saw once.
	 */
	[S_CMD_RELEASE] =
	    "UPDATE commands SET status = 'queued'"
	    " WHERE status = 'delivered' AND delivered_at <= ?1"
	    " AND status IN ('queued', 'delivered') RETURNING node_id",
	/*
	 * Delivered but never answered, well past expiry (the grace covers
	 * the longest command): "timeout", marked as the CC's own verdict by
	 * a NULL started_at, so a late result from the agent's spool may
	 * still replace it.
	 */
	[S_CMD_LOST] =
	    "UPDATE commands SET status = 'timeout',"
	    " result_at = ?1, output = 'no result from the agent before the"
	    " command expired' WHERE status = 'delivered'"
	    " AND expires_at <= ?1 - ?2 AND status IN ('queued', 'delivered')",
	[S_CMD_PENDING] = "SELECT node_id, count(*) FROM commands"
			  " WHERE status = 'queued' GROUP BY node_id",
	[S_CMD_LIST] =
	    "SELECT command_id, seq, command, args, queued_by,"
	    " queued_at, expires_at, status, delivered_at, started_at,"
	    " finished_at, exit_code, output, result_at FROM commands"
	    " WHERE node_id = ?1 AND seq < ?3 AND (?4 IS NULL OR status = ?4)"
	    " AND (?5 IS NULL OR command = ?5) ORDER BY seq DESC LIMIT ?2",
	[S_FINDINGS_OF] =
	    "SELECT finding_id, severity, title, detail,"
	    " remediation FROM findings WHERE command_id = ?1 ORDER BY"
	    " CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1"
	    " WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 4 END, idx",
	[S_APPROVAL_INSERT] =
	    "INSERT INTO approvals (id, kind, node_id, command, args, reason,"
	    " requested_by, requested_at, expires_at, selected, status) VALUES"
	    " (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'awaiting_approval')",
	[S_APPROVAL_GET] = "SELECT " APPROVAL_COLUMNS " FROM approvals"
			   " WHERE id = ?1",
	[S_APPROVAL_LIST] =
	    "SELECT " APPROVAL_COLUMNS " FROM approvals WHERE (?1 IS NULL OR"
	    " status = ?1) AND (?2 IS NULL OR node_id = ?2) ORDER BY n DESC"
	    " LIMIT ?3",
	[S_APPROVAL_DECIDE] =
	    "UPDATE approvals SET status = ?2, decided_by = ?3, decided_at ="
	    " ?4, decision_reason = ?5 WHERE id = ?1 AND status ="
	    " 'awaiting_approval' RETURNING kind",
	[S_APPROVAL_JOB] = "UPDATE jobs SET status = ?2, finished_at = CASE"
			   " WHEN ?2 = 'running' THEN 0 ELSE ?3 END WHERE"
			   " job_id = ?1 AND status = 'awaiting_approval'",
	[S_APPROVAL_EXPIRED] = "SELECT id FROM approvals WHERE status ="
			       " 'awaiting_approval' AND expires_at <= ?1",
	[S_OUTBOX_ADD] = "INSERT INTO webhook_outbox (url, event, body,"
			 " created_at, next_at) VALUES (?1, ?2, ?3, ?4, ?4)",
	[S_OUTBOX_DUE] =
	    "SELECT n, url, event, body, attempts, created_at FROM"
	    " webhook_outbox o WHERE state = 'pending' AND next_at <= ?1 AND"
	    " n = (SELECT min(n) FROM webhook_outbox p WHERE p.url = o.url"
	    " AND p.state = 'pending') ORDER BY n LIMIT ?2",
	[S_OUTBOX_DONE] =
	    "UPDATE webhook_outbox SET state = 'delivered', delivered_at = ?2,"
	    " attempts = attempts + 1 WHERE n = ?1 AND state = 'pending'",
	[S_OUTBOX_FAILED] =
	    "UPDATE webhook_outbox SET attempts = attempts + 1, next_at = ?2,"
	    " last_error = ?3, state = ?4 WHERE n = ?1 AND state = 'pending'",
	[S_OUTBOX_COUNTS] = "SELECT state, count(*) FROM webhook_outbox WHERE"
			    " state IN ('pending', 'dead') GROUP BY state",
	[S_OUTBOX_PRUNE] = "DELETE FROM webhook_outbox WHERE state <>"
			   " 'pending' AND created_at < ?1",
	[S_KEYS_ALL] = "SELECT version, key_id, public_key, state,"
		       " created_at, retire_by, retired_at, emergency, link,"
		       " sealed FROM cc_keys ORDER BY version",
	[S_KEY_MAX] = "SELECT coalesce(max(version), 0) FROM cc_keys",
	[S_KEY_INSERT] = "INSERT INTO cc_keys (version, key_id, public_key,"
			 " state, created_at, retire_by, emergency, link,"
			 " sealed) VALUES (?1, ?2, ?3, 'current', ?4, ?5,"
			 " ?6, ?7, ?8)",
	/* The key that was current: retiring, or (emergency) all retired. */
	[S_KEY_DEMOTE] =
	    "UPDATE cc_keys SET state = CASE WHEN ?2 THEN 'retired' ELSE"
	    " 'retiring' END, sealed = CASE WHEN ?2 THEN NULL ELSE sealed END,"
	    " retired_at = CASE WHEN ?2 THEN ?3 ELSE retired_at END,"
	    " retire_by = CASE WHEN state = 'current' THEN ?4 ELSE"
	    " retire_by END WHERE version < ?1 AND (state = 'current' OR (?2 AND state ="
	    " 'retiring'))",
	[S_KEY_RETIRE] = "UPDATE cc_keys SET state = 'retired', sealed = NULL,"
			 " retired_at = ?2 WHERE version = ?1 AND state <>"
			 " 'current'",
	[S_NODE_PINNED] = "UPDATE nodes SET pinned_key_id = ?2 WHERE"
			  " node_id = ?1",
	[S_LEVELS] = "SELECT node_id, level, reasons, at FROM webhook_levels",
	[S_LEVEL_SET] = "INSERT INTO webhook_levels (node_id, level, reasons,"
			" at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (node_id) DO"
			" UPDATE SET level = excluded.level, reasons ="
			" excluded.reasons, at = excluded.at",
	[S_CMD_OUT] = "SELECT 1 FROM commands WHERE node_id = ?1"
		      " AND status IN ('queued', 'delivered') LIMIT 1",
	[S_CMD_OPEN_OF] =
	    "SELECT count(*) FROM commands WHERE node_id = ?1"
	    " AND command = ?2 AND status IN ('queued', 'delivered')",
	[S_CMD_COUNTS] = "SELECT command, status, count(*) FROM commands"
			 " GROUP BY command, status ORDER BY command, status",
	[S_AUDIT_ADD] = "INSERT INTO audit (at, who, peer, action, target,"
			" detail, result) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[S_AUDIT_LIST] =
	    "SELECT id, at, who, peer, action, target, detail,"
	    " result FROM audit WHERE id < ?1 AND (?3 IS NULL OR action = ?3)"
	    " AND (?4 IS NULL OR target = ?4) ORDER BY id DESC LIMIT ?2",
	[S_SCANS_OF] = "SELECT command_id, scanned_at, critical, high, medium,"
		       " low, info FROM scans WHERE node_id = ?1"
		       " ORDER BY scanned_at DESC, rowid DESC LIMIT ?2",
	[S_FLEET_SAMPLE_ADD] =
	    "INSERT OR REPLACE INTO fleet_samples (at, green,"
	    " yellow, red) VALUES (?1, ?2, ?3, ?4)",
	[S_FLEET_SAMPLE_PRUNE] = "DELETE FROM fleet_samples WHERE at < ?1",
	/* SQLite takes the bare columns from the row holding max(at). */
	[S_FLEET_HISTORY] =
	    "SELECT max(at), green, yellow, red FROM"
	    " fleet_samples WHERE at >= ?1 GROUP BY at / ?2 ORDER BY 1",
	[S_HB_SAMPLE_ADD] = "INSERT OR REPLACE INTO heartbeat_samples (node_id,"
			    " at, load1, mem_used_pct) VALUES (?1, ?2, ?3, ?4)",
	/* Bounded, so one round never holds the lock for long. */
	[S_HB_SAMPLE_PRUNE] =
	    "DELETE FROM heartbeat_samples WHERE (node_id, at)"
	    " IN (SELECT node_id, at FROM heartbeat_samples WHERE at < ?1"
	    " ORDER BY at LIMIT ?2)",
	[S_HB_HISTORY] = "SELECT at, load1, mem_used_pct FROM heartbeat_samples"
			 " WHERE node_id = ?1 AND at >= ?2 ORDER BY at",
	[S_JOB_INSERT] =
	    "INSERT INTO jobs (job_id, command, args, reason,"
	    " target, rollout, created_by, created_at, status, selected,"
	    " waves, pause_secs, max_failure_pct) VALUES (?1, ?2, ?3, ?4, ?5,"
	    " ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
	[S_JOB_NODE_INSERT] = "INSERT INTO job_nodes (job_id, node_id, wave,"
			      " reason) VALUES (?1, ?2, ?3, ?4)",
	[S_JOB_WAVE_NODES] = "SELECT node_id FROM job_nodes WHERE job_id = ?1"
			     " AND wave = ?2 ORDER BY node_id",
	[S_JOB_WAVE_SET] = "UPDATE jobs SET wave = ?2, wave_done_at = 0"
			   " WHERE job_id = ?1 AND status = 'running'"
			   " AND wave = ?2 - 1",
	[S_JOB_GET] = "SELECT " JOB_COLUMNS " FROM jobs WHERE job_id = ?1",
	[S_JOB_LIST] = "SELECT " JOB_COLUMNS " FROM jobs WHERE n < ?1"
		       " AND (?2 IS NULL OR status = ?2) ORDER BY n DESC"
		       " LIMIT ?3",
	/* Both from an index alone; what has no command yet has not started. */
	[S_JOB_COUNTS] = "SELECT status, count(*) FROM commands WHERE job_id ="
			 " ?1 GROUP BY status UNION ALL SELECT 'nodes',"
			 " count(*) FROM job_nodes WHERE job_id = ?1"
			 " AND wave >= 0",
	[S_JOB_UPDATE] =
	    "UPDATE jobs SET status = ?2, finished_at = CASE"
	    " WHEN ?2 = 'running' THEN 0 ELSE ?3 END, wave_done_at = ?4"
	    " WHERE job_id = ?1 AND status = 'running'",
	[S_JOB_CANCEL_CMDS] =
	    "UPDATE commands SET status = 'cancelled',"
	    " result_at = ?2 WHERE job_id = ?1 AND status = 'queued'"
	    " RETURNING node_id",
	[S_JOB_END] = "UPDATE jobs SET status = ?2, finished_at = ?3"
		      " WHERE job_id = ?1 AND status IN ('running',"
		      " 'awaiting_approval')",
	[S_JOB_RESULTS] = "SELECT " JOB_RESULT_COLUMNS " WHERE j.job_id = ?1"
			  " AND j.node_id > ?2 ORDER BY j.node_id LIMIT ?3",
	[S_JOB_RESULTS_RANKED] = JOB_RESULTS_RANKED("?1", "?3", "?2"),
	/* Counted from an index; each group's text read once, below. */
	[S_JOB_GROUPS] = JOB_GROUPS("?1", "?2"),
	[S_JOB_GROUP_OUTPUT] = "SELECT output FROM commands WHERE job_id = ?1"
			       " AND status = ?2 AND output_hash IS ?3"
			       " LIMIT 1",
	[S_SCHED_ADD] = "INSERT INTO job_schedules (schedule_id, command, args,"
			" reason, target, rollout, created_by, created_at,"
			" every_secs, next_at, last_job_id) VALUES (?1, ?2,"
			" ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
	[S_SCHED_ALL] = "SELECT " SCHEDULE_COLUMNS " FROM job_schedules"
			" WHERE deleted_at IS NULL ORDER BY next_at",
	[S_SCHED_RAN] = "UPDATE job_schedules SET next_at = ?3,"
			" last_job_id = coalesce(?4, last_job_id)"
			" WHERE schedule_id = ?1 AND next_at = ?2"
			" AND deleted_at IS NULL",
	/*
	 * A delivery's mark is committed without its own fsync (the next
	 * synchronous commit carries it): lost with the power, the command
	 * is queued again and the agent, which keeps its last seq, answers
	 * it once (as after a lease).
	 */
	[S_SYNC_NORMAL] = "PRAGMA synchronous = NORMAL",
	[S_SYNC_FULL] = "PRAGMA synchronous = FULL",
	[S_SCHED_DELETE] = "UPDATE job_schedules SET deleted_at = ?2"
			   " WHERE schedule_id = ?1 AND deleted_at IS NULL",
};

/* The statements prepared on rdb (the others on db). */
static const int reads[] = {
	S_JOB_WAVE_NODES,
	S_JOB_GET,
	S_JOB_LIST,
	S_APPROVAL_GET,
	S_APPROVAL_LIST,
	S_APPROVAL_EXPIRED,
	S_JOB_COUNTS,
	S_JOB_RESULTS,
	S_JOB_RESULTS_RANKED,
	S_JOB_GROUPS,
	S_JOB_GROUP_OUTPUT,
	S_SCHED_ALL,
	S_NODE_HB_GET,
	S_LOG_HB_GET,
	S_CMD_LIST,
	S_FINDINGS_OF,
	S_SCANS_OF,
	S_NODE_PEER,
	S_AUDIT_LIST,
	S_CMD_COUNTS,
	S_FLEET_HISTORY,
	S_HB_HISTORY,
};

static int
is_read(int id)
{
	for (size_t k = 0; k < sizeof(reads) / sizeof(reads[0]); k++)
		if (reads[k] == id)
			return 1;
	return 0;
}

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

/* 0 when no row breaks a foreign key, else -1 with the first one. */
static int
fk_check(sqlite3 *db, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int	      rc = 0;

	if (sqlite3_prepare_v2(db, "PRAGMA foreign_key_check", -1, &st, NULL) !=
	    SQLITE_OK) {
		snprintf(err, errlen, "foreign_key_check: %s",
		    sqlite3_errmsg(db));
		return -1;
	}
	if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(err, errlen, "a row of %s breaks a foreign key",
		    (const char *)sqlite3_column_text(st, 0));
		rc = -1;
	}
	sqlite3_finalize(st);
	return rc;
}

static int
migrate(sqlite3 *db, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int	      version = 0;
	char	      sql[64];

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) !=
		SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		snprintf(err, errlen, "reading schema version: %s",
		    sqlite3_errmsg(db));
		sqlite3_finalize(st);
		return -1;
	}
	version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (version > SCHEMA_VERSION) {
		snprintf(err, errlen,
		    "database schema version %d is newer than "
		    "this program's %d",
		    version, SCHEMA_VERSION);
		return -1;
	}
	for (; version < SCHEMA_VERSION; version++) {
		/* A table made again: foreign keys off, checked at the end. */
		int fk_off = version == FK_OFF_FROM;

		if (fk_off &&
		    exec_sql(db, "PRAGMA foreign_keys = OFF", err, errlen) ==
			-1)
			return -1;
		if (exec_sql(db, "BEGIN IMMEDIATE", err, errlen) == -1)
			return -1;
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
		    version + 1);
		if (exec_sql(db, migrations[version], err, errlen) == -1 ||
		    exec_sql(db, sql, err, errlen) == -1 ||
		    (fk_off && fk_check(db, err, errlen) == -1)) {
			(void)exec_sql(db, "ROLLBACK", err + strlen(err), 0);
			if (fk_off)
				(void)exec_sql(db, "PRAGMA foreign_keys = ON",
				    err + strlen(err), 0);
			return -1;
		}
		if (exec_sql(db, "COMMIT", err, errlen) == -1)
			return -1;
		if (fk_off &&
		    exec_sql(db, "PRAGMA foreign_keys = ON", err, errlen) == -1)
			return -1;
		log_info("store_migrated", "version=%d", version + 1);
	}
	return 0;
}

static const struct store_ops sqlite_ops;
static void		      sq_close(struct store *base);

struct store *
store_sqlite_open(const char *path, char *err, size_t errlen)
{
	struct sq *s;
	int	   i;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->base.ops = &sqlite_ops;
	{
		pthread_mutexattr_t ma;

		/* Recursive: a row callback may read another table. */
		pthread_mutexattr_init(&ma);
		pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
		pthread_mutex_init(&s->mu, &ma);
		pthread_mutex_init(&s->rmu, &ma);
		pthread_mutexattr_destroy(&ma);
	}
	if (sqlite3_open_v2(path, &s->db,
		SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
		    SQLITE_OPEN_NOMUTEX,
		NULL) != SQLITE_OK) {
		/* SQLite says "unable to open database file"; errno says why. */
		int e = s->db != NULL ? sqlite3_system_errno(s->db) : 0;

		snprintf(err, errlen, "%s: %s%s%s", path,
		    s->db ? sqlite3_errmsg(s->db) : "cannot open",
		    e != 0 ? ": " : "", e != 0 ? strerror(e) : "");
		goto fail;
	}
	sqlite3_busy_timeout(s->db, 5000);
	/*
	 * A 16 MiB page cache: it holds the nodes table of a fleet of about
	 * 20,000 (a row is some 700 bytes with its heartbeat), so the writer's
	 * UPDATEs stop reading pages back through the kernel: at 10,000
	 * nodes under wrk, 5.3 CPU s per 100,000 heartbeats against 6.1 with
	 * the default 2 MiB (medians of three rounds each). Larger fleets get
	 * part of it; RSS grows by at most the 16 MiB (make bench, scenario 3).
	 *
	 * 16 KiB pages for a new database (an existing one keeps its size:
	 * WAL mode fixes it). The heartbeat log is appended a round at a
	 * time; with 4 KiB pages the writer did four times the frames, page
	 * writes and checkpoint copies. Interleaved A/B at 10,000 nodes under
	 * wrk, six rounds each, twice: 3.63 -> 3.38 and 3.79 -> 3.54 CPU s
	 * per 100,000 heartbeats, RSS 40 -> 31 MB; 64 KiB pages were no
	 * better (3.41 vs 3.34) and write more for each enrollment.
	 */
	if (exec_sql(s->db,
		"PRAGMA page_size = 16384;PRAGMA journal_mode = WAL;"
		"PRAGMA synchronous = FULL;PRAGMA cache_size = -16384;"
		"PRAGMA foreign_keys = ON;",
		err, errlen) == -1 ||
	    migrate(s->db, err, errlen) == -1)
		goto fail;
	/* The views' connection, its page cache 2 MiB (SQLite's default). */
	if (sqlite3_open_v2(path, &s->rdb,
		SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
		NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s (reader): %s", path,
		    s->rdb ? sqlite3_errmsg(s->rdb) : "cannot open");
		goto fail;
	}
	sqlite3_busy_timeout(s->rdb, 5000);
	if (exec_sql(s->rdb, "PRAGMA cache_size = -2048;", err, errlen) == -1)
		goto fail;
	for (i = 0; i < S_COUNT; i++) {
		sqlite3 *db = is_read(i) ? s->rdb : s->db;

		if (sqlite3_prepare_v3(db, stmt_sql[i], -1,
			SQLITE_PREPARE_PERSISTENT, &s->st[i],
			NULL) != SQLITE_OK) {
			snprintf(err, errlen, "preparing statement %d: %s", i,
			    sqlite3_errmsg(db));
			goto fail;
		}
	}
	if (sq_chunks_open(s, err, errlen) == -1)
		goto fail;
	return &s->base;
fail:
	sq_close(&s->base);
	return NULL;
}

static void
sq_close(struct store *base)
{
	struct sq *s = sq_of(base);

	for (int i = 0; i < S_COUNT; i++)
		sqlite3_finalize(s->st[i]);
	buf_free(&s->chunk);
	if (s->rdb != NULL)
		sqlite3_close(s->rdb);
	if (s->db != NULL)
		sqlite3_close(s->db);
	pthread_mutex_destroy(&s->rmu);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

static int
sq_ping(struct store *base)
{
	struct sq *s = sq_of(base);
	int	   rc;

	pthread_mutex_lock(&s->mu);
	rc = sqlite3_exec(s->db, "SELECT 1", NULL, NULL, NULL) == SQLITE_OK ?
	    0 :
	    -1;
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int
sq_writer_busy(struct store *base)
{
	struct sq *s = sq_of(base);

	return store_mutex_busy(&s->mu);
}

/*
 * In store_backend.h's order. No replicas, and no views from the file: the
 * one process's fleet in memory answers them.
 */
static const struct store_ops sqlite_ops = { "sqlite", sq_close, sq_ping,
	sq_writer_busy, &sq_node_ops, &sq_heartbeat_ops, &sq_command_ops,
	&sq_audit_ops, &sq_sample_ops, NULL, &sq_job_ops, &sq_approval_ops,
	&sq_webhook_ops, &sq_key_ops, NULL };
