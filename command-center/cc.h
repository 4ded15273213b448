/*
 * The command center's private header: one section per file.
 * Only http.c includes microhttpd.h; only store.c includes sqlite3.h.
 */
#ifndef VM_CC_H
#define VM_CC_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "access.h"
#include "buf.h"

#define TOKEN_HASH_LEN	32
#define HOSTNAME_MAX	255
#define PROFILE_MAX	64
#define VERSION_MAX	64
#define SERVICES_MAX	64
#define FINDING_SEVERITIES 5

/* ---- config.c ---------------------------------------------------- */

#define ENROLL_SECRETS_MAX 8

struct config {
	char		 listen_host[64];
	unsigned short	 listen_port;	/* 0: any free port */
	char		 agent_host[64];	/* VAULTMESH_AGENT_LISTEN, or "" */
	unsigned short	 agent_port;
	const char	*public_host;	/* the operators' host name, or NULL */
	int		 unsafe_open;	/* operator routes off loopback, no Access */
	const char	*db_path;
	const char	*key_path;
	const char	*enroll_secret;	/* NULL when unset */
	/* Every valid enroll secret (the variable's comma list, or lines). */
	char		*secrets[ENROLL_SECRETS_MAX];
	size_t		 nsecrets;
	const char	*policy_path;	/* NULL when unset */
	const char	*access_team;	/* Cloudflare Access team domain */
	const char	*access_aud;	/* Access application AUD tag */
	const char	*access_certs;	/* local certs document, or NULL */
	long		 scan_interval_hours;
	long		 scan_stale_hours;
	long		 heartbeat_stale_minutes;
	long		 scheduler_tick_seconds;
	long		 command_ttl_seconds;
	long		 max_connections;
	long		 max_longpolls;
	long		 max_body_bytes;	/* held at once, all connections */
	long		 max_pending;		/* pending nodes at once */
	long		 pending_per_minute;	/* new pending nodes */
	long		 delivery_lease_seconds;
	long		 threads;
	const char	*log_level;
};

/* Fills c from the environment: 0, or -1 with one line in err. */
int	 config_load(struct config *c, char *err, size_t errlen);
/* Wipes and frees the secrets config_load() copied. */
void	 config_free(struct config *c);
/* 1 if host (a numeric address) is a loopback address. */
int	 addr_is_loopback(const char *host);
/*
 * Without Cloudflare Access the operator routes must stay on loopback:
 * 0 when c is safe (or the operator opted out), -1 with why in err.
 */
int	 config_check_local(const struct config *c, int have_access, char *err,
	    size_t errlen);

/* ---- attention.c: the fleet model, pure functions of the state ----- */

/*
 * NODE_DELETED: an operator deleted (or rejected) the node. Its row and
 * history stay, its id stays taken, it is shown nowhere.
 */
enum node_status { NODE_PENDING, NODE_APPROVED, NODE_REVOKED, NODE_DELETED };
enum cf_state { CF_UNKNOWN, CF_UP, CF_DOWN };
enum level { LEVEL_GREEN, LEVEL_YELLOW, LEVEL_RED };

/* Reasons as bits, in the contract's order. */
enum reason {
	R_HEARTBEAT_STALE	= 1u << 0,
	R_CLOUDFLARE_DOWN	= 1u << 1,
	R_SERVICES_DOWN		= 1u << 2,
	R_NEVER_SCANNED		= 1u << 3,
	R_SCAN_STALE		= 1u << 4,
	R_CRITICAL_FINDINGS	= 1u << 5,
	R_HIGH_FINDINGS		= 1u << 6,
};
#define REASON_COUNT 7

struct thresholds {
	int64_t	 heartbeat_stale_secs;
	int64_t	 scan_stale_secs;
};

/* What attention is computed from. Times are Unix seconds, 0 = never. */
struct attn_input {
	int64_t		 last_heartbeat_at;
	int64_t		 last_scan_at;
	enum cf_state	 cloudflare;
	int		 services_down;
	int		 critical;
	int		 high;
};

unsigned	 attention_reasons(const struct attn_input *in, int64_t now,
		    const struct thresholds *t);
enum level	 attention_level(unsigned reasons);
const char	*reason_name(unsigned bit);
const char	*level_name(enum level l);
const char	*status_name(enum node_status s);
int		 status_parse(const char *s, enum node_status *out);

/* ---- validate.c: requests from agents, checked field by field ------ */

struct heartbeat {
	const char	*node_id;
	const char	*hostname;
	const char	*os_profile;
	const char	*agent_version;
	enum cf_state	 cloudflare;
	int		 services_down;
	double		 load1;		/* NAN when absent */
	double		 mem_used_pct;	/* NAN when absent */
	char		*json;		/* canonical compact JSON (malloc'd) */
};

struct enroll_req {
	const char	*node_id;
	const char	*hostname;
	const char	*os_profile;
	const char	*agent_version;
	const char	*enroll_secret;	/* NULL when absent */
	const char	*enroll_key;	/* the agent's own key; NULL when absent */
	const char	*peer;		/* where it came from (set by the route) */
};

/*
 * Each validates root (borrowed; the out strings point into it) and
 * returns 0, or -1 with the offending field's name and why in err.
 */
int	 validate_heartbeat(json_t *root, struct heartbeat *hb, char *err,
	    size_t errlen);
/*
 * The same, keeping raw (the bytes root was parsed from) as hb->json when
 * they hold exactly the contract's fields and at most HEARTBEAT_RAW_MAX
 * bytes; otherwise the fields are serialised again.
 */
#define HEARTBEAT_RAW_MAX 8192
int	 validate_heartbeat_raw(json_t *root, const char *raw, size_t rawlen,
	    struct heartbeat *hb, char *err, size_t errlen);
