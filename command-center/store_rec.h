/*
 * store_rec: what the store keeps and hands out, and the callbacks it
 * calls: the records every backend and every caller share, without the
 * store's functions (store.h) or a backend's insides (store_backend.h).
 */
#ifndef VM_CC_STORE_REC_H
#define VM_CC_STORE_REC_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

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
	char		*heartbeat; /* JSON or NULL */
	int		 findings[FINDING_SEVERITIES];
	int hb_cloudflare;    /* enum cf_state of the heartbeat, -1 unknown */
	int hb_services_down; /* 0 or 1, -1 unknown */
	int has_key;	      /* the agent sent an enroll key first */
	unsigned char key_hash[TOKEN_HASH_LEN];
	const char   *enroll_peer; /* borrowed; store_node_insert only */
	char	     *labels; /* compact JSON object, keys sorted; NULL: none */
	char pinned_key_id[33]; /* the signing key it last confirmed; "" */
};

/* One heartbeat to persist. */
struct hb_write {
	char	node_id[37];
	int64_t at;
	char   *json;
	char   *hostname;
	char   *agent_version;
	int	cloudflare; /* enum cf_state */
	int	services_down;
	int64_t seq; /* set by store_heartbeats: its number */
	/*
	 * The node's attention after it (a shared store keeps it beside the
	 * row for its views) and the facts besides the heartbeat's it was
	 * computed from: a row whose scan facts differ has it computed again.
	 */
	enum level level;
	unsigned   reasons;
	int64_t	   due; /* attention_due() */
	int64_t	   scan_at;
	int	   critical, high;
};

/*
 * A node as a shared store's views read it (store_view_page()): the row
 * (token and key hashes left out, heartbeat only when asked for) with the
 * attention kept beside it and its number of queued commands.
 */
struct node_row {
	struct node_rec r;
	enum level	level;
	unsigned	reasons;
	int		pending;
};

/* The dashboard's counts as a shared store's views give them. */
struct store_view_counts {
	int64_t total;	     /* nodes not deleted */
	int64_t by_level[3]; /* enum level, revoked nodes apart */
	int64_t revoked;
	int64_t matched; /* at the level asked for, containing q */
};

/* What store_view_page() reads: a stretch of the dashboard's order. */
struct store_view_q {
	int	    level; /* -1 any, enum level, or 3: the revoked nodes */
	const char *q;	   /* in hostname, id or profile (ASCII case); NULL */
	/* After this node in the order (keyset), unless NULL. */
	const struct node_row *after;
	int64_t		       offset, limit;
};

/* A heartbeat of the log as a start replays it (strings borrowed). */
struct hb_logged {
	int64_t	    seq;
	char	    node_id[37];
	int64_t	    at;
	const char *hostname;
	const char *agent_version;
	int	    cloudflare; /* enum cf_state */
	int	    services_down;
};

/* A node whose latest heartbeat (number seq) a fold moves into nodes. */
struct hb_fold {
	char	node_id[37];
	int64_t seq;
};

/*
 * The callbacks the store calls, one type each. A row's strings are
 * borrowed: valid only inside the call. A callback that returns -1 stops
 * the walk (the function then returns -1).
 */
typedef int (*store_node_fn)(const struct node_rec *rec, void *arg);
typedef int (*store_view_fn)(const struct node_row *row, void *arg);
typedef int (*store_hb_logged_fn)(const struct hb_logged *l, void *arg);
typedef void (*store_node_id_fn)(const char *node_id, void *arg);
typedef void (*store_pending_fn)(const char *node_id, int n, void *arg);
/* What another replica changed (store_replica_listen()). */
enum store_note {
	STORE_NOTE_QUEUED, /* node_id's queued commands changed by delta */
	STORE_NOTE_NODE,   /* some node's status or token changed */
};
typedef void (*store_note_fn)(enum store_note what, const char *node_id,
    int delta, int64_t lag_us, void *arg); /* lag: since the change, or -1 */

/*
 * Opens the store at `where` (today a SQLite file; created and migrated):
 * NULL with err on failure.
 */
struct store *store_open(const char *where, char *err, size_t errlen);
void	      node_rec_free(struct node_rec *r);

