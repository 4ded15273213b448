/*
 * store: the only file that speaks SQL. One SQLite connection in WAL mode,
 * serialised by a mutex; every statement prepared once at open.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "buf.h"
#include "store.h"
#include "test_hooks.h"
#include "log.h"
#include "util.h"

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
	/* 1 -> 2: signed commands, their results, scans and findings */
	"ALTER TABLE nodes ADD COLUMN last_seq INTEGER NOT NULL DEFAULT 0;"
	"CREATE TABLE commands ("
	"  command_id TEXT PRIMARY KEY,"
	"  node_id TEXT NOT NULL REFERENCES nodes (node_id),"
	"  seq INTEGER NOT NULL,"
	"  command TEXT NOT NULL,"
	"  args TEXT NOT NULL,"
	"  queued_by TEXT NOT NULL,"
	"  queued_at INTEGER NOT NULL,"
	"  expires_at INTEGER NOT NULL,"
	"  payload TEXT NOT NULL,"
	"  signature TEXT NOT NULL,"
	"  status TEXT NOT NULL CHECK (status IN ('queued', 'delivered',"
	"    'ok', 'error', 'rejected', 'timeout', 'expired')),"
	"  delivered_at INTEGER,"
	"  started_at TEXT,"
	"  finished_at TEXT,"
	"  exit_code INTEGER,"
	"  output TEXT,"
	"  result_at INTEGER,"
	"  UNIQUE (node_id, seq)"
	");"
	"CREATE INDEX commands_by_node ON commands (node_id, seq DESC);"
	"CREATE INDEX commands_open ON commands (status, expires_at)"
	"  WHERE status IN ('queued', 'delivered');"
	"CREATE TABLE scans ("
	"  command_id TEXT PRIMARY KEY REFERENCES commands (command_id),"
	"  node_id TEXT NOT NULL REFERENCES nodes (node_id),"
	"  scanned_at INTEGER NOT NULL,"
	"  critical INTEGER NOT NULL, high INTEGER NOT NULL,"
	"  medium INTEGER NOT NULL, low INTEGER NOT NULL, info INTEGER NOT NULL"
	");"
	"CREATE INDEX scans_by_node ON scans (node_id, scanned_at DESC);"
	"CREATE TABLE findings ("
	"  command_id TEXT NOT NULL REFERENCES scans (command_id),"
	"  idx INTEGER NOT NULL,"
	"  finding_id TEXT NOT NULL,"
	"  severity TEXT NOT NULL CHECK (severity IN"
	"    ('critical', 'high', 'medium', 'low', 'info')),"
	"  title TEXT NOT NULL,"
	"  detail TEXT NOT NULL,"
	"  remediation TEXT,"
	"  PRIMARY KEY (command_id, idx)"
	") WITHOUT ROWID;",
	/* 2 -> 3: the audit log of operator actions */
	"CREATE TABLE audit ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  at INTEGER NOT NULL,"
	"  who TEXT NOT NULL,"
	"  peer TEXT NOT NULL,"
	"  action TEXT NOT NULL,"
	"  target TEXT NOT NULL,"
	"  detail TEXT NOT NULL,"
	"  result TEXT NOT NULL"
	");",
	/* 3 -> 4: pictures: the fleet's attention and each node's load over time */
	"CREATE TABLE fleet_samples ("
	"  at INTEGER PRIMARY KEY,"
	"  green INTEGER NOT NULL,"
	"  yellow INTEGER NOT NULL,"
	"  red INTEGER NOT NULL"
	");"
	"CREATE TABLE heartbeat_samples ("
	"  node_id TEXT NOT NULL,"
	"  at INTEGER NOT NULL,"
	"  load1 REAL,"
	"  mem_used_pct REAL,"
	"  PRIMARY KEY (node_id, at)"
	") WITHOUT ROWID;"
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
	"CREATE TABLE heartbeat_log ("
	"  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  node_id TEXT NOT NULL,"
	"  at INTEGER NOT NULL,"
	"  heartbeat TEXT NOT NULL,"
	"  hostname TEXT NOT NULL,"
	"  agent_version TEXT NOT NULL,"
	"  hb_cloudflare INTEGER NOT NULL,"
	"  hb_services_down INTEGER NOT NULL"
	");"
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
	"DROP VIEW latest_heartbeats;"
	"DROP TABLE heartbeat_log;"
	"CREATE TABLE heartbeat_chunks ("
	"  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  n INTEGER NOT NULL CHECK (n > 0),"
	"  data BLOB NOT NULL"
	");",
	/*
	 * 9 -> 10: an operator can delete (or reject) a node. The row stays,
	 * with its history, and its id stays taken: deleted_at says so (the
	 * status keeps what it was, for the record). enroll_peer: where a node
	 * enrolled from, shown before an operator approves it.
	 */
	"ALTER TABLE nodes"
	"  ADD COLUMN deleted_at INTEGER;"
	"ALTER TABLE nodes ADD COLUMN enroll_peer TEXT;",
};
#define SCHEMA_VERSION (int)(sizeof(migrations) / sizeof(migrations[0]))

enum stmt_id {
	S_BEGIN, S_COMMIT, S_ROLLBACK,
	S_NODES_ALL, S_NODE_INSERT, S_NODE_STATUS, S_NODE_DELETE, S_NODE_HB,
	S_NODE_HB_GET, S_CMD_RELEASE, S_NODE_PEER,
	S_LOG_HB_GET, S_LOG_CHUNK, S_LOG_ALL, S_LOG_FOLD, S_LOG_CUT, S_LOG_DROP,
	S_LOG_LAST,
	S_SEQ_NEXT, S_CMD_INSERT, S_CMD_OPEN, S_CMD_MARK, S_CMD_UNDELIVER,
	S_CMD_GET, S_CMD_RESULT, S_SCAN_INSERT, S_FINDING_INSERT,
	S_NODE_SCAN, S_CMD_EXPIRE, S_CMD_PENDING, S_CMD_LIST, S_FINDINGS_OF,
	S_CMD_OPEN_OF, S_SCANS_OF, S_CMD_LOST, S_AUDIT_ADD, S_AUDIT_LIST,
	S_CMD_COUNTS,
	S_FLEET_SAMPLE_ADD, S_FLEET_SAMPLE_PRUNE, S_FLEET_HISTORY,
	S_HB_SAMPLE_ADD, S_HB_SAMPLE_PRUNE, S_HB_HISTORY,
	S_COUNT
};

#define CHUNK_OF "SELECT seq, n, data FROM heartbeat_chunks" \
	" WHERE seq >= ?1 ORDER BY seq LIMIT 1"