/*
 * The heartbeat fast path (yajl's callback parser, no tree): 1 when raw
 * is a heartbeat validate_heartbeat_raw() would accept and keep as it is
 * (the contract's fields once each, nothing else), with hb filled as that
 * would (its strings in *s, hb->json a copy of raw); 0 when it cannot
 * say so (an error, an extra field, any escape or non-ASCII byte): the
 * full validator then decides and words the error; -1 out of memory.
 */
struct hb_strings {
	char	 node_id[37];
	char	 hostname[HOSTNAME_MAX + 1];
	char	 os_profile[PROFILE_MAX + 1];
	char	 agent_version[VERSION_MAX + 1];
};
/* 1 when p has no escape, no byte past ASCII, no control but \t\n\r. */
int	 json_plain(const char *p, size_t n, size_t *quotes);
int	 validate_heartbeat_fast(const char *raw, size_t rawlen,
	    struct heartbeat *hb, struct hb_strings *s);
int	 validate_enroll(json_t *root, struct enroll_req *er, char *err,
	    size_t errlen);
int	 validate_hostname(const char *s);
int	 validate_profile(const char *s);

/* ---- store.c: all SQL ------------------------------------------------ */

struct store;

/* A node row as stored. Strings are malloc'd (node_rec_free). */
struct node_rec {
	char		 node_id[37];
	char		*hostname;
	char		*os_profile;
	char		*agent_version;
	enum node_status status;
	int		 has_token;
	unsigned char	 token_hash[TOKEN_HASH_LEN];
	int64_t		 enrolled_at;
	int64_t		 last_heartbeat_at;
	int64_t		 last_scan_at;
	char		*heartbeat;	/* JSON or NULL */
	int		 findings[FINDING_SEVERITIES];
	int		 hb_cloudflare;	/* enum cf_state of the heartbeat, -1 unknown */
	int		 hb_services_down; /* 0 or 1, -1 unknown */
	int		 has_key;	/* the agent sent an enroll key first */
	unsigned char	 key_hash[TOKEN_HASH_LEN];
	const char	*enroll_peer;	/* borrowed; store_node_insert only */
};

/* One heartbeat to persist. */
struct hb_write {
	char	 node_id[37];
	int64_t	 at;
	char	*json;
	char	*hostname;
	char	*agent_version;
	int	 cloudflare;	/* enum cf_state */
	int	 services_down;
	int64_t	 seq;		/* set by store_heartbeats: its number */
};

/* A heartbeat of the log as a start replays it (strings borrowed). */
struct hb_logged {
	int64_t		 seq;
	char		 node_id[37];
	int64_t		 at;
	const char	*hostname;
	const char	*agent_version;
	int		 cloudflare;	/* enum cf_state */
	int		 services_down;
};

/* A node whose latest heartbeat (number seq) a fold moves into nodes. */
struct hb_fold {
	char	 node_id[37];
	int64_t	 seq;
};

/* Opens (creating and migrating) the database: NULL with err on failure. */
struct store	*store_open(const char *path, char *err, size_t errlen);
void		 store_close(struct store *s);
/*
 * Calls fn for each stored node (rec is borrowed; rec->heartbeat is NULL
 * unless the row predates its hb_* facts); 0 or -1.
 */
int		 store_load_nodes(struct store *s,
		    int (*fn)(const struct node_rec *rec, void *arg), void *arg);
/*
 * Where the node enrolled from, into out ("" when unknown): 0, or -1.
 */
int		 store_node_enroll_peer(struct store *s, const char *node_id,
		    char *out, size_t outlen);
/* Inserts a new node: 0, or -1 (logged). */
int		 store_node_insert(struct store *s, const struct node_rec *rec);
/* Sets status and token (token_hash NULL clears it): 0 or -1. */
int		 store_node_set_status(struct store *s, const char *node_id,
		    enum node_status st, const unsigned char *token_hash);
/*
 * The node's stored heartbeat JSON into *json (malloc'd, NULL if none):
 * the log's heartbeat seq when seq > 0, else the one folded into nodes. 0,
 * -1 on error, 1 when heartbeat seq is no longer in the log (folded
 * meanwhile: ask the fleet where the latest is now).
 */
int		 store_node_heartbeat(struct store *s, const char *node_id,
		    int64_t seq, char **json);
/*
 * Appends heartbeats to the log (heartbeat_chunks) in one transaction,
 * numbering them (w[i].seq, growing): 0 or -1.
 */
int		 store_heartbeats(struct store *s, struct hb_write *w, size_t n);
/* Calls fn for each heartbeat in the log, oldest first: 0 or -1. */
int		 store_heartbeat_log(struct store *s,
		    int (*fn)(const struct hb_logged *l, void *arg), void *arg);
/*
 * In one transaction: copies each fold[i] (a node's latest heartbeat, in
 * the log) into nodes and drops the log's chunks that end by upto; *cut is
 * the last heartbeat dropped (0: none; a chunk that straddles upto stays,
 * all of it). 0 or -1.
 */
int		 store_fold(struct store *s, const struct hb_fold *fold,
		    size_t n, int64_t upto, int64_t *cut);
void		 node_rec_free(struct node_rec *r);
/* For tests: 1 while another thread uses the store's write connection. */
int		 store_writer_busy(struct store *s);

/* A command being queued: the store assigns seq, then calls sign(). */
struct cmd_new {
	char		 command_id[37];
	const char	*node_id;
	const char	*command;
	const char	*args;		/* compact JSON object */
	const char	*queued_by;
	int64_t		 queued_at;
	int64_t		 expires_at;
	int64_t		 seq;		/* set by the store */
	char		*payload;	/* set by sign(): base64 */
	char		*signature;	/* set by sign(): base64 */
};
typedef int (*sign_fn)(struct cmd_new *c, void *arg);

