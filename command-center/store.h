/*
 * store: everything the command center keeps, behind one interface; SQL
 * only in store.c.
 */
#ifndef VM_CC_STORE_H
#define VM_CC_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

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

/*
 * Calls fn with the time of each write the store commits (for /metrics;
 * set before the store is shared).
 */
void		 store_on_write(struct store *s, void (*fn)(int64_t us));
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

/* Fleet history and load samples (the pictures). */
#define FLEET_SAMPLE_KEEP	(30 * 86400)	/* fleet history kept */
#define HB_SAMPLE_SECS		300	/* at most one load sample per node per 5 min */
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

#endif