/* A command being queued: the store assigns seq, then calls sign(). */
struct cmd_new {
	char	    command_id[37];
	const char *node_id;
	const char *command;
	const char *args; /* compact JSON object */
	const char *queued_by;
	const char *job_id; /* the job it is part of; NULL: none */
	int64_t	    queued_at;
	int64_t	    expires_at;
	int64_t	    seq; /* set by the store (0: its node is gone) */
	/* Stored as delivered (handed to a poll); the store clears it when
	 * an older command of the node is still queued or out. */
	int   delivered;
	char *payload;	 /* set by sign(): base64 */
	char *signature; /* set by sign(): base64 */
};
typedef int (*sign_fn)(struct cmd_new *c, void *arg);

/* A signed command as it goes to the agent. */
struct cmd_wire {
	char  command_id[37];
	char *payload;
	char *signature;
};

struct finding {
	const char *id;
	const char *severity;
	const char *title;
	const char *detail;
	const char *remediation; /* may be NULL */
};

struct cmd_result {
	const char *node_id;
	const char *command_id;
	const char *status;
	int	    has_exit;
	long long   exit_code;
	const char *output;
	int64_t	    output_hash; /* of output (a job's answers grouped) */
	const char *started_at;
	const char *finished_at;
	const struct finding *findings;
	size_t		      nfindings;
	int64_t		      now;
	/* Set by the store: the command was still queued (never delivered). */
	int was_queued;
	/* Set by the store for an "ok" sovereign-scan. */
	int is_scan;
	int counts[FINDING_SEVERITIES];
};

enum result_outcome {
	RESULT_STORED,
	RESULT_REPEAT,
	RESULT_UNKNOWN,
	RESULT_FORBIDDEN,
	RESULT_ERROR,
};

/* A row of the commands table; strings valid only inside the callback. */
struct cmd_row {
	const char *command_id;
	int64_t	    seq;
	const char *command;
	const char *args;
	const char *queued_by;
	int64_t	    queued_at;
	int64_t	    expires_at;
	const char *status;
	int64_t	    delivered_at;
	const char *started_at;
	const char *finished_at;
	int	    has_exit;
	long long   exit_code;
	const char *output;
	int64_t	    result_at;
};
typedef int (*store_cmd_row_fn)(const struct cmd_row *row, void *arg);
typedef int (*store_finding_fn)(const struct finding *f, void *arg);
typedef int (
    *store_count_fn)(const char *command, const char *status, int n, void *arg);
void cmd_wire_free(struct cmd_wire *w, size_t n);
/* Which of a node's commands a history page shows. */
struct cmd_filter {
	int64_t	    before;  /* seq below this (0: from the newest) */
	const char *status;  /* NULL: any */
	const char *command; /* NULL: any */
};
/* One operator action: who, when, from where, what, result. */
struct audit_rec {
	int64_t	    at;
	const char *who;
	const char *peer;
	const char *action; /* queue, approve, revoke, policy_reload */
	const char *target; /* node id, or the policy path */
	const char *detail;
	const char *result; /* "ok" or the error code */
};
typedef int (*store_audit_fn)(int64_t id, const struct audit_rec *a, void *arg);
/* Which audit entries a page shows. */
struct audit_filter {
	int64_t	    before; /* id below this (0: from the newest) */
	const char *action; /* NULL: any */
	const char *target; /* NULL: any (a node id, say) */
};

struct scan_row {
	const char *command_id;
	int64_t	    scanned_at;
	int	    counts[FINDING_SEVERITIES];
};
typedef int (*store_scan_fn)(const struct scan_row *row, void *arg);

/* Fleet history and load samples (the pictures). */
#define FLEET_SAMPLE_KEEP (30 * 86400) /* fleet history kept */
#define HB_SAMPLE_SECS 300   /* at most one load sample per node per 5 min */
#define HB_SAMPLE_KEEP 86400 /* load samples kept */

/* Nodes per attention level at one time. */
struct fleet_sample {
	int64_t at;
	int	count[3]; /* enum level */
};

/* One node's load and memory at one time; NAN when the agent sent none. */
struct hb_sample {
	char	node_id[37];
	int64_t at;
	double	load1;
	double	mem_used_pct;
};
typedef int (*store_fleet_sample_fn)(const struct fleet_sample *fs, void *arg);
typedef int (*store_hb_sample_fn)(const struct hb_sample *hs, void *arg);

/*
 * Jobs: one command for the nodes a target selects, in waves (jobs.c).
 * A job's row; strings borrowed (valid inside the callback).
 */