/* A signed command as it goes to the agent. */
struct cmd_wire {
	char	 command_id[37];
	char	*payload;
	char	*signature;
};

struct finding {
	const char	*id;
	const char	*severity;
	const char	*title;
	const char	*detail;
	const char	*remediation;	/* may be NULL */
};

struct cmd_result {
	const char		*node_id;
	const char		*command_id;
	const char		*status;
	int			 has_exit;
	long long		 exit_code;
	const char		*output;
	const char		*started_at;
	const char		*finished_at;
	const struct finding	*findings;
	size_t			 nfindings;
	int64_t			 now;
	/* Set by the store: the command was still queued (never delivered). */
	int			 was_queued;
	/* Set by the store for an "ok" sovereign-scan. */
	int			 is_scan;
	int			 counts[FINDING_SEVERITIES];
};

enum result_outcome {
	RESULT_STORED, RESULT_REPEAT, RESULT_UNKNOWN, RESULT_FORBIDDEN,
	RESULT_ERROR,
};

/* A row of the commands table; strings valid only inside the callback. */
struct cmd_row {
	const char	*command_id;
	int64_t		 seq;
	const char	*command;
	const char	*args;
	const char	*queued_by;
	int64_t		 queued_at;
	int64_t		 expires_at;
	const char	*status;
	int64_t		 delivered_at;
	const char	*started_at;
	const char	*finished_at;
	int		 has_exit;
	long long	 exit_code;
	const char	*output;
	int64_t		 result_at;
};

/*
 * Assigns the node's next seq, signs and inserts c in one transaction:
 * 0, -1 on error (nothing stored), -2 unknown node.
 */
int		 store_command_queue(struct store *s, struct cmd_new *c,
		    sign_fn sign, void *arg);
/* Marks up to max open commands of node_id delivered and returns them. */
int		 store_commands_deliver(struct store *s, const char *node_id,
		    int64_t now, size_t max, struct cmd_wire **out, size_t *n);
/*
 * Puts delivered commands back in the queue (the answer never left): how
 * many went back (a lease may have taken some already), or -1.
 */
int		 store_commands_undeliver(struct store *s,
		    const struct cmd_wire *w, size_t n);
void		 cmd_wire_free(struct cmd_wire *w, size_t n);
/* Stores a result exactly once (and a scan's findings). */
enum result_outcome store_command_result(struct store *s,
		    struct cmd_result *res);
/*
 * Marks queued commands past expiry "expired" (fn is called, outside the
 * store's lock, with each one's node) and delivered ones still without a
 * result grace seconds past expiry "timeout". Returns the expired count.
 */
int		 store_commands_expire(struct store *s, int64_t now,
		    int64_t grace, void (*fn)(const char *node_id, void *arg),
		    void *arg);
/*
 * Queues again every delivered command still without a result that was
 * delivered at or before `before` (its lease ran out; INT64_MAX at a
 * start: every one), calling fn (outside the store's lock) with each
 * one's node. Returns how many, or -1.
 */
int		 store_commands_release(struct store *s, int64_t before,
		    void (*fn)(const char *node_id, void *arg), void *arg);
/* Calls fn with each node's number of queued commands. */
int		 store_commands_pending(struct store *s,
		    void (*fn)(const char *node_id, int n, void *arg), void *arg);
/* Which of a node's commands a history page shows. */
struct cmd_filter {
	int64_t		 before;	/* seq below this (0: from the newest) */
	const char	*status;	/* NULL: any */
	const char	*command;	/* NULL: any */
};

/* The node's commands that flt lets through (NULL: all), newest first. */
int		 store_commands_list(struct store *s, const char *node_id,
		    const struct cmd_filter *flt, int limit,
		    int (*fn)(const struct cmd_row *row, void *arg), void *arg);
/* One operator action: who, when, from where, what, result. */
struct audit_rec {
	int64_t		 at;
	const char	*who;
	const char	*peer;
	const char	*action;	/* queue, approve, revoke, policy_reload */
	const char	*target;	/* node id, or the policy path */
	const char	*detail;
	const char	*result;	/* "ok" or the error code */
};

int		 store_audit_add(struct store *s, const struct audit_rec *a);
/* 0 when the store answers a trivial query (its lock is not stuck). */
int		 store_ping(struct store *s);
/* Which audit entries a page shows. */
struct audit_filter {
	int64_t		 before;	/* id below this (0: from the newest) */
	const char	*action;	/* NULL: any */
	const char	*target;	/* NULL: any (a node id, say) */
};

/* The entries flt lets through (NULL: all), newest first. */
int		 store_audit_list(struct store *s, const struct audit_filter *flt,
		    int limit,
		    int (*fn)(int64_t id, const struct audit_rec *a, void *arg),
		    void *arg);

struct scan_row {
	const char	*command_id;
	int64_t		 scanned_at;
	int		 counts[FINDING_SEVERITIES];
};

/* The node's scans, newest first. */
int		 store_scans_list(struct store *s, const char *node_id,
		    int limit, int (*fn)(const struct scan_row *row, void *arg),
		    void *arg);
/* Calls fn for each (command, status) with its count. */
int		 store_command_counts(struct store *s, int (*fn)(const char *command,
		    const char *status, int n, void *arg), void *arg);
/* How many of the node's commands named command are queued or delivered. */
int		 store_command_open(struct store *s, const char *node_id,
		    const char *command);
/* A scan's findings, most severe first. */
int		 store_findings(struct store *s, const char *command_id,
		    int (*fn)(const struct finding *f, void *arg), void *arg);

