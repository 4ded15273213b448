/*
 * fleet: every node in memory, the source of truth for reads, with the
 * store behind it (fleet.c).
 */
#ifndef VM_CC_FLEET_H
#define VM_CC_FLEET_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "store.h"
#include "validate.h"

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
	int		 pending; /* queued commands */
	unsigned	 reasons;
	enum level	 level;
	double		 load1; /* of the latest heartbeat since start; NAN */
	double		 mem_used_pct;		      /* the same */
	char		 labels[LABELS_JSON_MAX + 1]; /* JSON object */
	char		 pinned_key_id[33]; /* the key it confirmed; "" */
};

enum enroll_outcome {
	ENROLL_APPROVED, /* token issued */
	ENROLL_PENDING,
	ENROLL_CONFLICT, /* already has a token */
	ENROLL_REVOKED,
	ENROLL_KEY_MISMATCH, /* not the enroll key the node first came with */
	ENROLL_DELETED,	     /* an operator deleted or rejected this id */
	ENROLL_PENDING_FULL, /* VAULTMESH_MAX_PENDING_NODES reached */
	ENROLL_THROTTLED,    /* new pending nodes come too fast */
	ENROLL_FAILED,	     /* store error */
};

enum auth_result { AUTH_OK, AUTH_UNAUTHORIZED, AUTH_FORBIDDEN };

struct fleet *fleet_open(struct store *st, const struct thresholds *t,
    char *err, size_t errlen);
/* Flushes pending heartbeats and frees everything. */
void fleet_close(struct fleet *f);
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
void fleet_set_limits(struct fleet *f, size_t max_pending, double per_minute);
/* Pending nodes now (*max: the cap, when not NULL). */
size_t fleet_pending_nodes(struct fleet *f, size_t *max);
/*
 * Deletes a node (only_pending: rejects a pending one): its token stops
 * working before this returns, it leaves every view, its rows stay. 0,
 * -1 store error, -2 unknown (or deleted), -3 not pending.
 */
int fleet_delete(struct fleet *f, const char *node_id, int only_pending);
/* 1 if token is the live token of some approved node; th its hash. */
int fleet_token_known(struct fleet *f, const char *token,
    unsigned char th[TOKEN_HASH_LEN]);
/*
 * The hostname of node_id (deleted nodes too) into out: 0, or -1 when no
 * node has that id.
 */
int
fleet_hostname(struct fleet *f, const char *node_id, char *out, size_t outlen);
/*
 * Replaces a node's labels (a compact JSON object, keys sorted, "{}" for
 * none; validate_labels() makes it): 0, -1 store error or out of memory,
 * -2 unknown or deleted node.
 */
int fleet_set_labels(struct fleet *f, const char *node_id, const char *labels);
/* 1 if some node (deleted ones too) has that id. */
int fleet_known(struct fleet *f, const char *node_id);
/*
 * The signing key node_id says it pinned (its heartbeat): 1 recorded (a
 * change), 0 already known, -1 the store failed (tried again next time).
 */
int fleet_set_pinned(struct fleet *f, const char *node_id, const char *key_id);
/* The key node_id last confirmed into out: 1, or 0 (none known). */
int fleet_pinned(struct fleet *f, const char *node_id, char out[33]);
/* Approved nodes that have not confirmed key_id. */
long fleet_unmoved(struct fleet *f, const char *key_id);
/* 1 if node_id is an approved node. */
int fleet_approved(struct fleet *f, const char *node_id);
/* Checks a bearer token against node_id, in constant time. */
enum auth_result
fleet_auth(struct fleet *f, const char *node_id, const char *token);
/* The same with the token's hash (from fleet_token_known()). */
enum auth_result fleet_auth_hash(struct fleet *f, const char *node_id,
    const unsigned char th[TOKEN_HASH_LEN]);
/* Records a heartbeat (takes hb->json); returns -1 if unknown node. */
int fleet_heartbeat(struct fleet *f, struct heartbeat *hb);
/*
 * The same from the holder of the token whose hash is th, under one take
 * of the lock: AUTH_OK when the token is hb->node_id's (recorded unless
 * *failed, out of memory; *pending: the node's queued commands), else
 * fleet_auth()'s answer and nothing recorded.
 */
enum auth_result fleet_heartbeat_auth(struct fleet *f, struct heartbeat *hb,
    const unsigned char th[TOKEN_HASH_LEN], int *pending, int *failed);