static const char *const stmt_sql[S_COUNT] = {
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	/* The heartbeat itself only for rows older than its two facts. */
	[S_NODES_ALL] = "SELECT node_id, hostname, os_profile, agent_version,"
	    " status, token_hash, enrolled_at, last_heartbeat_at,"
	    " CASE WHEN hb_cloudflare < 0 OR hb_services_down < 0"
	    " THEN heartbeat END,"
	    " last_scan_at, f_critical, f_high, f_medium, f_low, f_info,"
	    " hb_cloudflare, hb_services_down, enroll_key_hash,"
	    " deleted_at IS NOT NULL FROM nodes",
	[S_NODE_INSERT] = "INSERT INTO nodes (node_id, hostname, os_profile,"
	    " agent_version, status, token_hash, enrolled_at,"
	    " status_changed_at, enroll_key_hash, enroll_peer)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8, ?9)",
	[S_NODE_PEER] = "SELECT enroll_peer FROM nodes WHERE node_id = ?1",
	[S_NODE_STATUS] = "UPDATE nodes SET status = ?2, token_hash = ?3,"
	    " status_changed_at = strftime('%s', 'now') WHERE node_id = ?1",
	[S_NODE_DELETE] = "UPDATE nodes SET token_hash = NULL,"
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
	[S_LOG_FOLD] = "UPDATE nodes SET last_heartbeat_at = ?2,"
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
	[S_CMD_INSERT] = "INSERT INTO commands (command_id, node_id, seq,"
	    " command, args, queued_by, queued_at, expires_at, payload,"
	    " signature, status) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"
	    " ?10, 'queued')",
	[S_CMD_OPEN] = "SELECT command_id, payload, signature FROM commands"
	    " WHERE node_id = ?1 AND status = 'queued' AND expires_at > ?2"
	    " ORDER BY seq LIMIT ?3",
	[S_CMD_MARK] = "UPDATE commands SET status = 'delivered',"
	    " delivered_at = ?2 WHERE command_id = ?1 AND status = 'queued'",
	[S_CMD_UNDELIVER] = "UPDATE commands SET status = 'queued',"
	    " delivered_at = NULL WHERE command_id = ?1"
	    " AND status = 'delivered'",
	[S_CMD_GET] = "SELECT node_id, status, command, started_at IS NULL"
	    " FROM commands WHERE command_id = ?1",
	[S_CMD_RESULT] = "UPDATE commands SET status = ?2, exit_code = ?3,"
	    " output = ?4, started_at = ?5, finished_at = ?6, result_at = ?7"
	    " WHERE command_id = ?1",
	[S_SCAN_INSERT] = "INSERT INTO scans (command_id, node_id, scanned_at,"
	    " critical, high, medium, low, info)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[S_FINDING_INSERT] = "INSERT INTO findings (command_id, idx,"
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
	[S_CMD_EXPIRE] = "UPDATE commands SET status = CASE WHEN delivered_at"
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
	[S_CMD_RELEASE] = "UPDATE commands SET status = 'queued'"
	    " WHERE status = 'delivered' AND delivered_at <= ?1"
	    " AND status IN ('queued', 'delivered') RETURNING node_id",
	/*
	 * Delivered but never answered, well past expiry (the grace covers
	 * the longest command): "timeout", marked as the CC's own verdict by
	 * a NULL started_at, so a late result from the agent's spool may
	 * still replace it.
	 */
	[S_CMD_LOST] = "UPDATE commands SET status = 'timeout',"
	    " result_at = ?1, output = 'no result from the agent before the"
	    " command expired' WHERE status = 'delivered'"
	    " AND expires_at <= ?1 - ?2 AND status IN ('queued', 'delivered')",
	[S_CMD_PENDING] = "SELECT node_id, count(*) FROM commands"
	    " WHERE status = 'queued' GROUP BY node_id",
	[S_CMD_LIST] = "SELECT command_id, seq, command, args, queued_by,"
	    " queued_at, expires_at, status, delivered_at, started_at,"
	    " finished_at, exit_code, output, result_at FROM commands"
	    " WHERE node_id = ?1 AND seq < ?3 AND (?4 IS NULL OR status = ?4)"
	    " AND (?5 IS NULL OR command = ?5) ORDER BY seq DESC LIMIT ?2",
	[S_FINDINGS_OF] = "SELECT finding_id, severity, title, detail,"
	    " remediation FROM findings WHERE command_id = ?1 ORDER BY"
	    " CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1"
	    " WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 4 END, idx",
	[S_CMD_OPEN_OF] = "SELECT count(*) FROM commands WHERE node_id = ?1"
	    " AND command = ?2 AND status IN ('queued', 'delivered')",
	[S_CMD_COUNTS] = "SELECT command, status, count(*) FROM commands"
	    " GROUP BY command, status ORDER BY command, status",
	[S_AUDIT_ADD] = "INSERT INTO audit (at, who, peer, action, target,"
	    " detail, result) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[S_AUDIT_LIST] = "SELECT id, at, who, peer, action, target, detail,"
	    " result FROM audit WHERE id < ?1 AND (?3 IS NULL OR action = ?3)"
	    " AND (?4 IS NULL OR target = ?4) ORDER BY id DESC LIMIT ?2",
	[S_SCANS_OF] = "SELECT command_id, scanned_at, critical, high, medium,"
	    " low, info FROM scans WHERE node_id = ?1"
	    " ORDER BY scanned_at DESC, rowid DESC LIMIT ?2",
	[S_FLEET_SAMPLE_ADD] = "INSERT OR REPLACE INTO fleet_samples (at, green,"
	    " yellow, red) VALUES (?1, ?2, ?3, ?4)",
	[S_FLEET_SAMPLE_PRUNE] = "DELETE FROM fleet_samples WHERE at < ?1",
	/* SQLite takes the bare columns from the row holding max(at). */
	[S_FLEET_HISTORY] = "SELECT max(at), green, yellow, red FROM"
	    " fleet_samples WHERE at >= ?1 GROUP BY at / ?2 ORDER BY 1",
	[S_HB_SAMPLE_ADD] = "INSERT OR REPLACE INTO heartbeat_samples (node_id,"
	    " at, load1, mem_used_pct) VALUES (?1, ?2, ?3, ?4)",
	/* Bounded, so one round never holds the lock for long. */
	[S_HB_SAMPLE_PRUNE] = "DELETE FROM heartbeat_samples WHERE (node_id, at)"
	    " IN (SELECT node_id, at FROM heartbeat_samples WHERE at < ?1"
	    " ORDER BY at LIMIT ?2)",
	[S_HB_HISTORY] = "SELECT at, load1, mem_used_pct FROM heartbeat_samples"
	    " WHERE node_id = ?1 AND at >= ?2 ORDER BY at",
};

/*
 * Two connections. db does every write and what decides one; rdb, read
 * only, serves the views (documents, histories, lists): in WAL mode it
 * reads the latest commit while db is inside a transaction, so a page
 * never waits for the heartbeat writer's round. Each has its own mutex.
 */
struct store {
	sqlite3		*db;
	pthread_mutex_t	 mu;
	sqlite3		*rdb;
	pthread_mutex_t	 rmu;
	sqlite3_stmt	*st[S_COUNT];	/* each on its connection (reads[]) */
	/* The heartbeat chunks (the writer's, under mu). */
	int64_t		 hb_last;	/* the last heartbeat number given */
	size_t		 chunk_max;	/* bytes a chunk fills: a page, less */
	struct buf	 chunk;		/* the one being filled */
	void		(*on_write)(int64_t us);	/* each write's time */
};

void
store_on_write(struct store *s, void (*fn)(int64_t us))
{
	s->on_write = fn;
}

/* The statements prepared on rdb (the others on db). */
static const int reads[] = {
	S_NODE_HB_GET, S_LOG_HB_GET, S_CMD_LIST, S_FINDINGS_OF, S_SCANS_OF,
	S_NODE_PEER,
	S_AUDIT_LIST, S_CMD_COUNTS, S_FLEET_HISTORY, S_HB_HISTORY,
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

/*
 * The heartbeat chunks. A row of heartbeat_chunks holds n heartbeats,
 * numbered seq - n + 1 .. seq (numbers only grow: AUTOINCREMENT keeps the
 * highest ever given), each encoded as
 *
 *	node_id, i64 at, i32 cloudflare, i32 services_down,
 *	hostname, agent_version, heartbeat JSON
 *
 * where each string is a u32 length and its bytes with their NUL, and
 * integers are little-endian. A chunk fills at most a page, less room for
 * SQLite's cell header, unless one heartbeat alone is larger.
 */
#define CHUNK_BUF_MAX	((size_t)256 << 20)

struct hb_rec {
	const char	*node_id, *hostname, *agent_version, *json;
	size_t		 json_len;
	int64_t		 at;
	int		 cloudflare, services_down;
};

static size_t
chunk_rec_len(const struct hb_write *w)
{
	return 4 * 4 + 8 + 4 + 4 + strlen(w->node_id) + 1 +
	    strlen(w->hostname) + 1 + strlen(w->agent_version) + 1 +
	    strlen(w->json) + 1;
}

static int
put_u32(struct buf *b, uint32_t v)
{
	unsigned char	 x[4];

	for (int i = 0; i < 4; i++)
		x[i] = (unsigned char)(v >> (8 * i));
	return buf_add(b, x, sizeof(x));
}

static int
put_i64(struct buf *b, int64_t v)
{
	unsigned char	 x[8];
	uint64_t	 u = (uint64_t)v;

	for (int i = 0; i < 8; i++)
		x[i] = (unsigned char)(u >> (8 * i));
	return buf_add(b, x, sizeof(x));
}

static int
put_str(struct buf *b, const char *str)
{
	size_t len = strlen(str) + 1;

	if (len > UINT32_MAX)
		return -1;
	return put_u32(b, (uint32_t)len) == -1 ? -1 : buf_add(b, str, len);
}

static int
chunk_put(struct buf *b, const struct hb_write *w)
{
	if (put_str(b, w->node_id) == -1 || put_i64(b, w->at) == -1 ||
	    put_u32(b, (uint32_t)w->cloudflare) == -1 ||
	    put_u32(b, (uint32_t)w->services_down) == -1 ||
	    put_str(b, w->hostname) == -1 ||
	    put_str(b, w->agent_version) == -1 || put_str(b, w->json) == -1)
		return -1;
	return 0;
}

/* Reads a chunk: each get_ moves p on, or fails (-1) past end. */
struct chunk_rd {
	const unsigned char	*p, *end;
};

static int
get_u32(struct chunk_rd *r, uint32_t *v)
{
	if (r->end - r->p < 4)
		return -1;
	*v = 0;
	for (int i = 0; i < 4; i++)
		*v |= (uint32_t)r->p[i] << (8 * i);
	r->p += 4;
	return 0;
}

static int
get_i64(struct chunk_rd *r, int64_t *v)
{
	uint64_t u = 0;

	if (r->end - r->p < 8)
		return -1;
	for (int i = 0; i < 8; i++)
		u |= (uint64_t)r->p[i] << (8 * i);
	r->p += 8;
	*v = (int64_t)u;
	return 0;
}

/* A string with its NUL, none inside: *len is its strlen. */
static int
get_str(struct chunk_rd *r, const char **str, size_t *len)
{
	uint32_t n;

	if (get_u32(r, &n) == -1 || n == 0 || (size_t)(r->end - r->p) < n ||
	    r->p[n - 1] != '\0' || memchr(r->p, '\0', n - 1) != NULL)
		return -1;
	*str = (const char *)r->p;
	if (len != NULL)
		*len = n - 1;
	r->p += n;
	return 0;
}

/* Moves past one heartbeat by its lengths (the one wanted is checked). */
static int
skip_rec(struct chunk_rd *r)
{
	uint32_t n;

	for (int i = 0; i < 4; i++) {
		if (get_u32(r, &n) == -1 || (size_t)(r->end - r->p) < n)
			return -1;
		r->p += n;
		if (i == 0) {	/* at, cloudflare, services_down */
			if (r->end - r->p < 16)
				return -1;
			r->p += 16;
		}
	}
	return 0;
}

static int
get_rec(struct chunk_rd *r, struct hb_rec *h)
{
	uint32_t	 cf, down;
	size_t		 idlen;

	if (get_str(r, &h->node_id, &idlen) == -1 || idlen > 36 ||
	    get_i64(r, &h->at) == -1 || get_u32(r, &cf) == -1 ||
	    get_u32(r, &down) == -1 ||
	    get_str(r, &h->hostname, NULL) == -1 ||
	    get_str(r, &h->agent_version, NULL) == -1 ||
	    get_str(r, &h->json, &h->json_len) == -1)
		return -1;
	h->cloudflare = (int)(int32_t)cf;
	h->services_down = (int)(int32_t)down;
	return 0;
}

/* The smallest heartbeat a chunk can hold: four lengths, four NULs, 16. */
#define CHUNK_REC_MIN	36

/*
 * The chunk in st's row (seq, n, data): its heartbeats first .. last and
 * a reader of its bytes; -1 (logged) when the row cannot be such a chunk.
 */
static int
chunk_open(sqlite3_stmt *st, int64_t *first, int64_t *last,
    struct chunk_rd *r)
{
	int64_t	 n = sqlite3_column_int64(st, 1);
	int	 len = sqlite3_column_bytes(st, 2);

	*last = sqlite3_column_int64(st, 0);
	r->p = sqlite3_column_blob(st, 2);
	if (r->p == NULL || len <= 0 || n < 1 || n > len / CHUNK_REC_MIN ||
	    *last < n) {
		log_err("heartbeat_chunk_bad", "seq=%lld n=%lld bytes=%d",
		    (long long)*last, (long long)n, len);
		return -1;
	}
	r->end = r->p + len;
	*first = *last - n + 1;
	return 0;
}

/*
 * Heartbeat want of the chunk in st's row into *h (strings pointing into
 * the row): 0, 1 when the row does not hold it, -1 when the chunk is
 * damaged (logged).
 */
static int
chunk_find(sqlite3_stmt *st, int64_t want, struct hb_rec *h)
{
	struct chunk_rd	 r;
	int64_t		 first, last;

	if (chunk_open(st, &first, &last, &r) == -1)
		return -1;
	if (want < first || want > last)
		return 1;
	for (int64_t k = first; k < want; k++)
		if (skip_rec(&r) == -1)
			goto bad;
	if (get_rec(&r, h) == 0)
		return 0;
bad:
	log_err("heartbeat_chunk_bad", "seq=%lld want=%lld", (long long)last,
	    (long long)want);
	return -1;
}

/* The last heartbeat number given: the larger of what either keeps. */
static int
hb_last_read(struct store *s, int64_t *last)
{
	sqlite3_stmt *st = s->st[S_LOG_LAST];

	if (sqlite3_step(st) != SQLITE_ROW) {
		log_err("store_error", "op=heartbeat_last error=\"%s\"",
		    sqlite3_errmsg(s->db));
		sqlite3_reset(st);
		return -1;
	}
	*last = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return 0;
}

/* After the statements: the chunk size (from the page size), numbers. */
static int
chunks_open(struct store *s, char *err, size_t errlen)
{
	sqlite3_stmt	*st = NULL;
	int		 page = 0;

	if (sqlite3_prepare_v2(s->db, "PRAGMA page_size", -1, &st, NULL) ==
	    SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		page = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (page < 512) {
		snprintf(err, errlen, "reading the page size: %s",
		    sqlite3_errmsg(s->db));
		return -1;
	}
	s->chunk_max = (size_t)page - 64;
	buf_init(&s->chunk, CHUNK_BUF_MAX);
	if (hb_last_read(s, &s->hb_last) == -1) {
		snprintf(err, errlen, "reading the last heartbeat number: %s",
		    sqlite3_errmsg(s->db));
		return -1;
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
	{
		pthread_mutexattr_t ma;

		/* Recursive: a row callback may read another table. */
		pthread_mutexattr_init(&ma);
		pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
		pthread_mutex_init(&s->mu, &ma);
		pthread_mutex_init(&s->rmu, &ma);
		pthread_mutexattr_destroy(&ma);
	}
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		/* SQLite says "unable to open database file"; errno says why. */
		int e = s->db != NULL ? sqlite3_system_errno(s->db) : 0;

		snprintf(err, errlen, "%s: %s%s%s", path, s->db ?
		    sqlite3_errmsg(s->db) : "cannot open", e != 0 ? ": " : "",
		    e != 0 ? strerror(e) : "");
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
	if (exec_sql(s->db, "PRAGMA page_size = 16384;"
	    "PRAGMA journal_mode = WAL;"
	    "PRAGMA synchronous = FULL;"
	    "PRAGMA cache_size = -16384;"
	    "PRAGMA foreign_keys = ON;", err, errlen) == -1 ||
	    migrate(s->db, err, errlen) == -1)
		goto fail;
	/* The views' connection, its page cache 2 MiB (SQLite's default). */
	if (sqlite3_open_v2(path, &s->rdb, SQLITE_OPEN_READONLY |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s (reader): %s", path, s->rdb ?
		    sqlite3_errmsg(s->rdb) : "cannot open");
		goto fail;
	}
	sqlite3_busy_timeout(s->rdb, 5000);
	if (exec_sql(s->rdb, "PRAGMA cache_size = -2048;", err, errlen) == -1)
		goto fail;
	for (i = 0; i < S_COUNT; i++) {
		sqlite3 *db = is_read(i) ? s->rdb : s->db;

		if (sqlite3_prepare_v3(db, stmt_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL) != SQLITE_OK) {
			snprintf(err, errlen, "preparing statement %d: %s", i,
			    sqlite3_errmsg(db));
			goto fail;
		}
	}
	if (chunks_open(s, err, errlen) == -1)
		goto fail;
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
	buf_free(&s->chunk);
	if (s->rdb != NULL)
		sqlite3_close(s->rdb);
	if (s->db != NULL)
		sqlite3_close(s->db);
	pthread_mutex_destroy(&s->rmu);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

/* Runs a statement with no result rows; resets it. SQLITE_DONE or error. */
static int
step_done(struct store *s, sqlite3_stmt *st, const char *what)
{
	int64_t	 t0 = mono_us();
	int	 rc = sqlite3_step(st);

	/* A COMMIT, or a statement in autocommit mode: a whole write. */
	if (rc == SQLITE_DONE && s->on_write != NULL &&
	    (st == s->st[S_COMMIT] || (sqlite3_get_autocommit(s->db) &&
	    !sqlite3_stmt_readonly(st))))
		s->on_write(mono_us() - t0);
	if (rc != SQLITE_DONE)
		log_err("store_error", "op=%s rc=%d error=\"%s\"", what, rc,
		    sqlite3_errmsg(sqlite3_db_handle(st)));
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

/*
 * Steps st (bound, store lock held) through its rows, calling row(st, arg)
 * for each until one returns -1, then resets st: 0, or -1 when a row()
 * stopped it or SQLite failed (logged).
 */
static int
each_row(sqlite3_stmt *st, const char *what,
    int (*row)(sqlite3_stmt *st, void *arg), void *arg)
{
	int rc, ret = 0;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (row(st, arg) == -1) {
			ret = -1;
			break;
		}
	if (ret == 0 && rc != SQLITE_DONE) {
		log_err("store_error", "op=%s rc=%d error=\"%s\"", what, rc,
		    sqlite3_errmsg(sqlite3_db_handle(st)));
		ret = -1;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return ret;
}

/* A caller's callback and its argument, for the row converters below. */
struct rows {
	void	*fn;	/* the typed callback, cast back by each converter */
	void	*arg;
};

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
		r.hb_cloudflare = sqlite3_column_int(st, 15);
		r.hb_services_down = sqlite3_column_int(st, 16);
		if (sqlite3_column_bytes(st, 17) == TOKEN_HASH_LEN) {
			memcpy(r.key_hash, sqlite3_column_blob(st, 17),
			    TOKEN_HASH_LEN);
			r.has_key = 1;
		}
		if (sqlite3_column_int(st, 18)) {
			r.status = NODE_DELETED;
			r.has_token = 0;
		}
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
	if (r->has_key)
		sqlite3_bind_blob(st, 8, r->key_hash, TOKEN_HASH_LEN,
		    SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 8);
	if (r->enroll_peer != NULL)
		sqlite3_bind_text(st, 9, r->enroll_peer, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 9);
	rc = step_done(s, st, "node_insert");
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int
store_node_set_status(struct store *s, const char *node_id,
    enum node_status status, const unsigned char *token_hash)
{
	sqlite3_stmt	*st = s->st[status == NODE_DELETED ? S_NODE_DELETE :
			    S_NODE_STATUS];
	int		 rc;

	pthread_mutex_lock(&s->mu);
	sqlite3_bind_text(st, 1, node_id, -1, SQLITE_STATIC);
	if (status != NODE_DELETED) {
		sqlite3_bind_text(st, 2, status_name(status), -1,
		    SQLITE_STATIC);
		if (token_hash != NULL)
			sqlite3_bind_blob(st, 3, token_hash, TOKEN_HASH_LEN,
			    SQLITE_STATIC);
		else
			sqlite3_bind_null(st, 3);
	}
	rc = step_done(s, st, "node_set_status");
	if (rc == 0 && sqlite3_changes(s->db) != 1)
		rc = -1;
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int
store_node_heartbeat(struct store *s, const char *node_id, int64_t seq,
    char **json)
{
	sqlite3_stmt	*st = s->st[seq > 0 ? S_LOG_HB_GET : S_NODE_HB_GET];
	struct hb_rec	 h;
	int		 rc = 0, r;

	*json = NULL;
	pthread_mutex_lock(&s->rmu);
	if (seq > 0)
		sqlite3_bind_int64(st, 1, seq);
	else
		sqlite3_bind_text(st, 1, node_id, -1, SQLITE_STATIC);
	r = sqlite3_step(st);
	if (r == SQLITE_ROW && seq > 0) {
		/* Its chunk: the first that ends at or after it. */
		if ((rc = chunk_find(st, seq, &h)) == 0 &&
		    strcmp(h.node_id, node_id) != 0)
			rc = 1;
		if (rc == 0 && (*json = malloc(h.json_len + 1)) == NULL)
			rc = -1;
		else if (rc == 0)
			memcpy(*json, h.json, h.json_len + 1);
	} else if (r == SQLITE_ROW &&
	    sqlite3_column_type(st, 0) != SQLITE_NULL &&
	    (*json = col_strdup(st, 0)) == NULL)
		rc = -1;
	else if (r == SQLITE_DONE && seq > 0)
		rc = 1;		/* folded meanwhile */
	else if (r != SQLITE_ROW && r != SQLITE_DONE) {
		log_err("store_error", "op=node_heartbeat rc=%d error=\"%s\"",
		    r, sqlite3_errmsg(s->rdb));
		rc = -1;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	pthread_mutex_unlock(&s->rmu);
	return rc;
}

/* Writes the chunk being filled: heartbeats last - n + 1 .. last. */
static int
chunk_flush(struct store *s, int64_t last, int64_t n)
{
	sqlite3_stmt *st = s->st[S_NODE_HB];

	sqlite3_bind_int64(st, 1, last);
	sqlite3_bind_int64(st, 2, n);
	sqlite3_bind_blob(st, 3, s->chunk.p, (int)s->chunk.len, SQLITE_STATIC);
	if (step_done(s, st, "heartbeat_chunk") == -1)
		return -1;
	buf_reset(&s->chunk);
	return 0;
}

int
store_node_enroll_peer(struct store *s, const char *node_id, char *out,
    size_t outlen)
{
	sqlite3_stmt	*st = s->st[S_NODE_PEER];
	int		 r, rc = 0;

	out[0] = '\0';
	pthread_mutex_lock(&s->rmu);
	sqlite3_bind_text(st, 1, node_id, -1, SQLITE_STATIC);
	if ((r = sqlite3_step(st)) == SQLITE_ROW &&
	    sqlite3_column_type(st, 0) != SQLITE_NULL)
		snprintf(out, outlen, "%s",
		    (const char *)sqlite3_column_text(st, 0));
	else if (r != SQLITE_ROW && r != SQLITE_DONE)
		rc = -1;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	pthread_mutex_unlock(&s->rmu);
	return rc;
}

int
store_heartbeats(struct store *s, struct hb_write *w, size_t n)
{
	int64_t	 last, count = 0;
	int	 rc = -1;

	if (n == 0)
		return 0;
	pthread_mutex_lock(&s->mu);
	last = s->hb_last;
	buf_reset(&s->chunk);
	if (last > INT64_MAX - (int64_t)n) {
		log_err("store_error", "op=heartbeat_chunk "
		    "error=\"heartbeat numbers exhausted\"");
		goto out;
	}
	if (step_done(s, s->st[S_BEGIN], "begin") == -1)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (count > 0 && s->chunk.len + chunk_rec_len(&w[i]) >
		    s->chunk_max) {
			if (chunk_flush(s, last, count) == -1)
				goto fail;
			count = 0;
		}
		if (chunk_put(&s->chunk, &w[i]) == -1) {
			log_err("store_error", "op=heartbeat_chunk "
			    "error=\"out of memory\"");
			goto fail;
		}
		w[i].seq = ++last;
		count++;
	}
	if (chunk_flush(s, last, count) == -1 ||
	    step_done(s, s->st[S_COMMIT], "commit") == -1)
		goto fail;
	s->hb_last = last;
	rc = 0;
	goto out;
fail:
	(void)step_done(s, s->st[S_ROLLBACK], "rollback");
	/* Numbers taken meanwhile (another writer, a restored file)? */
	if (hb_last_read(s, &last) == 0 && last > s->hb_last)
		s->hb_last = last;
out:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int
store_heartbeat_log(struct store *s,
    int (*fn)(const struct hb_logged *, void *), void *arg)
{
	sqlite3_stmt	*st = s->st[S_LOG_ALL];
	struct hb_logged l;
	struct hb_rec	 h;
	int64_t		 prev = 0;
	int		 r, ret = 0;

	pthread_mutex_lock(&s->mu);
	while (ret == 0 && (r = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t		 first, last;
		struct chunk_rd	 rd;

		/* A damaged chunk is skipped: what nodes holds stays. */
		if (chunk_open(st, &first, &last, &rd) == -1)
			continue;
		if (first <= prev) {
			log_err("heartbeat_chunk_bad", "seq=%lld overlaps=%lld",
			    (long long)last, (long long)prev);
			continue;
		}
		prev = last;
		for (int64_t seq = first; ret == 0 && seq <= last; seq++) {
			if (get_rec(&rd, &h) == -1) {
				log_err("heartbeat_chunk_bad", "seq=%lld "
				    "at=%lld", (long long)last, (long long)seq);
				break;
			}
			memset(&l, 0, sizeof(l));
			l.seq = seq;
			memcpy(l.node_id, h.node_id, strlen(h.node_id) + 1);
			l.at = h.at;
			l.hostname = h.hostname;
			l.agent_version = h.agent_version;
			l.cloudflare = h.cloudflare;
			l.services_down = h.services_down;
			if (fn(&l, arg) == -1)
				ret = -1;
		}
	}
	if (ret == 0 && r != SQLITE_DONE) {
		log_err("store_error", "op=heartbeat_log rc=%d error=\"%s\"",
		    r, sqlite3_errmsg(s->db));
		ret = -1;
	}
	sqlite3_reset(st);
	pthread_mutex_unlock(&s->mu);
	return ret;
}

/* Copies heartbeat f (in the log) into its node's row: 0 or -1. */
static int
fold_one(struct store *s, const struct hb_fold *f)
{
	sqlite3_stmt	*get = s->st[S_LOG_CHUNK], *st = s->st[S_LOG_FOLD];
	struct hb_rec	 h;
	int		 r, rc = 0;

	sqlite3_bind_int64(get, 1, f->seq);
	if ((r = sqlite3_step(get)) == SQLITE_ROW) {
		/*
		 * Not there any more, another node's, or damaged (logged):
		 * nothing to copy; nodes keeps the heartbeat it had.
		 */
		if (chunk_find(get, f->seq, &h) != 0 ||
		    strcmp(h.node_id, f->node_id) != 0)
			goto out;
		sqlite3_bind_text(st, 1, f->node_id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, h.at);
		sqlite3_bind_text(st, 3, h.json, (int)h.json_len,
		    SQLITE_STATIC);
		sqlite3_bind_text(st, 4, h.hostname, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, h.agent_version, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 6, h.cloudflare);
		sqlite3_bind_int(st, 7, h.services_down);
		rc = step_done(s, st, "fold");
	} else if (r != SQLITE_DONE) {
		log_err("store_error", "op=fold_chunk rc=%d error=\"%s\"", r,
		    sqlite3_errmsg(s->db));
		rc = -1;
	}
out:
	sqlite3_reset(get);
	sqlite3_clear_bindings(get);
	return rc;
}

int
store_fold(struct store *s, const struct hb_fold *fold, size_t n,
    int64_t upto, int64_t *cut)
{
	sqlite3_stmt	*st = s->st[S_LOG_CUT], *drop = s->st[S_LOG_DROP];
	int		 rc = -1;

	*cut = 0;
	pthread_mutex_lock(&s->mu);
	if (step_done(s, s->st[S_BEGIN], "begin") == -1)
		goto out;
	for (size_t i = 0; i < n; i++)
		if (fold_one(s, &fold[i]) == -1)
			goto fail;
	/* The chunks that end by upto go; one that straddles it stays. */
	sqlite3_bind_int64(st, 1, upto);
	if (sqlite3_step(st) != SQLITE_ROW) {
		log_err("store_error", "op=fold_cut error=\"%s\"",
		    sqlite3_errmsg(s->db));
		sqlite3_reset(st);
		goto fail;
	}
	*cut = sqlite3_column_int64(st, 0);	/* NULL: 0, none */
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	sqlite3_bind_int64(drop, 1, *cut);
	if (step_done(s, drop, "fold_drop") == -1 ||
	    step_done(s, s->st[S_COMMIT], "commit") == -1)
		goto fail;
	rc = 0;
	goto out;
fail:
	*cut = 0;
	(void)step_done(s, s->st[S_ROLLBACK], "rollback");
out:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static void
bind_text_or_null(sqlite3_stmt *st, int i, const char *s)
{
	if (s != NULL)
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

/* Rolls back and unlocks; for the failure paths of a transaction. */
static void
tx_abort(struct store *s)
{
	(void)step_done(s, s->st[S_ROLLBACK], "rollback");
}

int
store_command_queue(struct store *s, struct cmd_new *c, sign_fn sign,
    void *arg)
{
	sqlite3_stmt	*st;
	int		 rc = -1;

	pthread_mutex_lock(&s->mu);
	if (step_done(s, s->st[S_BEGIN], "begin") == -1)
		goto out;
	st = s->st[S_SEQ_NEXT];
	sqlite3_bind_text(st, 1, c->node_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		tx_abort(s);
		rc = -2;
		goto out;
	}
	c->seq = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (sign(c, arg) == -1) {
		tx_abort(s);
		goto out;
	}
	st = s->st[S_CMD_INSERT];
	sqlite3_bind_text(st, 1, c->command_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, c->node_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, c->seq);
	sqlite3_bind_text(st, 4, c->command, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, c->args, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, c->queued_by, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, c->queued_at);
	sqlite3_bind_int64(st, 8, c->expires_at);
	sqlite3_bind_text(st, 9, c->payload, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 10, c->signature, -1, SQLITE_STATIC);
	if (step_done(s, st, "command_insert") == -1) {
		tx_abort(s);
		goto out;
	}
	if (step_done(s, s->st[S_COMMIT], "commit") == -1) {
		tx_abort(s);
		goto out;
	}
	rc = 0;
out:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

void
cmd_wire_free(struct cmd_wire *w, size_t n)
{
	if (w == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(w[i].payload);
		free(w[i].signature);
	}
	free(w);
}

int
store_commands_deliver(struct store *s, const char *node_id, int64_t now,
    size_t max, struct cmd_wire **out, size_t *nout)
{
	sqlite3_stmt	*st = s->st[S_CMD_OPEN];
	struct cmd_wire	*w = NULL;
	size_t		 n = 0;
	int		 rc = -1, src;

	*out = NULL;
	*nout = 0;
	if ((w = calloc(max, sizeof(*w))) == NULL)
		return -1;
	pthread_mutex_lock(&s->mu);
	if (step_done(s, s->st[S_BEGIN], "begin") == -1)
		goto out;
	sqlite3_bind_text(st, 1, node_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)max);
	while (n < max && (src = sqlite3_step(st)) == SQLITE_ROW) {
		snprintf(w[n].command_id, sizeof(w[n].command_id), "%s",
		    (const char *)sqlite3_column_text(st, 0));
		w[n].payload = col_strdup(st, 1);
		w[n].signature = col_strdup(st, 2);
		n++;
		if (w[n - 1].payload == NULL || w[n - 1].signature == NULL)
			break;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	for (size_t i = 0; i < n; i++) {
		st = s->st[S_CMD_MARK];
		sqlite3_bind_text(st, 1, w[i].command_id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, now);
		if (w[i].payload == NULL || w[i].signature == NULL ||
		    step_done(s, st, "command_mark") == -1) {
			tx_abort(s);
			goto out;
		}
	}
	if (step_done(s, s->st[S_COMMIT], "commit") == -1) {
		tx_abort(s);
		goto out;
	}
	rc = 0;
out:
	pthread_mutex_unlock(&s->mu);
	if (rc == -1) {
		cmd_wire_free(w, n);
		return -1;
	}
	*out = w;
	*nout = n;
	return 0;
}

int
store_commands_undeliver(struct store *s, const struct cmd_wire *w, size_t n)
{
	int rc = 0, changed = 0;

	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < n; i++) {
		sqlite3_bind_text(s->st[S_CMD_UNDELIVER], 1, w[i].command_id,
		    -1, SQLITE_STATIC);
		if (step_done(s, s->st[S_CMD_UNDELIVER], "undeliver") == -1)
			rc = -1;
		else
			changed += sqlite3_changes(s->db);
	}
	pthread_mutex_unlock(&s->mu);
	return rc == -1 ? -1 : changed;
}

static int
severity_index(const char *sev)
{
	static const char *const names[FINDING_SEVERITIES] = {
		"critical", "high", "medium", "low", "info" };

	for (int i = 0; i < FINDING_SEVERITIES; i++)
		if (strcmp(sev, names[i]) == 0)
			return i;
	return -1;
}

enum result_outcome
store_command_result(struct store *s, struct cmd_result *res)
{
	sqlite3_stmt		*st = s->st[S_CMD_GET];
	enum result_outcome	 out = RESULT_ERROR;
	char			 owner[37] = "", status[16] = "", command[33] = "";
	int			 no_start = 0;

	memset(res->counts, 0, sizeof(res->counts));
	res->is_scan = 0;
	res->was_queued = 0;
	pthread_mutex_lock(&s->mu);
	if (step_done(s, s->st[S_BEGIN], "begin") == -1)
		goto out;
	sqlite3_bind_text(st, 1, res->command_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(owner, sizeof(owner), "%s",
		    (const char *)sqlite3_column_text(st, 0));
		snprintf(status, sizeof(status), "%s",
		    (const char *)sqlite3_column_text(st, 1));
		snprintf(command, sizeof(command), "%s",
		    (const char *)sqlite3_column_text(st, 2));
		no_start = sqlite3_column_int(st, 3);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (owner[0] == '\0') {
		out = RESULT_UNKNOWN;
		tx_abort(s);
		goto out;
	}
	if (strcmp(owner, res->node_id) != 0) {
		out = RESULT_FORBIDDEN;
		tx_abort(s);
		goto out;
	}
	/* Open, or timed out by the CC itself (no agent result yet). */
	if (strcmp(status, "queued") != 0 && strcmp(status, "delivered") != 0 &&
	    !(strcmp(status, "timeout") == 0 && no_start)) {
		out = RESULT_REPEAT;	/* a result is stored already */
		tx_abort(s);
		goto out;
	}
	res->was_queued = strcmp(status, "queued") == 0;
	st = s->st[S_CMD_RESULT];
	sqlite3_bind_text(st, 1, res->command_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, res->status, -1, SQLITE_STATIC);
	if (res->has_exit)
		sqlite3_bind_int64(st, 3, res->exit_code);
	else
		sqlite3_bind_null(st, 3);
	bind_text_or_null(st, 4, res->output);
	bind_text_or_null(st, 5, res->started_at);
	bind_text_or_null(st, 6, res->finished_at);
	sqlite3_bind_int64(st, 7, res->now);
	if (step_done(s, st, "command_result") == -1) {
		tx_abort(s);
		goto out;
	}
	if (strcmp(command, "sovereign-scan") == 0 &&
	    strcmp(res->status, "ok") == 0) {
		res->is_scan = 1;
		for (size_t i = 0; i < res->nfindings; i++) {
			const struct finding *f = &res->findings[i];
			int sev = severity_index(f->severity);

			if (sev >= 0)
				res->counts[sev]++;
		}
		st = s->st[S_SCAN_INSERT];
		sqlite3_bind_text(st, 1, res->command_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, res->node_id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, res->now);
		for (int i = 0; i < FINDING_SEVERITIES; i++)
			sqlite3_bind_int(st, 4 + i, res->counts[i]);
		if (step_done(s, st, "scan_insert") == -1) {
			tx_abort(s);
			goto out;
		}
		for (size_t i = 0; i < res->nfindings; i++) {
			const struct finding *f = &res->findings[i];

			st = s->st[S_FINDING_INSERT];
			sqlite3_bind_text(st, 1, res->command_id, -1,
			    SQLITE_STATIC);
			sqlite3_bind_int64(st, 2, (sqlite3_int64)i);
			sqlite3_bind_text(st, 3, f->id, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 4, f->severity, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 5, f->title, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 6, f->detail, -1, SQLITE_STATIC);
			bind_text_or_null(st, 7, f->remediation);
			if (step_done(s, st, "finding_insert") == -1) {
				tx_abort(s);
				goto out;
			}
		}
		st = s->st[S_NODE_SCAN];
		sqlite3_bind_text(st, 1, res->node_id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, res->now);
		for (int i = 0; i < FINDING_SEVERITIES; i++)
			sqlite3_bind_int(st, 3 + i, res->counts[i]);
		if (step_done(s, st, "node_scan") == -1) {
			tx_abort(s);
			goto out;
		}
	}
	if (step_done(s, s->st[S_COMMIT], "commit") == -1) {
		tx_abort(s);
		goto out;
	}
	out = RESULT_STORED;
out:
	pthread_mutex_unlock(&s->mu);
	return out;
}

/*
 * Steps st (bound, ?1 = t) and collects the node ids it returns into *ids
 * (malloc'd, *n of them); with s->mu held. 0, or -1 on a store error.
 */
static int
collect_nodes(struct store *s, sqlite3_stmt *st, const char *op,
    char (**ids)[37], size_t *n)
{
	char	(*nids)[37];
	size_t	 cap = 0;
	int	 rc, ret = 0;

	*ids = NULL;
	*n = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((nids = realloc(*ids, cap * sizeof(**ids))) == NULL)
				break;
			*ids = nids;
		}
		snprintf((*ids)[(*n)++], 37, "%s",
		    (const char *)sqlite3_column_text(st, 0));
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		log_err("store_error", "op=%s error=\"%s\"", op,
		    sqlite3_errmsg(s->db));
		ret = -1;
	}
	/* A ROW here means we ran out of memory: finish the statement. */
	while (rc == SQLITE_ROW)
		rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return ret;
}

/*
 * Runs st (bound to t) and calls fn with each node it returns, outside
 * the store's lock (fn takes the fleet's): the count, or -1.
 */
static int
nodes_changed(struct store *s, sqlite3_stmt *st, const char *op, int64_t t,
    void (*fn)(const char *node_id, void *arg), void *arg)
{
	char	(*ids)[37] = NULL;
	size_t	 n = 0;
	int	 ret;

	pthread_mutex_lock(&s->mu);
	sqlite3_bind_int64(st, 1, t);
	ret = collect_nodes(s, st, op, &ids, &n);
	pthread_mutex_unlock(&s->mu);
	for (size_t i = 0; fn != NULL && i < n; i++)
		fn(ids[i], arg);
	free(ids);
	return ret == -1 ? -1 : (int)n;
}

int
store_commands_expire(struct store *s, int64_t now, int64_t grace,
    void (*fn)(const char *node_id, void *arg), void *arg)
{
	sqlite3_stmt	*st = s->st[S_CMD_LOST];
	int		 n;

	n = nodes_changed(s, s->st[S_CMD_EXPIRE], "expire", now, fn, arg);
	pthread_mutex_lock(&s->mu);
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int64(st, 2, grace);
	if (step_done(s, st, "lost") == 0 && sqlite3_changes(s->db) > 0)
		log_warn("commands_timed_out", "count=%d reason=no_result",
		    sqlite3_changes(s->db));
	pthread_mutex_unlock(&s->mu);
	return n;
}

int
store_commands_release(struct store *s, int64_t before,
    void (*fn)(const char *node_id, void *arg), void *arg)
{
	return nodes_changed(s, s->st[S_CMD_RELEASE], "release", before, fn,
	    arg);
}

int
store_commands_pending(struct store *s,
    void (*fn)(const char *node_id, int n, void *arg), void *arg)
{
	sqlite3_stmt	*st = s->st[S_CMD_PENDING];
	int		 rc;

	pthread_mutex_lock(&s->mu);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		fn((const char *)sqlite3_column_text(st, 0),
		    sqlite3_column_int(st, 1), arg);
	sqlite3_reset(st);
	pthread_mutex_unlock(&s->mu);
	return rc == SQLITE_DONE ? 0 : -1;
}

static const char *
col_text(sqlite3_stmt *st, int col)
{
	return (const char *)sqlite3_column_text(st, col);
}

static int
cmd_row_of(sqlite3_stmt *st, void *arg)
{
	struct rows	*r = arg;
	struct cmd_row	 row;

	memset(&row, 0, sizeof(row));
	row.command_id = col_text(st, 0);
	row.seq = sqlite3_column_int64(st, 1);
	row.command = col_text(st, 2);
	row.args = col_text(st, 3);
	row.queued_by = col_text(st, 4);
	row.queued_at = sqlite3_column_int64(st, 5);
	row.expires_at = sqlite3_column_int64(st, 6);
	row.status = col_text(st, 7);
	row.delivered_at = sqlite3_column_int64(st, 8);
	row.started_at = col_text(st, 9);
	row.finished_at = col_text(st, 10);
	row.has_exit = sqlite3_column_type(st, 11) != SQLITE_NULL;
	row.exit_code = sqlite3_column_int64(st, 11);
	row.output = col_text(st, 12);
	row.result_at = sqlite3_column_int64(st, 13);
	/* Strings stay valid until the next step: copy what is kept. */
	return ((int (*)(const struct cmd_row *, void *))r->fn)(&row, r->arg);
}

int
store_commands_list(struct store *s, const char *node_id,
    const struct cmd_filter *flt, int limit,
    int (*fn)(const struct cmd_row *row, void *arg), void *arg)
{
	sqlite3_stmt	*st = s->st[S_CMD_LIST];
	struct rows	 r = { (void *)(uintptr_t)fn, arg };
	int		 rc;

	pthread_mutex_lock(&s->rmu);
	sqlite3_bind_text(st, 1, node_id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, limit);
	sqlite3_bind_int64(st, 3, flt != NULL && flt->before > 0 ?
	    flt->before : INT64_MAX);
	if (flt != NULL && flt->status != NULL)
		sqlite3_bind_text(st, 4, flt->status, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 4);
	if (flt != NULL && flt->command != NULL)
		sqlite3_bind_text(st, 5, flt->command, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 5);
	rc = each_row(st, "commands_list", cmd_row_of, &r);
	sqlite3_clear_bindings(st);
	pthread_mutex_unlock(&s->rmu);
	return rc;
}

static int
finding_of(sqlite3_stmt *st, void *arg)
{
	struct rows	*r = arg;
	struct finding	 f;

	f.id = col_text(st, 0);
	f.severity = col_text(st, 1);
	f.title = col_text(st, 2);
	f.detail = col_text(st, 3);
	f.remediation = col_text(st, 4);
	return ((int (*)(const struct finding *, void *))r->fn)(&f, r->arg);
}

int
store_findings(struct store *s, const char *command_id,
    int (*fn)(const struct finding *f, void *arg), void *arg)
{
	sqlite3_stmt	*st = s->st[S_FINDINGS_OF];
	struct rows	 r = { (void *)(uintptr_t)fn, arg };
	int		 rc;

	pthread_mutex_lock(&s->rmu);
	sqlite3_bind_text(st, 1, command_id, -1, SQLITE_STATIC);
	rc = each_row(st, "findings", finding_of, &r);
	pthread_mutex_unlock(&s->rmu);
	return rc;
}

int
store_command_open(struct store *s, const char *node_id, const char *command)
{
	sqlite3_stmt	*st = s->st[S_CMD_OPEN_OF];
	int		 n = -1;

	pthread_mutex_lock(&s->mu);
	sqlite3_bind_text(st, 1, node_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, command, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	pthread_mutex_unlock(&s->mu);
	return n;
}

static int
scan_row_of(sqlite3_stmt *st, void *arg)
{
	struct rows	*r = arg;
	struct scan_row	 row;

	row.command_id = col_text(st, 0);
	row.scanned_at = sqlite3_column_int64(st, 1);
	for (int i = 0; i < FINDING_SEVERITIES; i++)
		row.counts[i] = sqlite3_column_int(st, 2 + i);
	return ((int (*)(const struct scan_row *, void *))r->fn)(&row, r->arg);
}

int
store_scans_list(struct store *s, const char *node_id, int limit,
    int (*fn)(const struct scan_row *row, void *arg), void *arg)
{
	sqlite3_stmt	*st = s->st[S_SCANS_OF];
	struct rows	 r = { (void *)(uintptr_t)fn, arg };
	int		 rc;

	pthread_mutex_lock(&s->rmu);
	sqlite3_bind_text(st, 1, node_id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, limit);
	rc = each_row(st, "scans_list", scan_row_of, &r);
	pthread_mutex_unlock(&s->rmu);
	return rc;
}

int
store_audit_add(struct store *s, const struct audit_rec *a)
{
	sqlite3_stmt	*st = s->st[S_AUDIT_ADD];
	int		 rc;

	pthread_mutex_lock(&s->mu);
	sqlite3_bind_int64(st, 1, a->at);
	sqlite3_bind_text(st, 2, a->who, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, a->peer, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, a->action, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, a->target, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, a->detail, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, a->result, -1, SQLITE_STATIC);
	rc = step_done(s, st, "audit_add");
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int
audit_of(sqlite3_stmt *st, void *arg)
{
	struct rows		*r = arg;
	struct audit_rec	 a;

	a.at = sqlite3_column_int64(st, 1);
	a.who = col_text(st, 2);
	a.peer = col_text(st, 3);
	a.action = col_text(st, 4);
	a.target = col_text(st, 5);
	a.detail = col_text(st, 6);
	a.result = col_text(st, 7);
	return ((int (*)(int64_t, const struct audit_rec *, void *))r->fn)(
	    sqlite3_column_int64(st, 0), &a, r->arg);
}

int
store_audit_list(struct store *s, const struct audit_filter *flt, int limit,
    int (*fn)(int64_t id, const struct audit_rec *a, void *arg), void *arg)
{
	sqlite3_stmt	*st = s->st[S_AUDIT_LIST];
	struct rows	 r = { (void *)(uintptr_t)fn, arg };
	int		 rc;

	pthread_mutex_lock(&s->rmu);
	sqlite3_bind_int64(st, 1, flt != NULL && flt->before > 0 ? flt->before :
	    INT64_MAX);
	sqlite3_bind_int(st, 2, limit);
	if (flt != NULL && flt->action != NULL)
		sqlite3_bind_text(st, 3, flt->action, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 3);
	if (flt != NULL && flt->target != NULL)
		sqlite3_bind_text(st, 4, flt->target, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 4);
	rc = each_row(st, "audit_list", audit_of, &r);
	sqlite3_clear_bindings(st);
	pthread_mutex_unlock(&s->rmu);
	return rc;
}

static int
command_count_of(sqlite3_stmt *st, void *arg)
{
	struct rows *r = arg;

	return ((int (*)(const char *, const char *, int, void *))r->fn)(
	    col_text(st, 0), col_text(st, 1), sqlite3_column_int(st, 2), r->arg);
}

int
store_command_counts(struct store *s, int (*fn)(const char *, const char *,
    int, void *), void *arg)
{
	struct rows	 r = { (void *)(uintptr_t)fn, arg };
	int		 rc;

	pthread_mutex_lock(&s->rmu);
	rc = each_row(s->st[S_CMD_COUNTS], "command_counts",
	    command_count_of, &r);
	pthread_mutex_unlock(&s->rmu);
	return rc;
}

int
store_ping(struct store *s)
{
	int rc;

	pthread_mutex_lock(&s->mu);
	rc = sqlite3_exec(s->db, "SELECT 1", NULL, NULL, NULL) == SQLITE_OK ?
	    0 : -1;
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* ---- samples for the pictures (issue 7) ----------------------------- */

int
store_fleet_sample(struct store *s, const struct fleet_sample *fs,
    int64_t keep_after)
{
	sqlite3_stmt	*st = s->st[S_FLEET_SAMPLE_ADD];
	int		 rc = -1;

	pthread_mutex_lock(&s->mu);
	if (step_done(s, s->st[S_BEGIN], "begin") == -1)
		goto out;
	sqlite3_bind_int64(st, 1, fs->at);
	sqlite3_bind_int(st, 2, fs->count[LEVEL_GREEN]);
	sqlite3_bind_int(st, 3, fs->count[LEVEL_YELLOW]);
	sqlite3_bind_int(st, 4, fs->count[LEVEL_RED]);
	if (step_done(s, st, "fleet_sample") == -1) {
		tx_abort(s);
		goto out;
	}
	sqlite3_bind_int64(s->st[S_FLEET_SAMPLE_PRUNE], 1, keep_after);
	if (step_done(s, s->st[S_FLEET_SAMPLE_PRUNE], "fleet_prune") == -1 ||
	    step_done(s, s->st[S_COMMIT], "commit") == -1) {
		tx_abort(s);
		goto out;
	}
	rc = 0;
out:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int
fleet_sample_of(sqlite3_stmt *st, void *arg)
{
	struct rows		*r = arg;
	struct fleet_sample	 fs;

	fs.at = sqlite3_column_int64(st, 0);
	fs.count[LEVEL_GREEN] = sqlite3_column_int(st, 1);
	fs.count[LEVEL_YELLOW] = sqlite3_column_int(st, 2);
	fs.count[LEVEL_RED] = sqlite3_column_int(st, 3);
	return ((int (*)(const struct fleet_sample *, void *))r->fn)(&fs,
	    r->arg);
}

int
store_fleet_history(struct store *s, int64_t since, int64_t step,
    int (*fn)(const struct fleet_sample *fs, void *arg), void *arg)
{
	sqlite3_stmt	*st = s->st[S_FLEET_HISTORY];
	struct rows	 r = { (void *)(uintptr_t)fn, arg };
	int		 rc;

	pthread_mutex_lock(&s->rmu);
	sqlite3_bind_int64(st, 1, since);
	sqlite3_bind_int64(st, 2, step > 0 ? step : 1);
	rc = each_row(st, "fleet_history", fleet_sample_of, &r);
	pthread_mutex_unlock(&s->rmu);
	return rc;
}

static void
bind_real_or_null(sqlite3_stmt *st, int i, double v)
{
	if (!__builtin_isnan(v))
		sqlite3_bind_double(st, i, v);
	else
		sqlite3_bind_null(st, i);
}

int
store_hb_samples_add(struct store *s, const struct hb_sample *w, size_t n,
    int64_t keep_after, size_t prune_max)
{
	sqlite3_stmt	*st = s->st[S_HB_SAMPLE_ADD];
	int		 rc = -1;

	pthread_mutex_lock(&s->mu);
	if (step_done(s, s->st[S_BEGIN], "begin") == -1)
		goto out;
	for (size_t i = 0; i < n; i++) {
		sqlite3_bind_text(st, 1, w[i].node_id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, w[i].at);
		bind_real_or_null(st, 3, w[i].load1);
		bind_real_or_null(st, 4, w[i].mem_used_pct);
		if (step_done(s, st, "hb_sample") == -1) {
			tx_abort(s);
			goto out;
		}
	}
	st = s->st[S_HB_SAMPLE_PRUNE];
	sqlite3_bind_int64(st, 1, keep_after);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)prune_max);
	if (step_done(s, st, "hb_prune") == -1 ||
	    step_done(s, s->st[S_COMMIT], "commit") == -1) {
		tx_abort(s);
		goto out;
	}
	rc = 0;
out:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

struct hb_rows {
	struct rows		 r;
	struct hb_sample	 hs;	/* node_id filled in once */
};

static int
hb_sample_of(sqlite3_stmt *st, void *arg)
{
	struct hb_rows *h = arg;

	h->hs.at = sqlite3_column_int64(st, 0);
	h->hs.load1 = sqlite3_column_type(st, 1) == SQLITE_NULL ?
	    __builtin_nan("") : sqlite3_column_double(st, 1);
	h->hs.mem_used_pct = sqlite3_column_type(st, 2) == SQLITE_NULL ?
	    __builtin_nan("") : sqlite3_column_double(st, 2);
	return ((int (*)(const struct hb_sample *, void *))h->r.fn)(&h->hs,
	    h->r.arg);
}

int
store_hb_history(struct store *s, const char *node_id, int64_t since,
    int (*fn)(const struct hb_sample *hs, void *arg), void *arg)
{
	sqlite3_stmt	*st = s->st[S_HB_HISTORY];
	struct hb_rows	 h;
	int		 rc;

	memset(&h, 0, sizeof(h));
	h.r.fn = (void *)(uintptr_t)fn;
	h.r.arg = arg;
	snprintf(h.hs.node_id, sizeof(h.hs.node_id), "%s", node_id);
	pthread_mutex_lock(&s->rmu);
	sqlite3_bind_text(st, 1, node_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, since);
	rc = each_row(st, "hb_history", hb_sample_of, &h);
	pthread_mutex_unlock(&s->rmu);
	return rc;
}

int
store_writer_busy(struct store *s)
{
	if (pthread_mutex_trylock(&s->mu) != 0)
		return 1;
	pthread_mutex_unlock(&s->mu);
	return 0;
}