/* ---- policy.c: which commands each OS profile may run -------------- */

/* Checks a policy document (label names it in err): 0, or -1 with why. */
int		 policy_check_text(const char *label, const char *text,
		    size_t len, char *err, size_t errlen);
/* Loads the policy (path NULL: built-in): 0, or -1 with "file:line: why". */
int		 policy_init(const char *path, char *err, size_t errlen);
/* Reloads the same file; on failure the old policy stays: -1 with err. */
int		 policy_reload(char *err, size_t errlen);
void		 policy_shutdown(void);
/* Bit i set when cmd_catalog[i] is allowed for profile. */
unsigned	 policy_allowed(const char *profile);
int		 policy_allows(const char *profile, const char *command);

/* ---- fleet.c: the nodes in memory, write-behind of heartbeats -------- */

struct fleet;

/* A copy of what views need of one node. */
struct node_view {
	char		 node_id[37];
	char		 hostname[HOSTNAME_MAX + 1];
	char		 os_profile[PROFILE_MAX + 1];
	char		 agent_version[VERSION_MAX + 1];
	enum node_status status;
	int64_t		 enrolled_at;
	int64_t		 last_heartbeat_at;
	int64_t		 last_scan_at;
	int		 findings[FINDING_SEVERITIES];
	int		 pending;	/* queued commands */
	unsigned	 reasons;
	enum level	 level;
	double		 load1;		/* of the latest heartbeat since start; NAN */
	double		 mem_used_pct;	/* the same */
};

enum enroll_outcome {
	ENROLL_APPROVED,	/* token issued */
	ENROLL_PENDING,
	ENROLL_CONFLICT,	/* already has a token */
	ENROLL_REVOKED,
	ENROLL_KEY_MISMATCH,	/* not the enroll key the node first came with */
	ENROLL_DELETED,		/* an operator deleted or rejected this id */
	ENROLL_PENDING_FULL,	/* VAULTMESH_MAX_PENDING_NODES reached */
	ENROLL_THROTTLED,	/* new pending nodes come too fast */
	ENROLL_FAILED,		/* store error */
};

enum auth_result { AUTH_OK, AUTH_UNAUTHORIZED, AUTH_FORBIDDEN };

struct fleet	*fleet_open(struct store *st, const struct thresholds *t,
		    char *err, size_t errlen);
/* Flushes pending heartbeats and frees everything. */
void		 fleet_close(struct fleet *f);
/*
 * Enrolls er; secret_ok says whether the enroll secret matched. On
 * ENROLL_APPROVED the new token (NUL-terminated) is in token[64].
 */
enum enroll_outcome fleet_enroll(struct fleet *f, const struct enroll_req *er,
		    int secret_ok, char token[64]);
/*
 * Bounds enrollment without the secret: at most max_pending pending nodes,
 * new ones at per_minute (a minute's worth at once).
 */
void		 fleet_set_limits(struct fleet *f, size_t max_pending,
		    double per_minute);
/* Pending nodes now (*max: the cap, when not NULL). */
size_t		 fleet_pending_nodes(struct fleet *f, size_t *max);
/*
 * Deletes a node (only_pending: rejects a pending one): its token stops
 * working before this returns, it leaves every view, its rows stay. 0,
 * -1 store error, -2 unknown (or deleted), -3 not pending.
 */
int		 fleet_delete(struct fleet *f, const char *node_id,
		    int only_pending);
/* How many node rows (new, status, token) are committing now (for tests). */
size_t		 fleet_settling(struct fleet *f);
/* 1 if token is the live token of some approved node; th its hash. */
int		 fleet_token_known(struct fleet *f, const char *token,
		    unsigned char th[TOKEN_HASH_LEN]);
/*
 * The hostname of node_id (deleted nodes too) into out: 0, or -1 when no
 * node has that id.
 */
int		 fleet_hostname(struct fleet *f, const char *node_id, char *out,
		    size_t outlen);
/* 1 if node_id is an approved node. */
int		 fleet_approved(struct fleet *f, const char *node_id);
/* Checks a bearer token against node_id, in constant time. */
enum auth_result fleet_auth(struct fleet *f, const char *node_id,
		    const char *token);
/* The same with the token's hash (from fleet_token_known()). */
enum auth_result fleet_auth_hash(struct fleet *f, const char *node_id,
		    const unsigned char th[TOKEN_HASH_LEN]);
/* Records a heartbeat (takes hb->json); returns -1 if unknown node. */
int		 fleet_heartbeat(struct fleet *f, struct heartbeat *hb);
/*
 * The same from the holder of the token whose hash is th, under one take
 * of the lock: AUTH_OK when the token is hb->node_id's (recorded unless
 * *failed, out of memory; *pending: the node's queued commands), else
 * fleet_auth()'s answer and nothing recorded.
 */
enum auth_result fleet_heartbeat_auth(struct fleet *f, struct heartbeat *hb,
		    const unsigned char th[TOKEN_HASH_LEN], int *pending,
		    int *failed);
/* Operator actions: 0, -1 store error, -2 unknown node. */
int		 fleet_set_status(struct fleet *f, const char *node_id,
		    enum node_status st);
/*
 * Copies one node's view and, when heartbeat is not NULL, its latest
 * heartbeat JSON (malloc'd; NULL when it has none): -1 unknown node.
 */
int		 fleet_get(struct fleet *f, const char *node_id, int64_t now,
		    struct node_view *v, char **heartbeat);
/*
 * Snapshot of all nodes (malloc'd array, *n entries), each with attention
 * computed at now. Heartbeats are copied when want_hb (array of n strings).
 */