struct job_rec {
	char	    job_id[37];
	int64_t	    n; /* its number, growing: the list's order and cursor */
	const char *command;
	const char *args;	/* compact JSON object */
	const char *reason;	/* why, as the operator wrote it */
	const char *target;	/* compact JSON: the selector as given */
	const char *rollout;	/* compact JSON: canary, wave_size, ... */
	const char *created_by; /* an operator, or "scheduler" */
	int64_t	    created_at;
	const char *status;	  /* running, done, stopped, cancelled, ... */
	int	    selected;	  /* nodes that get the command */
	int	    waves;	  /* how many waves */
	int	    wave;	  /* the current one, from 0; -1: none yet */
	int64_t	    wave_done_at; /* when it finished; 0: not yet */
	int	    pause_secs;	  /* between waves */
	int	    max_failure_pct; /* -1: no threshold */
	int64_t	    finished_at;     /* 0: running */
};
/* A node of a job: its wave, or -1 and why it was left out. */
struct job_node {
	char	    node_id[37];
	int	    wave;
	const char *reason; /* NULL unless excluded */
};
/* A node's line of a job's results (strings borrowed). */
struct job_result {
	const char *node_id;
	const char *hostname;
	int	    wave;
	const char *status; /* a command status, not_started or excluded */
	const char *reason; /* why it was excluded */
	int	    has_exit;
	long long   exit_code;
	const char *output;
	int64_t	    result_at;
	const char *command_id; /* NULL: no command (yet) */
};
/* Which results: after a node id (by id), or failures first (by rank). */
struct job_result_q {
	const char *job_id;
	const char *after;	    /* node id; NULL: from the first */
	int	    failures_first; /* the page's order: offset paging */
	int	    offset;
	int	    limit;
};
/* A recurring job: the same job for the same target every every_secs. */
struct schedule_rec {
	char	    schedule_id[37];
	const char *command;
	const char *args;
	const char *reason;
	const char *target;
	const char *rollout;
	const char *created_by;
	int64_t	    created_at;
	int64_t	    every_secs;
	int64_t	    next_at;	 /* its next run */
	const char *last_job_id; /* NULL: none yet */
};
typedef int (*store_schedule_fn)(const struct schedule_rec *sc, void *arg);
typedef int (*store_job_fn)(const struct job_rec *j, void *arg);

/*
 * A request that waits for a second operator (issue 19): a command for a
 * node, or a job. Strings borrowed.
 */
struct approval_rec {
	char	    id[37];  /* the command's id, or the job's */
	const char *kind;    /* "command" or "job" */
	const char *node_id; /* a command's node; NULL for a job */
	const char *command; /* catalog name */
	const char *args;    /* compact JSON object */
	const char *reason;  /* why, as the requester wrote it */
	const char *requested_by;
	int64_t	    requested_at;
	int64_t	    expires_at;
	int	    selected;	/* nodes: 1 for a command */
	const char *status;	/* awaiting_approval, approved, rejected,
				    expired */
	const char *decided_by; /* NULL until decided */
	int64_t	    decided_at;
	const char *decision_reason; /* NULL or the decider's words */
};
typedef int (*store_approval_fn)(const struct approval_rec *a, void *arg);

/* A webhook event waiting in the outbox for one endpoint (strings borrowed). */
struct outbox_rec {
	int64_t	    n; /* its number: an endpoint's rows go out in this order */
	const char *url;
	const char *event;
	const char *body; /* the JSON sent, signed at each try */
	int	    attempts;
	int64_t	    created_at;
};
typedef int (*store_outbox_fn)(const struct outbox_rec *o, void *arg);
/* The attention level last told of a node (enum level, reason bits). */
typedef int (*store_level_fn)(const char *node_id, int level, unsigned reasons,
    int64_t at, void *arg);
typedef int (*store_job_result_fn)(const struct job_result *r, void *arg);
/* n nodes answered status with the same output (NULL: none). */
typedef int (*store_job_group_fn)(const char *status, const char *output, int n,
    void *arg);

/*
 * A command-signing key (issue 19: rotation), strings borrowed. Version 1
 * is the key file's; each rotation adds the next.
 */
struct key_rec {
	int64_t	    version;
	char	    key_id[33];
	char	    public_key[48]; /* base64 */
	const char *state;	    /* current, retiring, retired */
	int64_t	    created_at;
	int64_t	    retire_by;	/* retiring until (to add: the old key's) */
	int64_t	    retired_at; /* 0 until retired */
	int	    emergency;	/* no link reaches it */
	const char *link;	/* the link from version - 1 (JSON), or NULL */
	const char *sealed;	/* its secret key sealed, or NULL: destroyed */
};
typedef int (*store_key_fn)(const struct key_rec *k, void *arg);

/* A finding's severity as its index (0 critical .. 4 info), or -1. */
int finding_severity(const char *sev);

#endif