/* Operator actions: 0, -1 store error, -2 unknown node. */
int fleet_set_status(struct fleet *f, const char *node_id, enum node_status st);
/*
 * Copies one node's view and, when heartbeat is not NULL, its latest
 * heartbeat JSON (malloc'd; NULL when it has none): -1 unknown node.
 */
int fleet_get(struct fleet *f, const char *node_id, int64_t now,
    struct node_view *v, char **heartbeat);
/*
 * Snapshot of all nodes (malloc'd array, *n entries), each with attention
 * computed at now. Heartbeats are copied when want_hb (array of n strings).
 */
struct node_view *
fleet_list(struct fleet *f, int64_t now, size_t *n, char ***heartbeats);
/*
 * The same for at most max nodes from the start-th on (nodes keep their
 * place: they are never removed), so big lists are copied in batches.
 */
struct node_view *fleet_list_range(struct fleet *f, int64_t now, size_t start,
    size_t max, size_t *n, char ***heartbeats);
/* What a page of the dashboard's table is a part of. */
struct fleet_counts {
	size_t total;	    /* nodes in the fleet (not deleted) */
	size_t by_level[3]; /* enum level, revoked nodes apart */
	size_t revoked;
	size_t matched; /* nodes the filter lets through */
};
/* fleet_page()'s level for the revoked nodes alone. */
#define FLEET_REVOKED 3
/*
 * One page of the dashboard's table: the views of the nodes at level (-1:
 * any, FLEET_REVOKED: the revoked ones) whose hostname, id or profile
 * contains q (NULL or "": all) and that pred selects (NULL: all; it gets
 * parg), from the first-th match on, at most max,
 * in the dashboard's order (red first, then by hostname and id; revoked
 * nodes after the green ones, counted by no level). The order and the
 * counts are kept as nodes change, so without q this costs the page, not
 * the fleet.
 */
struct node_view *fleet_page(struct fleet *f, int64_t now, int level,
    const char *q, node_pred pred, const void *parg, size_t first, size_t max,
    size_t *n, struct fleet_counts *c);
/*
 * Calls fn, under the fleet's lock (fn must not take it, nor block), with
 * each node (deleted ones aside) that pred selects (NULL: all), its
 * attention at now and whether its heartbeats stopped (offline). With ids
 * (n of them), only those nodes are looked at. For selections over a big
 * fleet: no view is copied.
 */
void fleet_select(struct fleet *f, int64_t now, node_pred pred,
    const void *parg, const char (*ids)[37], size_t nids,
    void (*fn)(const struct node_facts *nf, int offline, void *arg), void *arg);
/*
 * A view's fields that a stored row holds (the id, names, status, times,
 * findings, labels, pinned key), copied from r; the rest is the caller's.
 */
void node_view_of_rec(const struct node_rec *r, struct node_view *v);
/* The facts a selector sees of v (borrowing its strings). */
void node_facts_of(const struct node_view *v, struct node_facts *nf);
/*
 * The node's number of queued commands (below zero for a moment when a
 * decrement overtakes its increment), or -1 for an unknown node. Read
 * from the store at the open, then kept by the store's own account of
 * each change (store_on_queued): nothing else writes it.
 */
int fleet_pending(struct fleet *f, const char *node_id);
/* Records a stored scan's time and severity counts. */
void fleet_scan(struct fleet *f, const char *node_id, int64_t at,
    const int counts[FINDING_SEVERITIES]);
/* Counts over the whole fleet, without copying it. */
struct fleet_summary {
	size_t	by_status[3];  /* enum node_status */
	size_t	by_level[3];   /* enum level */
	size_t	never_scanned; /* approved ones */
	int64_t scan_age_max;
};
void fleet_summarize(struct fleet *f, int64_t now, struct fleet_summary *out);
/*
 * Replicas (store_shared()). What counts this process's own status and
 * token changes: read it before reading changed rows, and give it to
 * fleet_merge(), which leaves alone what changed here since.
 */
uint64_t fleet_gen(struct fleet *f);
/*
 * Takes a node row another replica changed (a new node is added; its
 * status and token, its newer heartbeat facts and scan are taken): 1 when
 * the node's token stopped working, 0, or -1 out of memory.
 */
int fleet_merge(struct fleet *f, const struct node_rec *rec, uint64_t since);
/* Reads every node's number of queued commands again: 0 or -1. */
int fleet_pending_reload(struct fleet *f);
/* Rounds of the writer thread so far (it must keep turning). */
uint64_t fleet_writer_rounds(struct fleet *f);
/* How many nodes the fleet holds. */
size_t fleet_size(struct fleet *f);

#endif