struct node_view *fleet_list(struct fleet *f, int64_t now, size_t *n,
		    char ***heartbeats);
/*
 * The same for at most max nodes from the start-th on (nodes keep their
 * place: they are never removed), so big lists are copied in batches.
 */
struct node_view *fleet_list_range(struct fleet *f, int64_t now, size_t start,
		    size_t max, size_t *n, char ***heartbeats);
/* What a page of the dashboard's table is a part of. */
struct fleet_counts {
	size_t		 total;		/* nodes in the fleet (not deleted) */
	size_t		 by_level[3];	/* enum level, revoked nodes apart */
	size_t		 revoked;
	size_t		 matched;	/* nodes the filter lets through */
};
/* fleet_page()'s level for the revoked nodes alone. */
#define FLEET_REVOKED	3
/*
 * One page of the dashboard's table: the views of the nodes at level (-1:
 * any, FLEET_REVOKED: the revoked ones) whose hostname, id or profile
 * contains q (NULL or "": all), from the first-th match on, at most max,
 * in the dashboard's order (red first, then by hostname and id; revoked
 * nodes after the green ones, counted by no level). The order and the
 * counts are kept as nodes change, so without q this costs the page, not
 * the fleet.
 */
struct node_view *fleet_page(struct fleet *f, int64_t now, int level,
		    const char *q, size_t first, size_t max, size_t *n,
		    struct fleet_counts *c);
/*
 * Adds delta to the node's queued-command count: the new count (below
 * zero for a moment when a decrement overtakes its increment), or -1.
 * Each delta is one transition of the store (queued, delivered, put back,
 * released, expired, answered), so the sum stays the store's count.
 */
int		 fleet_pending_add(struct fleet *f, const char *node_id,
		    int delta);
/* Records a stored scan's time and severity counts. */
void		 fleet_scan(struct fleet *f, const char *node_id, int64_t at,
		    const int counts[FINDING_SEVERITIES]);
/* Counts over the whole fleet, without copying it. */
struct fleet_summary {
	size_t		 by_status[3];	/* enum node_status */
	size_t		 by_level[3];	/* enum level */
	size_t		 never_scanned;	/* approved ones */
	int64_t		 scan_age_max;
};
void		 fleet_summarize(struct fleet *f, int64_t now,
		    struct fleet_summary *out);
/* Rounds of the writer thread so far (it must keep turning). */
uint64_t	 fleet_writer_rounds(struct fleet *f);
/* How many nodes the fleet holds. */
size_t		 fleet_size(struct fleet *f);
/*
 * Writes dirty heartbeats to the store now (the writer does it every 200
 * ms), then folds the heartbeat log into nodes if it is past its limit.
 */
void		 fleet_flush(struct fleet *f);
/* Folds the whole heartbeat log into nodes (a clean stop does it too). */
void		 fleet_fold_all(struct fleet *f);

/* ---- http.c: the libmicrohttpd boundary ---------------------------- */

struct req;
struct server;

typedef void (*handler_fn)(struct req *r);

/*
 * A gate runs when a request's headers have arrived, before any of its
 * body is read: 0 lets it in, -1 when it has answered (401, 403, ...), so
 * a refused stranger never has a body held for it.
 */
typedef int (*gate_fn)(struct req *r);

/* Route flags: which listener serves the route. */
#define ROUTE_AGENT	0x1	/* node-token routes: on the agent listener too */
#define ROUTE_OPERATOR	0x2	/* operator routes: the main listener only */
#define ROUTE_HEALTH	0x4	/* /healthz: on every listener */

struct route {
	const char	*method;
	const char	*pattern;	/* "*" matches one path segment */
	size_t		 body_max;
	handler_fn	 handler;
	unsigned	 flags;
	gate_fn		 gate;		/* NULL: anyone */
};

/* One listening socket and what it serves. */
struct listen_opts {
	const char	*host;		/* numeric address */
	unsigned short	 port;		/* 0: any free port */
	int		 activation;	/* take the socket systemd passes, if any */
	unsigned	 serve;		/* ROUTE_* flags served; 0: every route */
	long		 max_connections;
	long		 threads;	/* 0: one per core */
	const char	*name;		/* for logs: "main", "agent" */
};

/*
 * Starts a listener with the route table: NULL with err on failure.
 * Every listener shares one budget of body bytes held at once (set by
 * http_set_body_budget()); past it a request is answered 503 with
 * Retry-After before its body is read.
 */
struct server	*server_start(const struct listen_opts *lo,
		    const struct route *table, char *err, size_t errlen);
/*
 * The same in two steps: server_listen() binds (so a bad address stops
 * the program before it creates anything), server_run() serves.
 */
struct server	*server_listen(const struct listen_opts *lo,
		    const struct route *table, char *err, size_t errlen);
int		 server_run(struct server *s, char *err, size_t errlen);
void		 http_set_body_budget(size_t bytes);
/* Body bytes reserved by requests now (for /metrics and tests). */
size_t		 http_body_held(void);
/* Connections cut for being slow (headers or body), and evicted. */
uint64_t	 http_slow_cut(void);
uint64_t	 http_evicted(void);
unsigned short	 server_port(const struct server *s);
const char	*server_host(const struct server *s);
void		 server_stop(struct server *s);
/* After every listener stopped: drops the answers they shared. */
void		 http_shutdown(void);

const char	*req_method(const struct req *r);
const char	*req_path(const struct req *r);
/* The path segment the route's "*" matched (first one), or NULL. */
const char	*req_param(const struct req *r);
const char	*req_header(struct req *r, const char *name);
const char	*req_query(struct req *r, const char *name);
/* A field of a urlencoded form body, or NULL. */
const char	*req_form(struct req *r, const char *name);
int		 req_is_form(const struct req *r);
/* 1 if the client asked for JSON (JSON body or Accept: application/json). */
int		 req_wants_json(struct req *r);
struct bytes	 req_body(const struct req *r);
const char	*req_peer(struct req *r);
const char	*req_cookie(struct req *r, const char *name);
/* The verified operator identity (Cloudflare Access), or NULL. */
const char	*req_who(const struct req *r);
void		 req_set_who(struct req *r, const char *who);
/*
 * Renders an error as a page for a browser (resp_error() calls it for
 * a client that asks for text/html; everyone else gets JSON).
 */
typedef void (*error_page_fn)(struct req *r, struct buf *b, unsigned status,
    const char *code, const char *msg);
void		 req_set_error_page(struct req *r, error_page_fn fn);
/* What a gate proved (a token's hash): at most 32 bytes, or NULL. */
void		 req_set_auth(struct req *r, const unsigned char *p, size_t n);
const unsigned char *req_auth(const struct req *r);

/*
 * Long polls. req_suspend() parks the request without an answer (call it
 * from the handler, with the lock that req_resume() callers take held, so
 * no wake-up is lost); after req_resume() (any thread) the handler runs
 * again, req_resumes() telling how often. req_on_done() registers a
 * function called once when the request ends, ok when the whole answer
 * was handed to the socket.
 */
void		 req_suspend(struct req *r);
void		 req_resume(struct req *r);
/* 1 if the client of a suspended request has hung up. */
int		 req_peer_gone(struct req *r);
unsigned	 req_resumes(const struct req *r);
void		 req_on_done(struct req *r, void (*done)(struct req *, void *,
		    int ok), void *arg);
void		*req_done_arg(const struct req *r);

/* Each queues the one answer of a request; body bufs are consumed. */
void		 resp_json(struct req *r, unsigned status, struct buf *body);
/*
 * A 200 JSON answer whose body is a string constant (it outlives every
 * request): the response is built once, with its headers, and shared by
 * every request that gives the same constant (at most 16 of them).
 */
void		 resp_json_const(struct req *r, const char *body);
void		 resp_html(struct req *r, unsigned status, struct buf *body);
void		 resp_error(struct req *r, unsigned status, const char *code,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void		 resp_redirect(struct req *r, const char *location);
/* 200 with HX-Redirect: htmx loads location as a whole page. */
void		 resp_hx_redirect(struct req *r, const char *location);
/*
 * A static asset compiled into the program (data outlives every request),
 * cached for a year: serve it at a path that changes with its content.
 */
void		 resp_static(struct req *r, const char *ctype, const void *data,
		    size_t len, const char *encoding);
/*
 * A streamed answer (chunked): fn appends the next part to out and returns
 * 1 when more follows, 0 for the last part, -1 on failure (the connection
 * is then cut). free_arg(arg) runs when the answer is over, sent or not.
 */
#define STREAM_PART_MAX (4u << 20)
typedef int (*stream_fn)(void *arg, struct buf *out);
void		 resp_stream(struct req *r, unsigned status, const char *ctype,
		    stream_fn fn, void *arg, void (*free_arg)(void *));
/* Prometheus text exposition. */
void		 resp_metrics(struct req *r, struct buf *body);
/* Static stylesheet, cacheable. */
void		 resp_css(struct req *r, struct buf *body);

/* ---- dispatch.c: long polls ---------------------------------------- */

struct waiter;

/* Starts the timer thread; at most max_waiting polls park at once. */
int		 dispatch_start(size_t max_waiting);
/* Resumes every waiting poll and stops the timer. */
void		 dispatch_shutdown(void);
struct waiter	*dispatch_waiter_new(struct req *r, const char *node_id,
		    int64_t deadline_ms);
/*
 * Parks the request unless has_work(node_id), the deadline passed, too many
 * wait or we are stopping: 1 parked (suspended), 0 answer now.
 */
int		 dispatch_park(struct waiter *w,
		    int (*has_work)(const char *node_id));
/* Resumes every poll of node_id. */
void		 dispatch_wake(const char *node_id);
/* Takes w out of its bucket (if there) and frees it. */
void		 dispatch_waiter_free(struct waiter *w);
size_t		 dispatch_waiting(void);
/* Rounds of the timer thread so far (it must keep turning). */
uint64_t	 dispatch_timer_rounds(void);
/* 1 when a newer poll of w's node ended w (it answers empty). */
int		 dispatch_superseded(const struct waiter *w);
/* When a queued command woke w (monotonic µs), or 0. */
int64_t		 dispatch_woken_us(const struct waiter *w);

/* ---- scheduler.c: keeps scans fresh --------------------------------- */

enum sched_decision {
	SCHED_DUE,		/* queue a scan */
	SCHED_NOT_DUE,		/* scanned recently */
	SCHED_FORBIDDEN,	/* the profile's policy forbids scans */
	SCHED_PENDING,		/* a scan is already queued or delivered */
	SCHED_NOT_APPROVED,	/* pending or revoked node */
};

/* The decision for one node, from facts only (testable with any clock). */
enum sched_decision scheduler_decide(enum node_status st, int64_t last_scan_at,
		    int policy_allows_scan, int scan_open, int64_t now,
		    int64_t interval_secs);
const char	*sched_decision_name(enum sched_decision d);
/* Scans queued per tick at most (at least SCHED_MIN_BUDGET). */
#define SCHED_MIN_BUDGET 100
size_t		 scheduler_budget(size_t nodes, int64_t tick_secs,
		    int64_t interval_secs);
/* One tick over the fleet: queues the scans that are due. */
void		 scheduler_tick(int64_t now);

/* ---- metrics.c: Prometheus text format ------------------------------ */

enum metric_counter {
	M_HEARTBEATS, M_HEARTBEATS_REFUSED,
	M_ENROLL_APPROVED, M_ENROLL_PENDING, M_ENROLL_CONFLICT,
	M_ENROLL_REVOKED, M_ENROLL_KEY_MISMATCH, M_ENROLL_FAILED,
	M_ENROLL_BAD_SECRET, M_ENROLL_DELETED, M_ENROLL_LIMITED,
	M_COUNTERS
};

void		 metrics_inc(enum metric_counter c);
void		 metrics_dispatch_delay(int64_t us);
void		 metrics_store_write(int64_t us);
/* Renders every metric into b: 0, or -1 when b failed. */
int		 metrics_render(struct buf *b, int64_t now);

/* ---- routes.c, agent_api.c, operator.c, html.c --------------------- */

struct app {
	struct config		 cfg;
	struct store		*store;
	struct fleet		*fleet;
	struct thresholds	 thr;
	/* Of each enroll secret: any of them approves a node at once. */
	unsigned char		 secret_hash[ENROLL_SECRETS_MAX][32];
	size_t			 nsecrets;
	int			 have_secret;
	unsigned char		 sk[64];		/* Ed25519 signing key */
	unsigned char		 pk[32];
	char			 pk_b64[64];
	struct access		*access;	/* NULL: Access not configured */
};

extern struct app app;
extern const struct route routes[];

/* agent_api.c */
json_t	*parse_body(struct req *r);
/* The agent routes' gate: 401 unless the bearer token is a live one. */
int	 agent_gate(struct req *r);
int	 heartbeat_gate(struct req *r);
int	 agent_token_known(struct req *r, unsigned char th[TOKEN_HASH_LEN]);
int	 agent_auth(struct req *r, const char *node_id,
	    const unsigned char th[TOKEN_HASH_LEN]);
void	 h_enroll(struct req *r);
void	 h_heartbeat(struct req *r);
void	 h_nodes_json(struct req *r);
void	 h_dashboard(struct req *r);
void	 h_node_page(struct req *r);
void	 h_node_approve(struct req *r);
void	 h_node_revoke(struct req *r);
void	 h_node_reject(struct req *r);
void	 h_node_delete(struct req *r);
/* GET /nodes/<id>/{revoke,reject,delete}: the page that asks first. */
void	 h_node_confirm(struct req *r);
void	 h_healthz(struct req *r);
void	 h_metrics(struct req *r);
/* operator.c */
/*
 * The operator routes' gate: 421 for a Host that is not this CC's, 403
 * without a valid Access JWT when Access is configured (its identity is
 * recorded), 403 for a cross-site state change: 0 to go on, -1 answered.
 */
int	 operator_gate(struct req *r);
/* The Host check alone (see operator_gate): 0, or -1 answered 421. */
int	 host_gate(struct req *r);
const char *node_id_param(struct req *r);
const char *operator_of(struct req *r);
/* Records an operator action of r in the audit log (and the log). */
void	 audit(struct req *r, const char *action, const char *target,
	    const char *detail, const char *result);
void	 h_audit(struct req *r);
/* Answers the node page (status, with error shown when not NULL). */
void	 node_page(struct req *r, const char *node_id, unsigned status,
	    const char *error);
/*
 * The same after the command form for command was refused (error): the
 * refusal next to that form, with what the operator typed in it.
 */
void	 node_page_refused(struct req *r, const char *node_id, unsigned status,
	    const char *error, const char *command);
/* commands.c */
/*
 * Signs, stores and dispatches one command (checked by the caller):
 * 0 with c->command_id and c->seq set, -1 store error, -2 unknown node.
 */
int	 command_queue(struct cmd_new *c, json_t *args);
void	 h_queue_command(struct req *r);
/*
 * Validates a command result body (root borrowed; res's strings point into
 * it, or into out when the output was cut): 0, or -1 with the field and
 * why in err. *f is malloc'd findings (free it).
 */
int	 result_parse(json_t *root, struct cmd_result *res, struct finding **f,
	    struct buf *out, char *err, size_t errlen);
void	 h_agent_commands(struct req *r);
void	 h_command_result(struct req *r);
void	 h_node_commands_json(struct req *r);
/* GET /nodes/<id>/history: the command history page (filters, paging). */
void	 h_node_history(struct req *r);
void	 h_static_css(struct req *r);

/* html.c: pages and fragments into b (see html_dash, html_node below). */
#define NODE_COMMANDS_SHOWN 50	/* on the node page; older ones: history */
#define SPARK_MIN	3	/* samples a sparkline needs to draw a line */
#define DASH_PAGE_ROWS 100

struct dash_filter {
	int		 level;	/* enum level, or -1 for all */
	const char	*q;	/* substring of hostname, id or profile */
	int		 page;	/* from 1 */
};

/* One row of a node's command history. */
void	 html_command_row(struct buf *b, const struct cmd_row *c, int64_t now);
/* Renders f under a heading per severity; group[16] tracks the current one. */
void	 html_finding(struct buf *b, const struct finding *f, char group[16]);
void	 html_audit_begin(struct buf *b, const struct audit_filter *flt);
/* hostname: the target node's, shown beside its id (NULL: none). */
void	 html_audit_row(struct buf *b, int64_t id, const struct audit_rec *a,
	    const char *hostname);
void	 html_audit_end(struct buf *b, int n, int64_t older,
	    const struct audit_filter *flt);
/* json rendering of one node (operator views). */
int	 json_node(struct buf *b, const struct node_view *v, const char *hb_json);

/* keys.c: the command-signing key. */
/* name: what pointed at path ("VAULTMESH_CC_KEY_PATH"), for errors. */
int	 keys_load(const char *name, const char *path, unsigned char sk[64],
	    unsigned char pk[32], char *err, size_t errlen);

/* ---- live pages and pictures (issue 7): history.c, store.c, html.c -- */

#define FLEET_SAMPLE_KEEP	(30 * 86400)	/* fleet history kept */
#define HB_SAMPLE_SECS		300	/* at most one load sample per node per 5 min */
/* The sampling interval for a fleet of nodes (HB_SAMPLE_SECS or more). */
int64_t		 hb_sample_secs(size_t nodes);
#define HB_SAMPLE_KEEP		86400	/* load samples kept */

/* Nodes per attention level at one time. */
struct fleet_sample {
	int64_t		 at;
	int		 count[3];	/* enum level */
};

/* One node's load and memory at one time; NAN when the agent sent none. */
struct hb_sample {
	char		 node_id[37];
	int64_t		 at;
	double		 load1;
	double		 mem_used_pct;
};

/* store.c: adds one fleet sample and drops those older than keep_after. */
int		 store_fleet_sample(struct store *s, const struct fleet_sample *fs,
		    int64_t keep_after);
/* Fleet samples since `since`, the newest of each step-second bucket, oldest first. */
int		 store_fleet_history(struct store *s, int64_t since, int64_t step,
		    int (*fn)(const struct fleet_sample *fs, void *arg), void *arg);
/*
 * Adds n load samples in one transaction and drops at most prune_max
 * samples older than keep_after: 0 or -1 (nothing added).
 */
int		 store_hb_samples_add(struct store *s, const struct hb_sample *w,
		    size_t n, int64_t keep_after, size_t prune_max);
/* The node's load samples since `since`, oldest first. */
int		 store_hb_history(struct store *s, const char *node_id,
		    int64_t since, int (*fn)(const struct hb_sample *hs, void *arg),
		    void *arg);

/*
 * history.c: called by every scheduler tick. Records the fleet's nodes per
 * attention level, and (at most every HB_SAMPLE_SECS) each node's load and
 * memory from its latest heartbeat, in batches.
 */
void		 history_sample(int64_t now);

/* html.c: pictures, as inline SVG (no script, no style attribute). */
/* A scan's severity counts, copied out of the store's row. */
struct scan_point {
	char		 command_id[37];
	int64_t		 scanned_at;
	int		 counts[FINDING_SEVERITIES];
};

/* Stacked areas of nodes per level over [since, now]; s oldest first. */
void		 svg_fleet_history(struct buf *b, const struct fleet_sample *s,
		    size_t n, int64_t since, int64_t now);
/*
 * A sparkline of y over [since, now] scaled to [0, ymax]; title (escaped)
 * names it for screen readers. NAN values are skipped.
 */
void		 svg_sparkline(struct buf *b, const char *title, const int64_t *t,
		    const double *y, size_t n, int64_t since, int64_t now,
		    double ymax);
/* Stacked bars of findings per severity, one per scan, s oldest first. */
void		 svg_scan_bars(struct buf *b, const char *title,
		    const struct scan_point *s, size_t n, int64_t now);

/* Which part of a page to render. */
enum page_part {
	PART_PAGE,	/* the whole page */
	PART_LIVE,	/* the polled sections, each swapped out of band */
	PART_ALL,	/* every section, after a form or filter (htmx) */
};

/* Everything the dashboard shows. */
struct dash_view {
	const struct node_view		*v;	/* the page's rows, in order */
	size_t				 n;
	struct fleet_counts		 c;
	int64_t				 now;
	const struct dash_filter	*f;
	const char			*range;	/* "1d", "7d" or "30d" */
	int64_t				 range_secs;
	const struct fleet_sample	*hist;	/* oldest first */
	size_t				 nhist;
};

/* Everything the node page shows; the lists are rendered by the caller. */
struct node_parts {
	const struct node_view	*v;
	const char		*hb_json;	/* may be NULL */
	int64_t			 now;
	const char		*error;		/* refused form, or NULL */
	unsigned		 allowed;	/* policy_allowed() */
	const struct scan_point	*scans;		/* oldest first */
	size_t			 nscans;
	const struct hb_sample	*samples;	/* oldest first */
	size_t			 nsamples;
	const char		*findings;	/* html_finding()s, closed */
	const char		*commands;	/* html_command_row()s */
	int			 any_commands;
	const char		*enroll_peer;	/* where it enrolled from, or "" */
	/* A refused command form: shown at that form, what was typed kept. */
	const char		*refused_cmd;
	const char		*typed_unit;
	const char		*typed_lines;
};

int		 html_dash(struct buf *b, struct dash_view *d, enum page_part part);
int		 html_node(struct buf *b, const struct node_parts *p,
		    enum page_part part);
/* The page that asks before action ("revoke", "reject", "delete"). */
int		 html_confirm(struct buf *b, const struct node_view *v,
		    const char *action);
/*
 * The command history page of v: rows (html_command_row()s, n of them),
 * filtered by flt, the older page from before seq older (0: none).
 */
int		 html_history(struct buf *b, const struct node_view *v,
		    const struct cmd_filter *flt, const char *rows, int n,
		    int64_t older, const char *const *statuses);
/* An error page: what went wrong, and a link back (href, label). */
int		 html_error(struct buf *b, unsigned status, const char *code,
		    const char *msg, const char *back, const char *back_label);
/* The versioned paths of the stylesheet and of htmx ("/static/..."). */
const char	*static_css_path(void);
const char	*static_htmx_path(void);
/* GET /static/<file>: the stylesheet and htmx at their versioned names. */
void		 h_static(struct req *r);

#endif
